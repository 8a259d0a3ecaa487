// cmd_traces.c — `fluxrl traces info FILE` and `fluxrl traces export FILE [--out F.jsonl]`.
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../rollout/trace_store.h"
#include "cli.h"

static int open_or_report(const char *cmd, int argc, char **argv, const char **out_path, trace_store **s) {
    const char *path = NULL;
    *out_path = NULL;
    for (int i = 0; i < argc; i++) {
        if (out_path && strcmp(argv[i], "--out") == 0 && i + 1 < argc && strcmp(cmd, "export") == 0) {
            *out_path = argv[++i];
        } else if (argv[i][0] == '-' || path) {
            fprintf(stderr, "fluxrl traces %s: unexpected argument '%s'; see 'fluxrl traces %s --help'\n", cmd, argv[i], cmd);
            return FX_EXIT_INPUT;
        } else {
            path = argv[i];
        }
    }
    if (!path) {
        fprintf(stderr, "fluxrl traces %s: a trace store FILE is required\n", cmd);
        return FX_EXIT_INPUT;
    }
    fx_err err;
    if (trace_store_open(s, path, &err)) {
        fprintf(stderr, "%s\n", err.msg);
        return FX_EXIT_INPUT;
    }
    return 0;
}

int cmd_traces_info(int argc, char **argv) {
    const char *unused;
    trace_store *s;
    int rc = open_or_report("info", argc, argv, &unused, &s);
    if (rc) return rc;
    fx_err err;
    int64_t n = trace_store_count(s);
    trace_batch b;
    trace_batch_init(&b);
    long long prompt = 0, response = 0, steps = 0, finish[4] = {0};
    int64_t groups = 0, last_group = -1;
    for (int64_t first = 0; first < n && !rc; first += 1024) {
        rc = trace_store_read(s, first, n - first < 1024 ? n - first : 1024, &b, &err);
        for (int64_t i = 0; !rc && i < b.n; i++) {
            prompt += b.prompt_len[i], response += b.response_len[i], steps += b.step_count[i];
            if (b.finish[i] >= 0 && b.finish[i] < 4) finish[b.finish[i]]++;
            if (b.group[i] != last_group) groups++, last_group = b.group[i];
        }
    }
    if (!rc) {
        printf("traces     %lld\n", (long long)n);
        printf("groups     %lld (runs of equal group id)\n", (long long)groups);
        printf("tokens     %lld prompt, %lld response (%.1f per trace)\n", prompt, response, n ? (double)response / (double)n : 0.0);
        printf("steps      %lld\n", steps);
        printf("finish     eos %lld, stop %lld, length %lld, abort %lld\n", finish[0], finish[1], finish[2], finish[3]);
        printf("model      %s\n", trace_store_attr(s, "model") ? trace_store_attr(s, "model") : "");
        printf("tokenizer  %s\n", trace_store_attr(s, "tokenizer") ? trace_store_attr(s, "tokenizer") : "");
    } else {
        fprintf(stderr, "%s\n", err.msg);
    }
    trace_batch_free(&b);
    trace_store_close(s, &err);
    return rc ? FX_EXIT_INPUT : FX_EXIT_OK;
}

int cmd_traces_export(int argc, char **argv) {
    const char *out_path;
    trace_store *s;
    int rc = open_or_report("export", argc, argv, &out_path, &s);
    if (rc) return rc;
    fx_err err;
    FILE *out = stdout;
    char *tmp = NULL;
    if (out_path) { // written beside the target, renamed when complete
        tmp = fx_malloc(strlen(out_path) + 16);
        sprintf(tmp, "%s.tmp", out_path);
        out = fopen(tmp, "w");
        if (!out) {
            fprintf(stderr, "%s: cannot create: %s\n", tmp, strerror(errno));
            trace_store_close(s, &err);
            free(tmp);
            return FX_EXIT_INPUT;
        }
    }
    rc = trace_store_export_jsonl(s, out, &err);
    bool write_failed = rc && ferror(out);
    if (out_path) {
        errno = 0;
        bool bad = fflush(out) != 0 || ferror(out) || fsync(fileno(out)) != 0;
        int e = errno;
        if (fclose(out) != 0 && !bad) bad = true, e = errno;
        if (bad) write_failed = true, rc = fx_errf(&err, "%s: write failed: %s", tmp, e ? strerror(e) : "I/O error");
        if (!rc && rename(tmp, out_path) != 0) rc = fx_errf(&err, "%s: cannot rename to %s", tmp, out_path);
        if (rc) remove(tmp);
    }
    if (rc) fprintf(stderr, "%s\n", err.msg);
    free(tmp);
    trace_store_close(s, &err);
    return rc ? (write_failed ? FX_EXIT_FAIL : FX_EXIT_INPUT) : FX_EXIT_OK;
}
