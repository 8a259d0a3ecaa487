// cli.h — the `fluxrl` program: one table of subcommands, shared argument helpers.
#ifndef FLUXRL_CLI_H
#define FLUXRL_CLI_H

#include "../core/config.h"
#include "../core/fx.h"
#include "../pipeline/infer.h"
#include "../pipeline/pipeline.h"

typedef struct {
    const char *name;    // "config check": words the user types after `fluxrl`
    const char *summary; // one line for `fluxrl help`
    const char *usage;   // what `fluxrl NAME --help` prints
    int (*run)(int argc, char **argv); // argv[0] is the first argument after the name
} cli_command;

extern const cli_command cli_commands[];
extern const int cli_ncommands;

int cmd_help(int argc, char **argv);
int cmd_version(int argc, char **argv);
int cmd_config_check(int argc, char **argv);
int cmd_config_get(int argc, char **argv);
int cmd_config_doc(int argc, char **argv);
int cmd_ranks(int argc, char **argv);
int cmd_plot(int argc, char **argv);
int cmd_sft(int argc, char **argv);
int cmd_eval(int argc, char **argv);
int cmd_generate(int argc, char **argv);
int cmd_merge(int argc, char **argv);
int cmd_prm_score(int argc, char **argv);
int cmd_train(int argc, char **argv);
int cmd_prm_train(int argc, char **argv);
int cmd_select(int argc, char **argv);
int cmd_best_of_n(int argc, char **argv);
// model commands (transformer core)
int cmd_model_info(int argc, char **argv);
int cmd_logprobs(int argc, char **argv);
// tokenizer commands
int cmd_tokenize(int argc, char **argv);
int cmd_tokenizer_train(int argc, char **argv);
// rollout commands (tasks, verify)
int cmd_verify(int argc, char **argv);
int cmd_task_sample(int argc, char **argv);
int cmd_task_check(int argc, char **argv);
// JSONL input of verify and task check: --input FILE (stdin without it, or with "-").
struct cJSON;
typedef struct {
    fx_jsonl r; // r.path: the path, or "<stdin>", for messages "NAME:LINE: field: expected ..."
} cli_jsonl;
int cli_jsonl_open(const char *cmd, int argc, char **argv, cli_jsonl *in); // 0 or FX_EXIT_INPUT
// The next non-blank line as a JSON object: 1; 0 at the end; -1 when it is not one (printed).
int cli_jsonl_next(cli_jsonl *in, struct cJSON **obj);
// obj's string field, or NULL after printing "NAME:LINE: field: expected a string ...".
const char *cli_jsonl_string(const cli_jsonl *in, const struct cJSON *obj, const char *field);
void cli_jsonl_close(cli_jsonl *in);
void cli_json_line(struct cJSON *obj); // prints obj unformatted on one line
// obj unformatted as valid JSON (caller frees): cJSON writes a string's bytes as they are, so any
// ill-formed UTF-8 (from an input file, or ids cut mid-character) becomes U+FFFD.
char *cli_json_text(const struct cJSON *obj);
// A number for JSON: non-finite values as null (a bare nan is not JSON).
void cli_json_number(FILE *f, double v);
// trace commands
int cmd_traces_info(int argc, char **argv);
int cmd_traces_export(int argc, char **argv);

// The arguments of a command that takes a config: FILE and any number of --set k=v.
typedef struct {
    const char *path; // NULL when the command allows no file and none was given
    char **sets;
    int nset;
} cli_config_args;

// Parses argv into a; prints usage errors naming the argument. Returns 0 or FX_EXIT_INPUT.
int cli_parse_config_args(const char *cmd, int argc, char **argv, bool need_file, cli_config_args *a);
void cli_config_args_free(cli_config_args *a);

// Removes "NAME VALUE" (or "NAME=VALUE") from argv if present: *value points at VALUE, else stays
// as it was. Returns -1 (after printing why) when NAME has no value.
int cli_take_option(const char *cmd, int *argc, char **argv, const char *name, const char **value);

// The options of eval, generate and best-of-n into p (infer.h), their defaults first; prints a
// usage error naming the option. Returns 0 or FX_EXIT_INPUT.
int cli_parse_infer(const char *cmd, infer_kind kind, int argc, char **argv, infer_params *p);
// Takes --backend cpu|cuda and --precision bf16|fp32 out of argv (defaults cpu, bf16); 0 or
// FX_EXIT_INPUT after printing why. cli_open_backend opens what they name (pipeline_backend_open;
// cuda: device 0), NULL after printing why.
int cli_take_backend(const char *cmd, int *argc, char **argv, const char **kind, const char **precision);
backend *cli_open_backend(const char *cmd, const char *kind, const char *precision);
// Removes the flag `name` (no value) from argv; true when it was there.
bool cli_take_flag(int *argc, char **argv, const char *name);
// `--dry-run` of train, sft and prm-train: pipeline_dry_run, its report printed; frees a.
int cli_dry_run(pipeline_dry_kind kind, int *argc, char ***argv, cli_config_args *a);
// Removes "--resume auto|never" from argv: *resume is true for auto. -1 (said why) for a bad mode.
int cli_take_resume(const char *cmd, int *argc, char **argv, bool *resume);

// Applies the config's log.* keys to the logger and the progress display.
void cli_apply_log_config(const fx_config *c);

#endif
