// args.c — arguments shared by the commands that take a config.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/log.h"
#include "../core/progress.h"
#include "cli.h"

int cli_parse_config_args(const char *cmd, int argc, char **argv, bool need_file, cli_config_args *a) {
    memset(a, 0, sizeof *a);
    a->sets = fx_calloc((size_t)argc + 1, sizeof(char *));
    for (int i = 0; i < argc; i++) {
        const char *arg = argv[i];
        if (strcmp(arg, "--set") == 0) {
            if (i + 1 >= argc) {
                fprintf(stderr, "fluxrl %s: --set needs section.key=value\n", cmd);
                goto usage;
            }
            a->sets[a->nset++] = argv[++i];
        } else if (strncmp(arg, "--set=", 6) == 0) {
            a->sets[a->nset++] = argv[i] + 6;
        } else if (arg[0] == '-' && arg[1] != '\0') {
            fprintf(stderr, "fluxrl %s: unknown option '%s'\n", cmd, arg);
            goto usage;
        } else if (a->path) {
            fprintf(stderr, "fluxrl %s: one config file expected, got '%s' and '%s'\n", cmd, a->path, arg);
            goto usage;
        } else {
            a->path = arg;
        }
    }
    if (need_file && !a->path) {
        fprintf(stderr, "fluxrl %s: a config FILE is required\n", cmd);
        goto usage;
    }
    return 0;
usage:
    fprintf(stderr, "run 'fluxrl %s --help' for the usage\n", cmd);
    cli_config_args_free(a);
    return FX_EXIT_INPUT;
}

void cli_config_args_free(cli_config_args *a) {
    free(a->sets);
    a->sets = NULL;
}

void cli_apply_log_config(const fx_config *c) { cfg_apply_log(c); }

int cli_take_option(const char *cmd, int *argc, char **argv, const char *name, const char **value) {
    size_t n = strlen(name);
    for (int i = 0; i < *argc; i++) {
        int used = 0;
        if (strcmp(argv[i], name) == 0) {
            if (i + 1 >= *argc) {
                fprintf(stderr, "fluxrl %s: %s needs a value\n", cmd, name);
                return -1;
            }
            *value = argv[i + 1], used = 2;
        } else if (strncmp(argv[i], name, n) == 0 && argv[i][n] == '=') {
            *value = argv[i] + n + 1, used = 1;
        }
        if (used) {
            for (int j = i; j + used < *argc; j++) argv[j] = argv[j + used];
            *argc -= used;
            return 0;
        }
    }
    return 0;
}

int cli_take_resume(const char *cmd, int *argc, char **argv, bool *resume) {
    const char *mode = "never";
    if (cli_take_option(cmd, argc, argv, "--resume", &mode)) return -1;
    if (strcmp(mode, "never") != 0 && strcmp(mode, "auto") != 0) {
        fprintf(stderr, "fluxrl %s: --resume: expected auto or never, got '%s'\n", cmd, mode);
        return -1;
    }
    *resume = strcmp(mode, "auto") == 0;
    return 0;
}
