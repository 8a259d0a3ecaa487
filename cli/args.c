// args.c — arguments shared by the commands that take a config.
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/log.h"
#include "../core/progress.h"
#include "../pipeline/pipeline.h"
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

bool cli_take_flag(int *argc, char **argv, const char *name) {
    for (int i = 0; i < *argc; i++)
        if (strcmp(argv[i], name) == 0) {
            for (int j = i; j + 1 < *argc; j++) argv[j] = argv[j + 1];
            --*argc;
            return true;
        }
    return false;
}

int cli_dry_run(pipeline_dry_kind kind, int *argc, char ***argv, cli_config_args *a) {
    char *report = NULL;
    int code = pipeline_dry_run(argc, argv, kind, a->path, a->nset, a->sets, &report);
    if (report) fputs(report, stdout), fflush(stdout);
    free(report);
    cli_config_args_free(a);
    return code;
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

// --- eval, generate, best-of-n ---------------------------------------------------------------------

// Options that take a number: where it goes, and whether it is a whole number up to 2^53 (else
// below 2^31).
static bool infer_number(infer_params *p, const char *k, double x) {
    if (!strcmp(k, "--n")) p->n = (int)x;
    else if (!strcmp(k, "--problems")) p->data.count = (int)x;
    else if (!strcmp(k, "--first")) p->data.first = (int)x;
    else if (!strcmp(k, "--batch")) p->batch = (int)x;
    else if (!strcmp(k, "--max-new")) p->max_new = (int)x;
    else if (!strcmp(k, "--temperature")) p->sample.temperature = (float)x;
    else if (!strcmp(k, "--top-p")) p->sample.top_p = (float)x;
    else if (!strcmp(k, "--top-k")) p->sample.top_k = (int)x;
    else if (!strcmp(k, "--min-p")) p->sample.min_p = (float)x;
    else if (!strcmp(k, "--seed")) p->seed = (long long)x;
    else if (!strcmp(k, "--task-seed")) p->data.task_seed = (uint64_t)x;
    else if (!strcmp(k, "--ops")) p->data.task.ops = (int)x;
    else if (!strcmp(k, "--digits")) p->data.task.digits = (int)x;
    else return false;
    return true;
}

// --experts DIR,DIR,... (split in place) and --preference W,W,...
static int take_list(const char *cmd, const char *k, char *v, infer_params *p) {
    bool experts = !strcmp(k, "--experts");
    char *items[INFER_MAX_EXPERTS];
    fx_err err;
    int n = experts ? fx_split_list(k, v, v, strlen(v) + 1, items, INFER_MAX_EXPERTS, &err)
                    : fx_parse_floats(k, v, p->preference, INFER_MAX_EXPERTS, &err);
    if (n < 0) {
        fprintf(stderr, "fluxrl %s: %s\n", cmd, err.msg);
        return FX_EXIT_INPUT;
    }
    for (int i = 0; experts && i < n; i++) p->experts[i] = items[i];
    *(experts ? &p->nexperts : &p->npref) = n;
    return 0;
}

int cli_parse_infer(const char *cmd, infer_kind kind, int argc, char **argv, infer_params *p) {
    infer_defaults(p, kind);
    bool bon = kind == INFER_BEST_OF_N, gen = kind == INFER_GENERATE;
    for (int i = 0; i < argc; i++) {
        const char *k = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (bon && !strcmp(k, "--trajectory-separator")) {
            p->prm_traj_sep = true;
            continue;
        }
        if (!v || strncmp(k, "--", 2) != 0) {
            fprintf(stderr, "fluxrl %s: unexpected argument '%s'; see 'fluxrl %s --help'\n", cmd, k, cmd);
            return FX_EXIT_INPUT;
        }
        i++;
        if (!strcmp(k, bon ? "--policy" : "--model")) p->model = v;
        else if (!strcmp(k, "--experts") || !strcmp(k, "--preference")) {
            if (take_list(cmd, k, argv[i], p)) return FX_EXIT_INPUT;
        } else if (!strcmp(k, "--pcm")) p->pcm = v;
        else if (!strcmp(k, "--merge")) p->merge = v;
        else if (!strcmp(k, "--data")) p->data.data = v;
        else if (!strcmp(k, "--prompt-key")) p->data.prompt_key = v;
        else if (!strcmp(k, "--answer-key")) p->data.answer_key = v;
        else if (!strcmp(k, "--chat")) p->chat = v;
        else if (!strcmp(k, "--system")) p->system = v;
        else if (!strcmp(k, "--prm-system") && bon) p->prm_system = v;
        else if (!strcmp(k, "--chat-vars")) p->chat_vars = v;
        else if (!strcmp(k, "--backend")) p->backend = v;
        else if (!strcmp(k, "--precision")) p->precision = v;
        else if (!strcmp(k, "--out") && (gen || bon)) p->out = v;
        else if (!strcmp(k, "--operators")) snprintf(p->data.task.operators, sizeof p->data.task.operators, "%.3s", v);
        else if (!strcmp(k, "--stop")) {
            if (p->nstop == INFER_MAX_STOP || !v[0]) {
                fprintf(stderr, "fluxrl %s: --stop: at most %d non-empty strings\n", cmd, INFER_MAX_STOP);
                return FX_EXIT_INPUT;
            }
            p->stop[p->nstop++] = v;
        } else if (!strcmp(k, "--prm") && bon) {
            if (p->nprm == INFER_MAX_PRMS) {
                fprintf(stderr, "fluxrl %s: --prm: at most %d\n", cmd, INFER_MAX_PRMS);
                return FX_EXIT_INPUT;
            }
            p->prm[p->nprm++] = v;
        } else {
            char *end;
            double x = strtod(v, &end);
            bool wide = !strcmp(k, "--seed") || !strcmp(k, "--task-seed") || (bon && !strcmp(k, "--alpha"));
            if (*end || end == v || !isfinite(x) || fabs(x) > (wide ? 9007199254740992.0 : 2147483647.0)) {
                fprintf(stderr, "fluxrl %s: %s: expected a finite number%s, got '%s'\n", cmd, k,
                        wide ? " below 2^53" : " below 2^31", v);
                return FX_EXIT_INPUT;
            }
            if (bon && !strcmp(k, "--alpha")) p->alpha = x;
            else if (gen && !strcmp(k, "--slots")) p->slots = (int)x;
            else if (gen && !strcmp(k, "--kv-tokens")) p->kv_tokens = (int)x;
            else if (!infer_number(p, k, x)) {
                fprintf(stderr, "fluxrl %s: unknown option '%s'\n", cmd, k);
                return FX_EXIT_INPUT;
            }
        }
    }
    // generate: the engine's slots are --slots, else --batch when given, else rollout.slots' default
    bool batch_given = false;
    for (int i = 0; i + 1 < argc; i += 2) batch_given |= !strcmp(argv[i], "--batch");
    if (gen && !p->slots && batch_given) p->slots = p->batch;
    const char *bad = infer_check(p, kind);
    if (bad) {
        fprintf(stderr, "fluxrl %s: %s\n", cmd, bad);
        return FX_EXIT_INPUT;
    }
    return 0;
}

int cli_take_backend(const char *cmd, int *argc, char **argv, const char **kind, const char **precision) {
    *kind = "cpu", *precision = "bf16";
    if (cli_take_option(cmd, argc, argv, "--backend", kind) || cli_take_option(cmd, argc, argv, "--precision", precision))
        return FX_EXIT_INPUT;
    if (strcmp(*kind, "cpu") && strcmp(*kind, "cuda")) {
        fprintf(stderr, "fluxrl %s: --backend: expected cpu or cuda, got '%s'\n", cmd, *kind);
        return FX_EXIT_INPUT;
    }
    if (strcmp(*precision, "bf16") && strcmp(*precision, "fp32")) {
        fprintf(stderr, "fluxrl %s: --precision: expected bf16 or fp32, got '%s'\n", cmd, *precision);
        return FX_EXIT_INPUT;
    }
    return 0;
}

backend *cli_open_backend(const char *cmd, const char *kind, const char *precision) {
    fx_err err;
    backend *be = pipeline_backend_open("--backend", kind, precision, 0, 0, "this process", &err);
    if (!be) fprintf(stderr, "fluxrl %s: %s\n", cmd, err.msg);
    return be;
}
