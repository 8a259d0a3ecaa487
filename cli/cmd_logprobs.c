// cmd_logprobs.c — `fluxrl logprobs`: per-token log-probabilities of given token sequences.
// Input lines {"ids": [...]}; output lines {"logprobs": [...]}, one per input line, the log-prob
// of every token given those before it (none for the first). The whole file is validated before
// anything is printed. Sequences are packed into rows of up to `T` tokens (one segment each),
// so short lines share a forward pass.
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../model/model.h"
#include "cli.h"

typedef struct {
    int32_t *ids;
    int n;
} seq;

// Parses every non-blank line of path; errors name the file, the line and the field.
static int read_jsonl(const char *path, int V, seq **out, int *nout, fx_err *err) {
    size_t len;
    char *text = fx_read_file(path, &len, err);
    if (!text) return -1;
    int cap = 16, n = 0, line = 0, rc = 0;
    seq *s = fx_malloc(sizeof(seq) * (size_t)cap);
    for (char *p = text; p < text + len && rc == 0;) {
        char *nl = memchr(p, '\n', (size_t)(text + len - p));
        size_t ll = nl ? (size_t)(nl - p) : (size_t)(text + len - p);
        line++;
        char *q = p;
        p += ll + (nl != NULL);
        while (ll && (*q == ' ' || *q == '\t' || *q == '\r')) q++, ll--;
        if (ll == 0) continue;
        cJSON *j = cJSON_ParseWithLength(q, ll);
        cJSON *ids = j ? cJSON_GetObjectItemCaseSensitive(j, "ids") : NULL;
        if (!j || !cJSON_IsObject(j)) rc = fx_errf(err, "%s:%d: not a JSON object", path, line);
        else if (!cJSON_IsArray(ids)) rc = fx_errf(err, "%s:%d: ids: expected an array of token ids", path, line);
        else if (cJSON_GetArraySize(ids) == 0) rc = fx_errf(err, "%s:%d: ids: empty", path, line);
        if (rc == 0) {
            int k = cJSON_GetArraySize(ids), i = 0;
            int32_t *v = fx_malloc(sizeof(int32_t) * (size_t)k);
            cJSON *x;
            cJSON_ArrayForEach(x, ids) {
                double d = cJSON_IsNumber(x) ? x->valuedouble : -1;
                if (!cJSON_IsNumber(x) || d != floor(d) || d < 0 || d >= V) {
                    rc = fx_errf(err, "%s:%d: ids[%d]: expected a token id in [0, %d)", path, line, i, V);
                    break;
                }
                v[i++] = (int32_t)d;
            }
            if (rc == 0) {
                if (n == cap) s = fx_realloc(s, sizeof(seq) * (size_t)(cap *= 2));
                s[n++] = (seq){v, k};
            } else {
                free(v);
            }
        }
        cJSON_Delete(j);
    }
    free(text);
    if (rc) {
        for (int i = 0; i < n; i++) free(s[i].ids);
        free(s);
        return -1;
    }
    *out = s, *nout = n;
    return 0;
}

static int usage_error(const char *msg, const char *arg) {
    fprintf(stderr, "fluxrl logprobs: %s%s\nrun 'fluxrl logprobs --help' for the usage\n", msg, arg);
    return FX_EXIT_INPUT;
}

int cmd_logprobs(int argc, char **argv) {
    const char *be_kind, *be_precision;
    if (cli_take_backend("logprobs", &argc, argv, &be_kind, &be_precision)) return FX_EXIT_INPUT;
    const char *dir = NULL, *input = NULL;
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--model") == 0 && i + 1 < argc) dir = argv[++i];
        else if (strcmp(argv[i], "--input") == 0 && i + 1 < argc) input = argv[++i];
        else return usage_error("unexpected argument or missing value: ", argv[i]);
    }
    if (!dir) return usage_error("--model DIR is required", "");
    if (!input) return usage_error("--input FILE.jsonl is required", "");
    fx_err err;
    backend *be = cli_open_backend("logprobs", be_kind, be_precision);
    if (!be) return FX_EXIT_INPUT;
    model m;
    if (model_load(&m, dir, be, &err)) {
        fprintf(stderr, "%s\n", err.msg);
        backend_destroy(be);
        return FX_EXIT_INPUT;
    }
    if (m.head != MODEL_HEAD_LM) {
        fprintf(stderr, "%s/config.json: architectures: %s has no language-model head\n", dir, m.cfg.architecture);
        model_free(&m);
        backend_destroy(be);
        return FX_EXIT_INPUT;
    }
    seq *s = NULL;
    int ns = 0;
    if (read_jsonl(input, m.V, &s, &ns, &err)) {
        fprintf(stderr, "%s\n", err.msg);
        model_free(&m);
        backend_destroy(be);
        return FX_EXIT_INPUT;
    }
    int T = 256;
    for (int i = 0; i < ns; i++) T = s[i].n > T ? s[i].n : T;
    model_reserve(&m, 1, T, false, false);
    int32_t *ids = fx_malloc(sizeof(int32_t) * (size_t)T), *pos = fx_malloc(sizeof(int32_t) * (size_t)T);
    int32_t *seg = fx_malloc(sizeof(int32_t) * (size_t)T), *tgt = fx_malloc(sizeof(int32_t) * (size_t)T);
    float *logp = fx_malloc(sizeof(float) * (size_t)T);
    for (int first = 0; first < ns;) {
        // Pack lines [first, last) into one row.
        int last = first, used = 0;
        while (last < ns && used + s[last].n <= T) {
            for (int t = 0; t < s[last].n; t++) {
                ids[used + t] = s[last].ids[t], pos[used + t] = t, seg[used + t] = last - first;
                tgt[used + t] = t + 1 < s[last].n ? s[last].ids[t + 1] : -1;
            }
            used += s[last++].n;
        }
        model_forward(&m, ids, pos, seg, 1, used);
        model_lm_forward(&m, tgt, logp, NULL);
        for (int i = first, off = 0; i < last; off += s[i++].n) {
            fputs("{\"logprobs\":[", stdout);
            for (int t = 0; t + 1 < s[i].n; t++) printf(t ? ",%.7g" : "%.7g", (double)logp[off + t]);
            fputs("]}\n", stdout);
        }
        first = last;
    }
    free(ids), free(pos), free(seg), free(tgt), free(logp);
    for (int i = 0; i < ns; i++) free(s[i].ids);
    free(s);
    model_free(&m);
    backend_destroy(be);
    return fflush(stdout) == 0 ? FX_EXIT_OK : FX_EXIT_FAIL;
}
