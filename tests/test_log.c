// test_log.c — the logger's rank and role prefix and filtering; progress lines in plain mode.
#define _POSIX_C_SOURCE 200809L
#include <stdlib.h>

#include "core/log.h"
#include "core/progress.h"
#include "test.h"

static char *buf;
static size_t len;
static FILE *mem;

static void capture(void) {
    mem = open_memstream(&buf, &len);
    fx_log_set_stream(mem);
}

static char *captured(void) {
    fclose(mem);
    fx_log_set_stream(NULL);
    return buf; // caller frees
}

static int count(const char *s, const char *what) {
    int n = 0;
    for (const char *p = s; (p = strstr(p, what)); p += strlen(what)) n++;
    return n;
}

static void test_rank_filtering(void) {
    // Rank 0 of a job: info prints with the rank and role.
    fx_log_set_rank(0, "trainer");
    fx_log_set_level(FX_LOG_INFO);
    capture();
    fx_info("hello %d", 1);
    fx_debug("hidden");
    fx_warn("careful");
    char *s = captured();
    CHECK(strstr(s, "[r0 trainer +") != NULL);
    CHECK(strstr(s, "s] hello 1\n") != NULL);
    CHECK(strstr(s, "s] warn: careful\n") != NULL);
    CHECK(strstr(s, "hidden") == NULL);
    free(s);
    // Rank 2: only warnings and errors, unless all_ranks.
    fx_log_set_rank(2, "rollout");
    capture();
    fx_info("info from 2");
    fx_error("error from 2");
    fx_log_set_all_ranks(true);
    fx_info("now everyone");
    fx_log_set_all_ranks(false);
    s = captured();
    CHECK(strstr(s, "info from 2") == NULL);
    CHECK(strstr(s, "[r2 rollout +") != NULL);
    CHECK(strstr(s, "s] error: error from 2\n") != NULL);
    CHECK(strstr(s, "s] now everyone\n") != NULL);
    free(s);
    // Level filtering, and no MPI: a plain prefix.
    fx_log_set_rank(-1, "");
    fx_log_set_level(FX_LOG_WARN);
    capture();
    fx_info("quiet");
    fx_warn("loud");
    s = captured();
    CHECK(strstr(s, "quiet") == NULL);
    CHECK(strncmp(s, "[fluxrl +", 9) == 0);
    CHECK(strstr(s, "s] warn: loud\n") != NULL);
    free(s);
    fx_log_set_level(FX_LOG_DEBUG);
    capture();
    fx_debug("deep");
    s = captured();
    CHECK(strstr(s, "s] debug: deep\n") != NULL);
    free(s);
    fx_log_level lvl;
    CHECK_INT(fx_log_level_parse("warn", &lvl), 0);
    CHECK_INT(lvl, FX_LOG_WARN);
    CHECK_INT(fx_log_level_parse("loud", &lvl), -1);
    // A line longer than the buffer is cut, still ends in a newline.
    char long_msg[6000];
    memset(long_msg, 'x', sizeof long_msg - 1);
    long_msg[sizeof long_msg - 1] = '\0';
    capture();
    fx_info("%s", long_msg);
    s = captured();
    CHECK(strlen(s) == 4095 && s[4094] == '\n');
    free(s);
}

static void test_progress_lines(void) {
    fx_log_set_rank(-1, "");
    fx_log_set_level(FX_LOG_INFO);
    fx_progress_configure(FX_PROGRESS_LINES, 10.0);
    fx_progress p;
    capture();
    fx_progress_init_at(&p, "steps", 100, 0.0);
    for (int i = 1; i <= 100; i++) fx_progress_update_at(&p, i, "loss 1.5", i * 0.5); // 50 s in all
    fx_progress_end_at(&p, "loss 0.5", 50.0);
    char *s = captured();
    // A line at 10, 20, 30, 40 and 50 s, then the closing line.
    CHECK_INT(count(s, "steps "), 6);
    CHECK(strstr(s, "s] steps 20/100  20% eta 40s 2/s 10.0s loss 1.5\n") != NULL);
    CHECK(strstr(s, "s] steps 100/100 100% 2/s 50.0s loss 0.5 done\n") != NULL);
    free(s);
    // Off, and not printed on ranks other than 0.
    fx_progress_configure(FX_PROGRESS_OFF, 10.0);
    capture();
    fx_progress_init_at(&p, "quiet", 10, 0.0);
    fx_progress_update_at(&p, 5, NULL, 100.0);
    fx_progress_end_at(&p, NULL, 200.0);
    fx_log_set_rank(1, "reward");
    fx_progress_configure(FX_PROGRESS_LINES, 1.0);
    fx_progress_init_at(&p, "other", 10, 0.0);
    fx_progress_update_at(&p, 5, NULL, 100.0);
    s = captured();
    CHECK_STR(s, "");
    free(s);
    fx_progress_mode m;
    CHECK_INT(fx_progress_mode_parse("live", &m), 0);
    CHECK_INT(m, FX_PROGRESS_LIVE);
    CHECK_INT(fx_progress_mode_parse("fancy", &m), -1);
}

int main(void) {
    test_rank_filtering();
    test_progress_lines();
    return test_summary("test_log");
}
