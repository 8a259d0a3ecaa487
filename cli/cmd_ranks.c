// cmd_ranks.c — `fluxrl ranks CONFIG [--set k=v ...]`: the launch as the config lays it out,
// checked on every rank (pipeline_ranks); rank 0 prints the table.
#include <stdio.h>
#include <stdlib.h>

#include "../pipeline/pipeline.h"
#include "cli.h"

int cmd_ranks(int argc, char **argv) {
    cli_config_args a;
    if (cli_parse_config_args("ranks", argc, argv, false, &a)) return FX_EXIT_INPUT;
    char *table = NULL;
    int code = pipeline_ranks(&argc, &argv, a.path, a.nset, a.sets, &table);
    if (table) fputs(table, stdout), fflush(stdout);
    free(table);
    cli_config_args_free(&a);
    return code;
}
