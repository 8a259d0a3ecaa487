// test_ckpt.c — checkpoints: round trip, keep-last-K, no temporary files left, resume picks the
// newest that loads and falls back past a corrupted or truncated one with a warning; shard files
// read by range and pruned.
#define _POSIX_C_SOURCE 200809L
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/log.h"
#include "trainer/ckpt.h"
#include "test.h"

static char dir[] = "/tmp/fluxrl-test-ckpt-XXXXXX";

enum { NP = 3000 };
static float params[NP], moments[NP];
static int64_t rng[4];
static uint8_t flags[5];

static void fill(int64_t step) {
    for (int i = 0; i < NP; i++) params[i] = (float)step + 0.001f * (float)i, moments[i] = -(float)i;
    for (int i = 0; i < 4; i++) rng[i] = step * 10 + i;
    for (int i = 0; i < 5; i++) flags[i] = (uint8_t)(step + i);
}

static ckpt_array arrays[4] = {{"params", CKPT_F32, NP, params, NULL, NULL, NULL, NULL}, {"adam_m", CKPT_F32, NP, moments, NULL, NULL, NULL, NULL},
                               {"rng", CKPT_I64, 4, rng, NULL, NULL, NULL, NULL}, {"flags", CKPT_U8, 5, flags, NULL, NULL, NULL, NULL}};

static int files_in(const char *sub) {
    char cmd[700];
    snprintf(cmd, sizeof cmd, "ls '%s/%s' | wc -l", dir, sub);
    FILE *p = popen(cmd, "r");
    int n = -1;
    if (p && fscanf(p, "%d", &n) != 1) n = -1;
    if (p) pclose(p);
    return n;
}

static void corrupt(const char *path, long at, int len) {
    FILE *f = fopen(path, "r+b");
    fseek(f, at, SEEK_SET);
    for (int i = 0; i < len; i++) fputc(0x5a, f);
    fclose(f);
}

// Fills (ckpt_array.fill): three arrays through one buffer, each filled just before it is
// written; every fill called once, in order, also when the file cannot be written.
static int fills_seen;
static void fill_k(void *ctx, void *data) {
    float k = (float)(intptr_t)ctx;
    for (int i = 0; i < NP; i++) ((float *)data)[i] = k * 1000 + (float)i;
    fills_seen = fills_seen * 10 + (int)k;
}

static void test_fills(void) {
    static float one[NP], a[NP], b[NP], c[NP];
    ckpt_array through[3], back[3] = {{"a", CKPT_F32, NP, a, NULL, NULL, NULL, NULL}, {"b", CKPT_F32, NP, b, NULL, NULL, NULL, NULL},
                                      {"c", CKPT_F32, NP, c, NULL, NULL, NULL, NULL}};
    for (int k = 0; k < 3; k++)
        through[k] = (ckpt_array){back[k].name, CKPT_F32, NP, one, fill_k, (void *)(intptr_t)(k + 1), NULL, NULL};
    char sub[4200], path[4300];
    snprintf(sub, sizeof sub, "%s/fills", dir);
    fx_err err;
    fills_seen = 0;
    CHECK_INT(ckpt_save(sub, 5, through, 3, "{}", NULL, 0, path, sizeof path, &err), 0);
    CHECK_INT(fills_seen, 123);
    int64_t step;
    CHECK_INT(ckpt_load(path, back, 3, &step, &err), 0);
    CHECK(a[3] == 1003.0f && b[3] == 2003.0f && c[NP - 1] == 3000.0f + (float)(NP - 1));
    fills_seen = 0; // a run folder that cannot be made (a file in the way): the fills still run
    snprintf(sub, sizeof sub, "%s/fills/checkpoints/step-00000005.h5/x", dir);
    CHECK_INT(ckpt_save(sub, 6, through, 3, "{}", NULL, 0, path, sizeof path, &err), -1);
    CHECK_INT(fills_seen, 123);
}

// Piece fills (ckpt_array.fill_range): an array larger than one piece written through a buffer of
// one piece, each piece filled just before it is written, in order, also when nothing is written.
static size_t pieces_seen[4][2];
static int npieces;
static void fill_piece(void *ctx, size_t lo, size_t hi, void *data) {
    (void)ctx;
    if (npieces < 4) pieces_seen[npieces][0] = lo, pieces_seen[npieces][1] = hi;
    npieces++;
    for (size_t i = lo; i < hi; i++) ((float *)data)[i - lo] = (float)(i % 1000003) * 0.5f;
}

static size_t taken_bad;
static void take_piece(void *ctx, size_t lo, size_t hi, const void *data) {
    (void)ctx;
    if (npieces < 4) pieces_seen[npieces][0] = lo, pieces_seen[npieces][1] = hi;
    npieces++;
    for (size_t i = lo; i < hi; i++) taken_bad += ((const float *)data)[i - lo] != (float)(i % 1000003) * 0.5f;
}

static void test_pieces(void) {
    size_t n = CKPT_PIECE + 1000;
    float *piece = malloc(CKPT_PIECE * sizeof *piece), *back = malloc(n * sizeof *back);
    ckpt_array a = {"big", CKPT_F32, n, piece, NULL, NULL, fill_piece, NULL}, b = {"big", CKPT_F32, n, back, NULL, NULL, NULL, NULL};
    char sub[4200], path[4300];
    snprintf(sub, sizeof sub, "%s/pieces", dir);
    fx_err err;
    npieces = 0;
    CHECK_INT(ckpt_save(sub, 1, &a, 1, "{}", NULL, 0, path, sizeof path, &err), 0);
    CHECK_INT(npieces, 2);
    CHECK(pieces_seen[0][0] == 0 && pieces_seen[0][1] == CKPT_PIECE);
    CHECK(pieces_seen[1][0] == CKPT_PIECE && pieces_seen[1][1] == n);
    int64_t step;
    CHECK_INT(ckpt_load(path, &b, 1, &step, &err), 0);
    size_t bad = 0;
    for (size_t i = 0; i < n; i++) bad += back[i] != (float)(i % 1000003) * 0.5f;
    CHECK(bad == 0);
    // Read back through the one piece (take_range): the same pieces in order, each holding its
    // elements; a piece whose chunk is damaged fails the load.
    npieces = 0, taken_bad = 0;
    ckpt_array t = {"big", CKPT_F32, n, piece, NULL, NULL, NULL, take_piece};
    CHECK_INT(ckpt_load(path, &t, 1, &step, &err), 0);
    CHECK_INT(npieces, 2);
    CHECK(pieces_seen[0][0] == 0 && pieces_seen[0][1] == CKPT_PIECE);
    CHECK(pieces_seen[1][0] == CKPT_PIECE && pieces_seen[1][1] == n);
    CHECK(taken_bad == 0);
    FILE *f = fopen(path, "r+b"); // a byte of the last piece's data (the file's tail is its chunk)
    CHECK(f != NULL);
    fseek(f, -2000, SEEK_END);
    int ch = fgetc(f);
    fseek(f, -2000, SEEK_END);
    fputc(ch ^ 0x40, f);
    fclose(f);
    npieces = 0;
    CHECK_INT(ckpt_load(path, &t, 1, &step, &err), -1);
    CHECK(strstr(err.msg, "big: read failed: checksum mismatch") != NULL);
    CHECK_INT(npieces, 1); // the first piece was handed over before the second failed
    npieces = 0; // nothing can be written: every piece is still filled
    snprintf(sub, sizeof sub, "%s/pieces/checkpoints/step-00000001.h5/x", dir);
    CHECK_INT(ckpt_save(sub, 2, &a, 1, "{}", NULL, 0, path, sizeof path, &err), -1);
    CHECK_INT(npieces, 2);
    free(piece), free(back);
}

// A range taken from a shard: the pieces' places within the array and their values.
typedef struct {
    size_t lo, hi, bad;
} range_seen;
static void take_range_check(void *ctx, size_t lo, size_t hi, const void *data) {
    range_seen *r = ctx;
    if (r->hi == 0) r->lo = lo;
    r->hi = hi;
    for (size_t i = lo; i < hi; i++) r->bad += ((const float *)data)[i - lo] != (float)i * 0.25f;
}

// Shard files (ckpt_save_shard): named after their step's file, read back by range (ckpt_load_range,
// wrong expectations named), not listed as checkpoints, and pruned with their step or, with no
// step file of their own (a save that failed before it), by the next save.
static void test_shards(void) {
    char sub[4200], path[4300], sp[4400];
    snprintf(sub, sizeof sub, "%s/shards", dir);
    float a[100], piece[100];
    for (int i = 0; i < 100; i++) a[i] = (float)i * 0.25f;
    ckpt_array arr = {"adam_m", CKPT_F32, 100, a, NULL, NULL, NULL, NULL};
    fx_err err;
    for (int64_t step = 1; step <= 3; step++) {
        for (int r = 0; r < 2; r++) CHECK_INT(ckpt_save_shard(sub, step, r, 2, &arr, 1, "sft", &err), 0);
        if (step < 3) CHECK_INT(ckpt_save(sub, step, &arr, 1, "{}", "sft", 1, path, sizeof path, &err), 0);
    }
    // step 1 pruned with its shards (keep 1); step 3 never got its own file: its shards are a
    // failed save's, not a checkpoint, until the next save removes them
    CHECK_INT(files_in("shards/checkpoints"), 5);
    ckpt_shard_path(sp, sizeof sp, path, 1, 2);
    CHECK(strstr(sp, "/checkpoints/step-00000002.shard-1-of-2.h5") != NULL);
    CHECK(ckpt_has(sp, "adam_m") && !ckpt_has(sp, "params") && !ckpt_has(path, "nothing"));
    range_seen r = {0, 0, 0};
    CHECK_INT(ckpt_load_range(sp, "adam_m", CKPT_F32, 100, 17, 61, piece, take_range_check, &r, &err), 0);
    CHECK(r.lo == 17 && r.hi == 61 && r.bad == 0);
    CHECK_INT(ckpt_load_range(sp, "adam_m", CKPT_F32, 99, 0, 10, piece, take_range_check, &r, &err), -1);
    CHECK(strstr(err.msg, "shard-1-of-2.h5: adam_m: expected 99 f32 values") != NULL);
    CHECK_INT(ckpt_load_range(sp, "adam_v", CKPT_F32, 100, 0, 10, piece, take_range_check, &r, &err), -1);
    CHECK(strstr(err.msg, "adam_v: missing") != NULL);
    int64_t step;
    CHECK_INT(ckpt_resume_latest(sub, "sft", &arr, 1, &step, path, sizeof path, &err), 1);
    CHECK_INT(step, 2); // the shards of step 3 are no checkpoint
    char junk[4400]; // temporary files a process that died left behind, not newer than the save
    snprintf(junk, sizeof junk, "%s/checkpoints/step-00000003.shard-0-of-2.h5.tmp.99", sub);
    FILE *jf = fopen(junk, "w");
    CHECK(jf != NULL);
    fclose(jf);
    CHECK_INT(ckpt_save(sub, 4, &arr, 1, "{}", "sft", 1, path, sizeof path, &err), 0);
    CHECK_INT(files_in("shards/checkpoints"), 1); // step 2's file and shards, step 3's orphans, the tmp, gone
}

int main(void) {
    if (!mkdtemp(dir)) return 1;
    test_fills();
    test_pieces();
    test_shards();
    fx_err err;
    char path[4300];
    for (int64_t step = 1; step <= 4; step++) {
        fill(step);
        CHECK_INT(ckpt_save(dir, step * 100, arrays, 4, "{\"run\": {}}", NULL, 3, path, sizeof path, &err), 0);
    }
    CHECK(strstr(path, "/checkpoints/step-00000400.h5") != NULL);
    CHECK_INT(files_in("checkpoints"), 3); // step 100 removed; no .tmp left
    char *cfg = ckpt_config(path);
    CHECK_STR(cfg, "{\"run\": {}}");
    free(cfg);
    // Round trip.
    fill(0);
    int64_t step = -1;
    CHECK_INT(ckpt_load(path, arrays, 4, &step, &err), 0);
    CHECK_INT(step, 400);
    CHECK(params[7] == 4.0f + 0.007f && moments[9] == -9.0f && rng[3] == 43 && flags[4] == 8);
    // Wrong expectations are named.
    ckpt_array wrong[1] = {{"params", CKPT_F32, NP - 1, params, NULL, NULL, NULL, NULL}};
    CHECK_INT(ckpt_load(path, wrong, 1, &step, &err), -1);
    CHECK(strstr(err.msg, "step-00000400.h5: params: expected 2999 f32 values") != NULL);
    ckpt_array missing[1] = {{"adam_v", CKPT_F32, NP, params, NULL, NULL, NULL, NULL}};
    CHECK_INT(ckpt_load(path, missing, 1, &step, &err), -1);
    CHECK(strstr(err.msg, "adam_v: missing") != NULL);
    ckpt_array typed[1] = {{"rng", CKPT_F32, 4, params, NULL, NULL, NULL, NULL}};
    CHECK_INT(ckpt_load(path, typed, 1, &step, &err), -1);
    // Resume: the newest loads.
    fill(0);
    char got[4300];
    CHECK_INT(ckpt_resume_latest(dir, NULL, arrays, 4, &step, got, sizeof got, &err), 1);
    CHECK_INT(step, 400);
    // Corrupt the middle of the newest: the Fletcher-32 checksums catch it; resume falls back to 300.
    struct stat st;
    stat(path, &st);
    corrupt(path, (long)st.st_size / 4, (int)(st.st_size / 2)); // the middle half: array data
    char *log = NULL;
    size_t loglen = 0;
    FILE *mem = open_memstream(&log, &loglen);
    fx_log_set_stream(mem);
    CHECK_INT(ckpt_resume_latest(dir, NULL, arrays, 4, &step, got, sizeof got, &err), 1);
    fclose(mem);
    fx_log_set_stream(NULL);
    CHECK_INT(step, 300);
    CHECK(strstr(got, "step-00000300.h5") != NULL);
    CHECK(strstr(log, "warn: skipping checkpoint") != NULL && strstr(log, "step-00000400.h5") != NULL);
    CHECK(params[7] == 3.0f + 0.007f);
    free(log);
    // Truncate 300 as well: 200 is next.
    snprintf(got, sizeof got, "%s/checkpoints/step-00000300.h5", dir);
    CHECK_INT(truncate(got, 1000), 0);
    fx_log_set_level(FX_LOG_ERROR); // the warnings were checked above
    CHECK_INT(ckpt_resume_latest(dir, NULL, arrays, 4, &step, got, sizeof got, &err), 1);
    CHECK_INT(step, 200);
    // None loads: an error; no checkpoints at all: 0.
    snprintf(got, sizeof got, "%s/checkpoints/step-00000200.h5", dir);
    corrupt(got, 0, 16);
    CHECK_INT(ckpt_resume_latest(dir, NULL, arrays, 4, &step, got, sizeof got, &err), -1);
    CHECK(strstr(err.msg, "none of the 3 checkpoints loads") != NULL);
    char empty[700];
    snprintf(empty, sizeof empty, "%s/fresh", dir);
    CHECK_INT(ckpt_resume_latest(empty, NULL, arrays, 4, &step, got, sizeof got, &err), 0);
    // Checkpoints carry the kind of run that wrote them: a GRPO run does not resume from an SFT
    // run's checkpoint in the same folder (bad input naming both kinds); an untagged one (written
    // before the tag, above) and one of the same kind resume.
    char kinds[700];
    snprintf(kinds, sizeof kinds, "%s/kinds", dir);
    fill(5);
    CHECK_INT(ckpt_save(kinds, 500, arrays, 4, "{}", "sft", 0, got, sizeof got, &err), 0);
    char *kind = ckpt_kind(got);
    CHECK_STR(kind, "sft");
    free(kind);
    CHECK_INT(ckpt_resume_latest(kinds, "grpo", arrays, 4, &step, got, sizeof got, &err), -1);
    CHECK(strstr(err.msg, "step-00000500.h5: kind: written by a sft run; expected a grpo checkpoint") != NULL);
    CHECK_INT(ckpt_resume_latest(kinds, "sft", arrays, 4, &step, got, sizeof got, &err), 1);
    CHECK_INT(step, 500);
    CHECK_INT(ckpt_save(kinds, 600, arrays, 4, "{}", NULL, 0, got, sizeof got, &err), 0); // untagged, newest
    CHECK_INT(ckpt_resume_latest(kinds, "grpo", arrays, 4, &step, got, sizeof got, &err), 1);
    CHECK_INT(step, 600);
    // A run folder that cannot be written.
    CHECK_INT(ckpt_save("/proc/fluxrl-nope", 1, arrays, 4, "", NULL, 2, NULL, 0, &err), -1);
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0) return 1;
    return test_summary("test_ckpt");
}
