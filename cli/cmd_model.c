// cmd_model.c — `fluxrl model info`: a checkpoint's architecture, size and training memory.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../model/model.h"
#include "../trainer/trainer_dp.h"
#include "cli.h"

static const char *head_name(model_head h) {
    if (h == MODEL_HEAD_PCM) return "PCM (pref_proj, alpha_head)";
    return h == MODEL_HEAD_LM ? "language model"
                              : (h == MODEL_HEAD_PRM ? "2-class PRM (score.0, score.2)" : "scalar value (score)");
}

static void print_bytes(const char *what, size_t bytes) {
    printf("  %-34s %10.1f MiB\n", what, (double)bytes / (1024.0 * 1024.0));
}

// A positive integer argument, or -1 after printing what is wrong.
static int parse_positive(const char *opt, const char *s) {
    char *end;
    long v = strtol(s, &end, 10);
    if (*s == '\0' || *end != '\0' || v <= 0 || v > 1 << 24) {
        fprintf(stderr, "fluxrl model info: %s: expected a positive integer, got '%s'\n", opt, s);
        return -1;
    }
    return (int)v;
}

int cmd_model_info(int argc, char **argv) {
    const char *dir = NULL;
    int B = 8, T = 512, ranks = 0;
    for (int i = 0; i < argc; i++) {
        bool has_value = i + 1 < argc;
        if (strcmp(argv[i], "--batch") == 0 && has_value) {
            if ((B = parse_positive("--batch", argv[++i])) < 0) return FX_EXIT_INPUT;
        } else if (strcmp(argv[i], "--seq") == 0 && has_value) {
            if ((T = parse_positive("--seq", argv[++i])) < 0) return FX_EXIT_INPUT;
        } else if (strcmp(argv[i], "--ranks") == 0 && has_value) {
            if ((ranks = parse_positive("--ranks", argv[++i])) < 0) return FX_EXIT_INPUT;
        } else if (argv[i][0] == '-') {
            fprintf(stderr, "fluxrl model info: unknown option or missing value '%s'\n", argv[i]);
            return FX_EXIT_INPUT;
        } else if (dir) {
            fprintf(stderr, "fluxrl model info: one model folder expected, got '%s' and '%s'\n", dir, argv[i]);
            return FX_EXIT_INPUT;
        } else {
            dir = argv[i];
        }
    }
    if (!dir) {
        fprintf(stderr,
                "fluxrl model info: a model folder DIR is required\nrun 'fluxrl model info --help' for the usage\n");
        return FX_EXIT_INPUT;
    }
    model_config c;
    fx_err err;
    if (model_config_load(&c, dir, &err)) {
        fprintf(stderr, "%s\n", err.msg);
        return FX_EXIT_INPUT;
    }
    model_head head;
    if (model_head_parse(c.architecture, &head)) {
        fprintf(stderr, "%s/config.json: architectures: '%s' is not supported\n", dir, c.architecture);
        return FX_EXIT_INPUT;
    }
    size_t np = model_count_params(&c, head);
    size_t emb = (size_t)c.vocab_size * (size_t)c.hidden_size;
    printf("model        %s (%s, %s head)\n", c.architecture, c.model_type, head_name(head));
    printf("layers       %d, hidden %d, MLP %d, vocabulary %d\n", c.num_hidden_layers, c.hidden_size,
           c.intermediate_size, c.vocab_size);
    printf("attention    %d query heads, %d key-value heads (GQA %d), head_dim %d\n", c.num_attention_heads,
           c.num_key_value_heads, c.num_attention_heads / c.num_key_value_heads, c.head_dim);
    printf("options      q/k/v bias %s, o bias %s, MLP bias %s, q/k norm %s, tied embeddings %s\n",
           c.qkv_bias ? "yes" : "no", c.o_bias ? "yes" : "no", c.mlp_bias ? "yes" : "no", c.qk_norm ? "yes" : "no",
           c.tie_word_embeddings ? "yes" : "no");
    printf("rope_theta   %g, rms_norm_eps %g, max positions %d, stored as %s\n", c.rope_theta, c.rms_norm_eps,
           c.max_position_embeddings, c.torch_dtype[0] ? c.torch_dtype : "(not given)");
    if (head == MODEL_HEAD_PCM) printf("experts      %d (the alpha head's K)\n", c.num_experts);
    printf("parameters   %zu (%.2fM; embedding %zu, the rest %zu)\n", np, (double)np / 1e6, emb, np - emb);
    size_t pb = np * sizeof(float);
    size_t act = model_arena_bytes(&c, head, false, B, T, true, false);
    size_t act_rc = model_arena_bytes(&c, head, false, B, T, true, true);
    size_t inf = model_arena_bytes(&c, head, false, B, T, false, false);
    printf("memory of a training step at batch %d x %d tokens (fp32, AdamW):\n", B, T);
    print_bytes("parameters", pb);
    print_bytes("gradients", pb);
    print_bytes("AdamW moments", 2 * pb);
    print_bytes("activations", act);
    print_bytes("total", 4 * pb + act);
    print_bytes("total with activation recomputation", 4 * pb + act_rc);
    printf("memory of a forward pass at batch %d x %d tokens:\n", B, T);
    print_bytes("parameters + activations", pb + inf);
    if (ranks > 0) { // what trainer_mem_plan gives a trainer rank, the largest share of any rank
        model lay;
        model_layout(&lay, &c, head);
        printf("memory per trainer rank, %d data-parallel rank%s, %d x %d tokens each (MiB; trainer.shard):\n", ranks,
               ranks > 1 ? "s" : "", B, T);
        printf("  %-10s %-9s %10s %10s %10s %12s %10s\n", "shard", "recompute", "weights", "gradients", "AdamW",
               "activations", "total");
        const char *names[] = {"none", "optimizer", "gradients", "full"};
        size_t whole = 0;
        for (int k = 0; k < 4; k++)
            for (int rc = 0; rc < 2; rc++) {
                trainer_mem m;
                trainer_mem_plan(&lay, (trainer_shard)k, ranks, -1, B, T, rc, &m);
                double mib = 1024.0 * 1024.0;
                printf("  %-10s %-9s %10.1f %10.1f %10.1f %12.1f %10.1f\n", names[k], rc ? "yes" : "no",
                       (double)m.params / mib, (double)m.grads / mib, (double)m.moments / mib, (double)m.acts / mib,
                       (double)(m.params + m.grads + m.moments + m.acts) / mib);
                whole = m.whole;
            }
        if (whole) { // what no rank holds
            int rows = model_vocab_chunk_rows(&lay);
            printf("  full: no rank holds the whole weights (%.1f MiB): they are gathered a layer at a time to "
                   "compute and evaluate (the embedding and LM head a chunk of %d rows at a time, trainer.vocab_chunk "
                   "0), a 32 MiB bucket at a time for weight sync, a tensor at a time to save\n",
                   (double)whole / (1024.0 * 1024.0), rows);
        }
        model_free(&lay);
    }
    return FX_EXIT_OK;
}
