// model_config.c — see model_config.h.
#define _POSIX_C_SOURCE 200809L
#include "model_config.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

typedef struct {
    const cJSON *root;
    const char *file;
    fx_err *err;
} reader;

static const cJSON *get(reader *r, const char *key) { return cJSON_GetObjectItemCaseSensitive(r->root, key); }

// A required (def < 0: required) or optional positive integer.
static int get_int(reader *r, const char *key, int def, int *out) {
    const cJSON *v = get(r, key);
    if (!v || cJSON_IsNull(v)) {
        if (def < 0) return fx_errf(r->err, "%s: %s: missing (expected a positive integer)", r->file, key);
        *out = def;
        return 0;
    }
    if (!cJSON_IsNumber(v) || v->valuedouble != floor(v->valuedouble) || v->valuedouble < 1 || v->valuedouble > 1e9) {
        char *s = cJSON_PrintUnformatted(v);
        fx_errf(r->err, "%s: %s: expected a positive integer, got %.60s", r->file, key, s ? s : "?");
        free(s);
        return -1;
    }
    *out = (int)v->valuedouble;
    return 0;
}

static int get_double(reader *r, const char *key, double def, double *out) {
    const cJSON *v = get(r, key);
    if (!v || cJSON_IsNull(v)) {
        *out = def;
        return 0;
    }
    if (!cJSON_IsNumber(v) || !(v->valuedouble > 0) || !isfinite(v->valuedouble))
        return fx_errf(r->err, "%s: %s: expected a number > 0", r->file, key);
    *out = v->valuedouble;
    return 0;
}

static int get_bool(reader *r, const char *key, bool def, bool *out) {
    const cJSON *v = get(r, key);
    if (!v || cJSON_IsNull(v)) {
        *out = def;
        return 0;
    }
    if (!cJSON_IsBool(v)) return fx_errf(r->err, "%s: %s: expected true or false", r->file, key);
    *out = cJSON_IsTrue(v);
    return 0;
}

// bos/eos: an integer, null, or (eos in newer configs) a list whose first entry is used.
static int get_token_id(reader *r, const char *key, int *out) {
    const cJSON *v = get(r, key);
    *out = -1;
    if (cJSON_IsArray(v)) v = v->child;
    if (!v || cJSON_IsNull(v)) return 0;
    if (!cJSON_IsNumber(v) || v->valuedouble < 0 || v->valuedouble != floor(v->valuedouble))
        return fx_errf(r->err, "%s: %s: expected a token id (a non-negative integer) or null", r->file, key);
    *out = (int)v->valuedouble;
    return 0;
}

// transformers 5 writes RoPE as "rope_parameters": {"rope_type": "default", "rope_theta": T} (in
// place of rope_theta and rope_scaling). Plain RoPE is read from it; any other rope_type is refused
// like rope_scaling, and a rope_theta that disagrees with the top-level one is an error.
static int get_rope_parameters(reader *r, double *theta) {
    const cJSON *v = get(r, "rope_parameters");
    if (!v || cJSON_IsNull(v)) return 0;
    if (!cJSON_IsObject(v))
        return fx_errf(r->err, "%s: rope_parameters: expected an object {\"rope_type\": \"default\", \"rope_theta\": ...}",
                       r->file);
    const cJSON *type = cJSON_GetObjectItemCaseSensitive(v, "rope_type");
    if (type && !(cJSON_IsString(type) && strcmp(type->valuestring, "default") == 0)) {
        char *s = cJSON_PrintUnformatted(type);
        fx_errf(r->err, "%s: rope_parameters.rope_type: not supported (got %.60s); fluxrl implements plain RoPE "
                        "(\"default\")", r->file, s ? s : "?");
        free(s);
        return -1;
    }
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(v, "rope_theta");
    if (!t || cJSON_IsNull(t)) return 0;
    if (!cJSON_IsNumber(t) || !(t->valuedouble > 0) || !isfinite(t->valuedouble))
        return fx_errf(r->err, "%s: rope_parameters.rope_theta: expected a number > 0", r->file);
    const cJSON *top = get(r, "rope_theta");
    if (top && cJSON_IsNumber(top) && top->valuedouble != t->valuedouble)
        return fx_errf(r->err, "%s: rope_parameters.rope_theta %g disagrees with rope_theta %g", r->file, t->valuedouble,
                       top->valuedouble);
    *theta = t->valuedouble;
    return 0;
}

// Keys whose non-default values change the architecture in ways this code does not implement.
static int refuse_unsupported(reader *r, const model_config *c) {
    const cJSON *v;
    if ((v = get(r, "rope_scaling")) && !cJSON_IsNull(v)) {
        char *s = cJSON_PrintUnformatted(v);
        fx_errf(r->err, "%s: rope_scaling: not supported (got %.80s); fluxrl implements plain RoPE", r->file, s ? s : "?");
        free(s);
        return -1;
    }
    if ((v = get(r, "use_sliding_window")) && cJSON_IsTrue(v))
        return fx_errf(r->err, "%s: use_sliding_window: not supported (sliding-window attention); expected false", r->file);
    if ((v = get(r, "hidden_act")) && !(cJSON_IsString(v) && strcmp(v->valuestring, "silu") == 0))
        return fx_errf(r->err, "%s: hidden_act: expected \"silu\" (SwiGLU MLP)", r->file);
    if ((v = get(r, "layer_types")) && cJSON_IsArray(v))
        for (const cJSON *t = v->child; t; t = t->next)
            if (!cJSON_IsString(t) || strcmp(t->valuestring, "full_attention") != 0)
                return fx_errf(r->err, "%s: layer_types: only \"full_attention\" layers are supported", r->file);
    if ((v = get(r, "pretraining_tp")) && cJSON_IsNumber(v) && v->valuedouble != 1)
        return fx_errf(r->err, "%s: pretraining_tp: expected 1", r->file);
    (void)c;
    return 0;
}

// A Preference Control Model (docs/pcm.md): K = num_experts is part of its architecture.
static bool is_pcm(const model_config *c) {
    size_t n = strlen(c->architecture), s = strlen("ForTokenMixing");
    return n >= s && strcmp(c->architecture + n - s, "ForTokenMixing") == 0;
}

int model_config_parse(model_config *c, const char *json, size_t len, const char *file, fx_err *err) {
    memset(c, 0, sizeof *c);
    cJSON *root = cJSON_ParseWithLength(json, len);
    if (!cJSON_IsObject(root)) {
        cJSON_Delete(root);
        return fx_errf(err, "%s: malformed JSON (expected a Hugging Face config object)", file);
    }
    reader r = {root, file, err};
    int rc = 0;
    const cJSON *mt = get(&r, "model_type");
    if (!cJSON_IsString(mt) ||
        !(strcmp(mt->valuestring, "qwen2") == 0 || strcmp(mt->valuestring, "qwen3") == 0 || strcmp(mt->valuestring, "llama") == 0)) {
        char *s = mt ? cJSON_PrintUnformatted(mt) : NULL;
        rc = fx_errf(err, "%s: model_type: expected \"qwen2\", \"qwen3\" or \"llama\", got %.40s", file, s ? s : "nothing");
        free(s);
    }
    if (!rc) snprintf(c->model_type, sizeof c->model_type, "%s", mt->valuestring);
    const cJSON *arch = get(&r, "architectures");
    if (!rc && cJSON_IsArray(arch) && cJSON_IsString(arch->child))
        snprintf(c->architecture, sizeof c->architecture, "%s", arch->child->valuestring);
    bool qwen2 = !rc && strcmp(c->model_type, "qwen2") == 0, qwen3 = !rc && strcmp(c->model_type, "qwen3") == 0;
    if (!rc) rc = get_int(&r, "hidden_size", -1, &c->hidden_size);
    if (!rc) rc = get_int(&r, "num_hidden_layers", -1, &c->num_hidden_layers);
    if (!rc) rc = get_int(&r, "num_attention_heads", -1, &c->num_attention_heads);
    if (!rc) rc = get_int(&r, "num_key_value_heads", c->num_attention_heads, &c->num_key_value_heads);
    if (!rc && c->hidden_size % c->num_attention_heads != 0 && !get(&r, "head_dim"))
        rc = fx_errf(err, "%s: head_dim: missing, and hidden_size %d is not a multiple of num_attention_heads %d", file,
                     c->hidden_size, c->num_attention_heads);
    if (!rc) rc = get_int(&r, "head_dim", c->hidden_size / c->num_attention_heads, &c->head_dim);
    if (!rc) rc = get_int(&r, "intermediate_size", -1, &c->intermediate_size);
    if (!rc) rc = get_int(&r, "vocab_size", -1, &c->vocab_size);
    if (!rc) rc = get_int(&r, "max_position_embeddings", 32768, &c->max_position_embeddings);
    if (!rc) rc = get_double(&r, "rope_theta", 10000.0, &c->rope_theta);
    if (!rc) rc = get_rope_parameters(&r, &c->rope_theta);
    if (!rc) rc = get_double(&r, "rms_norm_eps", 1e-6, &c->rms_norm_eps);
    if (!rc) rc = get_bool(&r, "tie_word_embeddings", false, &c->tie_word_embeddings);
    if (!rc) rc = get_bool(&r, "score_bias", false, &c->score_bias);
    bool attention_bias = false;
    if (!rc && !qwen2) rc = get_bool(&r, "attention_bias", false, &attention_bias);
    if (!rc && !qwen2 && !qwen3) rc = get_bool(&r, "mlp_bias", false, &c->mlp_bias);
    c->qkv_bias = qwen2 || attention_bias; // Qwen2 always has q/k/v bias, never an o_proj bias
    c->o_bias = !qwen2 && attention_bias;
    c->qk_norm = qwen3;
    if (!rc) rc = get_token_id(&r, "bos_token_id", &c->bos_token_id);
    if (!rc) rc = get_token_id(&r, "eos_token_id", &c->eos_token_id);
    const cJSON *dt = get(&r, "torch_dtype");
    if (!dt) dt = get(&r, "dtype");
    snprintf(c->torch_dtype, sizeof c->torch_dtype, "%s", cJSON_IsString(dt) ? dt->valuestring : "float32");
    // A PCM's K; read only there ("num_experts" elsewhere, as in MoE configs, means something else).
    if (!rc && is_pcm(c)) rc = get_int(&r, "num_experts", -1, &c->num_experts);
    double prior = 0;
    if (!rc && is_pcm(c)) rc = get_double(&r, "preference_prior", 0, &prior);
    c->preference_prior = (float)prior;
    if (!rc) rc = refuse_unsupported(&r, c);
    if (!rc) rc = model_config_validate(c, file, err);
    cJSON_Delete(root);
    return rc;
}

int model_config_validate(const model_config *c, const char *file, fx_err *err) {
    if (c->hidden_size < 1 || c->num_hidden_layers < 1 || c->num_attention_heads < 1 || c->num_key_value_heads < 1 ||
        c->head_dim < 1 || c->intermediate_size < 1 || c->vocab_size < 1)
        return fx_errf(err, "%s: sizes must be positive", file);
    // Sizes multiply into tensor and buffer lengths: bound them here, in double, before any
    // size_t product can wrap (num_hidden_layers 1e9 once asked for 2^64 bytes). One tensor holds
    // fewer than 2^31 values (int offsets index into it), the model fewer than 2^40.
    double C = c->hidden_size, QD = (double)c->num_attention_heads * c->head_dim,
           KVD = (double)c->num_key_value_heads * c->head_dim, I = c->intermediate_size, V = c->vocab_size;
    const struct { const char *field; double n; } tensors[] = {
        {"vocab_size", V * C}, {"intermediate_size", I * C}, {"num_attention_heads", QD * C}, {"num_key_value_heads", KVD * C}};
    for (size_t t = 0; t < sizeof tensors / sizeof tensors[0]; t++)
        if (tensors[t].n >= 2147483648.0)
            return fx_errf(err, "%s: %s: a tensor of %.4g values; expected fewer than 2^31 (sizes too large)", file,
                           tensors[t].field, tensors[t].n);
    double layer = 2 * QD * C + 2 * KVD * C + 3 * I * C + 2 * C, total = (double)c->num_hidden_layers * layer + 2 * V * C;
    if (total >= 1099511627776.0)
        return fx_errf(err, "%s: num_hidden_layers: %d layers make %.4g parameters; expected fewer than 2^40", file,
                       c->num_hidden_layers, total);
    if (is_pcm(c) && c->num_experts < 1)
        return fx_errf(err, "%s: num_experts: missing (a %s mixes num_experts expert models; expected a positive "
                            "integer)", file, c->architecture);
    if (c->num_experts < 0 || c->num_experts > 4096 || (c->num_experts > 0 && !is_pcm(c)))
        return fx_errf(err, "%s: num_experts: %d; expected 1 to 4096, for a PCM (*ForTokenMixing) only", file,
                       c->num_experts);
    if (!(c->preference_prior >= 0 && c->preference_prior <= 1) || (c->preference_prior > 0 && !is_pcm(c)))
        return fx_errf(err, "%s: preference_prior: %g; expected a number in [0, 1], for a PCM (*ForTokenMixing) only",
                       file, (double)c->preference_prior);
    if (c->eos_token_id >= c->vocab_size || c->bos_token_id >= c->vocab_size)
        return fx_errf(err, "%s: %s: %d; expected a token id below vocab_size %d", file,
                       c->eos_token_id >= c->vocab_size ? "eos_token_id" : "bos_token_id",
                       c->eos_token_id >= c->vocab_size ? c->eos_token_id : c->bos_token_id, c->vocab_size);
    if (c->num_attention_heads % c->num_key_value_heads != 0)
        return fx_errf(err, "%s: num_key_value_heads: %d does not divide num_attention_heads %d", file,
                       c->num_key_value_heads, c->num_attention_heads);
    if (c->head_dim % 2 != 0) return fx_errf(err, "%s: head_dim: %d is odd; rotary embeddings need an even size", file, c->head_dim);
    if (!(c->rope_theta > 0) || !(c->rms_norm_eps > 0)) return fx_errf(err, "%s: rope_theta and rms_norm_eps must be > 0", file);
    bool qwen2 = strcmp(c->model_type, "qwen2") == 0, qwen3 = strcmp(c->model_type, "qwen3") == 0;
    if (!qwen2 && !qwen3 && strcmp(c->model_type, "llama") != 0)
        return fx_errf(err, "%s: model_type: expected \"qwen2\", \"qwen3\" or \"llama\", got \"%s\"", file, c->model_type);
    if (qwen2 && (!c->qkv_bias || c->o_bias || c->qk_norm || c->mlp_bias))
        return fx_errf(err, "%s: model_type: qwen2 has q/k/v bias, no o_proj or MLP bias and no q/k norm", file);
    if (qwen3 && (!c->qk_norm || c->mlp_bias || c->qkv_bias != c->o_bias))
        return fx_errf(err, "%s: model_type: qwen3 has q/k norm, no MLP bias, and one attention_bias for q/k/v/o", file);
    if (!qwen2 && !qwen3 && (c->qk_norm || c->qkv_bias != c->o_bias))
        return fx_errf(err, "%s: model_type: llama has no q/k norm and one attention_bias for q/k/v/o", file);
    return 0;
}

int model_config_load(model_config *c, const char *path, fx_err *err) {
    char buf[4096];
    struct stat st;
    if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) snprintf(buf, sizeof buf, "%s/config.json", path);
    else snprintf(buf, sizeof buf, "%s", path);
    size_t len;
    char *text = fx_read_file(buf, &len, err);
    if (!text) return -1;
    int rc = model_config_parse(c, text, len, buf, err);
    free(text);
    return rc;
}

static const char *default_architecture(const model_config *c) {
    if (strcmp(c->model_type, "qwen2") == 0) return "Qwen2ForCausalLM";
    if (strcmp(c->model_type, "qwen3") == 0) return "Qwen3ForCausalLM";
    return "LlamaForCausalLM";
}

int model_config_save(const model_config *c, const char *path, fx_err *err) {
    if (model_config_validate(c, path, err)) return -1;
    cJSON *root = cJSON_CreateObject();
    cJSON *arch = cJSON_AddArrayToObject(root, "architectures");
    cJSON_AddItemToArray(arch, cJSON_CreateString(c->architecture[0] ? c->architecture : default_architecture(c)));
    cJSON_AddStringToObject(root, "model_type", c->model_type);
    const struct { const char *key; double v; } numbers[] = {
        {"hidden_size", c->hidden_size},
        {"num_hidden_layers", c->num_hidden_layers},
        {"num_attention_heads", c->num_attention_heads},
        {"num_key_value_heads", c->num_key_value_heads},
        {"head_dim", c->head_dim},
        {"intermediate_size", c->intermediate_size},
        {"vocab_size", c->vocab_size},
        {"max_position_embeddings", c->max_position_embeddings},
        {"rope_theta", c->rope_theta},
        {"rms_norm_eps", c->rms_norm_eps},
    };
    for (size_t i = 0; i < sizeof numbers / sizeof numbers[0]; i++)
        cJSON_AddNumberToObject(root, numbers[i].key, numbers[i].v);
    cJSON_AddBoolToObject(root, "tie_word_embeddings", c->tie_word_embeddings);
    if (c->score_bias) cJSON_AddBoolToObject(root, "score_bias", true);
    if (strcmp(c->model_type, "qwen2") != 0) cJSON_AddBoolToObject(root, "attention_bias", c->qkv_bias);
    if (strcmp(c->model_type, "llama") == 0) cJSON_AddBoolToObject(root, "mlp_bias", c->mlp_bias);
    if (strcmp(c->model_type, "qwen2") == 0) cJSON_AddBoolToObject(root, "use_sliding_window", false);
    cJSON_AddStringToObject(root, "hidden_act", "silu");
    cJSON_AddNullToObject(root, "rope_scaling");
    if (c->bos_token_id >= 0) cJSON_AddNumberToObject(root, "bos_token_id", c->bos_token_id);
    if (c->eos_token_id >= 0) cJSON_AddNumberToObject(root, "eos_token_id", c->eos_token_id);
    if (c->num_experts > 0) cJSON_AddNumberToObject(root, "num_experts", c->num_experts);
    if (c->preference_prior > 0) cJSON_AddNumberToObject(root, "preference_prior", c->preference_prior);
    cJSON_AddStringToObject(root, "torch_dtype", c->torch_dtype[0] ? c->torch_dtype : "float32");
    cJSON_AddBoolToObject(root, "use_cache", true);
    int rc = fx_write_json_atomic(path, root, err);
    cJSON_Delete(root);
    return rc;
}

const char *model_config_diff(const model_config *a, const model_config *b) {
#define DIFF(field, key) \
    if (a->field != b->field) return key;
    if (strcmp(a->model_type, b->model_type)) return "model_type";
    if (strcmp(a->architecture, b->architecture)) return "architectures";
    DIFF(hidden_size, "hidden_size")
    DIFF(num_hidden_layers, "num_hidden_layers")
    DIFF(num_attention_heads, "num_attention_heads")
    DIFF(num_key_value_heads, "num_key_value_heads")
    DIFF(head_dim, "head_dim")
    DIFF(intermediate_size, "intermediate_size")
    DIFF(vocab_size, "vocab_size")
    DIFF(max_position_embeddings, "max_position_embeddings")
    DIFF(rope_theta, "rope_theta")
    DIFF(rms_norm_eps, "rms_norm_eps")
    DIFF(qkv_bias, "qkv_bias / attention_bias")
    DIFF(o_bias, "attention_bias")
    DIFF(mlp_bias, "mlp_bias")
    DIFF(qk_norm, "q/k norm (model_type)")
    DIFF(tie_word_embeddings, "tie_word_embeddings")
    DIFF(score_bias, "score_bias")
    DIFF(bos_token_id, "bos_token_id")
    DIFF(eos_token_id, "eos_token_id")
    DIFF(num_experts, "num_experts")
    DIFF(preference_prior, "preference_prior")
#undef DIFF
    return NULL;
}
