// model.h — the Qwen2 / Qwen2.5 / Qwen3 / Llama decoder: parameters, forward, backward, heads,
// KV-cache decoding and AdamW, all through a backend (model/backend.h).
//
// Layout, as in llm.c: one contiguous parameter buffer, a struct of named pointers into it with
// their shapes; gradients and the AdamW moments are buffers of the same layout. Per-layer
// tensors are stacked over layers (L, ...). Activations live in one arena sized for (B, T).
// A training step: model_forward -> a head's forward and backward (which accumulate into the
// final hidden state's gradient) -> model_backward -> model_clip_grad_norm -> model_adamw_step.
#ifndef FLUXRL_MODEL_H
#define FLUXRL_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../core/fx.h"
#include "backend.h"
#include "model_config.h"
#include "safetensors.h"

// What sits on top of the backbone (from config.json's architectures[0]).
typedef enum {
    MODEL_HEAD_LM = 0, // *ForCausalLM: lm_head (or the tied embedding), log-probs over the vocabulary
    MODEL_HEAD_VALUE,  // *ForRewardModel / *ForSequenceClassification: score (1, C), a bias when score_bias
    MODEL_HEAD_PRM,    // Qwen2ForProcessRewardModel: score.0 Linear(C,C) -> ReLU -> score.2 Linear(C,2)
    MODEL_HEAD_PCM,    // FluxrlPCMForTokenMixing: preference projection in, K-way alpha head out (docs/pcm.md)
} model_head;

typedef struct {
    float *wte;   // (V, C)        model.embed_tokens.weight
    float *ln1w;  // (L, C)        input_layernorm.weight
    float *qw;    // (L, QD, C)    self_attn.q_proj.weight, QD = NH*HS
    float *qb;    // (L, QD)       .bias (qkv_bias)
    float *kw;    // (L, KD, C)    k_proj, KD = NKV*HS
    float *kb;    // (L, KD)
    float *vw;    // (L, KD, C)    v_proj
    float *vb;    // (L, KD)
    float *qnw;   // (L, HS)       self_attn.q_norm.weight (qk_norm)
    float *knw;   // (L, HS)       self_attn.k_norm.weight
    float *ow;    // (L, C, QD)    o_proj
    float *ob;    // (L, C)        (o_bias)
    float *ln2w;  // (L, C)        post_attention_layernorm.weight
    float *gatew; // (L, F, C)     mlp.gate_proj
    float *gateb; // (L, F)        (mlp_bias)
    float *upw;   // (L, F, C)     mlp.up_proj
    float *upb;   // (L, F)
    float *downw; // (L, C, F)     mlp.down_proj
    float *downb; // (L, C)
    float *lnfw;  // (C)           model.norm.weight
    float *lmw;   // (V, C)        lm_head.weight; NULL when tied (wte is used)
    float *prefw; // (C, K)        model.pref_proj.weight (PCM, K experts): x_t = wte[id_t] + W_p w + b_p
    float *prefb; // (C)           model.pref_proj.bias
    float *alphaw; // (K, C)       alpha_head.weight (PCM): alpha logits z_t = W_a h_t + b_a
    float *alphab; // (K)          alpha_head.bias
    float *s0w;   // (C, C)        score.0.weight (PRM)
    float *s0b;   // (C)
    float *s2w;   // (2, C)        score.2.weight (PRM); score.weight (1, C) for the value head
    float *s2b;   // (2)           score.2.bias (PRM); score.bias (1) for a value head with score_bias
} model_params;

// One tensor of the layout: its Hugging Face name, place and shape.
typedef struct {
    char name[96];
    size_t offset, numel; // in floats, into the parameter buffer
    int ndim;
    int64_t shape[2];
    bool decay;           // AdamW weight decay applies (matrices; not norms or biases)
    int layer;            // the decoder layer it belongs to; -1: embedding, final norm, heads
    bool vocab;           // a (V, C) matrix: the embedding or the untied LM head (streamed when sharded fully)
} model_tensor;

// Activations of one layer (pointers into the arena). Each is (N, width) with N = B*T tokens.
typedef struct {
    float *ln1, *ln1_rstd;        // (N, C), (N)
    float *qpre, *q_rstd;         // (N, QD), (N*NH): q before q_norm (qk_norm only)
    float *kpre, *k_rstd;         // (N, KD), (N*NKV)
    float *q, *k, *v;             // (N, QD), (N, KD), (N, KD): as attention sees them
    float *att, *lse;             // (N, QD), (B, NH, T)
    float *res1;                  // (N, C) residual after attention
    float *ln2, *ln2_rstd;        // (N, C), (N)
    float *gate, *up;             // (N, F)
} model_layer_acts;

typedef struct model model;
// Called by model_backward when the gradients of `layer` are done (-1: the tensors outside the
// layers, at its end): see grads_layer.
typedef void (*model_grad_hook)(void *ctx, model *m, int layer);
// Called before layer `layer` is read when the parameters are sharded (params_layer): it fills
// params_layer with the layer's tensors (see model_shard_params).
typedef void (*model_param_hook)(void *ctx, model *m, int layer);
// Sharded fully, for a chunk [a, e) of the layout's rows of a vocabulary tensor (model_tensor.vocab):
// gather fills buf (e - a floats) with those weights from their owners; reduce sums buf, that
// chunk's gradients, over the ranks into the owners' slices of grads_mem.
typedef void (*model_range_hook)(void *ctx, model *m, size_t a, size_t e, float *buf);

struct model {
    model_config cfg;
    model_head head;
    int C, L, NH, NKV, HS, QD, KD, F, V;
    const backend *be;

    model_tensor *tensors;
    int ntensors;
    size_t nparams;
    float *params_mem;  // (nparams) device; sharded (model_shard_params): see below
    model_params p;     // pointers into params_mem (sharded: into params_layer / params_rest / params_whole;
                        // a streamed vocabulary tensor's NULL)
    // Sharded parameters (ZeRO-3, FSDP's FULL_SHARD; trainer_dp.h): this rank owns the slice
    // [param_lo, param_hi) of the layout, held in params_mem (layout order). params_layer holds one
    // layer's tensors back to back in layout order (the layout of grads_layer), filled by
    // param_hook(param_ctx, m, l) before layer l is read in model_forward and model_backward
    // (params_layer_at: the layer it holds, -1 none). params_rest holds the small tensors outside
    // the layers (final norm, heads other than an LM head, a PCM's projections) whole, back to back,
    // kept for the step as FSDP keeps its root unit and regathered after each optimiser step. The
    // vocabulary tensors (model_tensor.vocab: the embedding and an untied LM head) are streamed: a
    // chunk of vocab_rows rows at a time is gathered into params_vocab (vocab_gather) just before
    // it is read, by the embedding's lookup, the LM head's logits and decoding, and its gradients
    // are summed into their owners (vocab_reduce) from grads_vocab as soon as they are done
    // (model_vocab.c), so no rank holds a whole (V, C) matrix. params_whole: the whole layout,
    // gathered onto this rank for what needs every weight at once (model_params_whole), NULL
    // otherwise; nothing is streamed while it is held.
    size_t param_lo, param_hi;
    float *params_layer, *params_rest, *params_whole;
    int params_layer_at;
    model_param_hook param_hook;
    void *param_ctx;
    int vocab_rows;                    // rows per chunk of a vocabulary tensor; 0: not streamed
    int vocab_wte, vocab_head;         // the tensors' indices: the embedding, the LM head (the embedding when tied)
    float *params_vocab, *grads_vocab; // (vocab_rows + 1, C): a chunk and a row of zeros (the lookup's
                                       // outside-the-chunk row) / a row the backward's outside ids add into
    int vocab_at_t, vocab_at_c;        // the tensor and chunk params_vocab holds (-1: none)
    model_range_hook vocab_gather, vocab_reduce; // called with param_ctx / grad_ctx
    int32_t *vocab_ids;                // device (vocab_cap): ids or targets shifted into a chunk
    float *vocab_stats;                // device (3 vocab_cap): a chunk's log-probs, lse and entropies
    int32_t *vocab_host;               // host (2 vocab_cap): the forward's ids and targets, kept for backward
    size_t vocab_cap;
    float *grads_mem;   // same layout; NULL until model_train_init
    model_params g;
    float *m_mem, *v_mem; // AdamW moments of the slice [opt_lo, opt_hi) of the layout (m_mem[0]: opt_lo)
    size_t opt_lo, opt_hi; // all of it unless the optimiser state is sharded (model_train_init_slice)
    // grads_mem holds the gradients of [grad_lo, grad_hi) (all of them unless sliced). Sliced
    // (model_train_init_slice with slice_grads), model_backward writes the gradients of layer l
    // into grads_layer (the layer's tensors back to back in layout order, zeroed first) and calls
    // grad_hook(grad_ctx, m, l) when they are done; the hook sums each piece into the slice of
    // grads_mem that owns it (a sharded trainer: trainer_dp.h), which covers the owned part of the
    // layers' run of the layout only. The tensors outside the layers (embedding, final norm,
    // heads) accumulate in grads_rest (back to back) over the heads' backward and model_backward,
    // which ends with grad_hook(grad_ctx, m, -1); a sharded trainer's hook leaves them there over
    // all the step's passes and sums them over the ranks once, before its optimiser step
    // (trainer_optim_step), each rank reading its owned part of grads_rest. With the weights
    // sharded too (params_layer), grads_mem holds the whole slice [param_lo, param_hi), grads_rest
    // the small tensors outside the layers only (the owners add their sums into grads_mem), and a
    // vocabulary tensor's gradients pass through grads_vocab a chunk at a time (params_vocab).
    size_t grad_lo, grad_hi;
    float *grads_layer, *grads_rest;
    size_t layer_floats, rest_floats;
    // The layers' run [layers_lo, layers_hi) of the layout (set with the sliced buffers): the
    // tensors outside the layers lie before it and after it, so params_rest and grads_rest are the
    // layout with the run cut out, and with streamed vocabulary tensors those too (model_rest_index).
    size_t layers_lo, layers_hi;
    model_grad_hook grad_hook;
    void *grad_ctx;
    int step;           // AdamW steps taken

    // Activations for (B, T).
    int B, T;                // the current batch's shape
    size_t cap_N;            // tokens the arena holds (B*T at model_reserve)
    bool train, recompute;
    // A PRM whose tied embedding also serves as its LM head (an auxiliary language-model loss while
    // it trains, prm.lm_weight): set before model_reserve, which then lays out the LM head's logits.
    bool lm_aux;
    float *acts_mem;
    size_t acts_floats;
    int32_t *ids, *pos, *seg, *targets; // (N) device
    float **resid;           // L+1 pointers: resid[l] (N, C) is layer l's input
    model_layer_acts *la;    // L layers (1 shared when recomputing)
    float *lnf, *lnf_rstd;   // (N, C), (N): final norm = the heads' input
    float *dlnf;             // (N, C) gradient the heads accumulate into
    float *tok_logp, *tok_lse, *tok_ent; // (N) LM head per-token results
    float *tok_dlogp, *tok_dent;         // (N) their gradients (device copies of the caller's)
    float *head_z, *head_a, *d_z;        // (N, C) PRM hidden before / after ReLU, and its gradient
    float *head_out, *head_dout;         // (N, 2): PRM logits or values (N, 1), and their gradients
    float *pref, *alpha_z, *alpha_dz;    // (N, K) PCM: each token's preference, alpha logits, their gradient
    int pref_rows;                       // rows of pref uploaded for the next model_forward (PCM)
    float *logits;           // (chunk, V) LM head chunk
    int chunk;               // rows per LM head chunk
    // backward scratch (one layer's worth)
    float *d_res, *d_ln, *d_att, *d_q, *d_k, *d_v, *d_qpre, *d_kpre, *d_gate, *d_up, *h, *d_h;

    // KV cache for incremental decoding.
    int kv_B, kv_T, kv_len;
    float *kcache, *vcache;  // (L, B, kv_T, KD)
    int32_t *kv_seg;         // (B, kv_T)
    int dec_cap;             // tokens the decoding scratch holds (a multiple of MODEL_DECODE_ROWS)
    size_t dec_bytes;        // its bytes
    float *dec_mem;
    model_layer_acts dec;    // one layer's activations, no backward state
    float *dec_x, *dec_y, *dec_lnf, *dec_h, *dec_logits;
    float *dec_pref, *dec_z; // (N, K) PCM: the new tokens' preferences and alpha logits
    int32_t *dec_ids, *dec_pos, *dec_seg;
};

// Where element a of the layout, outside the layers' run (and not in a streamed vocabulary
// tensor), lies in params_rest / grads_rest.
size_t model_rest_index(const model *m, size_t a);

// --- building ---------------------------------------------------------------------------------
// The layout of a model of config c (its tensors' names, shapes and offsets, nparams) with no
// memory and no backend: for checking a checkpoint's files and for sizes. model_free frees it.
void model_layout(model *m, const model_config *c, model_head head);
// A model of config c with zeroed parameters (the layout only).
void model_create(model *m, const model_config *c, model_head head, const backend *be);
// The slice [lo, hi) of a layout of n floats that rank `rank` of `size` owns when the parameters
// or the training state are sharded (trainer_dp.h): contiguous, in rank order, each but the last a
// multiple of 16 floats (64 bytes) long.
static inline void model_shard_range(size_t n, int rank, int size, size_t *lo, size_t *hi) {
    size_t per = (n + (size_t)size - 1) / (size_t)size, a;
    per = (per + 15) & ~(size_t)15;
    a = (size_t)rank * per;
    *lo = a < n ? a : n;
    *hi = a + per < n ? a + per : n;
}
// The same with its parameters sharded from the start (model_shard_params with rank's slice of
// `size`), so that the backend never holds the whole layout; size 1: model_create.
void model_create_shard(model *m, const model_config *c, model_head head, const backend *be, int rank, int size);
// Tensor i's values (host, numel floats) into the parameters, where they live (sharded: this
// rank's part of them, and the whole of a tensor outside the layers).
void model_put_tensor(model *m, int i, const float *values);
// A model of config c with parameters drawn from N(0, std) (norm weights 1, biases 0 unless
// bias_std > 0), from the Philox stream `seed`.
void model_init_random(model *m, const model_config *c, model_head head, const backend *be, uint64_t seed,
                       float std, float bias_std);
void model_init_random_shard(model *m, const model_config *c, model_head head, const backend *be, uint64_t seed,
                             float std, float bias_std, int rank, int size);
// Loads a Hugging Face folder (config.json + model.safetensors[.index.json]). Every tensor the
// config implies must be present with its shape; any other tensor is an error naming it.
int model_load(model *m, const char *dir, const backend *be, fx_err *err);
// The same sharded from the start (model_create_shard): each tensor passes through a host buffer,
// and only this rank's part of it (and the tensors outside the layers whole) reaches the backend.
int model_load_shard(model *m, const char *dir, const backend *be, int rank, int size, fx_err *err);
// 0 when dir is a folder; else err says it must be one (a file given as --model is a common slip,
// and the safetensors index error it led to named the wrong problem).
int model_check_dir(const char *dir, fx_err *err);
// Everything model_load checks, without reading the weights (for --dry-run, where a 7B model
// need not fit in the memory of a login node): config.json, the safetensors headers, every
// tensor's presence, shape, dtype and bounds in its file, and no tensor the config does not imply.
// Fills *cfg and *head.
int model_check_files(const char *dir, model_config *cfg, model_head *head, fx_err *err);
// Loads the backbone of any supported checkpoint under another head: tensors of the checkpoint's
// own head that `head` does not have are ignored, and a head the checkpoint lacks starts from
// N(0, std) (seed). E.g. a PRM to train from a language model's weights.
int model_load_as(model *m, const char *dir, model_head head, const backend *be, uint64_t seed, float std,
                  fx_err *err);
// The same sharded from the start (model_create_shard).
int model_load_as_shard(model *m, const char *dir, model_head head, const backend *be, uint64_t seed, float std,
                        int rank, int size, fx_err *err);
// The same with `extra` decoder layers on top of the checkpoint's (config.json's
// num_hidden_layers + extra): the new layers' weights from N(0, std), norms 1, and their o_proj and
// down_proj (with any biases) zero, so each starts as the identity and the grown model computes
// what the checkpoint's backbone does. E.g. a PRM deeper than the policy it starts from.
int model_load_as_grown_shard(model *m, const char *dir, model_head head, int extra, const backend *be, uint64_t seed,
                              float std, int rank, int size, fx_err *err);
// A PCM of K experts (docs/pcm.md) whose backbone is that of the checkpoint in dir (any supported
// head but a PCM: the paper starts its PCM from a pretrained small language model): the
// checkpoint's embedding, layers and final norm, its own head left out, the preference projection
// and the alpha head from N(0, std) (biases 0), seed. Sharded from the start (size 1: whole).
int model_load_pcm_shard(model *m, const char *dir, int K, const backend *be, uint64_t seed, float std, int rank,
                         int size, fx_err *err);
// Writes config.json and model.safetensors (dtype F32, BF16 or F16) into dir (created).
int model_save(const model *m, const char *dir, st_dtype dtype, fx_err *err);
// The same with each tensor's weights from fill(ctx, lo, hi, dst): the floats [lo, hi) of m's
// flat layout into the host array dst, one tensor at a time in m's order, so that the whole
// weights need never be in one place (a sharded model's, gathered tensor by tensor). fill is
// called for every tensor even when the folder cannot be written (it may be a collective).
int model_save_each(const model *m, void (*fill)(void *ctx, size_t lo, size_t hi, float *dst), void *ctx,
                    const char *dir, st_dtype dtype, fx_err *err);
void model_free(model *m);
// Parses the head from an architecture name ("Qwen2ForCausalLM", ...); -1 if unknown.
int model_head_parse(const char *architecture, model_head *out);
const model_tensor *model_find_tensor(const model *m, const char *name);

// Grads and AdamW moments (zeroed).
void model_train_init(model *m);
// The same with the AdamW moments of the parameters [lo, hi) only: a trainer rank that owns that
// slice of a sharded optimiser state (trainer_dp.h). model_adamw_step then steps that slice only.
// slice_grads: the gradients too are kept for [lo, hi) only, through grad_hook (see grads_layer;
// set the hook before the first backward). Before model_reserve, which otherwise makes the whole
// state.
void model_train_init_slice(model *m, size_t lo, size_t hi, bool slice_grads);
// Sliced gradients: the pieces of layer l (-1: the tensors outside the layers), their offsets into
// the layout and lengths in layout order, lying back to back in *buf (grads_layer or grads_rest).
// Returns how many (at most MODEL_MAX_PIECES).
#define MODEL_MAX_PIECES 32
int model_grad_pieces(const model *m, int l, size_t *offset, size_t *len, float **buf);
// The same pieces without a buffer (any model, sharded or not).
int model_pieces(const model *m, int l, size_t *offset, size_t *len);
// Shards the parameters: keeps the slice [lo, hi) of the layout in params_mem and the small
// tensors outside the layers whole in params_rest; layer l's tensors are read from params_layer,
// which param_hook fills, and the vocabulary tensors a chunk at a time from params_vocab, which
// vocab_gather fills (set both before the first forward). Frees the whole buffer. Before
// model_train_init_slice, which then lays the gradients out to match.
void model_shard_params(model *m, size_t lo, size_t hi);
// Sharded: copies this rank's part of layer l's tensors (-1: the small tensors outside the layers)
// from its slice into params_layer (params_rest), at their packed places; a gather then fills in
// the other ranks'.
void model_pieces_pack(model *m, int l);
// The elements [a, e) of the layout from a slice buffer of this rank (mem[0] is element mem_lo)
// into host, or from host into it. mem: m_mem, v_mem or params_mem.
void model_slice_get(const model *m, const float *mem, size_t mem_lo, size_t a, size_t e, float *host);
void model_slice_put(const model *m, float *mem, size_t mem_lo, size_t a, size_t e, const float *host);
// Sharded: the whole layout from the host array `host` (nparams floats) onto this rank until
// model_params_release; meanwhile m reads it (decoding, model_save, its params as one buffer:
// model_params_of) and no hook is called.
void model_params_whole(model *m, const float *host);
void model_params_release(model *m);
// The buffer of the whole layout (params_whole while gathered, else params_mem).
float *model_params_of(const model *m);
// Sharded parameters: what model_forward would gather with no batch (a rank with no data in a
// pass the other ranks of its group take), and with lm what the LM head's forward (model_lm_forward,
// model_lm_ce, decoding's logits) would; model_grad_flush does the backward's (lm: the LM head's
// backward first).
void model_param_flush(model *m, bool lm);
// Sliced gradients: what model_backward hands grad_hook, with zero gradients (for a rank with no
// data in a pass that the other ranks of its group take).
void model_grad_flush(model *m, bool lm);
// --- streamed vocabulary tensors (model_vocab.c; for model/ itself) ---------------------------
// Sharded fully (vocab_rows > 0) and not holding the whole weights: the embedding and the LM head
// are read a chunk of rows at a time. Every function here is a collective of the ranks that
// share the weights; with n = 0 it takes the collectives only (a rank with no data in the pass).
bool model_vocab_streamed(const model *m);
int model_vocab_chunks(const model *m);
// Chunk c of tensor t (vocab_wte or vocab_head) in params_vocab (gathered unless held); its rows.
int model_vocab_need(model *m, int t, int c);
// out (n, C) = wte[ids], exactly the whole matrix's lookup; tmp (n, C) scratch. Keeps ids for
// model_vocab_embed_backward.
void model_vocab_embed(model *m, float *out, float *tmp, const int32_t *ids, int n);
// The lookup's gradients (dout (n, C)) summed into their owners, a chunk at a time.
void model_vocab_embed_backward(model *m, const float *dout, int n);
// The LM head over rows [0, n) of lnf: tok_logp, tok_lse and tok_ent, each row's log-sum-exp and
// entropy merged over the chunks (in double); keeps targets (host, n) for the backward.
void model_vocab_head_forward(model *m, const int32_t *targets, int n);
// Its backward from tok_dlogp (with dlogp) and tok_dent (with dent): dlnf +=, and each chunk's
// weight gradients summed into their owners.
void model_vocab_head_backward(model *m, bool dlogp, bool dent, int n);
// Rows per chunk of a vocabulary tensor when m's layout is sharded fully: vocab_rows where set
// (at most V; a layout's, for planning), else as many as fill one layer's floats (at least 1, at
// most V), so that the chunk buffers are no larger than a layer's.
int model_vocab_chunk_rows(const model *m);
// Sharded fully: chunks of `rows` rows instead (1 <= rows <= V), before the first forward and
// before model_train_init_slice (tests take several chunks of a tiny vocabulary).
void model_vocab_set_rows(model *m, int rows);
void model_zero_grad(model *m);
// Activation arena for batches of up to B rows of T tokens. train keeps what backward needs;
// recompute keeps only each layer's input and recomputes the layer during backward.
void model_reserve(model *m, int B, int T, bool train, bool recompute);
// Bytes of the activation arena (and token buffers) model_reserve allocates for (B, T), lm_aux as
// the model's field (a PRM's logits chunk for the auxiliary LM loss); the parameters, gradients
// and moments take 4 bytes per parameter each on top.
size_t model_arena_bytes(const model_config *c, model_head head, bool lm_aux, int B, int T, bool train, bool recompute);
size_t model_count_params(const model_config *c, model_head head); // every tensor of the layout

// --- forward / backward -----------------------------------------------------------------------
// A batch: B rows of T tokens (host arrays of B*T). pos: each token's position in its sequence;
// seg: its sequence id within the row (a token attends to earlier tokens of its own segment);
// give padding a segment of its own, e.g. -1. NULL pos/seg = one sequence per row, 0..T-1.
void model_forward(model *m, const int32_t *ids, const int32_t *pos, const int32_t *seg, int B, int T);
// After the heads' backward: gradients of every parameter (accumulated, +=).
void model_backward(model *m);

// LM head. targets (N) host, < 0 = no target. Outputs per token (host, any may be NULL): log-prob
// of the target, entropy of the distribution. Chunked: at most `chunk` rows of logits live at once.
void model_lm_forward(model *m, const int32_t *targets, float *logp, float *entropy);
// After model_lm_forward on the same batch: backward of loss = sum_n dlogp[n] * logp[n] +
// dent[n] * H[n] (host arrays, may be NULL), recomputing each chunk's logits.
void model_lm_backward(model *m, const float *dlogp, const float *dent);
// Fused forward + backward of the weighted cross-entropy sum_n w[n] * -logp[n] (w NULL: the mean
// over tokens with a target). Returns the loss; no logits are recomputed. Also on a PRM with
// lm_aux (its tied embedding as the LM head).
double model_lm_ce(model *m, const int32_t *targets, const float *w, bool backward);
// Logits of rows [row0, row0 + n) into host (n, V).
void model_lm_logits(model *m, int row0, int n, float *out);

// Value head: values (N) host. Backward of sum dvalue[n] * value[n].
void model_value_forward(model *m, float *values);
void model_value_backward(model *m, const float *dvalue);
// PRM head: logits (N, 2) host. Backward of sum dlogits * logits.
void model_prm_forward(model *m, float *logits);
void model_prm_backward(model *m, const float *dlogits);
// PCM (Preference Control Model, docs/pcm.md; K = cfg.num_experts): the backbone's forward with
// each token's preference vector w fed in, x_t = wte[id_t] + W_p w_t + b_p. pref: host (B*T, K),
// one row per token, so sequences packed into a row may carry different preferences (rows on
// the simplex; the caller validates them). A PCM runs only through this, never model_forward.
void model_forward_pref(model *m, const int32_t *ids, const int32_t *pos, const int32_t *seg, const float *pref,
                        int B, int T);
// PCM head: alpha logits z (N, K) host, z_t = W_a h_t + b_a (alpha = softmax(z): model_merge.h).
// Backward of sum dz * z, into W_a, b_a and dlnf; model_backward then reaches W_p and b_p.
// With a preference prior eps (cfg.preference_prior > 0, fluxrl's extension) z_t gains log(w_t + eps),
// here and in model_decode_pref: model_pcm_prior adds it to host z (N, K) for host pref (N, K).
void model_pcm_forward(model *m, float *z);
void model_pcm_prior(const model *m, const float *pref, int N, float *z);
void model_pcm_backward(model *m, const float *dz);

// --- optimiser ---------------------------------------------------------------------------------
typedef struct {
    float lr, beta1, beta2, eps, weight_decay;
} model_adamw;
typedef enum { MODEL_LR_CONSTANT = 0, MODEL_LR_COSINE } model_lr_kind;
typedef struct {
    model_lr_kind kind;
    float lr, min_lr;
    int warmup, total; // cosine: linear warmup over `warmup` steps, then cosine to min_lr at `total`
} model_lr_schedule;

// The learning rate of step (0-based).
float model_lr_at(const model_lr_schedule *s, int step);
// Global gradient norm; scaled down to max_norm when above it (torch's clip_grad_norm_,
// coefficient max_norm / (norm + 1e-6)). max_norm <= 0: no clipping. Returns the norm before.
double model_clip_grad_norm(model *m, double max_norm);
// One AdamW step at learning rate lr (decay on matrices only), on the parameters [opt_lo, opt_hi).
void model_adamw_step(model *m, const model_adamw *o, float lr);
// The sum of squares of the gradients [lo, hi), in double, and their scaling by coef: the global
// norm of gradients that lie sharded over ranks is the square root of the sum of each rank's.
double model_grad_sumsq(const model *m, size_t lo, size_t hi);
void model_grad_scale(model *m, float coef, size_t lo, size_t hi);

// --- incremental decoding ---------------------------------------------------------------------
// A KV cache of B rows of Tmax columns per layer; kv_len columns are filled, the same number in
// every row (the backend's attention has one q_off for all rows). Every matmul runs on blocks of
// MODEL_DECODE_ROWS token rows, or in one call of the backend's batch-invariant linear_rows where
// it has one (backend.h; the CUDA backend), so a token's logits do not depend on how many rows
// share its step (given the same keys in its row, starting at a column that is the same modulo 16
// and >= 32: see rollout/engine.h). With sharded parameters (params_layer) every decoding call
// gathers each layer before reading it, like model_forward: a collective of the ranks, each of
// which decodes its own rows or takes an empty pass (model_param_flush) at every step.
#define MODEL_DECODE_ROWS 8
void model_kv_init(model *m, int B, int Tmax);
void model_kv_reset(model *m);
// Drops the first `drop` columns of every row: columns [drop, kv_len) move to the front and
// kv_len -= drop (compaction, when the sequences in the cache all started at or after `drop`).
void model_kv_shift(model *m, int drop);
// Appends n columns of padding (segment -1, masked for every query) to every row.
void model_kv_pad(model *m, int n);
// Bytes of the KV cache (keys, values, segments); 0 before model_kv_init.
size_t model_kv_bytes(const model *m);
// Bytes of the decoding scratch as it is now (it grows to the largest B*Tq fed so far), and its
// release (the next decode allocates what it needs).
size_t model_decode_bytes(const model *m);
// What model_kv_init(B, Tmax) and decoding N new tokens at a time allocate, for a config (sizes
// before anything is loaded: --dry-run).
size_t model_kv_bytes_for(const model_config *c, int B, int Tmax);
size_t model_decode_bytes_for(const model_config *c, model_head head, int N);
void model_decode_release(model *m);
// Feeds Tq new tokens per row (positions/segments as in model_forward; NULL = continuing one
// sequence per row). Writes logits (B*Tq, V) to host out when not NULL.
void model_decode(model *m, const int32_t *ids, const int32_t *pos, const int32_t *seg, int Tq, float *out);
// The same, writing only the logits of each row's last new token: host out (B, V). For a
// prefill, where the other rows' logits would take B*Tq*V floats.
void model_decode_last(model *m, const int32_t *ids, const int32_t *pos, const int32_t *seg, int Tq, float *out);
// A PCM's decoding (model_decode asserts on one): Tq new tokens per row with their preferences
// pref (B*Tq, K) host, one row per token as in model_forward_pref; writes their alpha logits z
// (B*Tq, K) host, as model_pcm_forward would (up to the summation order of the blocked matmuls).
void model_decode_pref(model *m, const int32_t *ids, const int32_t *pos, const int32_t *seg, const float *pref, int Tq,
                       float *z);

#endif
