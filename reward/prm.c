// prm.c — see prm.h.
#include "prm.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "reward.h"

// config.json's "fluxrl_prm" into p (input and trajectory separator); absent: the released reading.
static int read_marker(prm_scorer *p, const char *dir, fx_err *err) {
    char path[4200];
    snprintf(path, sizeof path, "%s/config.json", dir);
    cJSON *root = fx_read_json_object(path, err);
    if (!root) return -1;
    const cJSON *mark = cJSON_GetObjectItemCaseSensitive(root, "fluxrl_prm");
    p->input = p->readout == PRM_CLASS2 ? PRM_INPUT_TEMPLATE : PRM_INPUT_PLAIN;
    p->traj_sep = false;
    p->fluxrl_folder = mark != NULL;
    int rc = 0;
    if (mark) {
        const cJSON *in = cJSON_GetObjectItemCaseSensitive(mark, "input");
        const cJSON *ts = cJSON_GetObjectItemCaseSensitive(mark, "trajectory_separator");
        const char *want = p->readout == PRM_CLASS2 ? "\"chatml\", \"policy\" or \"template\"" : "\"plain\"";
        if (!cJSON_IsObject(mark) || !cJSON_IsString(in)) rc = fx_errf(err, "%s: fluxrl_prm.input: expected %s", path, want);
        else if (p->readout == PRM_CLASS2 && !strcmp(in->valuestring, "chatml")) p->input = PRM_INPUT_CHATML;
        else if (p->readout == PRM_CLASS2 && !strcmp(in->valuestring, "policy")) p->input = PRM_INPUT_POLICY;
        else if (p->readout == PRM_CLASS2 && !strcmp(in->valuestring, "template")) p->input = PRM_INPUT_TEMPLATE;
        else if (p->readout == PRM_SCALAR && !strcmp(in->valuestring, "plain")) p->input = PRM_INPUT_PLAIN;
        else rc = fx_errf(err, "%s: fluxrl_prm.input: expected %s, got \"%.40s\"", path, want, in->valuestring);
        if (!rc && ts && !cJSON_IsBool(ts)) rc = fx_errf(err, "%s: fluxrl_prm.trajectory_separator: expected true or false", path);
        if (!rc) p->traj_sep = (cJSON_IsTrue(ts) && p->readout == PRM_CLASS2) || p->input == PRM_INPUT_POLICY;
    }
    cJSON_Delete(root);
    return rc;
}

// A released PRM laid out as its authors publish it but not loadable as it is: say how to convert it.
static int not_a_prm(const char *dir, const char *arch, fx_err *err) {
    char head[4200];
    struct stat st;
    snprintf(head, sizeof head, "%s/reward_head.pt", dir);
    if (stat(head, &st) == 0)
        return fx_errf(err, "%s: a language model with its reward head in a separate file (reward_head.pt, the "
                            "ReasonFlux-PRM-1.5B layout); convert the folder first: scripts/convert_reasonflux_prm_1p5b.py %s OUT",
                       dir, dir);
    return fx_errf(err, "%s/config.json: architectures: a PRM needs a process-reward or reward head "
                        "(Qwen2ForProcessRewardModel, *ForRewardModel), not '%s'", dir, arch);
}

// After the model (or its layout) is there: the read-out, the input layout and its tokens.
static int finish_open(prm_scorer *p, const char *dir, fx_err *err) {
    int rc = 0;
    if (p->m.head == MODEL_HEAD_PRM) p->readout = PRM_CLASS2;
    else if (p->m.head == MODEL_HEAD_VALUE) p->readout = PRM_SCALAR;
    else rc = not_a_prm(dir, p->m.cfg.architecture, err);
    if (!rc) rc = read_marker(p, dir, err);
    p->sep = tok_token_id(p->tok, "<extra_0>");
    if (!rc && p->readout == PRM_CLASS2 && p->sep < 0)
        rc = fx_errf(err, "%s: tokenizer: no <extra_0> token, which the 2-class PRM reads at", dir);
    if (!rc && p->input == PRM_INPUT_TEMPLATE && !tok_has_chat_template(p->tok))
        rc = fx_errf(err, "%s/tokenizer_config.json: chat_template: missing; a released 2-class PRM reads its input "
                          "through the checkpoint's chat template (folders fluxrl trains say \"fluxrl_prm\" in config.json)",
                     dir);
    if (rc) {
        prm_free(p);
        return -1;
    }
    p->max_tokens = p->m.cfg.max_position_embeddings;
    return 0;
}

int prm_load(prm_scorer *p, const char *dir, const backend *be, float alpha, fx_err *err) {
    memset(p, 0, sizeof *p);
    p->alpha = alpha;
    if (model_check_dir(dir, err) || tok_load(&p->tok, dir, err)) return -1;
    if (model_load(&p->m, dir, be, err) || tok_check_vocab(p->tok, p->m.cfg.vocab_size, dir, err)) {
        prm_free(p);
        return -1;
    }
    return finish_open(p, dir, err);
}

int prm_open_unloaded(prm_scorer *p, const char *dir, float alpha, fx_err *err) {
    memset(p, 0, sizeof *p);
    p->alpha = alpha;
    model_config cfg;
    model_head head;
    if (model_check_dir(dir, err) || tok_load(&p->tok, dir, err) || model_check_files(dir, &cfg, &head, err) ||
        tok_check_vocab(p->tok, cfg.vocab_size, dir, err)) {
        prm_free(p);
        return -1;
    }
    model_layout(&p->m, &cfg, head);
    return finish_open(p, dir, err);
}

int prm_ask(prm_scorer *p, const char *dir, bool traj_sep, const char *system, const char *who, fx_err *err) {
    if ((traj_sep || system) && p->readout != PRM_CLASS2)
        return fx_errf(err, "%s: the trajectory separator and the system turn apply to a 2-class PRM; %s has a scalar head",
                       who, dir);
    if (system && p->input != PRM_INPUT_TEMPLATE)
        return fx_errf(err, "%s: a system turn: %s is read in fluxrl's own layout, not through a chat template", who, dir);
    p->traj_sep = p->traj_sep || traj_sep;
    p->system = system;
    return 0;
}

void prm_free(prm_scorer *p) {
    model_free(&p->m); // the model, its layout alone (prm_open_unloaded), or nothing
    tok_free(p->tok);
    memset(p, 0, sizeof *p);
}

int prm_mark_trained(const char *dir, prm_input input, fx_err *err) {
    FX_ASSERT(input == PRM_INPUT_CHATML || input == PRM_INPUT_POLICY);
    char path[4200];
    snprintf(path, sizeof path, "%s/config.json", dir);
    cJSON *root = fx_read_json_object(path, err);
    if (!root) return -1;
    cJSON_DeleteItemFromObjectCaseSensitive(root, "fluxrl_prm");
    cJSON *mark = cJSON_AddObjectToObject(root, "fluxrl_prm");
    cJSON_AddStringToObject(mark, "input", input == PRM_INPUT_POLICY ? "policy" : "chatml");
    cJSON_AddBoolToObject(mark, "trajectory_separator", true);
    int rc = fx_write_json_atomic(path, root, err);
    cJSON_Delete(root);
    return rc;
}

static void encode(prm_scorer *p, const char *text, tok_ids *ids) { tok_encode(p->tok, text, strlen(text), ids); }

// class2: the text whose "<extra_0>" tokens are read (nsep of them), or NULL with err.
static char *class2_text(prm_scorer *p, const char *problem, const char *const *steps, int nsteps, int nsep, fx_err *err) {
    if (p->input == PRM_INPUT_CHATML) { // fluxrl's layout: an empty step after the last one gives the extra separator
        const char **all = fx_malloc((size_t)nsep * sizeof *all);
        for (int k = 0; k < nsep; k++) all[k] = k < nsteps ? steps[k] : "";
        char *text = tok_prm_format(NULL, problem, all, nsep);
        free(all);
        return text;
    }
    size_t n = 1;
    for (int k = 0; k < nsteps; k++) n += strlen(steps[k]) + 9;
    char *content = fx_malloc(n + 9), *q = content;
    *q = '\0';
    for (int k = 0; k < nsep; k++) q += sprintf(q, "%s<extra_0>", k < nsteps ? steps[k] : "");
    cJSON *msgs = cJSON_CreateArray();
    const char *roles[3] = {"system", "user", "assistant"}, *texts[3] = {p->system, problem, content};
    for (int i = p->system ? 0 : 1; i < 3; i++) {
        cJSON *m = cJSON_CreateObject();
        cJSON_AddStringToObject(m, "role", roles[i]);
        cJSON_AddStringToObject(m, "content", texts[i]);
        cJSON_AddItemToArray(msgs, m);
    }
    char *text = tok_apply_chat_template(p->tok, msgs, false, NULL, err);
    cJSON_Delete(msgs);
    free(content);
    return text;
}

int prm_input_ids(prm_scorer *p, const char *problem, const char *const *steps, int nsteps, tok_ids *ids,
                       int *reads, fx_err *err) {
    if (p->input == PRM_INPUT_POLICY) { // fluxrl's policy layout: steps read at their last token
        size_t *begin = fx_malloc((size_t)(nsteps + 1) * sizeof *begin);
        char *text = tok_prm_policy_format(problem, steps, nsteps, begin);
        encode(p, text, ids);
        free(text);
        int nsep = 0;
        for (size_t i = 0; i < ids->n; i++) nsep += ids->ids[i] == p->sep;
        for (int k = 0; k < nsteps; k++) {
            size_t len = strlen(steps[k]);
            reads[k] = tok_token_holding(p->tok, ids, begin[k] + (len ? len - 1 : 0));
        }
        reads[nsteps] = (int)ids->n - 1;
        free(begin);
        if (nsep != 1 || ids->ids[ids->n - 1] != p->sep)
            return fx_errf(err, "the PRM input has %d <extra_0> tokens where the policy layout puts 1 at the end (a step "
                           "holding <extra_0>?)", nsep);
        return 0;
    }
    if (p->readout == PRM_CLASS2) {
        int nsep = nsteps + (p->traj_sep ? 1 : 0);
        char *text = class2_text(p, problem, steps, nsteps, nsep, err);
        if (!text) return -1;
        encode(p, text, ids);
        free(text);
        int k = 0;
        for (size_t i = 0; i < ids->n; i++)
            if (ids->ids[i] == p->sep && k++ < nsep) reads[k - 1] = (int)i;
        if (k != nsep)
            return fx_errf(err, "the PRM input has %d <extra_0> tokens where %d steps put %d (a step holding <extra_0>?)", k,
                           nsteps, nsep);
        if (!p->traj_sep) reads[nsteps] = reads[nsteps - 1]; // released: the last step's read-out
        return 0;
    }
    // Scalar: tokenizer(problem + completion), the completion being the steps joined by blank
    // lines; step k is read at the token holding its last byte.
    size_t n = strlen(problem) + 1;
    for (int k = 0; k < nsteps; k++) n += strlen(steps[k]) + 2;
    char *text = fx_malloc(n), *q = text;
    size_t *ends = fx_malloc((size_t)nsteps * sizeof *ends);
    q += sprintf(q, "%s", problem);
    for (int k = 0; k < nsteps; k++) {
        q += sprintf(q, "%s%s", k ? "\n\n" : "", steps[k]);
        ends[k] = (size_t)(q - text);
    }
    encode(p, text, ids);
    free(text);
    for (int k = 0; k < nsteps; k++) reads[k] = tok_token_holding(p->tok, ids, ends[k] ? ends[k] - 1 : 0);
    reads[nsteps] = (int)ids->n - 1;
    free(ends);
    return 0;
}

static float sigmoid(double x) { return (float)(1.0 / (1.0 + exp(-x))); }

int prm_score(prm_scorer *p, const char *problem, const char *const *steps, int nsteps, prm_result *r, fx_err *err) {
    if (nsteps == 0) return fx_errf(err, "a trace with no steps cannot be scored");
    tok_ids ids = {0};
    int *reads = fx_malloc((size_t)(nsteps + 1) * sizeof *reads);
    int rc = prm_input_ids(p, problem, steps, nsteps, &ids, reads, err);
    int T = (int)ids.n;
    if (!rc && T > p->max_tokens)
        rc = fx_errf(err, "PRM input of %d tokens is longer than the model's %d positions", T, p->max_tokens);
    if (!rc) {
        model_reserve(&p->m, 1, T, false, false);
        model_forward(&p->m, ids.ids, NULL, NULL, 1, T);
        if (p->readout == PRM_CLASS2) {
            float *logits = fx_malloc((size_t)T * 2 * sizeof *logits);
            model_prm_forward(&p->m, logits);
            for (int k = 0; k <= nsteps; k++) { // P(class 1) = 1 / (1 + exp(l0 - l1))
                const float *l = logits + 2 * (size_t)reads[k];
                float v = sigmoid((double)l[1] - (double)l[0]);
                if (k < nsteps) r->step[k] = v;
                else r->trajectory = v;
            }
            free(logits);
        } else {
            float *v = fx_malloc((size_t)T * sizeof *v);
            model_value_forward(&p->m, v);
            for (int k = 0; k < nsteps; k++) r->step[k] = sigmoid(v[reads[k]]);
            r->trajectory = sigmoid(v[T - 1]);
            free(v);
        }
        r->score = reward_prm_aggregate(r->step, nsteps, r->trajectory, p->alpha);
    }
    tok_ids_free(&ids);
    free(reads);
    return rc;
}
