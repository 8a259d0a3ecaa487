// fx.c — error reports, fail-fast helpers, files and the clock. See fx.h.
#define _POSIX_C_SOURCE 200809L
#include "fx.h"

#include <cjson/cJSON.h>

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

static fx_abort_hook g_abort_hook;

void fx_set_abort_hook(fx_abort_hook hook) { g_abort_hook = hook; }

int fx_errf(fx_err *err, const char *fmt, ...) {
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->msg, sizeof err->msg, fmt, ap);
        va_end(ap);
    }
    return -1;
}

void fx_fatal_at(const char *file, int line, int code, const char *fmt, ...) {
    char msg[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    fx_error("%s (at %s:%d)", msg, file, line);
    if (g_abort_hook) g_abort_hook(code);
    exit(code);
}

void *fx_malloc_at(size_t size, const char *file, int line) {
    void *p = malloc(size ? size : 1);
    if (!p) fx_fatal_at(file, line, FX_EXIT_FAIL, "out of memory allocating %zu bytes", size);
    return p;
}

void *fx_calloc_at(size_t n, size_t size, const char *file, int line) {
    void *p = calloc(n ? n : 1, size ? size : 1);
    if (!p) fx_fatal_at(file, line, FX_EXIT_FAIL, "out of memory allocating %zu x %zu bytes", n, size);
    return p;
}

void *fx_realloc_at(void *p, size_t size, const char *file, int line) {
    void *q = realloc(p, size ? size : 1);
    if (!q) fx_fatal_at(file, line, FX_EXIT_FAIL, "out of memory reallocating to %zu bytes", size);
    return q;
}

char *fx_strdup_at(const char *s, const char *file, int line) {
    size_t n = strlen(s) + 1;
    char *p = fx_malloc_at(n, file, line);
    memcpy(p, s, n);
    return p;
}

FILE *fx_fopen_at(const char *path, const char *mode, const char *file, int line) {
    FILE *f = fopen(path, mode);
    if (!f)
        fx_fatal_at(file, line, FX_EXIT_FAIL, "cannot open %s (mode %s): %s; check the path and permissions",
                    path, mode, strerror(errno));
    return f;
}

FILE *fx_fopen_input(const char *path, fx_err *err) {
    FILE *f = fopen(path, "rb");
    if (!f) {
        fx_errf(err, "%s: cannot open: %s", path, strerror(errno));
        return NULL;
    }
    struct stat st;
    if (fstat(fileno(f), &st) == 0 && S_ISDIR(st.st_mode)) {
        fx_errf(err, "%s: is a directory; expected a file", path);
        fclose(f);
        return NULL;
    }
    return f;
}

const char *fx_json_find_nul(const char *text, size_t len) {
    for (size_t i = 0; i < len; i++) {
        if (text[i] == '\0') return text + i;
        if (text[i] != '\\' || i + 1 >= len) continue;
        if (text[i + 1] == 'u' && i + 6 <= len && strncmp(text + i + 2, "0000", 4) == 0) return text + i;
        i++; // the escaped character, so "\\u0000" (a backslash, then text) is not taken for one
    }
    return NULL;
}

int fx_jsonl_next(fx_jsonl *r, fx_err *err) {
    ssize_t got;
    while ((got = getline(&r->line, &r->cap, r->f)) > 0) {
        r->lineno++;
        if (fx_json_find_nul(r->line, (size_t)got))
            return fx_errf(err, "%s:%d: a NUL character (\\u0000); expected text without one", r->path, r->lineno);
        if (strspn(r->line, " \t\r\n") != (size_t)got) return 1;
    }
    return 0;
}

void fx_jsonl_free(fx_jsonl *r) {
    free(r->line);
    r->line = NULL, r->cap = 0;
}

int fx_split_list(const char *key, const char *text, char *buf, size_t cap, char **items, int max, fx_err *err) {
    size_t len = strlen(text);
    if (len + 1 > cap) return fx_errf(err, "%s: expected at most %zu characters, got %zu", key, cap - 1, len);
    memmove(buf, text, len + 1);
    int n = 0;
    for (char *s = buf;; n++) {
        char *comma = strchr(s, ',');
        if (comma) *comma = '\0';
        if (!s[0]) return fx_errf(err, "%s: item %d: expected a value, got an empty one", key, n + 1);
        if (n == max) return fx_errf(err, "%s: expected at most %d items", key, max);
        items[n] = s;
        if (!comma) return n + 1;
        s = comma + 1;
    }
}

int fx_parse_floats(const char *key, const char *text, float *w, int max, fx_err *err) {
    size_t cap = strlen(text) + 1;
    char *buf = fx_malloc(cap), **items = fx_malloc((size_t)(max > 0 ? max : 1) * sizeof *items);
    int n = fx_split_list(key, text, buf, cap, items, max, err);
    for (int i = 0; i < n; i++) {
        char *end;
        w[i] = strtof(items[i], &end);
        if (end == items[i] || *end) {
            n = fx_errf(err, "%s: item %d: expected a number, got \"%s\"", key, i + 1, items[i]);
            break;
        }
    }
    free(buf), free(items);
    return n;
}

char *fx_read_file(const char *path, size_t *len, fx_err *err) {
    FILE *f = fopen(path, "rb");
    if (!f) {
        fx_errf(err, "%s: cannot open: %s", path, strerror(errno));
        return NULL;
    }
    struct stat st;
    if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) {
        fx_errf(err, "%s: not a regular file", path);
        fclose(f);
        return NULL;
    }
    size_t n = (size_t)st.st_size;
    char *buf = fx_malloc(n + 1);
    size_t got = fread(buf, 1, n, f);
    int bad = ferror(f);
    fclose(f);
    if (bad || got != n) {
        fx_errf(err, "%s: read %zu of %zu bytes", path, got, n);
        free(buf);
        return NULL;
    }
    buf[n] = '\0';
    if (len) *len = n;
    return buf;
}

int fx_write_file_atomic(const char *path, const void *data, size_t len, fx_err *err) {
    size_t plen = strlen(path);
    char *tmp = fx_malloc(plen + 32);
    snprintf(tmp, plen + 32, "%s.tmp.%ld", path, (long)getpid());
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) {
        fx_errf(err, "%s: cannot create: %s", tmp, strerror(errno));
        free(tmp);
        return -1;
    }
    const char *p = data;
    size_t left = len;
    while (left > 0) {
        ssize_t w = write(fd, p, left);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) {
            fx_errf(err, "%s: write failed: %s", tmp, strerror(errno));
            close(fd);
            unlink(tmp);
            free(tmp);
            return -1;
        }
        p += w;
        left -= (size_t)w;
    }
    if (fsync(fd) != 0 || close(fd) != 0 || rename(tmp, path) != 0) {
        fx_errf(err, "%s: cannot finish writing: %s", path, strerror(errno));
        unlink(tmp);
        free(tmp);
        return -1;
    }
    free(tmp);
    return 0;
}

struct cJSON *fx_read_json_object(const char *path, fx_err *err) {
    size_t len;
    char *text = fx_read_file(path, &len, err);
    if (!text) return NULL;
    cJSON *root = cJSON_ParseWithLength(text, len);
    free(text);
    if (cJSON_IsObject(root)) return root;
    cJSON_Delete(root);
    fx_errf(err, "%s: malformed JSON; expected a JSON object", path);
    return NULL;
}

int fx_write_json_atomic(const char *path, const struct cJSON *root, fx_err *err) {
    char *json = cJSON_Print(root);
    FX_ASSERT(json);
    size_t n = strlen(json);
    json = fx_realloc(json, n + 2);
    json[n] = '\n';
    int rc = fx_write_file_atomic(path, json, n + 1, err);
    free(json);
    return rc;
}

int fx_mkdir_p(const char *path, fx_err *err) {
    char *buf = fx_strdup(path);
    size_t n = strlen(buf);
    for (size_t i = 1; i <= n; i++) {
        if (buf[i] != '/' && buf[i] != '\0') continue;
        char c = buf[i];
        buf[i] = '\0';
        if (mkdir(buf, 0755) != 0 && errno != EEXIST) {
            fx_errf(err, "%s: cannot create directory: %s", buf, strerror(errno));
            free(buf);
            return -1;
        }
        buf[i] = c;
    }
    struct stat st;
    int ok = stat(path, &st) == 0 && S_ISDIR(st.st_mode);
    free(buf);
    if (!ok) return fx_errf(err, "%s: exists and is not a directory", path);
    return 0;
}

int fx_write_text_in(const char *dir, const char *name, const char *text, fx_err *err) {
    if (fx_mkdir_p(dir, err)) return -1;
    size_t len = strlen(text), plen = strlen(dir) + strlen(name) + 2;
    char *path = fx_malloc(plen), *line = fx_malloc(len + 2);
    snprintf(path, plen, "%s/%s", dir, name);
    memcpy(line, text, len);
    line[len] = '\n', line[len + 1] = '\0';
    int rc = fx_write_file_atomic(path, line, len + 1, err);
    free(path), free(line);
    return rc;
}

double fx_time_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}
