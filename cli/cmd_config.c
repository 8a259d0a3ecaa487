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
