// tiny_configs.h — the tiny model configs the transformer's C tests share: Qwen2 (q/k/v bias,
// tied embeddings, GQA 2), Qwen3 (q/k norm, untied head, head_dim * heads != hidden, GQA 4) and
// Llama (every bias, full multi-head attention).
#ifndef FLUXRL_TESTS_TINY_CONFIGS_H
#define FLUXRL_TESTS_TINY_CONFIGS_H

#include <string.h>

#include "../model/model_config.h"

static inline model_config base_cfg(void) {
    model_config c;
    memset(&c, 0, sizeof c);
    c.rope_theta = 10000.0;
    c.rms_norm_eps = 1e-6;
    c.max_position_embeddings = 128;
    c.bos_token_id = c.eos_token_id = -1;
    return c;
}

// Qwen2: q/k/v bias, tied embeddings, GQA 2.
static inline model_config cfg_qwen2(void) {
    model_config c = base_cfg();
    strcpy(c.model_type, "qwen2");
    strcpy(c.architecture, "Qwen2ForCausalLM");
    c.hidden_size = 32, c.num_hidden_layers = 2, c.num_attention_heads = 4, c.num_key_value_heads = 2;
    c.head_dim = 8, c.intermediate_size = 48, c.vocab_size = 67;
    c.qkv_bias = true, c.tie_word_embeddings = true;
    return c;
}

// Qwen3: q/k norm, untied head, head_dim * heads (40) != hidden (24), GQA 4.
static inline model_config cfg_qwen3(void) {
    model_config c = base_cfg();
    strcpy(c.model_type, "qwen3");
    strcpy(c.architecture, "Qwen3ForCausalLM");
    c.hidden_size = 24, c.num_hidden_layers = 2, c.num_attention_heads = 4, c.num_key_value_heads = 1;
    c.head_dim = 10, c.intermediate_size = 40, c.vocab_size = 53;
    c.qk_norm = true, c.rope_theta = 1000000.0;
    return c;
}

// Llama with every bias, full multi-head attention.
static inline model_config cfg_llama(void) {
    model_config c = base_cfg();
    strcpy(c.model_type, "llama");
    strcpy(c.architecture, "LlamaForCausalLM");
    c.hidden_size = 16, c.num_hidden_layers = 1, c.num_attention_heads = 2, c.num_key_value_heads = 2;
    c.head_dim = 8, c.intermediate_size = 24, c.vocab_size = 31;
    c.o_bias = true, c.mlp_bias = true, c.rms_norm_eps = 1e-5;
    return c;
}

#endif
