// policy.h — the policy model of a run, as the config names it: used by sft, prm-train (its
// starting backbone and its output) and train (the policy, the reference).
#ifndef FLUXRL_POLICY_H
#define FLUXRL_POLICY_H

#include "../core/config.h"
#include "../model/model.h"
#include "../model/tok.h"

// The policy and tokenizer the config names: model.path (a Hugging Face folder), or a new
// randomly initialised Qwen2-shaped model of the model.* sizes with the built-in tokenizer.
int policy_build(const fx_config *c, const backend *be, model *m, tok_tokenizer **tok, fx_err *err);
// What policy_build checks, without reading or making weights (--dry-run): the tokenizer loaded,
// the model's config in *mc and, for a folder, its files checked (model_check_files).
int policy_check(const fx_config *c, model_config *mc, tok_tokenizer **tok, fx_err *err);
// Saves the policy as a complete Hugging Face folder: config.json, model.safetensors, and the
// tokenizer it was built with (the built-in one, or model.path's tokenizer files).
int policy_save(const fx_config *c, const model *m, const char *dir, fx_err *err);

#endif
