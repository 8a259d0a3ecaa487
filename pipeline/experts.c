// experts.c — see experts.h.
#include "experts.h"

#include <stdlib.h>
#include <string.h>

#include "../rollout/merge.h"

// The first id whose bytes or specialness differ between two tokenizers, or -1 when they agree on
// every id (and on bos and eos).
static int32_t vocab_difference(const tok_tokenizer *a, const tok_tokenizer *b) {
    int32_t n = tok_vocab_size(a) > tok_vocab_size(b) ? tok_vocab_size(a) : tok_vocab_size(b);
    for (int32_t id = 0; id < n; id++) {
        size_t la = 0, lb = 0;
        const char *x = tok_token_bytes(a, id, &la), *y = tok_token_bytes(b, id, &lb);
        if (!x != !y || la != lb || (la && memcmp(x, y, la)) || tok_is_special(a, id) != tok_is_special(b, id))
            return id;
    }
    return tok_bos(a) != tok_bos(b) ? tok_bos(a) : tok_eos(a) != tok_eos(b) ? tok_eos(a) : -1;
}

int pipe_model_load_sharing(const char *path, const backend *be, const tok_tokenizer *tok, const char *tok_dir,
                            model *out, fx_err *err) {
    if (model_check_dir(path, err) || model_load(out, path, be, err)) return -1;
    if (tok_check_vocab(tok, out->cfg.vocab_size, path, err)) return -1;
    if (!strcmp(path, tok_dir)) return 0;
    tok_tokenizer *t;
    if (tok_load(&t, path, err)) return -1;
    int32_t id = vocab_difference(tok, t);
    tok_free(t);
    if (id >= 0)
        return fx_errf(err, "%s and %s: tokenizer: the models must share one tokenizer; token id %d differs", tok_dir,
                       path, id);
    return 0;
}

int pipe_experts_load(const char *const *paths, int K, const backend *be, const tok_tokenizer *tok, model *const *out,
                      fx_err *err) {
    for (int i = 0; i < K; i++)
        if (pipe_model_load_sharing(paths[i], be, tok, paths[0], out[i], err)) return -1;
    return 0;
}

int pipe_parse_preference(const char *key, const char *text, int K, float *w, fx_err *err) {
    int n = fx_parse_floats(key, text, w, ROLLOUT_MERGE_MAX_EXPERTS, err);
    if (n < 0) return -1;
    if (n != K) return fx_errf(err, "%s: expected %d weights (one per expert of pcm.experts), got %d", key, K, n);
    return rollout_merge_check_pref(w, K, key, err);
}
