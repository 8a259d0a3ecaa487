// cmd_config.c — `fluxrl config check` and `fluxrl config doc`.
#include <stdio.h>
#include <stdlib.h>

#include "cli.h"

int cmd_config_check(int argc, char **argv) {
    cli_config_args a;
    if (cli_parse_config_args("config check", argc, argv, true, &a)) return FX_EXIT_INPUT;
    fx_config *c = fx_malloc(sizeof *c);
    fx_err err;
    int rc = cfg_resolve(c, a.path, a.nset, a.sets, &err);
    if (rc == 0) {
        char *json = cfg_to_json(c);
        printf("%s\n", json);
        free(json);
    } else {
        fprintf(stderr, "%s\n", err.msg);
    }
    free(c);
    cli_config_args_free(&a);
    return rc == 0 ? FX_EXIT_OK : FX_EXIT_INPUT;
}

// Prints one resolved value: `fluxrl config get FILE KEY [--set ...]`, for scripts.
int cmd_config_get(int argc, char **argv) {
    if (argc < 2 || argv[1][0] == '-') {
        fprintf(stderr, "fluxrl config get: FILE and KEY are required; see 'fluxrl config get --help'\n");
        return FX_EXIT_INPUT;
    }
    const char *key = argv[1];
    argv[1] = argv[0]; // what remains is FILE [--set ...]
    cli_config_args a;
    if (cli_parse_config_args("config get", argc - 1, argv + 1, true, &a)) return FX_EXIT_INPUT;
    fx_config *c = fx_malloc(sizeof *c);
    fx_err err;
    int rc = cfg_resolve(c, a.path, a.nset, a.sets, &err);
    const fx_cfg_key *k = cfg_find(key);
    if (rc == 0 && !k) rc = fx_errf(&err, "fluxrl config get: %s: unknown key (see `fluxrl config doc`)", key);
    if (rc == 0) {
        const void *f = (const char *)c + k->offset;
        switch (k->type) {
        case FX_CFG_INT: printf("%lld\n", (long long)*(const int64_t *)f); break;
        case FX_CFG_FLOAT: printf("%.17g\n", *(const double *)f); break;
        case FX_CFG_BOOL: printf("%s\n", *(const bool *)f ? "true" : "false"); break;
        default: printf("%s\n", (const char *)f); break;
        }
    } else {
        fprintf(stderr, "%s\n", err.msg);
    }
    free(c);
    cli_config_args_free(&a);
    return rc == 0 ? FX_EXIT_OK : FX_EXIT_INPUT;
}

int cmd_config_doc(int argc, char **argv) {
    if (argc > 0) {
        fprintf(stderr, "fluxrl config doc: unexpected argument '%s'\n", argv[0]);
        return FX_EXIT_INPUT;
    }
    char *doc = cfg_doc_markdown();
    fputs(doc, stdout);
    free(doc);
    return FX_EXIT_OK;
}
