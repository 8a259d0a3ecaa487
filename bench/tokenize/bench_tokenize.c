// bench_tokenize.c — encoding throughput (MB/s of UTF-8 input) of fluxrl's tokenizer on JSONL
// records {"text": ...}; bench/tokenize/run.sh runs it next to the JS reference on the same files.
// usage: bench_tokenize TOKENIZER FILE.jsonl [SECONDS]
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/fx.h"
#include "model/tok.h"

typedef struct {
    char **text;
    size_t *len;
    size_t n, bytes;
} records;

static int read_records(const char *path, records *r, fx_err *err) {
    size_t len;
    char *all = fx_read_file(path, &len, err);
    if (!all) return -1;
    memset(r, 0, sizeof *r);
    size_t cap = 0;
    for (char *line = strtok(all, "\n"); line; line = strtok(NULL, "\n")) {
        cJSON *j = cJSON_Parse(line);
        const cJSON *s = cJSON_GetObjectItemCaseSensitive(j, "text");
        if (cJSON_IsString(s)) {
            if (r->n == cap) {
                cap = cap ? 2 * cap : 1024;
                r->text = fx_realloc(r->text, cap * sizeof *r->text);
                r->len = fx_realloc(r->len, cap * sizeof *r->len);
            }
            r->text[r->n] = fx_strdup(s->valuestring);
            r->len[r->n] = strlen(s->valuestring);
            r->bytes += r->len[r->n++];
        }
        cJSON_Delete(j);
    }
    free(all);
    return 0;
}

int main(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: bench_tokenize TOKENIZER FILE.jsonl [SECONDS]\n");
        return FX_EXIT_INPUT;
    }
    double min_s = argc > 3 ? atof(argv[3]) : 3.0;
    fx_err err;
    records r;
    tok_tokenizer *t;
    if (read_records(argv[2], &r, &err) || tok_load(&t, argv[1], &err)) {
        fprintf(stderr, "%s\n", err.msg);
        return FX_EXIT_INPUT;
    }
    tok_ids v = {0};
    // One untimed pass (first-touch of the tables and the word cache, as JS's warm-up), then
    // whole passes until min_s has gone by; the best pass counts.
    for (size_t i = 0; i < r.n; i++) v.n = 0, tok_encode(t, r.text[i], r.len[i], &v);
    double best = 1e30, start = fx_time_now();
    size_t ntok = 0;
    int passes = 0;
    while (passes < 3 || fx_time_now() - start < min_s) {
        double t0 = fx_time_now();
        ntok = 0;
        for (size_t i = 0; i < r.n; i++) v.n = 0, tok_encode(t, r.text[i], r.len[i], &v), ntok += v.n;
        double dt = fx_time_now() - t0;
        if (dt < best) best = dt;
        passes++;
    }
    printf("{\"impl\":\"fluxrl\",\"records\":%zu,\"bytes\":%zu,\"tokens\":%zu,\"seconds\":%.6f,\"mb_per_s\":%.3f}\n",
           r.n, r.bytes, ntok, best, (double)r.bytes / best / 1e6);
    tok_ids_free(&v);
    tok_free(t);
    for (size_t i = 0; i < r.n; i++) free(r.text[i]);
    free(r.text);
    free(r.len);
    return 0;
}
