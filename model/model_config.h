// model_config.h — the architecture of a decoder from a Hugging Face config.json.
// The Qwen2 / Qwen2.5 / Qwen3 / Llama family: pre-norm blocks, RMSNorm, rotary embeddings
// (rotate-half layout), causal GQA attention, SwiGLU MLP. Differences are flags:
//   qwen2: bias on q/k/v (always), no q/k norm; qwen3: q/k RMSNorm, head_dim given,
//   attention_bias (default false); llama: attention_bias and mlp_bias (default false).
// Features this code does not implement (rope_scaling, sliding windows, ...) are refused with an
// error naming the key, never silently ignored.
#ifndef FLUXRL_MODEL_CONFIG_H
#define FLUXRL_MODEL_CONFIG_H

#include <stdbool.h>
#include <stdint.h>

#include "../core/fx.h"

typedef struct {
    char model_type[32];   // "qwen2", "qwen3" or "llama"
    char architecture[64]; // architectures[0], e.g. "Qwen2ForCausalLM"
    int hidden_size;       // C
    int num_hidden_layers; // L
    int num_attention_heads;  // NH
    int num_key_value_heads;  // NKV (GQA: NH % NKV == 0)
    int head_dim;             // HS (hidden_size / NH unless given)
    int intermediate_size;    // FF
    int vocab_size;           // V
    int max_position_embeddings;
    double rope_theta;
    double rms_norm_eps;
    bool qkv_bias;            // bias on q_proj, k_proj, v_proj
    bool o_bias;              // bias on o_proj (llama attention_bias)
    bool mlp_bias;            // bias on gate/up/down (llama mlp_bias)
    bool qk_norm;             // q_norm / k_norm RMSNorm over head_dim (qwen3)
    bool tie_word_embeddings; // lm_head shares model.embed_tokens.weight
    bool score_bias;          // the value head has score.bias (1): fluxrl's key "score_bias", written by
                              // scripts/convert_reasonflux_prm_1p5b.py (ReasonFlux-PRM-1.5B's Linear(h, 1))
    int bos_token_id, eos_token_id; // -1 when absent
    char torch_dtype[16];     // as written in the file ("float32", "bfloat16", ...)
    int num_experts;          // K, experts a PCM mixes (FluxrlPCMForTokenMixing); 0 when absent
    // A PCM's preference prior eps (fluxrl's extension, docs/pcm.md; key "preference_prior"): its
    // alpha logits are z_t = W_a h_t + b_a + log(w + eps) for the preference w, so a PCM starts
    // (W_a = 0, b_a = 0) at alpha = (w + eps) / (1 + K eps) and learns a correction to merging by
    // the preference. 0 when absent: z_t = W_a h_t + b_a, the paper's.
    float preference_prior;
} model_config;

// path: a config.json, or a folder holding one.
int model_config_load(model_config *c, const char *path, fx_err *err);
// Parses config.json text; `file` names it in errors.
int model_config_parse(model_config *c, const char *json, size_t len, const char *file, fx_err *err);
// Writes a config.json that transformers and vLLM load (atomically).
int model_config_save(const model_config *c, const char *path, fx_err *err);
// Checks the numbers agree with each other (heads divide, sizes positive); err names the key.
int model_config_validate(const model_config *c, const char *file, fx_err *err);
// The config.json key of the first architectural field in which a and b differ (torch_dtype, a
// storage format, aside), or NULL when they describe the same architecture.
const char *model_config_diff(const model_config *a, const model_config *b);

#endif
