// cmd_verify.c — `fluxrl verify`: the answer verifier over JSONL; the JSONL input helpers that
// `fluxrl task check` shares.
#define _POSIX_C_SOURCE 200809L
#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../model/tok.h"
#include "../rollout/verify.h"
#include "cli.h"

int cli_jsonl_open(const char *cmd, int argc, char **argv, cli_jsonl *in) {
    memset(in, 0, sizeof *in);
    in->r.path = "<stdin>";
    in->r.f = stdin;
    const char *path = NULL;
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--input") == 0 && i + 1 < argc) path = argv[++i];
        else if (strncmp(argv[i], "--input=", 8) == 0) path = argv[i] + 8;
        else {
            fprintf(stderr, "fluxrl %s: unexpected argument '%s'\nrun 'fluxrl %s --help' for the usage\n", cmd,
                    argv[i], cmd);
            return FX_EXIT_INPUT;
        }
    }
    if (path && strcmp(path, "-") != 0) {
        fx_err err;
        in->r.f = fx_fopen_input(path, &err);
        if (!in->r.f) {
            fprintf(stderr, "%s\n", err.msg);
            return FX_EXIT_INPUT;
        }
        in->r.path = path;
    }
    return 0;
}

int cli_jsonl_next(cli_jsonl *in, struct cJSON **obj) {
    *obj = NULL;
    fx_err err;
    int more = fx_jsonl_next(&in->r, &err);
    if (more < 0) fprintf(stderr, "%s\n", err.msg);
    if (more <= 0) return more;
    cJSON *j = cJSON_ParseWithOpts(in->r.line, NULL, 1); // nothing may follow the object
    if (!cJSON_IsObject(j)) {
        fprintf(stderr, "%s:%d: expected a JSON object on one line\n", in->r.path, in->r.lineno);
        cJSON_Delete(j);
        return -1;
    }
    *obj = j;
    return 1;
}

const char *cli_jsonl_string(const cli_jsonl *in, const struct cJSON *obj, const char *field) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, field);
    if (cJSON_IsString(v)) return v->valuestring;
    fprintf(stderr, "%s:%d: %s: expected a string, got %s\n", in->r.path, in->r.lineno, field,
            v == NULL ? "nothing (missing)" : cJSON_IsNumber(v) ? "a number" : cJSON_IsNull(v) ? "null" : "another JSON type");
    return NULL;
}

void cli_jsonl_close(cli_jsonl *in) {
    if (in->r.f && in->r.f != stdin) fclose(in->r.f);
    fx_jsonl_free(&in->r);
    memset(in, 0, sizeof *in);
}

char *cli_json_text(const struct cJSON *obj) {
    char *s = cJSON_PrintUnformatted(obj);
    FX_ASSERT(s != NULL);
    size_t n;
    char *valid = tok_utf8_sanitize(s, strlen(s), &n);
    free(s);
    return valid;
}

void cli_json_number(FILE *f, double v) {
    if (isfinite(v)) fprintf(f, "%.6g", v);
    else fputs("null", f);
}

// Prints one object as a line, all at once.
void cli_json_line(struct cJSON *obj) {
    char *s = cli_json_text(obj);
    printf("%s\n", s);
    free(s);
}

int cmd_verify(int argc, char **argv) {
    cli_jsonl in;
    int rc = cli_jsonl_open("verify", argc, argv, &in);
    if (rc) return rc;
    cJSON *j;
    while ((rc = cli_jsonl_next(&in, &j)) > 0) {
        const char *response = cli_jsonl_string(&in, j, "response");
        const char *answer = response ? cli_jsonl_string(&in, j, "answer") : NULL;
        if (!answer) {
            cJSON_Delete(j);
            rc = -1;
            break;
        }
        char *extracted;
        bool ok = verify_response(response, answer, &extracted);
        cJSON *o = cJSON_CreateObject();
        cJSON_AddBoolToObject(o, "correct", ok);
        if (extracted) cJSON_AddStringToObject(o, "extracted", extracted);
        else cJSON_AddNullToObject(o, "extracted");
        cli_json_line(o);
        cJSON_Delete(o);
        free(extracted);
        cJSON_Delete(j);
    }
    cli_jsonl_close(&in);
    fflush(stdout);
    return rc < 0 ? FX_EXIT_INPUT : FX_EXIT_OK;
}
