// cmd_tokenize.c — `fluxrl tokenize` (JSONL text ↔ ids, for pre-tokenising datasets) and
// `fluxrl tokenizer train` (BPE training, how the built-in tokenizer was made).
#define _POSIX_C_SOURCE 200809L
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../model/tok.h"
#include "cli.h"

typedef struct {
    const char *tokenizer, *input, *field;
    bool decode, skip_special, chat;
} tokenize_args;

static int usage_error(const char *cmd) {
    fprintf(stderr, "run 'fluxrl %s --help' for the usage\n", cmd);
    return FX_EXIT_INPUT;
}

// "--name VALUE" or "--name=VALUE" at argv[*i]; NULL when argv[*i] is another option.
static const char *opt_value(const char *cmd, int argc, char **argv, int *i, const char *name, bool *bad) {
    size_t n = strlen(name);
    if (strncmp(argv[*i], name, n) != 0) return NULL;
    if (argv[*i][n] == '=') return argv[*i] + n + 1;
    if (argv[*i][n] != '\0') return NULL;
    if (*i + 1 >= argc) {
        fprintf(stderr, "fluxrl %s: %s needs a value\n", cmd, name);
        *bad = true;
        return NULL;
    }
    return argv[++*i];
}

static int parse_tokenize_args(int argc, char **argv, tokenize_args *a) {
    *a = (tokenize_args){NULL, NULL, "text", false, false, false};
    for (int i = 0; i < argc; i++) {
        bool bad = false;
        const char *v;
        if ((v = opt_value("tokenize", argc, argv, &i, "--tokenizer", &bad)))
            a->tokenizer = v;
        else if ((v = opt_value("tokenize", argc, argv, &i, "--input", &bad)))
            a->input = v;
        else if ((v = opt_value("tokenize", argc, argv, &i, "--field", &bad)))
            a->field = v;
        else if (bad)
            return usage_error("tokenize");
        else if (strcmp(argv[i], "--decode") == 0)
            a->decode = true;
        else if (strcmp(argv[i], "--skip-special") == 0)
            a->skip_special = true;
        else if (strcmp(argv[i], "--chat") == 0)
            a->chat = true;
        else {
            fprintf(stderr, "fluxrl tokenize: unknown argument '%s'\n", argv[i]);
            return usage_error("tokenize");
        }
    }
    if (!a->tokenizer) {
        fprintf(stderr, "fluxrl tokenize: --tokenizer PATH is required\n");
        return usage_error("tokenize");
    }
    if (a->chat && a->decode) {
        fprintf(stderr, "fluxrl tokenize: --chat and --decode exclude each other\n");
        return usage_error("tokenize");
    }
    return 0;
}

static void print_ids(const tok_ids *v) {
    fputs("{\"ids\":[", stdout);
    for (size_t i = 0; i < v->n; i++) printf(i ? ",%d" : "%d", (int)v->ids[i]);
    fputs("]}\n", stdout);
}

// One record → one output line; -1 with the message printed when the record is bad.
static int encode_record(tok_tokenizer *t, const cJSON *rec, const char *where, const char *field, tok_ids *v) {
    const cJSON *s = cJSON_GetObjectItemCaseSensitive(rec, field);
    if (!cJSON_IsString(s)) {
        fprintf(stderr, "%s: field '%s': expected a string, got %s\n", where, field,
                s ? "another JSON type" : "nothing");
        return -1;
    }
    v->n = 0;
    tok_encode(t, s->valuestring, strlen(s->valuestring), v);
    print_ids(v);
    return 0;
}

// --chat: the tokenizer's chat template over the record, then its ids.
static int chat_record(tok_tokenizer *t, const cJSON *rec, const char *where, tok_ids *v) {
    fx_err err;
    v->n = 0;
    char *text = tok_chat_encode(t, rec, v, &err);
    if (!text) {
        fprintf(stderr, "%s: %s\n", where, err.msg);
        return -1;
    }
    cJSON *o = cJSON_CreateObject(), *ids = cJSON_AddArrayToObject(o, "ids");
    cJSON_AddStringToObject(o, "text", text);
    cJSON_DetachItemViaPointer(o, ids); // "text" first, then "ids"
    cJSON_AddItemToObject(o, "ids", ids);
    for (size_t i = 0; i < v->n; i++) cJSON_AddItemToArray(ids, cJSON_CreateNumber(v->ids[i]));
    char *line = cJSON_PrintUnformatted(o);
    puts(line);
    free(line);
    cJSON_Delete(o);
    free(text);
    return 0;
}

static int decode_record(tok_tokenizer *t, const cJSON *rec, const char *where, bool skip_special, tok_ids *v) {
    const cJSON *ids = cJSON_GetObjectItemCaseSensitive(rec, "ids"), *e;
    if (!cJSON_IsArray(ids)) {
        fprintf(stderr, "%s: field 'ids': expected an array of token ids\n", where);
        return -1;
    }
    v->n = 0;
    int k = 0;
    cJSON_ArrayForEach(e, ids) {
        double d = cJSON_IsNumber(e) ? e->valuedouble : -1;
        if (d < 0 || d >= tok_vocab_size(t) || d != (double)(int32_t)d || !tok_token_bytes(t, (int32_t)d, NULL)) {
            fprintf(stderr, "%s: field 'ids[%d]': expected a token id in [0, %d)\n", where, k, (int)tok_vocab_size(t));
            return -1;
        }
        tok_ids_push(v, (int32_t)d);
        k++;
    }
    size_t n, m;
    char *bytes = tok_decode(t, v->ids, v->n, skip_special, &n);
    char *text = tok_utf8_sanitize(bytes, n, &m); // JSON needs valid UTF-8: cut characters → U+FFFD
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "text", text);
    char *line = cJSON_PrintUnformatted(o);
    puts(line);
    free(line);
    cJSON_Delete(o);
    free(text);
    free(bytes);
    return 0;
}

int cmd_tokenize(int argc, char **argv) {
    tokenize_args a;
    if (parse_tokenize_args(argc, argv, &a)) return FX_EXIT_INPUT;
    fx_err err;
    tok_tokenizer *t;
    if (tok_load(&t, a.tokenizer, &err)) {
        fprintf(stderr, "%s\n", err.msg);
        return FX_EXIT_INPUT;
    }
    if (a.chat && !tok_has_chat_template(t)) {
        fprintf(stderr, "%s: --chat: the tokenizer has no chat template (tokenizer_config.json holds no chat_template)\n",
                a.tokenizer);
        tok_free(t);
        return FX_EXIT_INPUT;
    }
    FILE *in = stdin;
    const char *name = "<stdin>";
    if (a.input) {
        in = fx_fopen_input(a.input, &err);
        if (!in) {
            fprintf(stderr, "%s\n", err.msg);
            tok_free(t);
            return FX_EXIT_INPUT;
        }
        name = a.input;
    }
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    long lineno = 0;
    int rc = FX_EXIT_OK;
    tok_ids v = {0};
    while ((len = getline(&line, &cap, in)) >= 0) {
        lineno++;
        size_t k = strspn(line, " \t\r\n");
        if ((ssize_t)k == len) continue; // blank lines carry no record
        char where[1200];
        snprintf(where, sizeof where, "%s:%ld", name, lineno);
        cJSON *rec = cJSON_ParseWithLength(line, (size_t)len);
        if (!cJSON_IsObject(rec)) {
            fprintf(stderr, "%s: expected a JSON object on each line\n", where);
            rc = FX_EXIT_INPUT;
        } else if (a.chat     ? chat_record(t, rec, where, &v)
                   : a.decode ? decode_record(t, rec, where, a.skip_special, &v)
                              : encode_record(t, rec, where, a.field, &v)) {
            rc = FX_EXIT_INPUT;
        }
        cJSON_Delete(rec);
        if (rc) break;
    }
    free(line);
    tok_ids_free(&v);
    if (in != stdin) fclose(in);
    tok_free(t);
    return rc;
}

int cmd_tokenizer_train(int argc, char **argv) {
    const char *input = NULL, *out = NULL, *vs = NULL, *eos = "<|im_end|>", *pad = "<|endoftext|>";
    const char **specials = fx_calloc((size_t)argc + 1, sizeof *specials);
    int nspecial = 0, rc = FX_EXIT_INPUT;
    for (int i = 0; i < argc; i++) {
        bool bad = false;
        const char *v;
        if ((v = opt_value("tokenizer train", argc, argv, &i, "--input", &bad)))
            input = v;
        else if ((v = opt_value("tokenizer train", argc, argv, &i, "--out", &bad)))
            out = v;
        else if ((v = opt_value("tokenizer train", argc, argv, &i, "--vocab-size", &bad)))
            vs = v;
        else if ((v = opt_value("tokenizer train", argc, argv, &i, "--special", &bad)))
            specials[nspecial++] = v;
        else if ((v = opt_value("tokenizer train", argc, argv, &i, "--eos", &bad)))
            eos = v;
        else if ((v = opt_value("tokenizer train", argc, argv, &i, "--pad", &bad)))
            pad = v;
        else {
            if (!bad) fprintf(stderr, "fluxrl tokenizer train: unknown argument '%s'\n", argv[i]);
            goto done;
        }
    }
    if (!input || !out || !vs) {
        fprintf(stderr, "fluxrl tokenizer train: --input, --vocab-size and --out are required\n");
        goto done;
    }
    char *end;
    long n = strtol(vs, &end, 10);
    if (*end || end == vs || n < 256 || n > 1000000) {
        fprintf(stderr, "fluxrl tokenizer train: --vocab-size: expected an integer in [256, 1000000], got '%s'\n", vs);
        goto done;
    }
    static const char *dflt[] = {"<|endoftext|>", "<|im_start|>", "<|im_end|>", "<think>", "</think>", "<extra_0>"};
    if (nspecial == 0)
        for (size_t i = 0; i < sizeof dflt / sizeof dflt[0]; i++) specials[nspecial++] = dflt[i];
    bool has_eos = false, has_pad = false;
    for (int i = 0; i < nspecial; i++)
        has_eos |= strcmp(specials[i], eos) == 0, has_pad |= strcmp(specials[i], pad) == 0;
    fx_err err;
    size_t len;
    char *text = fx_read_file(input, &len, &err);
    if (!text) {
        fprintf(stderr, "%s\n", err.msg);
        goto done;
    }
    tok_train_opts o = {specials, nspecial, has_eos ? eos : NULL, has_pad ? pad : NULL, (int)n};
    if (tok_train(text, len, &o, out, &err))
        fprintf(stderr, "%s\n", err.msg);
    else
        rc = FX_EXIT_OK, printf("wrote %s/tokenizer.json and %s/tokenizer_config.json\n", out, out);
    free(text);
done:
    if (rc) usage_error("tokenizer train");
    free(specials);
    return rc;
}
