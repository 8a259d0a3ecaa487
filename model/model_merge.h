// model_merge.h — token-level merging of K expert policies by mixing weights alpha (arXiv
// 2407.04181; docs/pcm.md): pi(y | ctx) = sum_i alpha_i(ctx) pi_i(y | ctx), alpha on the simplex,
// alpha = softmax(z) of the PCM's alpha logits z (model_pcm_forward). The experts are black boxes:
// only their log-probs enter, and the gradient of a loss on log pi reaches only z (and, through
// model_pcm_backward and model_backward, the PCM's parameters).
//
// Every sum runs in double, over the experts in order 0..K-1, and is rounded to float once.
// A weight alpha_i = 0 (log alpha_i = -inf) and a log-prob of -inf (a token an expert's sampler
// masked) are exact zeros of the mixture, never NaN; so a one-hot alpha gives back that expert's
// log-probs bit for bit (log 1 + lp = lp), and alpha = w (fixed weights, no PCM) is plain mixing.
//
// Shapes: T tokens, K experts, V the vocabulary; z, alpha, log_alpha, post, dz are (T, K)
// row-major; an expert's per-token log-probs lp are (K, T) (expert i's T values at lp + i*T, as
// each expert's model_lm_forward writes them).
#ifndef FLUXRL_MODEL_MERGE_H
#define FLUXRL_MODEL_MERGE_H

// alpha = softmax(z) and log alpha = z - logsumexp(z), row by row (each row of z: no NaN, no
// +inf, at least one finite entry). Either output may be NULL.
void model_merge_alpha(const float *z, int T, int K, float *alpha, float *log_alpha);

// log pi(y_t) = logsumexp_i (log alpha_i(t) + lp_i(t)) into logp (T). post (T, K), may be NULL:
// the posterior alpha_i pi_i(y_t) / pi(y_t). A token no expert of weight > 0 gives any
// probability has logp -inf and post = alpha (no gradient: the loss is -inf whatever z is).
void model_merge_logp(const float *log_alpha, const float *lp, int T, int K, float *logp, float *post);

// The gradient of loss = sum_t dlogp[t] log pi(y_t) with respect to z, alpha = softmax(z):
// d log pi(y_t) / d z_ti = post_ti - alpha_ti, so dz (T, K) = dlogp[t] (post - alpha) (written,
// not accumulated). dlogp NULL: all ones.
void model_merge_backward(const float *alpha, const float *post, const float *dlogp, int T, int K, float *dz);

// Next-token distributions, one position: rows[i] is expert i's log-softmax row (V).
// Probability space (the paper's): out[v] = log sum_i alpha_i pi_i(v), a log-softmax row.
void model_merge_row_prob(const float *log_alpha, const float *const *rows, int K, int V, float *out);
// The entropy of the probability-space merge at one position, H = -sum_v pi(v) log pi(v) with
// pi(v) = sum_i alpha_i pi_i(v), returned; c (K), may be NULL: c_i = sum_v pi_i(v) log pi(v), the
// cross term of its gradient (model_merge_entropy_backward). A v no expert of weight > 0 gives any
// probability adds nothing to H (0 log 0 = 0); c_i of an expert of weight 0 sums over the other
// v only (its exact value may be -inf; its gradient term is 0 whatever it is).
float model_merge_row_entropy(const float *log_alpha, const float *const *rows, int K, int V, float *c);
// The gradient of sum_t dent[t] H_t with respect to z, alpha = softmax(z), added into dz (T, K):
// dH_t / dz_ti = -alpha_ti (c_ti + H_t) (sum_i alpha_i c_i = -H, so the terms sum to 0 over i).
// c (T, K) and H (T) as model_merge_row_entropy gives them; alpha_ti = 0 adds 0.
void model_merge_entropy_backward(const float *alpha, const float *c, const float *H, const float *dent, int T, int K,
                                  float *dz);
// Logit space (for comparison): out = log_softmax(sum_i alpha_i rows_i). Rows may be logits or
// log-softmax rows alike (an expert's shift is the same for every v and cancels); experts with
// alpha_i = 0 are left out of the sum, so their -inf entries do not turn it into NaN.
void model_merge_row_logit(const float *alpha, const float *const *rows, int K, int V, float *out);

#endif
