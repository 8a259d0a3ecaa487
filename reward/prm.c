// prm.c — see prm.h.
#include "prm.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "reward.h"

int prm_load(prm_scorer *p, const char *dir, const backend *be, float alpha, fx_err *err) {
    memset(p, 0, sizeof *p);
    p->alpha = alpha;
    if (model_check_dir(dir, err) || tok_load(&p->tok, dir, err)) return -1;
    if (model_load(&p->m, dir, be, err) || tok_check_vocab(p->tok, p->m.cfg.vocab_size, dir, err)) {
        if (p->m.params_mem) model_free(&p->m);
        tok_free(p->tok);
        p->tok = NULL;
        return -1;
    }
    if (p->m.head == MODEL_HEAD_PRM) p->readout = PRM_CLASS2;
    else if (p->m.head == MODEL_HEAD_VALUE) p->readout = PRM_SCALAR;
    else {
        prm_free(p);
        return fx_errf(err, "%s/config.json: architectures: a PRM needs a process-reward or reward head "
                            "(Qwen2ForProcessRewardModel, *ForRewardModel), not a language-model head", dir);
    }
    p->sep = tok_token_id(p->tok, "<extra_0>");
    if (p->readout == PRM_CLASS2 && p->sep < 0) {
        prm_free(p);
        return fx_errf(err, "%s: tokenizer: no <extra_0> token, which the 2-class PRM reads at", dir);
    }
    p->max_tokens = p->m.cfg.max_position_embeddings;
    return 0;
}

void prm_free(prm_scorer *p) {
    if (p->m.params_mem) model_free(&p->m);
    tok_free(p->tok);
    memset(p, 0, sizeof *p);
}

static void encode(prm_scorer *p, const char *text, tok_ids *ids) { tok_encode(p->tok, text, strlen(text), ids); }

// The input ids and where to read: reads[k] is the position of step k's read-out; the last read
// position is the trajectory's.
static void build_input(prm_scorer *p, const char *problem, const char *const *steps, int nsteps, tok_ids *ids,
                        int *reads) {
    if (p->readout == PRM_CLASS2) { // one more separator after the last step's: the trajectory's
        const char **all = fx_malloc((size_t)(nsteps + 1) * sizeof *all);
        for (int k = 0; k < nsteps; k++) all[k] = steps[k];
        all[nsteps] = "";
        char *text = tok_prm_format(NULL, problem, all, nsteps + 1);
        encode(p, text, ids);
        free(text);
        free(all);
        int k = 0;
        for (size_t i = 0; i < ids->n && k < nsteps + 1; i++)
            if (ids->ids[i] == p->sep) reads[k++] = (int)i;
        return;
    }
    // Scalar: the chat turn, then each step's own tokens, so that its last token is known.
    tok_message msg = {"user", problem};
    char *head = tok_chat_format(&msg, 1, TOK_CHAT_CHATML, true);
    encode(p, head, ids);
    free(head);
    for (int k = 0; k < nsteps; k++) {
        size_t n = strlen(steps[k]);
        char *s = fx_malloc(n + 3);
        snprintf(s, n + 3, "%s%s", steps[k], k + 1 < nsteps ? "\n\n" : "");
        encode(p, s, ids);
        free(s);
        reads[k] = (int)ids->n - 1;
    }
}

int prm_score(prm_scorer *p, const char *problem, const char *const *steps, int nsteps, prm_result *r, fx_err *err) {
    tok_ids ids = {0};
    int *reads = fx_malloc((size_t)(nsteps + 1) * sizeof *reads);
    build_input(p, problem, steps, nsteps, &ids, reads);
    int T = (int)ids.n, rc = 0;
    if (T > p->max_tokens) {
        rc = fx_errf(err, "PRM input of %d tokens is longer than the model's %d positions", T, p->max_tokens);
    } else if (nsteps == 0) {
        rc = fx_errf(err, "a trace with no steps cannot be scored");
    } else {
        model_reserve(&p->m, 1, T, false, false);
        model_forward(&p->m, ids.ids, NULL, NULL, 1, T);
        if (p->readout == PRM_CLASS2) {
            float *logits = fx_malloc((size_t)T * 2 * sizeof *logits);
            model_prm_forward(&p->m, logits);
            for (int k = 0; k < nsteps; k++) { // P(class 1) = 1 / (1 + exp(l0 - l1))
                const float *l = logits + 2 * (size_t)reads[k];
                r->step[k] = (float)(1.0 / (1.0 + exp((double)l[0] - (double)l[1])));
            }
            const float *lt = logits + 2 * (size_t)reads[nsteps];
            r->trajectory = (float)(1.0 / (1.0 + exp((double)lt[0] - (double)lt[1])));
            free(logits);
        } else {
            float *v = fx_malloc((size_t)T * sizeof *v);
            model_value_forward(&p->m, v);
            for (int k = 0; k < nsteps; k++) r->step[k] = (float)(1.0 / (1.0 + exp(-(double)v[reads[k]])));
            r->trajectory = (float)(1.0 / (1.0 + exp(-(double)v[T - 1])));
            free(v);
        }
        r->score = reward_prm_aggregate(r->step, nsteps, r->trajectory, p->alpha);
    }
    tok_ids_free(&ids);
    free(reads);
    return rc;
}
