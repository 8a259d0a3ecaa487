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

// A PCM folder fluxrl saves names the experts it merges: config.json's "fluxrl_pcm": {"experts":
// [{"path", "fnv1a64"}, ...]}, each expert's folder (absolute) and a hash of its weights (FNV-1a
// 64 over the bytes of its *.safetensors files, in name order), so the PCM is used with the experts
// it was trained on.
int pipe_expert_hash(const char *dir, uint64_t *h, fx_err *err);
// Writes the field into pcm_dir/config.json (atomically), for paths[0..K) with their hashes.
int pipe_pcm_name_experts(const char *pcm_dir, const char *const *paths, const uint64_t *hash, int K, fx_err *err);
// The experts pcm_dir names: their folders copied into buf (cap bytes), paths[i] pointing into it,
// their hashes; returns their count (0: the folder names none), or -1 with err naming the file.
int pipe_pcm_named_experts(const char *pcm_dir, char *buf, size_t cap, char **paths, uint64_t *hash, int max,
                           fx_err *err);
// Checks that paths[0..K) are the experts pcm_dir names, when it names any: as many, and each one's
// weights hash to the recorded value (a copy of an expert elsewhere passes). -1 with err naming key,
// the expert and both folders otherwise.
int pipe_pcm_check_experts(const char *pcm_dir, const char *const *paths, int K, const char *key, fx_err *err);

// Parses K weights "w1,w2,..." of `key` into w: K of them, each finite and >= 0, summing to 1
// within 1e-6 (rollout_merge_check_pref). Returns -1 with err naming key otherwise.
int pipe_parse_preference(const char *key, const char *text, int K, float *w, fx_err *err);
// pcm.alpha_init's K weights into w: on the simplex (pipe_parse_preference), each above 0.
int pipe_parse_alpha_init(const char *text, int K, float *w, fx_err *err);

#endif
