// make_pcm_models.c — tiny models with the built-in tokenizer for the shell tests of merged
// decoding and parameter soups (tests/cli/test_pcm_cli.sh, docs/pcm.md), written into DIR:
//   expert_a, expert_b   two causal LMs of one config, other weights
//   expert_c             a third of the same config
//   expert_qwen3         a causal LM of the same vocabulary and another architecture (qwen3)
//   expert_v             a causal LM with one more vocabulary entry (padding, as Qwen's)
//   pcm2, pcm3           PCMs (FluxrlPCMForTokenMixing) for 2 and 3 experts
#include <stdio.h>

#include "model/model.h"
#include "model/tok.h"

static int save(const char *dir, const char *sub, model_config c, model_head head, uint64_t seed, backend *be) {
    model m;
    model_init_random(&m, &c, head, be, seed, 0.5f, 0.1f);
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, sub);
    fx_err err;
    int rc = model_save(&m, path, ST_F32, &err) || tok_write_builtin(path, &err);
    model_free(&m);
    if (rc) fprintf(stderr, "%s\n", err.msg);
    return rc;
}

int main(int argc, char **argv) {
    if (argc != 2) return 2;
    backend *be = backend_cpu_create(1);
    fx_err err;
    tok_tokenizer *tok;
    if (tok_load_builtin(&tok, &err)) return 1;
    model_config c = {0};
    snprintf(c.model_type, sizeof c.model_type, "qwen2");
    snprintf(c.architecture, sizeof c.architecture, "Qwen2ForCausalLM");
    c.hidden_size = 32, c.num_hidden_layers = 2, c.num_attention_heads = 4, c.num_key_value_heads = 2, c.head_dim = 8;
    c.intermediate_size = 64, c.vocab_size = tok_vocab_size(tok), c.max_position_embeddings = 512;
    c.rope_theta = 10000, c.rms_norm_eps = 1e-6, c.qkv_bias = true, c.tie_word_embeddings = true;
    c.bos_token_id = -1, c.eos_token_id = -1;
    tok_free(tok);
    model_config q3 = c, wide = c, p2 = c, p3 = c;
    snprintf(q3.model_type, sizeof q3.model_type, "qwen3");
    snprintf(q3.architecture, sizeof q3.architecture, "Qwen3ForCausalLM");
    q3.qkv_bias = false, q3.qk_norm = true;
    wide.vocab_size++;
    snprintf(p2.architecture, sizeof p2.architecture, "FluxrlPCMForTokenMixing");
    p2.num_experts = 2, p2.tie_word_embeddings = false;
    p3 = p2, p3.num_experts = 3;
    int rc = save(argv[1], "expert_a", c, MODEL_HEAD_LM, 11, be) || save(argv[1], "expert_b", c, MODEL_HEAD_LM, 12, be) ||
             save(argv[1], "expert_c", c, MODEL_HEAD_LM, 13, be) ||
             save(argv[1], "expert_qwen3", q3, MODEL_HEAD_LM, 14, be) ||
             save(argv[1], "expert_v", wide, MODEL_HEAD_LM, 15, be) || save(argv[1], "pcm2", p2, MODEL_HEAD_PCM, 16, be) ||
             save(argv[1], "pcm3", p3, MODEL_HEAD_PCM, 17, be);
    backend_destroy(be);
    return rc ? 1 : 0;
}
