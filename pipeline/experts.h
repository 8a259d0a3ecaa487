// experts.h — K expert language models of one tokenizer (docs/pcm.md), loaded from their folders
// and checked against each other: `fluxrl generate` / `eval --experts` and the PCM policy of
// `fluxrl train` (pcm.experts).
#ifndef FLUXRL_PIPE_EXPERTS_H
#define FLUXRL_PIPE_EXPERTS_H

#include "../core/fx.h"
#include "../model/model.h"
#include "../model/tok.h"

// Loads the language model at path into out and checks it reads tok's ids: its vocab_size fits tok,
// and (unless path is tok_dir, where tok came from) its own tokenizer has the same bytes and
// specialness for every id (an error names both folders and the first id that differs).
int pipe_model_load_sharing(const char *path, const backend *be, const tok_tokenizer *tok, const char *tok_dir,
                            model *out, fx_err *err);
// Loads paths[0..K) into out[i], each checked against tok, the first expert's tokenizer, as
// pipe_model_load_sharing checks.
int pipe_experts_load(const char *const *paths, int K, const backend *be, const tok_tokenizer *tok, model *const *out,
                      fx_err *err);

// Parses K weights "w1,w2,..." of `key` into w: K of them, each finite and >= 0, summing to 1
// within 1e-6 (rollout_merge_check_pref). Returns -1 with err naming key otherwise.
int pipe_parse_preference(const char *key, const char *text, int K, float *w, fx_err *err);

#endif
