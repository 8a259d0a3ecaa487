// config.h — JSON experiment configs, validated against the schema of config_keys.h.
// A config is a JSON object of sections, each an object of keys: {"cluster": {"rollout_ranks": 2}}.
// Keys not given take their defaults; unknown keys, wrong types and values out of range are
// errors naming the file, the key path and what was expected.
#ifndef FLUXRL_CONFIG_H
#define FLUXRL_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config_keys.h"
#include "fx.h"

#define FX_CFG_STR_LEN 512
#define FX_CFG_ENUM_LEN 32

#define FX_CFG_DECL_INT(n) int64_t n;
#define FX_CFG_DECL_FLOAT(n) double n;
#define FX_CFG_DECL_BOOL(n) bool n;
#define FX_CFG_DECL_STR(n) char n[FX_CFG_STR_LEN];
#define FX_CFG_DECL_ENUM(n) char n[FX_CFG_ENUM_LEN];
#define FX_CFG_FIELD(sec, name, type, def, range, help) FX_CFG_DECL_##type(name)
#define FX_CFG_SECTION_STRUCT(sec, help) struct { FX_CFG_KEYS_##sec(FX_CFG_FIELD) } sec;

typedef struct {
    FX_CFG_SECTIONS(FX_CFG_SECTION_STRUCT)
} fx_config;

typedef enum { FX_CFG_INT, FX_CFG_FLOAT, FX_CFG_BOOL, FX_CFG_STR, FX_CFG_ENUM } fx_cfg_type;

typedef struct {
    const char *key; // "section.name"
    const char *section, *name;
    fx_cfg_type type;
    const char *def, *range, *help;
    size_t offset, size; // of the field in fx_config
} fx_cfg_key;

typedef struct {
    const char *name, *help;
} fx_cfg_section;

const fx_cfg_key *cfg_keys(int *n);
const fx_cfg_section *cfg_sections(int *n);
const fx_cfg_key *cfg_find(const char *key);

// Every key at its default.
void cfg_defaults(fx_config *c);
// Applies the JSON text `text` on top of c; `source` names it in errors (usually the path).
int cfg_apply_json(fx_config *c, const char *text, size_t len, const char *source, fx_err *err);
// Defaults, then the file at path.
int cfg_load(fx_config *c, const char *path, fx_err *err);
// Applies one "section.key=value" override, the value typed by the schema.
int cfg_set(fx_config *c, const char *assignment, fx_err *err);
// Defaults, the file (when path is not NULL), then the overrides in order.
int cfg_resolve(fx_config *c, const char *path, int nset, char **sets, fx_err *err);

// The resolved config as pretty JSON, every key, in schema order (caller frees).
char *cfg_to_json(const fx_config *c);
// The config reference in Markdown (caller frees); docs/config.md is this text.
char *cfg_doc_markdown(void);

// The run's folder, run.out_dir/run.name.
void cfg_run_dir(const fx_config *c, char *buf, size_t n);
// Creates the run folder and writes the resolved config to it as config.json (atomically).
int cfg_write_resolved(const fx_config *c, fx_err *err);

// Applies the log.* keys to the logger and the progress display.
void cfg_apply_log(const fx_config *c);

// Levenshtein distance, used for "did you mean" suggestions.
int cfg_edit_distance(const char *a, const char *b);

#endif
