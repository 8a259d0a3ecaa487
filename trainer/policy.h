// policy.h — the policy model of a run, as its parameters name it: used by sft, prm-train (its
// starting backbone and its output) and train (the policy, the reference).
#ifndef FLUXRL_POLICY_H
#define FLUXRL_POLICY_H

#include <stdint.h>

#include "../model/model.h"
#include "../model/tok.h"

// The policy of a run (model.*, run.seed), built from the config by pipeline/.
typedef struct {
    const char *path; // a Hugging Face folder; NULL or "": a new model of the sizes below
    int hidden_size, layers, heads, kv_heads, intermediate_size, max_seq;
    uint64_t seed;    // the new model's initialisation
    float init_std;
    // A new PCM's starting mix (pcm.alpha_init): its alpha head's bias is log alpha_init[i]; NULL: 0.
    // Refused for a path that is a PCM already.
    const float *alpha_init;
    // A new PCM's preference prior eps (pcm.preference_prior; model_config.preference_prior); 0: none.
    // Refused (> 0) for a path that is a PCM already.
    float preference_prior;
    // Sharded from the start (trainer.shard = full): this trainer's rank among shard_size (0 or 1:
    // whole); see model_create_shard.
    int shard_rank, shard_size;
} policy_params;

// The policy and tokenizer p names: p->path (a Hugging Face folder), or a new randomly
// initialised Qwen2-shaped model of p's sizes with the built-in tokenizer.
int policy_build(const policy_params *p, const backend *be, model *m, tok_tokenizer **tok, fx_err *err);
// A Preference Control Model for K experts of vocabulary vocab_size (docs/pcm.md): p->path (a
// FluxrlPCMForTokenMixing folder, its num_experts and vocab_size checked; or a language model's
// folder of the experts' vocabulary, whose backbone a new PCM starts from, as the paper's does from
// a pretrained small LM: model_load_pcm_shard, its new tensors from p->seed and p->init_std), or a
// new randomly initialised one of p's sizes, Qwen2-shaped, with the experts' vocabulary.
int policy_build_pcm(const policy_params *p, int K, int vocab_size, const backend *be, model *m, fx_err *err);
// What policy_build_pcm checks, without reading or making weights: the PCM's config in *mc.
int policy_check_pcm(const policy_params *p, int K, int vocab_size, model_config *mc, fx_err *err);
// What policy_build checks, without reading or making weights (--dry-run): the tokenizer loaded,
// the model's config in *mc and, for a folder, its files checked (model_check_files).
int policy_check(const policy_params *p, model_config *mc, tok_tokenizer **tok, fx_err *err);
// Saves the policy as a complete Hugging Face folder: config.json, model.safetensors, and the
// tokenizer it was built with: the files of the folder `from` (the model it started from), or the
// built-in one (from NULL or "").
int policy_save(const char *from, const model *m, const char *dir, fx_err *err);
// The same with the weights tensor by tensor from fill (model_save_each; NULL: m's own).
int policy_save_each(const char *from, const model *m, void (*fill)(void *ctx, size_t lo, size_t hi, float *dst),
                     void *ctx, const char *dir, fx_err *err);

#endif
