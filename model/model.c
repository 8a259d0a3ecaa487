// model.c — parameter layout, activation arena, forward and backward of the decoder.
#include "model.h"

#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/rng.h"

#define BE (m->be)
#define CTX (m->be->ctx)

// --- parameter layout ---------------------------------------------------------------------------

// One kind of tensor: where its pointer lives in model_params, its HF name, its shape.
typedef struct {
    size_t field;   // offsetof(model_params, ...)
    const char *fmt; // HF name; per-layer kinds get "model.layers.%d." in front
    int rows, cols;  // cols 0: a vector of `rows`
    bool layer, decay, norm;
} param_kind;

#define F(x) offsetof(model_params, x)

// The kinds the config implies, in buffer order. Returns how many.
static int param_kinds(const model *m, param_kind *k) {
    const model_config *c = &m->cfg;
    int n = 0, C = m->C, QD = m->QD, KD = m->KD, FF = m->F, HS = m->HS;
    k[n++] = (param_kind){F(wte), "model.embed_tokens.weight", m->V, C, false, true, false};
    k[n++] = (param_kind){F(ln1w), "input_layernorm.weight", C, 0, true, false, true};
    k[n++] = (param_kind){F(qw), "self_attn.q_proj.weight", QD, C, true, true, false};
    if (c->qkv_bias) k[n++] = (param_kind){F(qb), "self_attn.q_proj.bias", QD, 0, true, false, false};
    k[n++] = (param_kind){F(kw), "self_attn.k_proj.weight", KD, C, true, true, false};
    if (c->qkv_bias) k[n++] = (param_kind){F(kb), "self_attn.k_proj.bias", KD, 0, true, false, false};
    k[n++] = (param_kind){F(vw), "self_attn.v_proj.weight", KD, C, true, true, false};
    if (c->qkv_bias) k[n++] = (param_kind){F(vb), "self_attn.v_proj.bias", KD, 0, true, false, false};
    if (c->qk_norm) {
        k[n++] = (param_kind){F(qnw), "self_attn.q_norm.weight", HS, 0, true, false, true};
        k[n++] = (param_kind){F(knw), "self_attn.k_norm.weight", HS, 0, true, false, true};
    }
    k[n++] = (param_kind){F(ow), "self_attn.o_proj.weight", C, QD, true, true, false};
    if (c->o_bias) k[n++] = (param_kind){F(ob), "self_attn.o_proj.bias", C, 0, true, false, false};
    k[n++] = (param_kind){F(ln2w), "post_attention_layernorm.weight", C, 0, true, false, true};
    k[n++] = (param_kind){F(gatew), "mlp.gate_proj.weight", FF, C, true, true, false};
    if (c->mlp_bias) k[n++] = (param_kind){F(gateb), "mlp.gate_proj.bias", FF, 0, true, false, false};
    k[n++] = (param_kind){F(upw), "mlp.up_proj.weight", FF, C, true, true, false};
    if (c->mlp_bias) k[n++] = (param_kind){F(upb), "mlp.up_proj.bias", FF, 0, true, false, false};
    k[n++] = (param_kind){F(downw), "mlp.down_proj.weight", C, FF, true, true, false};
    if (c->mlp_bias) k[n++] = (param_kind){F(downb), "mlp.down_proj.bias", C, 0, true, false, false};
    k[n++] = (param_kind){F(lnfw), "model.norm.weight", C, 0, false, false, true};
    if (m->head == MODEL_HEAD_PCM) { // docs/pcm.md: the preference in, the K-way alpha head out
        int K = c->num_experts;
        k[n++] = (param_kind){F(prefw), "model.pref_proj.weight", C, K, false, true, false};
        k[n++] = (param_kind){F(prefb), "model.pref_proj.bias", C, 0, false, false, false};
        k[n++] = (param_kind){F(alphaw), "alpha_head.weight", K, C, false, true, false};
        k[n++] = (param_kind){F(alphab), "alpha_head.bias", K, 0, false, false, false};
    }
    if (m->head == MODEL_HEAD_LM && !c->tie_word_embeddings)
        k[n++] = (param_kind){F(lmw), "lm_head.weight", m->V, C, false, true, false};
    if (m->head == MODEL_HEAD_PRM) {
        k[n++] = (param_kind){F(s0w), "score.0.weight", C, C, false, true, false};
        k[n++] = (param_kind){F(s0b), "score.0.bias", C, 0, false, false, false};
        k[n++] = (param_kind){F(s2w), "score.2.weight", 2, C, false, true, false};
        k[n++] = (param_kind){F(s2b), "score.2.bias", 2, 0, false, false, false};
    }
    if (m->head == MODEL_HEAD_VALUE) k[n++] = (param_kind){F(s2w), "score.weight", 1, C, false, true, false};
    if (m->head == MODEL_HEAD_VALUE && c->score_bias) k[n++] = (param_kind){F(s2b), "score.bias", 1, 0, false, false, false};
    return n;
}

enum { MAX_KINDS = 32, NFIELDS = sizeof(model_params) / sizeof(float *) };

static void set_dims(model *m, const model_config *c, model_head head) {
    m->cfg = *c;
    m->head = head;
    m->C = c->hidden_size, m->L = c->num_hidden_layers, m->NH = c->num_attention_heads;
    m->NKV = c->num_key_value_heads, m->HS = c->head_dim, m->F = c->intermediate_size, m->V = c->vocab_size;
    m->QD = m->NH * m->HS, m->KD = m->NKV * m->HS;
}

// Points every field of p into base; absent fields are NULL.
static void point_params(const model *m, model_params *p, float *base) {
    param_kind k[MAX_KINDS];
    int nk = param_kinds(m, k);
    memset(p, 0, sizeof *p);
    size_t off = 0;
    for (int i = 0; i < nk; i++) {
        size_t numel = (size_t)k[i].rows * (size_t)(k[i].cols ? k[i].cols : 1);
        *(float **)((char *)p + k[i].field) = base + off;
        off += numel * (k[i].layer ? (size_t)m->L : 1);
    }
}

static void build_layout(model *m) {
    param_kind k[MAX_KINDS];
    int nk = param_kinds(m, k);
    FX_ASSERT(nk <= MAX_KINDS);
    int nt = 0;
    for (int i = 0; i < nk; i++) nt += k[i].layer ? m->L : 1;
    m->tensors = fx_calloc((size_t)nt, sizeof(model_tensor));
    m->ntensors = nt;
    size_t off = 0;
    int t = 0;
    for (int i = 0; i < nk; i++) {
        size_t numel = (size_t)k[i].rows * (size_t)(k[i].cols ? k[i].cols : 1);
        for (int l = 0; l < (k[i].layer ? m->L : 1); l++, t++) {
            model_tensor *x = &m->tensors[t];
            if (k[i].layer) snprintf(x->name, sizeof x->name, "model.layers.%d.%s", l, k[i].fmt);
            else snprintf(x->name, sizeof x->name, "%s", k[i].fmt);
            x->offset = off + (size_t)l * numel;
            x->numel = numel;
            x->ndim = k[i].cols ? 2 : 1;
            x->shape[0] = k[i].rows;
            x->shape[1] = k[i].cols;
            x->decay = k[i].decay;
            x->layer = k[i].layer ? l : -1;
            x->vocab = k[i].field == F(wte) || k[i].field == F(lmw);
        }
        off += numel * (k[i].layer ? (size_t)m->L : 1);
    }
    m->nparams = off;
}

size_t model_count_params(const model_config *c, model_head head) {
    model m = {0};
    set_dims(&m, c, head);
    param_kind k[MAX_KINDS];
    int nk = param_kinds(&m, k);
    size_t total = 0;
    for (int i = 0; i < nk; i++)
        total += (size_t)k[i].rows * (size_t)(k[i].cols ? k[i].cols : 1) * (k[i].layer ? (size_t)m.L : 1);
    return total;
}

const model_tensor *model_find_tensor(const model *m, const char *name) {
    for (int i = 0; i < m->ntensors; i++)
        if (strcmp(m->tensors[i].name, name) == 0) return &m->tensors[i];
    return NULL;
}

int model_head_parse(const char *arch, model_head *out) {
    size_t n = strlen(arch);
#define ENDS(s) (n >= strlen(s) && strcmp(arch + n - strlen(s), s) == 0)
    if (ENDS("ForCausalLM")) *out = MODEL_HEAD_LM;
    else if (ENDS("ForProcessRewardModel")) *out = MODEL_HEAD_PRM;
    else if (ENDS("ForRewardModel") || ENDS("ForSequenceClassification")) *out = MODEL_HEAD_VALUE;
    else if (ENDS("ForTokenMixing")) *out = MODEL_HEAD_PCM;
    else return -1;
#undef ENDS
    return 0;
}

void model_layout(model *m, const model_config *c, model_head head) {
    memset(m, 0, sizeof *m);
    set_dims(m, c, head);
    FX_ASSERT(m->NH % m->NKV == 0 && m->HS % 2 == 0);
    FX_ASSERT(head != MODEL_HEAD_PCM || c->num_experts >= 1);
    build_layout(m);
}

void model_create(model *m, const model_config *c, model_head head, const backend *be) {
    model_create_shard(m, c, head, be, 0, 1);
}

static void shard_buffers(model *m, size_t lo, size_t hi);

void model_create_shard(model *m, const model_config *c, model_head head, const backend *be, int rank, int size) {
    model_layout(m, c, head);
    m->be = be;
    if (size > 1) {
        size_t lo, hi;
        model_shard_range(m->nparams, rank, size, &lo, &hi);
        shard_buffers(m, lo, hi);
        return;
    }
    m->params_mem = be->alloc(be->ctx, m->nparams * sizeof(float));
    point_params(m, &m->p, m->params_mem);
}

void model_put_tensor(model *m, int i, const float *values) {
    const model_tensor *t = &m->tensors[i];
    if (!m->params_layer) {
        BE->upload(CTX, m->params_mem + t->offset, values, t->numel * sizeof(float));
        return;
    }
    // this rank's part of it; a small tensor outside the layers goes whole to params_rest too
    size_t a = t->offset > m->param_lo ? t->offset : m->param_lo;
    size_t e = t->offset + t->numel < m->param_hi ? t->offset + t->numel : m->param_hi;
    if (a < e) BE->upload(CTX, m->params_mem + (a - m->param_lo), values + (a - t->offset), (e - a) * sizeof(float));
    if (t->layer < 0 && !t->vocab)
        BE->upload(CTX, m->params_rest + model_rest_index(m, t->offset), values, t->numel * sizeof(float));
    m->vocab_at_t = -1, m->params_layer_at = -1;
}

void model_init_random(model *m, const model_config *c, model_head head, const backend *be, uint64_t seed,
                       float std, float bias_std) {
    model_init_random_shard(m, c, head, be, seed, std, bias_std, 0, 1);
}

void model_init_random_shard(model *m, const model_config *c, model_head head, const backend *be, uint64_t seed,
                             float std, float bias_std, int rank, int size) {
    model_create_shard(m, c, head, be, rank, size);
    float *host = fx_malloc(m->nparams * sizeof(float));
    for (int i = 0; i < m->ntensors; i++) {
        const model_tensor *t = &m->tensors[i];
        bool norm = strstr(t->name, "norm") != NULL;
        // One stream per block of 64k values of a tensor: the values depend neither on which other
        // tensors exist nor on the threads.
#pragma omp parallel for schedule(dynamic, 1)
        for (size_t j0 = 0; j0 < t->numel; j0 += 65536) {
            fx_rng r = fx_rng_make(seed, fx_rng_hash(fx_rng_hash(0, (uint64_t)i), j0));
            size_t j1 = j0 + 65536 < t->numel ? j0 + 65536 : t->numel;
            for (size_t j = j0; j < j1; j++) {
                float x;
                if (norm) x = 1.0f;
                else if (t->ndim == 1) x = bias_std > 0 ? (float)fx_rng_normal(&r) * bias_std : 0.0f;
                else x = (float)fx_rng_normal(&r) * std;
                host[t->offset + j] = x;
            }
        }
    }
    for (int i = 0; i < m->ntensors; i++) model_put_tensor(m, i, host + m->tensors[i].offset);
    free(host);
}

// Sliced gradients or parameters: the layer tensors' pointers into one layer's buffer (as if L
// were 1), the others' into a buffer of the rest, both packed in layout order.
static void point_sliced(const model *m, model_params *p, float *layer, float *rest) {
    param_kind k[MAX_KINDS];
    int nk = param_kinds(m, k);
    memset(p, 0, sizeof *p);
    size_t at_layer = 0, at_rest = 0;
    for (int i = 0; i < nk; i++) {
        size_t numel = (size_t)k[i].rows * (size_t)(k[i].cols ? k[i].cols : 1);
        if (m->vocab_rows && (k[i].field == F(wte) || k[i].field == F(lmw))) continue; // streamed: NULL
        size_t *at = k[i].layer ? &at_layer : &at_rest;
        *(float **)((char *)p + k[i].field) = (k[i].layer ? layer : rest) + *at;
        *at += numel;
    }
}

// The floats of one layer's tensors and of the tensors outside the layers, and the run
// [*lo, *hi) of the layout the layers' tensors take.
static void layer_sizes(model *m, size_t *lo, size_t *hi) {
    m->vocab_wte = m->vocab_head = -1;
    for (int t = 0; t < m->ntensors; t++)
        if (m->tensors[t].vocab) {
            if (strcmp(m->tensors[t].name, "lm_head.weight") == 0) m->vocab_head = t;
            else m->vocab_wte = t;
        }
    if (m->vocab_head < 0) m->vocab_head = m->vocab_wte; // tied
    size_t layers_lo = m->nparams, layers_hi = 0;
    m->layer_floats = m->rest_floats = 0;
    for (int t = 0; t < m->ntensors; t++) {
        const model_tensor *x = &m->tensors[t];
        if (x->layer == 0) m->layer_floats += x->numel;
        if (x->layer < 0) m->rest_floats += m->vocab_rows && x->vocab ? 0 : x->numel;
        else {
            if (x->offset < layers_lo) layers_lo = x->offset;
            if (x->offset + x->numel > layers_hi) layers_hi = x->offset + x->numel;
        }
    }
    // the tensors outside the layers lie before the run (the embedding) and after it (final norm,
    // heads), so params_rest is the layout with the run cut out (model_rest_index), and the
    // streamed vocabulary tensors too
    FX_ASSERT(layers_lo <= layers_hi && (m->vocab_rows || m->rest_floats == layers_lo + (m->nparams - layers_hi)));
    *lo = m->layers_lo = layers_lo, *hi = m->layers_hi = layers_hi;
}

void model_train_init_slice(model *m, size_t lo, size_t hi, bool slice_grads) {
    if (m->grads_mem) return;
    FX_ASSERT(lo <= hi && hi <= m->nparams);
    m->m_mem = BE->alloc(CTX, (hi - lo) * sizeof(float));
    m->v_mem = BE->alloc(CTX, (hi - lo) * sizeof(float));
    m->opt_lo = lo, m->opt_hi = hi;
    if (slice_grads) {
        // The layers' tensors lie in one run of the layout (the embedding before, the final norm
        // and heads after); grads_mem holds this slice's part of that run, grads_rest the others
        // whole (the hook leaves the sums of this slice's part of them in place). With the
        // weights sharded too, grads_mem holds the whole slice, grads_rest the small tensors
        // outside the layers, grads_vocab a chunk of a vocabulary tensor.
        size_t layers_lo, layers_hi;
        layer_sizes(m, &layers_lo, &layers_hi);
        size_t glo = lo > layers_lo ? lo : layers_lo, ghi = hi < layers_hi ? hi : layers_hi;
        if (glo > ghi) glo = ghi = layers_lo;
        if (m->vocab_rows) {
            FX_ASSERT(m->params_layer && m->param_lo == lo && m->param_hi == hi);
            glo = lo, ghi = hi;
            m->grads_vocab = BE->alloc(CTX, ((size_t)m->vocab_rows + 1) * (size_t)m->C * sizeof(float));
        }
        m->grads_mem = BE->alloc(CTX, (ghi - glo ? ghi - glo : 1) * sizeof(float));
        m->grads_layer = BE->alloc(CTX, m->layer_floats * sizeof(float));
        m->grads_rest = BE->alloc(CTX, (m->rest_floats ? m->rest_floats : 1) * sizeof(float));
        m->grad_lo = glo, m->grad_hi = ghi;
        point_sliced(m, &m->g, m->grads_layer, m->grads_rest);
    } else {
        m->grads_mem = BE->alloc(CTX, m->nparams * sizeof(float));
        m->grad_lo = 0, m->grad_hi = m->nparams;
        point_params(m, &m->g, m->grads_mem);
    }
    m->step = 0;
}

void model_train_init(model *m) { model_train_init_slice(m, 0, m->nparams, false); }

int model_pieces(const model *m, int l, size_t *offset, size_t *len) {
    FX_ASSERT(l >= -1 && l < m->L);
    int n = 0;
    for (int t = 0; t < m->ntensors; t++)
        if (m->tensors[t].layer == l && !(m->vocab_rows && m->tensors[t].vocab)) {
            FX_ASSERT(n < MODEL_MAX_PIECES);
            offset[n] = m->tensors[t].offset, len[n] = m->tensors[t].numel, n++;
        }
    return n;
}

int model_grad_pieces(const model *m, int l, size_t *offset, size_t *len, float **buf) {
    FX_ASSERT(m->grads_layer);
    *buf = l < 0 ? m->grads_rest : m->grads_layer;
    return model_pieces(m, l, offset, len);
}

// Copies the pieces of layer l (-1: the rest) between the layout-ordered `whole` (the part
// [lo, hi) of the layout, whole[0] at lo) and the packed `packed`, where they overlap; to_packed
// says which way.
static void copy_pieces(const model *m, int l, float *whole, size_t lo, size_t hi, float *packed, bool to_packed) {
    size_t off[MODEL_MAX_PIECES], len[MODEL_MAX_PIECES], pos = 0;
    int np = model_pieces(m, l, off, len);
    for (int i = 0; i < np; pos += len[i], i++) {
        size_t a = off[i] > lo ? off[i] : lo, e = off[i] + len[i] < hi ? off[i] + len[i] : hi;
        if (a >= e) continue;
        float *w = whole + (a - lo), *p = packed + pos + (a - off[i]);
        BE->copy(CTX, to_packed ? p : w, to_packed ? w : p, (e - a) * sizeof(float));
    }
}

int model_vocab_chunk_rows(const model *m) {
    if (m->vocab_rows > 0) return m->vocab_rows < m->V ? m->vocab_rows : m->V; // set (a layout: as planned)
    size_t layer = 0;
    for (int t = 0; t < m->ntensors; t++)
        if (m->tensors[t].layer == 0) layer += m->tensors[t].numel;
    size_t rows = layer / (size_t)m->C;
    return rows < 1 ? 1 : rows > (size_t)m->V ? m->V : (int)rows;
}

// The buffers of sharded parameters, [lo, hi) of the layout this rank's (its slice in params_mem,
// the small tensors outside the layers in params_rest, a chunk of a vocabulary tensor in
// params_vocab), unfilled.
static void shard_buffers(model *m, size_t lo, size_t hi) {
    FX_ASSERT(!m->params_layer && lo <= hi && hi <= m->nparams);
    size_t layers_lo, layers_hi;
    m->vocab_rows = model_vocab_chunk_rows(m);
    layer_sizes(m, &layers_lo, &layers_hi);
    m->params_layer = BE->alloc(CTX, (m->layer_floats ? m->layer_floats : 1) * sizeof(float));
    m->params_rest = BE->alloc(CTX, (m->rest_floats ? m->rest_floats : 1) * sizeof(float));
    m->params_mem = BE->alloc(CTX, (hi > lo ? hi - lo : 1) * sizeof(float));
    m->params_vocab = BE->alloc(CTX, ((size_t)m->vocab_rows + 1) * (size_t)m->C * sizeof(float));
    m->param_lo = lo, m->param_hi = hi;
    m->params_layer_at = -1, m->vocab_at_t = -1;
    point_sliced(m, &m->p, m->params_layer, m->params_rest);
}

void model_shard_params(model *m, size_t lo, size_t hi) {
    if (m->params_layer) { // sharded when it was made (model_create_shard)
        FX_ASSERT(m->param_lo == lo && m->param_hi == hi);
        return;
    }
    FX_ASSERT(!m->grads_mem); // the gradients' layout follows (model_train_init_slice)
    float *whole = m->params_mem;
    shard_buffers(m, lo, hi);
    copy_pieces(m, -1, whole, 0, m->nparams, m->params_rest, true);
    BE->copy(CTX, m->params_mem, whole + lo, (hi - lo) * sizeof(float));
    BE->free(CTX, whole);
}

void model_pieces_pack(model *m, int l) {
    FX_ASSERT(m->params_layer);
    copy_pieces(m, l, m->params_mem, m->param_lo, m->param_hi, l < 0 ? m->params_rest : m->params_layer, true);
    if (l >= 0) m->params_layer_at = -1; // filling: no layer's whole until the hook's gather is done
}

size_t model_rest_index(const model *m, size_t a) {
    if (!m->vocab_rows) return a < m->layers_lo ? a : m->layers_lo + (a - m->layers_hi);
    size_t at = 0;
    for (int i = 0; i < m->ntensors; i++) {
        const model_tensor *t = &m->tensors[i];
        if (t->layer >= 0 || t->vocab) continue;
        if (a < t->offset + t->numel) {
            FX_ASSERT(a >= t->offset);
            return at + (a - t->offset);
        }
        at += t->numel;
    }
    FX_ASSERT(0 && "not a small tensor outside the layers");
    return 0;
}

// [a, e) of a slice buffer and host: downloaded into host (get) or uploaded from it.
static void slice_copy(const model *m, const float *mem, size_t mem_lo, size_t a, size_t e, float *get,
                       const float *put) {
    float *at = (float *)mem + (a - mem_lo);
    if (get) BE->download(CTX, get, at, (e - a) * sizeof(float));
    else BE->upload(CTX, at, put, (e - a) * sizeof(float));
}

void model_slice_get(const model *m, const float *mem, size_t mem_lo, size_t a, size_t e, float *host) {
    slice_copy(m, mem, mem_lo, a, e, host, NULL);
}

void model_slice_put(const model *m, float *mem, size_t mem_lo, size_t a, size_t e, const float *host) {
    slice_copy(m, mem, mem_lo, a, e, NULL, host);
}

void model_params_whole(model *m, const float *host) {
    FX_ASSERT(m->params_layer && !m->params_whole);
    m->params_whole = BE->alloc(CTX, m->nparams * sizeof(float));
    BE->upload(CTX, m->params_whole, host, m->nparams * sizeof(float));
    if (BE->params_written) BE->params_written(CTX, m->params_whole, m->nparams);
    point_params(m, &m->p, m->params_whole);
}

void model_params_release(model *m) {
    if (!m->params_whole) return;
    BE->free(CTX, m->params_whole);
    m->params_whole = NULL;
    point_sliced(m, &m->p, m->params_layer, m->params_rest);
    m->params_layer_at = -1, m->vocab_at_t = -1;
}

float *model_params_of(const model *m) { return m->params_whole ? m->params_whole : m->params_mem; }

// Sharded parameters: layer l's whole in params_layer before it is read (the hook's gather).
static void need_layer(model *m, int l) {
    if (!m->params_layer || m->params_whole || m->params_layer_at == l) return;
    m->param_hook(m->param_ctx, m, l);
    m->params_layer_at = l;
}

void model_param_flush(model *m, bool lm) {
    if (model_vocab_streamed(m)) model_vocab_embed(m, NULL, NULL, NULL, 0);
    for (int l = 0; l < m->L; l++) need_layer(m, l);
    if (lm && model_vocab_streamed(m)) model_vocab_head_forward(m, NULL, 0);
}

void model_grad_flush(model *m, bool lm) {
    FX_ASSERT(m->grads_layer && m->grad_hook);
    if (lm && model_vocab_streamed(m)) model_vocab_head_backward(m, false, false, 0);
    for (int l = m->L - 1; l >= 0; l--) {
        need_layer(m, l);
        BE->zero(CTX, m->grads_layer, m->layer_floats * sizeof(float));
        m->grad_hook(m->grad_ctx, m, l);
    }
    if (model_vocab_streamed(m)) model_vocab_embed_backward(m, NULL, 0);
    m->grad_hook(m->grad_ctx, m, -1); // grads_rest: nothing new
}

void model_zero_grad(model *m) {
    FX_ASSERT(m->grads_mem);
    BE->zero(CTX, m->grads_mem, (m->grad_hi - m->grad_lo) * sizeof(float));
    if (m->grads_rest) BE->zero(CTX, m->grads_rest, m->rest_floats * sizeof(float));
}

static void free_acts(model *m) {
    if (m->acts_mem) BE->free(CTX, m->acts_mem);
    BE->free(CTX, m->ids), BE->free(CTX, m->pos), BE->free(CTX, m->seg), BE->free(CTX, m->targets);
    free(m->resid);
    free(m->la);
    m->acts_mem = NULL, m->ids = m->pos = m->seg = m->targets = NULL, m->resid = NULL, m->la = NULL;
}

static void free_decode(model *m) {
    if (m->dec_mem) BE->free(CTX, m->dec_mem);
    BE->free(CTX, m->dec_ids), BE->free(CTX, m->dec_pos), BE->free(CTX, m->dec_seg);
    m->dec_mem = NULL, m->dec_ids = m->dec_pos = m->dec_seg = NULL, m->dec_cap = 0;
}

void model_free(model *m) {
    if (!m->be) { // a layout alone (model_layout), or nothing
        free(m->tensors);
        memset(m, 0, sizeof *m);
        return;
    }
    free_acts(m);
    free_decode(m);
    BE->free(CTX, m->params_mem), BE->free(CTX, m->params_layer), BE->free(CTX, m->params_rest);
    BE->free(CTX, m->params_whole), BE->free(CTX, m->params_vocab), BE->free(CTX, m->grads_vocab);
    BE->free(CTX, m->vocab_ids), BE->free(CTX, m->vocab_stats);
    free(m->vocab_host);
    BE->free(CTX, m->grads_mem), BE->free(CTX, m->m_mem), BE->free(CTX, m->v_mem);
    BE->free(CTX, m->grads_layer), BE->free(CTX, m->grads_rest);
    BE->free(CTX, m->kcache), BE->free(CTX, m->vcache), BE->free(CTX, m->kv_seg);
    free(m->tensors);
    memset(m, 0, sizeof *m);
}

// --- activation arena ---------------------------------------------------------------------------

// Bump allocation in floats, 64-byte aligned; with base NULL it only counts.
typedef struct {
    float *base;
    size_t used;
} arena;

static float *take(arena *a, size_t n) {
    float *p = a->base ? a->base + a->used : NULL;
    a->used += (n + 15) & ~(size_t)15;
    return p;
}

static void plan_layer(const model *m, arena *a, model_layer_acts *la, size_t N, bool train) {
    size_t C = (size_t)m->C, QD = (size_t)m->QD, KD = (size_t)m->KD, F = (size_t)m->F;
    memset(la, 0, sizeof *la);
    la->ln1 = take(a, N * C);
    la->ln1_rstd = take(a, N);
    if (m->cfg.qk_norm) {
        la->qpre = take(a, N * QD), la->q_rstd = take(a, N * (size_t)m->NH);
        la->kpre = take(a, N * KD), la->k_rstd = take(a, N * (size_t)m->NKV);
    }
    la->q = take(a, N * QD), la->k = take(a, N * KD), la->v = take(a, N * KD);
    la->att = take(a, N * QD);
    if (train) la->lse = take(a, N * (size_t)m->NH);
    la->res1 = take(a, N * C);
    la->ln2 = take(a, N * C);
    la->ln2_rstd = take(a, N);
    la->gate = take(a, N * F), la->up = take(a, N * F);
}

// Rows of logits the LM head computes at once: about 16M floats (64 MiB), but at least 128 rows,
// because the head's weight gradient is a rank-`chunk` update of the whole (V, C) matrix: fewer
// rows make it memory-bound (measured on a 152k vocabulary: 27-row chunks ran 3x slower).
static int head_chunk(const model *m, size_t N) {
    size_t chunk = ((size_t)1 << 24) / (size_t)m->V;
    chunk = chunk < 128 ? 128 : chunk;
    return (int)(chunk < N ? chunk : N);
}

// Lays out the arena for N = B*T tokens; pointers are set when a->base is not NULL.
static void plan_arena(model *m, arena *a, int B, int T, bool train, bool recompute) {
    size_t N = (size_t)B * (size_t)T, C = (size_t)m->C, QD = (size_t)m->QD, KD = (size_t)m->KD;
    size_t F = (size_t)m->F;
    // Without backward (inference) one layer's activations and two residual buffers, used in
    // turn, suffice; recomputation keeps every layer's input but one layer's activations.
    int nla = recompute || !train ? 1 : m->L;
    for (int l = 0; l <= m->L; l++) m->resid[l] = train || l < 2 ? take(a, N * C) : m->resid[l - 2];
    for (int l = 0; l < nla; l++) plan_layer(m, a, &m->la[l], N, train);
    m->lnf = take(a, N * C), m->lnf_rstd = take(a, N);
    m->h = take(a, N * F);
    m->tok_logp = take(a, N), m->tok_lse = take(a, N), m->tok_ent = take(a, N);
    m->tok_dlogp = take(a, N), m->tok_dent = take(a, N);
    m->head_out = take(a, N * 2), m->head_dout = take(a, N * 2);
    if (m->head == MODEL_HEAD_PRM) {
        m->head_z = take(a, N * C), m->head_a = take(a, N * C);
        m->d_z = train ? take(a, N * C) : NULL;
    }
    if (m->head == MODEL_HEAD_PCM) {
        size_t K = (size_t)m->cfg.num_experts;
        m->pref = take(a, N * K), m->alpha_z = take(a, N * K), m->alpha_dz = take(a, N * K);
    }
    m->chunk = head_chunk(m, N);
    m->logits = m->head == MODEL_HEAD_LM || m->lm_aux ? take(a, (size_t)m->chunk * (size_t)m->V) : NULL;
    if (train) {
        m->dlnf = take(a, N * C);
        m->d_res = take(a, N * C), m->d_ln = take(a, N * C), m->d_att = take(a, N * QD);
        m->d_q = take(a, N * QD), m->d_k = take(a, N * KD), m->d_v = take(a, N * KD);
        if (m->cfg.qk_norm) m->d_qpre = take(a, N * QD), m->d_kpre = take(a, N * KD);
        m->d_gate = take(a, N * F), m->d_up = take(a, N * F), m->d_h = take(a, N * F);
    }
}

size_t model_arena_bytes(const model_config *c, model_head head, bool lm_aux, int B, int T, bool train, bool recompute) {
    model m;
    memset(&m, 0, sizeof m);
    set_dims(&m, c, head);
    m.lm_aux = lm_aux;
    m.resid = fx_calloc((size_t)m.L + 1, sizeof(float *));
    m.la = fx_calloc((size_t)m.L, sizeof(model_layer_acts));
    arena a = {0};
    plan_arena(&m, &a, B, T, train, recompute);
    free(m.resid);
    free(m.la);
    return a.used * sizeof(float) + 4 * (size_t)B * (size_t)T * sizeof(int32_t);
}

void model_reserve(model *m, int B, int T, bool train, bool recompute) {
    FX_ASSERT(B > 0 && T > 0);
    free_acts(m);
    m->B = B, m->T = T, m->train = train, m->recompute = recompute && train;
    m->cap_N = (size_t)B * (size_t)T;
    m->resid = fx_calloc((size_t)m->L + 1, sizeof(float *));
    m->la = fx_calloc((size_t)m->L, sizeof(model_layer_acts));
    arena a = {0};
    plan_arena(m, &a, B, T, train, m->recompute);
    m->acts_floats = a.used;
    m->acts_mem = BE->alloc(CTX, a.used * sizeof(float));
    a = (arena){m->acts_mem, 0};
    plan_arena(m, &a, B, T, train, m->recompute);
    size_t ib = (size_t)B * (size_t)T * sizeof(int32_t);
    m->ids = BE->alloc(CTX, ib), m->pos = BE->alloc(CTX, ib), m->seg = BE->alloc(CTX, ib);
    m->targets = BE->alloc(CTX, ib);
    if (train) model_train_init(m);
}

// --- one layer ------------------------------------------------------------------------------------

// Where a layer's keys and values go and come from: the activations themselves (training,
// Tkv = T) or the KV cache (decoding).
typedef struct {
    float *k, *v;         // (B, Tkv, KD)
    const int32_t *seg_k; // (B, Tkv)
    int Tkv, q_off;
} kv_view;

// y = x W^T (+ b): W (OC, IC), x (N, IC).
static void linear(const model *m, float *y, const float *x, const float *w, const float *b, int N, int IC, int OC) {
    BE->matmul(CTX, y, x, w, N, OC, IC, false, true, false);
    if (b) BE->add_bias(CTX, y, b, N, OC);
}

// dx (+)= dy W, dW += dy^T x, db += sum dy.
static void linear_backward(const model *m, float *dx, float *dw, float *db, const float *dy, const float *x,
                            const float *w, int N, int IC, int OC, bool accumulate_dx) {
    BE->matmul(CTX, dw, dy, x, OC, IC, N, true, false, true);
    if (db) BE->bias_backward(CTX, db, dy, N, OC);
    if (dx) BE->matmul(CTX, dx, dy, w, N, IC, OC, false, false, accumulate_dx);
}

#define LW(field, width)                                                                                     \
    (m->p.field ? m->p.field + (size_t)(m->params_layer && !m->params_whole ? 0 : l) * (size_t)(width) : NULL)
#define LG(field, width) (m->g.field ? m->g.field + (size_t)(m->grads_layer ? 0 : l) * (size_t)(width) : NULL)

// Layer l on x (B, T, C) -> out. out NULL: stop after the MLP's gate/up (recomputation).
static void layer_forward(model *m, int l, model_layer_acts *a, float *h, const float *x, float *out, int B, int T,
                          const int32_t *pos, const int32_t *seg, kv_view kv) {
    int N = B * T, C = m->C, QD = m->QD, KD = m->KD, FF = m->F, HS = m->HS;
    size_t CC = (size_t)C;
    float eps = (float)m->cfg.rms_norm_eps, theta = (float)m->cfg.rope_theta;
    BE->rmsnorm_forward(CTX, a->ln1, a->ln1_rstd, x, LW(ln1w, C), N, C, eps);
    float *q = m->cfg.qk_norm ? a->qpre : a->q, *k = m->cfg.qk_norm ? a->kpre : a->k;
    linear(m, q, a->ln1, LW(qw, (size_t)QD * CC), LW(qb, QD), N, C, QD);
    linear(m, k, a->ln1, LW(kw, (size_t)KD * CC), LW(kb, KD), N, C, KD);
    linear(m, a->v, a->ln1, LW(vw, (size_t)KD * CC), LW(vb, KD), N, C, KD);
    if (m->cfg.qk_norm) {
        BE->rmsnorm_forward(CTX, a->q, a->q_rstd, a->qpre, LW(qnw, HS), N * m->NH, HS, eps);
        BE->rmsnorm_forward(CTX, a->k, a->k_rstd, a->kpre, LW(knw, HS), N * m->NKV, HS, eps);
    }
    BE->rope_forward(CTX, a->q, pos, N, m->NH, HS, theta);
    BE->rope_forward(CTX, a->k, pos, N, m->NKV, HS, theta);
    const float *kk = a->k, *vv = a->v;
    if (kv.k) { // decoding: append this step's keys and values to the cache
        for (int b = 0; b < B; b++) {
            size_t dst = ((size_t)b * kv.Tkv + (size_t)kv.q_off) * KD, src = (size_t)b * T * KD;
            BE->copy(CTX, kv.k + dst, a->k + src, (size_t)T * KD * sizeof(float));
            BE->copy(CTX, kv.v + dst, a->v + src, (size_t)T * KD * sizeof(float));
        }
        kk = kv.k, vv = kv.v;
    }
    backend_attn_shape s = {B, T, kv.q_off, kv.Tkv, m->NH, m->NKV, HS};
    BE->attention_forward(CTX, a->att, a->lse, a->q, kk, vv, seg, kv.seg_k, s);
    linear(m, a->res1, a->att, LW(ow, CC * QD), LW(ob, C), N, QD, C);
    BE->axpy(CTX, a->res1, x, 1.0f, (size_t)N * CC);
    BE->rmsnorm_forward(CTX, a->ln2, a->ln2_rstd, a->res1, LW(ln2w, C), N, C, eps);
    linear(m, a->gate, a->ln2, LW(gatew, (size_t)FF * CC), LW(gateb, FF), N, C, FF);
    linear(m, a->up, a->ln2, LW(upw, (size_t)FF * CC), LW(upb, FF), N, C, FF);
    if (!out) return;
    BE->swiglu_forward(CTX, h, a->gate, a->up, (size_t)N * FF);
    linear(m, out, h, LW(downw, CC * FF), LW(downb, C), N, FF, C);
    BE->axpy(CTX, out, a->res1, 1.0f, (size_t)N * CC);
}

// d_res holds d(loss)/d(layer output) on entry and d(loss)/d(layer input) on return.
static void layer_backward(model *m, int l, model_layer_acts *a, const float *x) {
    int N = m->B * m->T, C = m->C, QD = m->QD, KD = m->KD, FF = m->F, HS = m->HS;
    size_t CC = (size_t)C, NN = (size_t)N;
    // MLP: out = res1 + down(silu(gate) * up)
    BE->swiglu_forward(CTX, m->h, a->gate, a->up, NN * FF);
    linear_backward(m, m->d_h, LG(downw, CC * FF), LG(downb, C), m->d_res, m->h, LW(downw, CC * FF), N, FF, C,
                    false);
    BE->zero(CTX, m->d_gate, NN * FF * sizeof(float));
    BE->zero(CTX, m->d_up, NN * FF * sizeof(float));
    BE->swiglu_backward(CTX, m->d_gate, m->d_up, m->d_h, a->gate, a->up, NN * FF);
    linear_backward(m, m->d_ln, LG(gatew, FF * CC), LG(gateb, FF), m->d_gate, a->ln2, LW(gatew, FF * CC), N, C, FF,
                    false);
    linear_backward(m, m->d_ln, LG(upw, FF * CC), LG(upb, FF), m->d_up, a->ln2, LW(upw, FF * CC), N, C, FF, true);
    BE->rmsnorm_backward(CTX, m->d_res, LG(ln2w, C), m->d_ln, a->res1, LW(ln2w, C), a->ln2_rstd, N, C);
    // attention: res1 = x + o(attention(rope(q), rope(k), v))
    linear_backward(m, m->d_att, LG(ow, CC * QD), LG(ob, C), m->d_res, a->att, LW(ow, CC * QD), N, QD, C, false);
    BE->zero(CTX, m->d_q, NN * QD * sizeof(float));
    BE->zero(CTX, m->d_k, NN * KD * sizeof(float));
    BE->zero(CTX, m->d_v, NN * KD * sizeof(float));
    backend_attn_shape s = {m->B, m->T, 0, m->T, m->NH, m->NKV, HS};
    BE->attention_backward(CTX, m->d_q, m->d_k, m->d_v, m->d_att, a->att, a->lse, a->q, a->k, a->v, m->seg, m->seg,
                           s);
    BE->rope_backward(CTX, m->d_q, m->pos, N, m->NH, HS, (float)m->cfg.rope_theta);
    BE->rope_backward(CTX, m->d_k, m->pos, N, m->NKV, HS, (float)m->cfg.rope_theta);
    float *dq = m->d_q, *dk = m->d_k;
    if (m->cfg.qk_norm) {
        BE->zero(CTX, m->d_qpre, NN * QD * sizeof(float));
        BE->zero(CTX, m->d_kpre, NN * KD * sizeof(float));
        BE->rmsnorm_backward(CTX, m->d_qpre, LG(qnw, HS), m->d_q, a->qpre, LW(qnw, HS), a->q_rstd, N * m->NH, HS);
        BE->rmsnorm_backward(CTX, m->d_kpre, LG(knw, HS), m->d_k, a->kpre, LW(knw, HS), a->k_rstd, N * m->NKV, HS);
        dq = m->d_qpre, dk = m->d_kpre;
    }
    linear_backward(m, m->d_ln, LG(qw, QD * CC), LG(qb, QD), dq, a->ln1, LW(qw, QD * CC), N, C, QD, false);
    linear_backward(m, m->d_ln, LG(kw, KD * CC), LG(kb, KD), dk, a->ln1, LW(kw, KD * CC), N, C, KD, true);
    linear_backward(m, m->d_ln, LG(vw, KD * CC), LG(vb, KD), m->d_v, a->ln1, LW(vw, KD * CC), N, C, KD, true);
    BE->rmsnorm_backward(CTX, m->d_res, LG(ln1w, C), m->d_ln, x, LW(ln1w, C), a->ln1_rstd, N, C);
}

// --- the model ----------------------------------------------------------------------------------

// Uploads positions or segments; NULL src means the defaults: positions start, start+1, ... in
// every row (is_pos), or one segment (0) per row.
static void upload_ints(const model *m, int32_t *dst, const int32_t *src, int B, int T, int start, bool is_pos) {
    size_t n = (size_t)B * (size_t)T;
    if (src) {
        BE->upload(CTX, dst, src, n * sizeof(int32_t));
        return;
    }
    int32_t *tmp = fx_malloc(n * sizeof(int32_t));
    for (size_t i = 0; i < n; i++) tmp[i] = is_pos ? start + (int32_t)(i % (size_t)T) : 0;
    BE->upload(CTX, dst, tmp, n * sizeof(int32_t));
    free(tmp);
}

// The arena's shapes follow the batch: (B, T) may be smaller than reserved.
static void fit_batch(model *m, int B, int T) {
    FX_ASSERT(m->acts_mem && B > 0 && T > 0 && (size_t)B * (size_t)T <= m->cap_N);
    if (B != m->B || T != m->T) { // re-plan the same memory for the smaller shape
        arena a = {m->acts_mem, 0};
        plan_arena(m, &a, B, T, m->train, m->recompute);
        FX_ASSERT(a.used <= m->acts_floats);
        m->B = B, m->T = T;
    }
}

// PCM: x += pref W_p^T + b_p, pref (N, K) uploaded by model_forward_pref for this batch.
static void pref_forward(model *m, int N) {
    FX_ASSERT(m->pref_rows == N);
    BE->matmul(CTX, m->resid[0], m->pref, m->p.prefw, N, m->C, m->cfg.num_experts, false, true, true);
    BE->add_bias(CTX, m->resid[0], m->p.prefb, N, m->C);
    m->pref_rows = 0; // the next forward needs its own
}

void model_forward(model *m, const int32_t *ids, const int32_t *pos, const int32_t *seg, int B, int T) {
    fit_batch(m, B, T);
    for (size_t i = 0; i < (size_t)B * T; i++) FX_ASSERT(ids[i] >= 0 && ids[i] < m->V);
    int N = B * T;
    BE->upload(CTX, m->ids, ids, (size_t)N * sizeof(int32_t));
    upload_ints(m, m->pos, pos, B, T, 0, true);
    upload_ints(m, m->seg, seg, B, T, 0, false);
    if (model_vocab_streamed(m)) model_vocab_embed(m, m->resid[0], m->resid[1], ids, N); // resid[1]: free until layer 0
    else BE->embedding_forward(CTX, m->resid[0], m->ids, m->p.wte, N, m->C);
    if (m->head == MODEL_HEAD_PCM) pref_forward(m, N);
    kv_view kv = {NULL, NULL, m->seg, T, 0};
    for (int l = 0; l < m->L; l++) {
        model_layer_acts *a = &m->la[m->recompute || !m->train ? 0 : l];
        need_layer(m, l);
        layer_forward(m, l, a, m->h, m->resid[l], m->resid[l + 1], B, T, m->pos, m->seg, kv);
    }
    BE->rmsnorm_forward(CTX, m->lnf, m->lnf_rstd, m->resid[m->L], m->p.lnfw, N, m->C, (float)m->cfg.rms_norm_eps);
    if (m->train) BE->zero(CTX, m->dlnf, (size_t)N * m->C * sizeof(float));
}

void model_backward(model *m) {
    FX_ASSERT(m->train && m->grads_mem);
    int N = m->B * m->T, C = m->C;
    BE->zero(CTX, m->d_res, (size_t)N * C * sizeof(float));
    BE->rmsnorm_backward(CTX, m->d_res, m->g.lnfw, m->dlnf, m->resid[m->L], m->p.lnfw, m->lnf_rstd, N, C);
    kv_view kv = {NULL, NULL, m->seg, m->T, 0};
    for (int l = m->L - 1; l >= 0; l--) {
        model_layer_acts *a = &m->la[m->recompute ? 0 : l];
        need_layer(m, l);
        if (m->recompute) layer_forward(m, l, a, m->h, m->resid[l], NULL, m->B, m->T, m->pos, m->seg, kv);
        if (m->grads_layer) BE->zero(CTX, m->grads_layer, m->layer_floats * sizeof(float));
        layer_backward(m, l, a, m->resid[l]);
        if (m->grads_layer) m->grad_hook(m->grad_ctx, m, l);
    }
    if (model_vocab_streamed(m)) model_vocab_embed_backward(m, m->d_res, N);
    else BE->embedding_backward(CTX, m->g.wte, m->d_res, m->ids, N, C);
    if (m->head == MODEL_HEAD_PCM) { // x = wte[id] + pref W_p^T + b_p: dW_p += dx^T pref, db_p += sum dx
        BE->matmul(CTX, m->g.prefw, m->d_res, m->pref, C, m->cfg.num_experts, N, true, false, true);
        BE->bias_backward(CTX, m->g.prefb, m->d_res, N, C);
    }
    if (m->grads_layer) m->grad_hook(m->grad_ctx, m, -1);
}

void model_forward_pref(model *m, const int32_t *ids, const int32_t *pos, const int32_t *seg, const float *pref,
                        int B, int T) {
    FX_ASSERT(m->head == MODEL_HEAD_PCM);
    fit_batch(m, B, T); // pref's place in the arena follows (B, T): upload after the re-plan
    size_t n = (size_t)B * (size_t)T * (size_t)m->cfg.num_experts;
    for (size_t i = 0; i < n; i++) FX_ASSERT(isfinite(pref[i]));
    BE->upload(CTX, m->pref, pref, n * sizeof(float));
    m->pref_rows = B * T;
    model_forward(m, ids, pos, seg, B, T);
}

// --- incremental decoding -------------------------------------------------------------------------

// Every matmul of decoding runs on blocks of exactly MODEL_DECODE_ROWS rows (the last one padded
// with stale rows whose results are dropped). A BLAS picks its kernel, tiling and summation order
// from the call's shape, so a token's bits would otherwise depend on how many rows shared its
// step (OpenBLAS's small-matrix kernels round a 3-row and a 24-row product differently). With
// one shape per weight, a row's result depends on the row alone. A backend with linear_rows
// (batch-invariant by contract, backend.h) takes all the rows in one call instead.
static size_t dec_rows_padded(size_t n) {
    return (n + MODEL_DECODE_ROWS - 1) / MODEL_DECODE_ROWS * MODEL_DECODE_ROWS;
}

static size_t kv_cache_bytes(const model *m, int B, int Tmax) {
    size_t cols = (size_t)B * (size_t)Tmax;
    return 2 * (size_t)m->L * cols * (size_t)m->KD * sizeof(float) + cols * sizeof(int32_t);
}

void model_kv_init(model *m, int B, int Tmax) {
    FX_ASSERT(B > 0 && Tmax > 0);
    BE->free(CTX, m->kcache), BE->free(CTX, m->vcache), BE->free(CTX, m->kv_seg);
    size_t n = (size_t)m->L * (size_t)B * (size_t)Tmax * (size_t)m->KD;
    m->kcache = BE->alloc(CTX, n * sizeof(float));
    m->vcache = BE->alloc(CTX, n * sizeof(float));
    m->kv_seg = BE->alloc(CTX, (size_t)B * (size_t)Tmax * sizeof(int32_t));
    m->kv_B = B, m->kv_T = Tmax, m->kv_len = 0;
}

void model_kv_reset(model *m) { m->kv_len = 0; }

size_t model_kv_bytes(const model *m) { return m->kcache ? kv_cache_bytes(m, m->kv_B, m->kv_T) : 0; }

size_t model_kv_bytes_for(const model_config *c, int B, int Tmax) {
    model m = {0};
    set_dims(&m, c, MODEL_HEAD_LM);
    return kv_cache_bytes(&m, B, Tmax);
}

// Moves columns [drop, kv_len) of every row to [0, kv_len - drop), in pieces of at most `drop`
// columns so that no piece overlaps its destination.
void model_kv_shift(model *m, int drop) {
    FX_ASSERT(m->kcache && drop >= 0 && drop <= m->kv_len);
    if (drop == 0) return;
    int keep = m->kv_len - drop;
    size_t KD = (size_t)m->KD;
    for (int c0 = 0; c0 < keep; c0 += drop) {
        size_t n = (size_t)(keep - c0 < drop ? keep - c0 : drop);
        for (size_t r = 0; r < (size_t)m->L * (size_t)m->kv_B; r++) { // (layer, row) pairs
            size_t base = r * (size_t)m->kv_T;
            BE->copy(CTX, m->kcache + (base + (size_t)c0) * KD, m->kcache + (base + (size_t)(c0 + drop)) * KD,
                     n * KD * sizeof(float));
            BE->copy(CTX, m->vcache + (base + (size_t)c0) * KD, m->vcache + (base + (size_t)(c0 + drop)) * KD,
                     n * KD * sizeof(float));
        }
        for (size_t b = 0; b < (size_t)m->kv_B; b++) {
            size_t base = b * (size_t)m->kv_T;
            BE->copy(CTX, m->kv_seg + base + (size_t)c0, m->kv_seg + base + (size_t)(c0 + drop), n * sizeof(int32_t));
        }
    }
    m->kv_len = keep;
}

void model_kv_pad(model *m, int n) {
    FX_ASSERT(m->kcache && n >= 0 && m->kv_len + n <= m->kv_T);
    int32_t *pad = fx_malloc((size_t)(n > 0 ? n : 1) * sizeof *pad);
    for (int i = 0; i < n; i++) pad[i] = -1;
    for (size_t b = 0; b < (size_t)m->kv_B; b++)
        BE->upload(CTX, m->kv_seg + b * (size_t)m->kv_T + (size_t)m->kv_len, pad, (size_t)n * sizeof *pad);
    free(pad);
    m->kv_len += n;
}

// Rows of dec_logits in a scratch of N (padded) tokens.
static int dec_logit_rows(const model *m, size_t N) {
    int chunk = head_chunk(m, N);
    return chunk < MODEL_DECODE_ROWS ? MODEL_DECODE_ROWS : chunk;
}

// Floats of the decoding scratch for N new tokens (one layer's activations, the residual pair,
// the final norm, the MLP's hidden state and a block of logits), planned at a->base.
static void plan_decode(model *m, arena *a, size_t N) {
    size_t C = (size_t)m->C, chunk = (size_t)dec_logit_rows(m, N);
    plan_layer(m, a, &m->dec, N, false);
    m->dec_x = take(a, N * C), m->dec_y = take(a, N * C), m->dec_lnf = take(a, N * C);
    m->dec_h = take(a, N * (size_t)m->F);
    m->dec_logits = m->head == MODEL_HEAD_PCM ? NULL : take(a, chunk * (size_t)m->V); // a PCM has no LM head
    if (m->head == MODEL_HEAD_PCM) { // each new token's preference and alpha logits (N, K)
        size_t K = (size_t)m->cfg.num_experts;
        m->dec_pref = take(a, N * K), m->dec_z = take(a, N * K);
    }
}

size_t model_decode_bytes_for(const model_config *c, model_head head, int N) {
    model m = {0};
    set_dims(&m, c, head);
    size_t Np = dec_rows_padded((size_t)N);
    arena a = {0};
    plan_decode(&m, &a, Np);
    return a.used * sizeof(float) + 3 * Np * sizeof(int32_t);
}

static void reserve_decode(model *m, int N) {
    size_t Np = dec_rows_padded((size_t)N);
    if (Np <= (size_t)m->dec_cap) return;
    free_decode(m);
    arena a = {0};
    plan_decode(m, &a, Np);
    m->dec_mem = BE->alloc(CTX, a.used * sizeof(float));
    m->dec_bytes = a.used * sizeof(float) + 3 * Np * sizeof(int32_t);
    a = (arena){m->dec_mem, 0};
    plan_decode(m, &a, Np);
    size_t ib = Np * sizeof(int32_t);
    m->dec_ids = BE->alloc(CTX, ib), m->dec_pos = BE->alloc(CTX, ib), m->dec_seg = BE->alloc(CTX, ib);
    m->dec_cap = (int)Np;
}

size_t model_decode_bytes(const model *m) { return m->dec_mem ? m->dec_bytes : 0; }

void model_decode_release(model *m) { free_decode(m); }

// y = x W^T (+ b) for N rows: one linear_rows call, or a block of MODEL_DECODE_ROWS rows per
// matmul (x and y hold dec_rows_padded(N) rows).
static void dec_linear(const model *m, float *y, const float *x, const float *w, const float *b, int N, int IC,
                       int OC) {
    if (BE->linear_rows) {
        BE->linear_rows(CTX, y, x, w, b, N, IC, OC);
        return;
    }
    for (size_t r0 = 0; r0 < (size_t)N; r0 += MODEL_DECODE_ROWS)
        linear(m, y + r0 * (size_t)OC, x + r0 * (size_t)IC, w, b, MODEL_DECODE_ROWS, IC, OC);
}

// Layer l for Tq new tokens per row: layer_forward without backward state, its matmuls in
// fixed-shape blocks, its keys and values appended to the cache at column kv_len.
static void decode_layer(model *m, int l, const float *x, float *out, int B, int T) {
    model_layer_acts *a = &m->dec;
    int N = B * T, C = m->C, QD = m->QD, KD = m->KD, FF = m->F, HS = m->HS;
    size_t CC = (size_t)C, per_layer = (size_t)B * (size_t)m->kv_T * (size_t)KD;
    float eps = (float)m->cfg.rms_norm_eps, theta = (float)m->cfg.rope_theta;
    BE->rmsnorm_forward(CTX, a->ln1, NULL, x, LW(ln1w, C), N, C, eps);
    float *q = m->cfg.qk_norm ? a->qpre : a->q, *k = m->cfg.qk_norm ? a->kpre : a->k;
    dec_linear(m, q, a->ln1, LW(qw, (size_t)QD * CC), LW(qb, QD), N, C, QD);
    dec_linear(m, k, a->ln1, LW(kw, (size_t)KD * CC), LW(kb, KD), N, C, KD);
    dec_linear(m, a->v, a->ln1, LW(vw, (size_t)KD * CC), LW(vb, KD), N, C, KD);
    if (m->cfg.qk_norm) {
        BE->rmsnorm_forward(CTX, a->q, NULL, a->qpre, LW(qnw, HS), N * m->NH, HS, eps);
        BE->rmsnorm_forward(CTX, a->k, NULL, a->kpre, LW(knw, HS), N * m->NKV, HS, eps);
    }
    BE->rope_forward(CTX, a->q, m->dec_pos, N, m->NH, HS, theta);
    BE->rope_forward(CTX, a->k, m->dec_pos, N, m->NKV, HS, theta);
    float *kc = m->kcache + (size_t)l * per_layer, *vc = m->vcache + (size_t)l * per_layer;
    for (int b = 0; b < B; b++) {
        size_t dst = ((size_t)b * m->kv_T + (size_t)m->kv_len) * KD, src = (size_t)b * T * KD;
        BE->copy(CTX, kc + dst, a->k + src, (size_t)T * KD * sizeof(float));
        BE->copy(CTX, vc + dst, a->v + src, (size_t)T * KD * sizeof(float));
    }
    backend_attn_shape s = {B, T, m->kv_len, m->kv_T, m->NH, m->NKV, HS};
    BE->attention_forward(CTX, a->att, NULL, a->q, kc, vc, m->dec_seg, m->kv_seg, s);
    dec_linear(m, a->res1, a->att, LW(ow, CC * QD), LW(ob, C), N, QD, C);
    BE->axpy(CTX, a->res1, x, 1.0f, (size_t)N * CC);
    BE->rmsnorm_forward(CTX, a->ln2, NULL, a->res1, LW(ln2w, C), N, C, eps);
    dec_linear(m, a->gate, a->ln2, LW(gatew, (size_t)FF * CC), LW(gateb, FF), N, C, FF);
    dec_linear(m, a->up, a->ln2, LW(upw, (size_t)FF * CC), LW(upb, FF), N, C, FF);
    BE->swiglu_forward(CTX, m->dec_h, a->gate, a->up, (size_t)N * FF);
    dec_linear(m, out, m->dec_h, LW(downw, CC * FF), LW(downb, C), N, FF, C);
    BE->axpy(CTX, out, a->res1, 1.0f, (size_t)N * CC);
}

// Runs Tq new tokens per row through the layers and the final norm (into dec_lnf), appending
// their keys and values to the cache. A PCM's input is x = wte[id] + (pref W_p^T + b_p), pref
// (B*Tq, K) host, one row per new token (NULL for every other head).
static void decode_layers(model *m, const int32_t *ids, const int32_t *pos, const int32_t *seg, const float *pref,
                          int Tq) {
    int B = m->kv_B, N = B * Tq, C = m->C;
    FX_ASSERT(m->kcache && Tq > 0 && m->kv_len + Tq <= m->kv_T);
    FX_ASSERT((m->head == MODEL_HEAD_PCM) == (pref != NULL));
    for (size_t i = 0; i < (size_t)N; i++) FX_ASSERT(ids[i] >= 0 && ids[i] < m->V);
    reserve_decode(m, N);
    BE->upload(CTX, m->dec_ids, ids, (size_t)N * sizeof(int32_t));
    upload_ints(m, m->dec_pos, pos, B, Tq, m->kv_len, true);
    upload_ints(m, m->dec_seg, seg, B, Tq, 0, false);
    for (int b = 0; b < B; b++) // the new tokens' segments join the cache's
        BE->copy(CTX, m->kv_seg + (size_t)b * m->kv_T + m->kv_len, m->dec_seg + (size_t)b * Tq,
                 (size_t)Tq * sizeof(int32_t));
    if (model_vocab_streamed(m)) model_vocab_embed(m, m->dec_x, m->dec_y, ids, N); // dec_y: free here
    else BE->embedding_forward(CTX, m->dec_x, m->dec_ids, m->p.wte, N, C);
    if (pref) { // the projection in fixed-shape blocks like every decoding matmul (dec_y is free here)
        int K = m->cfg.num_experts;
        for (size_t i = 0; i < (size_t)N * (size_t)K; i++) FX_ASSERT(isfinite(pref[i]));
        BE->upload(CTX, m->dec_pref, pref, (size_t)N * (size_t)K * sizeof(float));
        dec_linear(m, m->dec_y, m->dec_pref, m->p.prefw, m->p.prefb, N, K, C);
        BE->axpy(CTX, m->dec_x, m->dec_y, 1.0f, (size_t)N * (size_t)C);
    }
    for (int l = 0; l < m->L; l++) {
        need_layer(m, l); // sharded: every decoding step gathers each layer, a collective of the ranks
        decode_layer(m, l, m->dec_x, m->dec_y, B, Tq);
        float *t = m->dec_x;
        m->dec_x = m->dec_y, m->dec_y = t;
    }
    m->kv_len += Tq;
    BE->rmsnorm_forward(CTX, m->dec_lnf, NULL, m->dec_x, m->p.lnfw, N, C, (float)m->cfg.rms_norm_eps);
}

// Logits of n rows of hidden states h (n, C; dec_rows_padded(n) rows readable) into host out
// (n, V), a block of MODEL_DECODE_ROWS rows at a time, or with linear_rows as many rows as
// dec_logits holds.
static void decode_logits(model *m, const float *h, int n, float *out) {
    int C = m->C, R = BE->linear_rows ? dec_logit_rows(m, (size_t)m->dec_cap) : MODEL_DECODE_ROWS;
    if (model_vocab_streamed(m)) { // a chunk of the vocabulary at a time (model_vocab.c's order)
        float *part = fx_malloc((size_t)R * (size_t)m->vocab_rows * sizeof *part);
        for (int c = model_vocab_chunks(m) - 1; c >= 0; c--) {
            int rows = model_vocab_need(m, m->vocab_head, c);
            for (int r0 = 0; r0 < n; r0 += R) {
                int k = n - r0 < R ? n - r0 : R;
                if (BE->linear_rows) BE->linear_rows(CTX, m->dec_logits, h + (size_t)r0 * C, m->params_vocab, NULL, k, C, rows);
                else BE->matmul(CTX, m->dec_logits, h + (size_t)r0 * C, m->params_vocab, R, rows, C, false, true, false);
                BE->download(CTX, part, m->dec_logits, (size_t)k * rows * sizeof(float));
                for (int i = 0; i < k; i++)
                    memcpy(out + (size_t)(r0 + i) * m->V + (size_t)c * m->vocab_rows, part + (size_t)i * rows,
                           (size_t)rows * sizeof(float));
            }
        }
        free(part);
        return;
    }
    const float *w = m->p.lmw ? m->p.lmw : m->p.wte;
    for (int r0 = 0; r0 < n; r0 += R) {
        int k = n - r0 < R ? n - r0 : R;
        if (BE->linear_rows) BE->linear_rows(CTX, m->dec_logits, h + (size_t)r0 * C, w, NULL, k, C, m->V);
        else BE->matmul(CTX, m->dec_logits, h + (size_t)r0 * C, w, R, m->V, C, false, true, false);
        BE->download(CTX, out + (size_t)r0 * m->V, m->dec_logits, (size_t)k * m->V * sizeof(float));
    }
}

void model_decode(model *m, const int32_t *ids, const int32_t *pos, const int32_t *seg, int Tq, float *out) {
    decode_layers(m, ids, pos, seg, NULL, Tq);
    if (out && m->head == MODEL_HEAD_LM) decode_logits(m, m->dec_lnf, m->kv_B * Tq, out);
}

void model_decode_last(model *m, const int32_t *ids, const int32_t *pos, const int32_t *seg, int Tq, float *out) {
    FX_ASSERT(m->head == MODEL_HEAD_LM);
    decode_layers(m, ids, pos, seg, NULL, Tq);
    int B = m->kv_B, C = m->C;
    if (Tq == 1) { // dec_lnf already holds each row's last token
        decode_logits(m, m->dec_lnf, B, out);
        return;
    }
    // Gather each row's last hidden state into dec_y (free after the layers: it holds B*Tq rows).
    for (int b = 0; b < B; b++)
        BE->copy(CTX, m->dec_y + (size_t)b * C, m->dec_lnf + ((size_t)b * Tq + (size_t)(Tq - 1)) * C,
                 (size_t)C * sizeof(float));
    decode_logits(m, m->dec_y, B, out);
}

void model_decode_pref(model *m, const int32_t *ids, const int32_t *pos, const int32_t *seg, const float *pref, int Tq,
                       float *z) {
    FX_ASSERT(m->head == MODEL_HEAD_PCM && pref);
    decode_layers(m, ids, pos, seg, pref, Tq);
    int N = m->kv_B * Tq, K = m->cfg.num_experts;
    dec_linear(m, m->dec_z, m->dec_lnf, m->p.alphaw, m->p.alphab, N, m->C, K); // z = lnf W_a^T + b_a
    BE->download(CTX, z, m->dec_z, (size_t)N * (size_t)K * sizeof(float));
    model_pcm_prior(m, pref, N, z);
}
