// dry_run.c — `fluxrl train|sft|prm-train --dry-run` (pipeline.h): everything a run would load,
// checked, and what it would feed the model, shown, without training. Model folders are checked
// as model_load checks them (config.json, every tensor's name, shape, dtype and bounds) but their
// weights are not read, so a 7B checkpoint needs no memory on a login node; tokenizers, chat
// templates, datasets and a reward plugin are loaded for real.
#define _POSIX_C_SOURCE 200809L
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "../comm/comm.h"
#include "../comm/wsync.h"
#include "../core/log.h"
#include "../reward/external.h"
#include "../reward/prm.h"
#include "../reward/prm_input.h"
#include "../rollout/engine.h"
#include "../trainer/ckpt.h"
#include "experts.h"
#include "pipeline_internal.h"

#define DRY_PROMPTS 2 // prompts shown
#define DRY_IDS 48    // ids shown at each end of a long prompt

static void print_json_string(FILE *o, const char *s) {
    cJSON *j = cJSON_CreateString(s);
    char *t = cJSON_PrintUnformatted(j);
    fputs(t ? t : "\"\"", o);
    free(t);
    cJSON_Delete(j);
}

// The text of ids (special tokens written out) and the ids, the middle of a long list elided.
static void print_ids(FILE *o, const tok_tokenizer *tok, const char *what, const int32_t *ids, size_t n) {
    size_t len;
    char *text = tok_decode(tok, ids, n, false, &len);
    fprintf(o, "  %s, %zu tokens:\n    text ", what, n);
    print_json_string(o, text);
    free(text);
    fprintf(o, "\n    ids  [");
    for (size_t i = 0; i < n; i++) {
        if (n > 2 * DRY_IDS && i == DRY_IDS) {
            fprintf(o, ", ... %zu more ...", n - 2 * DRY_IDS);
            i = n - DRY_IDS - 1;
            continue;
        }
        fprintf(o, "%s%d", i ? ", " : "", ids[i]);
    }
    fprintf(o, "]\n");
}

static double gib(size_t b) { return (double)b / (double)(1u << 30); }

static void describe_model(FILE *o, const char *what, const char *dir, const model_config *mc, model_head head) {
    size_t np = model_count_params(mc, head);
    fprintf(o, "%-10s %s: %s, %d layers, hidden %d, vocabulary %d, %.2f%s parameters (%.3f GiB in fp32)%s\n", what,
            dir[0]                 ? dir
            : head == MODEL_HEAD_PCM ? "(new PCM of the model.* sizes, the experts' vocabulary)"
                                     : "(new model of the model.* sizes, built-in tokenizer)",
            mc->architecture,
            mc->num_hidden_layers, mc->hidden_size, mc->vocab_size, np >= 1000000000 ? (double)np / 1e9 : (double)np / 1e6,
            np >= 1000000000 ? "B" : "M", gib(np * sizeof(float)),
            dir[0] ? "; files checked, weights not read" : "");
}

static void describe_tokenizer(FILE *o, const tok_tokenizer *tok, const fx_config *c) {
    int32_t eos = tok_eos(tok), bos = tok_bos(tok);
    size_t len;
    char *eos_text = eos >= 0 ? tok_decode(tok, &eos, 1, false, &len) : NULL;
    fprintf(o, "tokenizer  %d ids, eos %d %s, bos %d, chat template %s; prompt layout task.chat = %s\n",
            tok_vocab_size(tok), eos, eos_text ? eos_text : "(none)", bos,
            tok_has_chat_template(tok) ? "present" : "absent", c->task.chat);
    free(eos_text);
}

typedef struct {
    const char *role;
    size_t params, grads, moments, acts, kv, ref, prm;
    size_t n, largest; // trainer rows: the model's parameters and its largest tensor, in floats
} mem_row;

static void print_mem(FILE *o, const mem_row *r, int n, const char *kind) {
    fprintf(o, "memory per rank (GiB; %s buffers, fp32; a CUDA rank adds its context and cuBLAS workspace):\n", kind);
    fprintf(o, "  %-9s %9s %9s %9s %11s %9s %9s %9s %9s\n", "role", "params", "grads", "AdamW", "activations",
            "KV+decode", "frozen", "PRM", "total");
    for (int i = 0; i < n; i++) {
        size_t t = r[i].params + r[i].grads + r[i].moments + r[i].acts + r[i].kv + r[i].ref + r[i].prm;
        fprintf(o, "  %-9s %9.3f %9.3f %9.3f %11.3f %9.3f %9.3f %9.3f %9.3f\n", r[i].role, gib(r[i].params),
                gib(r[i].grads), gib(r[i].moments), gib(r[i].acts), gib(r[i].kv), gib(r[i].ref), gib(r[i].prm),
                gib(t));
    }
}

// A trainer rank's weights, gradients, AdamW moments and activations for rows x T tokens, its
// state split over `size` ranks as trainer.shard says (trainer_mem_plan), into r; and a line
// saying how.
static void trainer_row(FILE *o, mem_row *r, const fx_config *c, const model_config *mc, model_head head, bool lm_aux,
                        int size, int rows, int T, bool train) {
    model lay;
    model_layout(&lay, mc, head);
    lay.lm_aux = lm_aux;
    lay.vocab_rows = (int)c->trainer.vocab_chunk; // planned as the run will stream (0: as a layer)
    trainer_mem p;
    trainer_mem_plan(&lay, pipe_shard(c), size, -1, rows, T, c->trainer.recompute, &p);
    size_t largest = 0; // the largest tensor: what a save gathers at once
    for (int i = 0; i < lay.ntensors; i++) largest = lay.tensors[i].numel > largest ? lay.tensors[i].numel : largest;
    r->n = lay.nparams, r->largest = largest;
    int vrows = model_vocab_chunk_rows(&lay), vchunks = (lay.V + vrows - 1) / vrows;
    model_free(&lay);
    r->params = p.params, r->grads = p.grads, r->moments = p.moments, r->acts = p.acts;
    fprintf(o, "trainer    %d data-parallel rank%s, trainer.shard = %s%s; activations for %d x %d tokens%s\n", size,
            size > 1 ? "s" : "", c->trainer.shard,
            size > 1 || !strcmp(c->trainer.shard, "none") ? "" : " (one rank: nothing to split)",
            rows, T, c->trainer.recompute ? ", recomputed layer by layer (trainer.recompute)" : "");
    double whole = (double)p.whole / (1024.0 * 1024.0 * 1024.0), big = (double)largest * sizeof(float) / (1024.0 * 1024.0 * 1024.0);
    if (p.whole && train)
        fprintf(o, "           weights: a trainer's slice, one layer gathered, the embedding and LM head a chunk of %d "
                   "rows at a time (%d chunk%s), the final norm and small heads whole; no rank holds "
                   "the whole weights (%.2f GiB): the leader gathers them from the slices into host memory a 32 MiB "
                   "bucket at a time for weight sync (4 in flight), a tensor at a time to save (the largest, %.2f "
                   "GiB); each trainer writes its slices to a checkpoint shard of its own; evaluation runs on the first "
                   "rollout rank\n",
                vrows, vchunks, vchunks == 1 ? "" : "s", whole, big);
    else if (p.whole)
        fprintf(o, "           weights: a rank's slice, one layer gathered, the embedding and LM head a chunk of %d rows at "
                   "a time (%d chunk%s), the final norm and small heads whole; no rank holds "
                   "the whole weights (%.2f GiB): the ranks evaluate together, each layer gathered at every step, "
                   "rank 0 saves a tensor at a time (the largest, %.2f GiB, in host memory); each rank writes its "
                   "slices to a checkpoint shard of its own\n",
                vrows, vchunks, vchunks == 1 ? "" : "s", whole, big);
}

// What the table leaves out, for the trainer row r of `size` ranks (train: fluxrl train, whose
// leader sends the weight sync): the host buffers of checkpoints, weight sync and saves, and on
// CUDA the bf16 copies of the weights (docs/gpu.md). Gradient reductions and the rollout ranks'
// weight sync run in place, without buffers of their own.
static void print_buffers(FILE *o, const fx_config *c, const mem_row *r, int size, bool train) {
    bool sharded = size > 1 && strcmp(c->trainer.shard, "none") != 0;
    bool full = sharded && !strcmp(c->trainer.shard, "full"), cuda = !strcmp(c->cluster.backend, "cuda");
    size_t piece = (r->n < CKPT_PIECE ? r->n : CKPT_PIECE) * sizeof(float);
    size_t bucket = WSYNC_BUCKET_BYTES_DEFAULT < r->n * sizeof(float) ? WSYNC_BUCKET_BYTES_DEFAULT : r->n * sizeof(float);
    fprintf(o, "buffers    beside the table: checkpoints %.3f GiB of host memory (one piece) on %s", gib(piece),
            sharded ? "every trainer (each writes its shard)" : "the rank that writes them");
    if (full)
        fprintf(o, "; saves and exports the largest tensor, %.3f GiB of host memory, on the leader", gib(r->largest * sizeof(float)));
    if (train && full)
        fprintf(o, "; weight sync gathered on the leader, %.3f GiB of host memory%s", gib(cuda ? bucket : bucket * WSYNC_INFLIGHT),
                cuda ? " and as much on its GPU (one bucket)" : " (4 buckets in flight)");
    else if (train)
        fprintf(o, "; weight sync sent from the leader's weights in place");
    if (cuda && !strcmp(c->cluster.precision, "bf16"))
        fprintf(o, "; bf16 copies of the weights a trainer holds, %.3f GiB of its GPU", gib(r->params / 2));
    fprintf(o, "; gradient reductions in place (%s's own buffers not counted)\n", cuda ? "NCCL" : "MPI");
}

// The launch: the ranks the config lays out against the world this dry run was started in.
static void describe_launch(FILE *o, const fx_config *c, const comm_world *w, bool roles) {
    long long n = c->cluster.trainer_ranks + c->cluster.rollout_ranks + c->cluster.reward_ranks;
    if (!roles) {
        fprintf(o, "launch     %d rank%s, every one a data-parallel worker\n", w->size, w->size > 1 ? "s" : "");
        return;
    }
    fprintf(o, "launch     the config lays out %lld ranks (%lld trainer, %lld rollout, %lld reward); ", n,
            (long long)c->cluster.trainer_ranks, (long long)c->cluster.rollout_ranks,
            (long long)c->cluster.reward_ranks);
    if (w->size > 1) fprintf(o, "the world has %d: they match\n", w->size);
    else if (n > 1) fprintf(o, "this dry run is one process (it would play every role): launch with mpirun -np %lld\n", n);
    else fprintf(o, "one process plays every role\n");
}

// The PRM's input for problem 0 of the RL stream with a reference response: the built-in task's
// gold trace of it, or grpo.data's answer, split into steps as prm-score splits responses.
static int dry_prm_input(FILE *o, pipe_job *j, prm_scorer *ps, fx_err *err) {
    char *problem, *response;
    if (j->data) {
        problem = fx_strdup(j->data[0].prompt);
        response = fx_strdup(j->data[0].gold ? j->data[0].gold : "");
    } else {
        task_problem tp;
        task_generate(&j->task.task, j->task.seed ^ PIPE_RL_STREAM, 0, &tp);
        problem = task_prompt(&tp);
        task_opts right = j->task.task;
        right.error_rate = 0; // the gold trace, every step right
        task_trace t;
        task_trace_make(&tp, &right, j->task.seed, 0, &t);
        response = fx_strdup(t.text);
        task_trace_free(&t);
    }
    char *steps[CLI_PRM_MAX_STEPS];
    int n = prm_input_split(response, steps, CLI_PRM_MAX_STEPS), rc = 0;
    if (n == 0) steps[n++] = fx_strdup(response[0] ? response : "(empty)");
    tok_ids ids = {0};
    int *reads = fx_malloc((size_t)(n + 1) * sizeof *reads);
    if (prm_input_ids(ps, problem, (const char *const *)steps, n, &ids, reads, err)) rc = -1;
    else {
        fprintf(o, "the PRM's input for prompt 0 with %s as the response (%d step%s; read at",
                j->data ? "grpo.data's answer" : "the task's gold trace", n, n == 1 ? "" : "s");
        for (int k = 0; k <= n && k < 8; k++) fprintf(o, " %d", reads[k]);
        fprintf(o, "%s):\n", n > 7 ? " ..." : "");
        print_ids(o, ps->tok, "PRM input", ids.ids, ids.n);
    }
    for (int k = 0; k < n; k++) free(steps[k]);
    free(reads), free(problem), free(response);
    tok_ids_free(&ids);
    return rc;
}

// --- train ------------------------------------------------------------------------------------

static int dry_train(FILE *o, const fx_config *c, const comm_world *w, fx_err *err) {
    pipe_job j;
    memset(&j, 0, sizeof j);
    policy_params pp = pipe_policy_params(c);
    sft_task_params tp = pipe_task_params(c);
    model_config mc;
    prm_scorer ps;
    bool prm_open = false;
    reward_plugin *plugin = NULL;
    int rc = -1;
    describe_launch(o, c, w, true);
    model_head head = MODEL_HEAD_LM;
    size_t frozen = 0, frozen_acts = 0, frozen_kv = 0; // pcm.experts: the experts' weights, passes and caches
    model_config emc[ROLLOUT_MERGE_MAX_EXPERTS];
    int K = 0, mb = (int)c->grpo.minibatch, maxT = (int)c->model.max_seq;
    if (pipe_job_check_config(c, err)) goto out;
    if (c->pcm.experts[0]) { // a PCM policy: the experts, their tokenizer, the PCM
        K = fx_split_list("pcm.experts", c->pcm.experts, j.expert_buf, sizeof j.expert_buf, j.expert_paths,
                            ROLLOUT_MERGE_MAX_EXPERTS, err);
        for (int i = 0; i < K; i++) {
            model_head eh;
            char what[24];
            if (model_check_dir(j.expert_paths[i], err) || model_check_files(j.expert_paths[i], &emc[i], &eh, err)) goto out;
            if (eh != MODEL_HEAD_LM) {
                fx_errf(err, "%s/config.json: architectures: '%s' is not a language model (expected *ForCausalLM)",
                        j.expert_paths[i], emc[i].architecture);
                goto out;
            }
            snprintf(what, sizeof what, "expert %d", i + 1);
            describe_model(o, what, j.expert_paths[i], &emc[i], eh);
            frozen += model_count_params(&emc[i], eh) * sizeof(float);
            frozen_acts += model_arena_bytes(&emc[i], eh, false, mb, maxT, false, false);
        }
        float a0[ROLLOUT_MERGE_MAX_EXPERTS];
        if (c->pcm.alpha_init[0] && pipe_parse_alpha_init(c->pcm.alpha_init, K, a0, err)) goto out;
        pp.alpha_init = c->pcm.alpha_init[0] ? a0 : NULL;
        if (tok_load(&j.tok, j.expert_paths[0], err) || tok_check_vocab(j.tok, emc[0].vocab_size, j.expert_paths[0], err) ||
            policy_check_pcm(&pp, K, emc[0].vocab_size, &mc, err))
            goto out;
        head = MODEL_HEAD_PCM;
        describe_model(o, "PCM", c->model.path, &mc, head);
        tp.prompt.dir = j.expert_paths[0];
        if (c->pcm.alpha_init[0]) fprintf(o, "pcm start  alpha %s (alpha head bias: their logarithms)\n", c->pcm.alpha_init);
        if (mc.preference_prior > 0)
            fprintf(o, "pcm prior  alpha logits + log(w + %g) (preference_prior)\n", (double)mc.preference_prior);
        if (c->pcm.preference[0]) fprintf(o, "merge      prob space; preference %s\n", c->pcm.preference);
        else if (!strcmp(c->pcm.preference_dist, "dirichlet"))
            fprintf(o, "merge      prob space; preference drawn per problem, Dirichlet(%g)\n", c->pcm.dirichlet_alpha);
        else if (!strcmp(c->pcm.preference_dist, "data"))
            fprintf(o, "merge      prob space; preference per problem from grpo.data\n");
        else
            fprintf(o, "merge      prob space; preference drawn per problem, %s\n",
                    !strcmp(c->pcm.preference_dist, "corners") ? "one expert at a time (one-hot)"
                                                               : "uniform on the simplex");
    } else {
        if (policy_check(&pp, &mc, &j.tok, err)) goto out;
        describe_model(o, "policy", c->model.path, &mc, MODEL_HEAD_LM);
    }
    describe_tokenizer(o, j.tok, c);
    if (sft_task_init(&j.task, j.tok, &tp, err)) goto out;
    j.task_ready = true;
    rollout_data_opts d = {.prompt_key = c->grpo.prompt_key, .answer_key = c->grpo.answer_key,
                           .system_key = c->grpo.system_key, .count = INT_MAX};
    if (c->grpo.data[0]) {
        d.data = c->grpo.data;
        if (rollout_data_load(&d, &j.data, &j.ndata, err)) goto out;
        fprintf(o, "data       grpo.data %s: %d problems (prompt_key \"%s\", answer_key \"%s\")\n", c->grpo.data,
                j.ndata, c->grpo.prompt_key, c->grpo.answer_key);
        if (K && !strcmp(c->pcm.preference_dist, "data")) {
            if (pipe_job_data_prefs(&j, c, err)) goto out;
            fprintf(o, "merge      each problem's preference from grpo.data's \"%s\" (all %d checked)\n",
                    c->pcm.preference_key, j.ndata);
        }
        if (c->grpo.eval_data[0]) {
            d.data = c->grpo.eval_data, d.count = (int)c->grpo.eval_problems;
            if (rollout_data_load(&d, &j.eval, &j.neval, err)) goto out;
            fprintf(o, "data       grpo.eval_data %s: %d problems evaluated\n", c->grpo.eval_data, j.neval);
        }
    } else fprintf(o, "data       the built-in task (%lld operations, %lld digits, \"%s\")\n", (long long)c->task.ops,
                   (long long)c->task.digits, c->task.operators);
    bool prm = c->reward.prm_path[0] != '\0';
    if (prm) {
        if (prm_open_unloaded(&ps, c->reward.prm_path, (float)c->reward.alpha, err)) goto out;
        prm_open = true;
        describe_model(o, "PRM", c->reward.prm_path, &ps.m.cfg, ps.m.head);
        fprintf(o, "PRM input  %s\n", ps.readout == PRM_SCALAR  ? "tokenizer(problem + steps joined by blank lines), no template "
                                                                  "(the 1.5B's usage); per-step scores are fluxrl's extension"
                                      : ps.input == PRM_INPUT_CHATML ? "fluxrl's ChatML layout with the trajectory separator "
                                                                       "(a folder fluxrl trained)"
                                      : ps.input == PRM_INPUT_POLICY ? "fluxrl's policy layout: the steps as the policy writes "
                                                                       "them, each read at its last token, one <extra_0> for "
                                                                       "the trajectory (a folder fluxrl trained with prm.layout policy)"
                                                                     : "the checkpoint's chat template, each step closed by "
                                                                       "<extra_0> (the model card's usage)");
    }
    if (!strcmp(c->reward.outcome, "plugin")) {
        if (reward_plugin_open(&plugin, c->reward.plugin, c->reward.plugin_args, err)) goto out;
        fprintf(o, "reward     outcome from the plugin %s (loaded: ABI and symbols checked)\n", c->reward.plugin);
    } else if (!strcmp(c->reward.outcome, "command"))
        fprintf(o, "reward     outcome from the command %s (not started by a dry run)\n", c->reward.command);
    else fprintf(o, "reward     outcome from the built-in verifier\n");
    model_config bt_mc; // pcm.reference = model: the reference policy the reward ranks decode with
    bool bt_model = false;
    if (K && !strcmp(c->pcm.reward, "bt")) { // the reference response of each problem
        fprintf(o, "reward     pcm.reward bt: %d dimensions (\"rewards\"), each sigmoid(r_i(y) - r_i(y_ref)), weighed by "
                   "the problem's preference\n", K);
        if (!strcmp(c->pcm.reference, "model")) {
            const char *path = c->pcm.reference_model[0] ? c->pcm.reference_model : j.expert_paths[0];
            model_config rmc;
            model_head rh;
            if (model_check_dir(path, err) || model_check_files(path, &rmc, &rh, err) ||
                tok_check_vocab(j.tok, rmc.vocab_size, path, err))
                goto out;
            describe_model(o, "reference", path, &rmc, rh);
            bt_mc = rmc, bt_model = true;
            fprintf(o, "reference  its greedy response to each problem, decoded on the reward ranks\n");
        } else if (!strcmp(c->pcm.reference, "data")) {
            if (pipe_job_reference_texts(&j, c, err)) goto out;
            fprintf(o, "reference  grpo.data's \"%s\" of each problem (all %d present)\n", c->pcm.reference_key, j.ndata);
        } else fprintf(o, "reference  none: r_i(y_ref) = 0 (fluxrl's extension)\n");
    }
    fprintf(o, "first prompts of the training stream (as the policy reads them):\n");
    int maxlen = 0;
    for (int i = 0; i < DRY_PROMPTS; i++) {
        tok_ids ids = {0};
        pipe_job_prompt(&j, i, &ids);
        char what[32];
        snprintf(what, sizeof what, "prompt %d", i);
        print_ids(o, j.tok, what, ids.ids, ids.n);
        maxlen = (int)ids.n > maxlen ? (int)ids.n : maxlen;
        tok_ids_free(&ids);
    }
    if (prm_open && dry_prm_input(o, &j, &ps, err)) goto out;
    // Memory, as pipe_job_open and pipe_job_generate allocate it on each role.
    int G = (int)c->grpo.group_size;
    int rows = (int)(c->grpo.prompts * G), slots = (int)(c->rollout.slots < rows ? c->rollout.slots : rows);
    int kv = c->rollout.kv_tokens > 0 ? (int)c->rollout.kv_tokens : maxlen + (int)c->grpo.max_new;
    size_t P = model_count_params(&mc, head) * sizeof(float);
    size_t ref = c->grpo.kl_beta > 0 ? P + model_arena_bytes(&mc, head, false, mb, maxT, false, false) : 0;
    size_t engine = rollout_engine_bytes_for(&mc, slots, kv);
    for (int i = 0; i < K; i++) frozen_kv += rollout_engine_bytes_for(&emc[i], slots, kv);
    size_t prm_bytes = prm ? model_count_params(&ps.m.cfg, ps.m.head) * sizeof(float) +
                                 model_arena_bytes(&ps.m.cfg, ps.m.head, false, 1, maxT, false, false)
                           : 0;
    bool ref_reward = !strcmp(c->grpo.ref_on, "reward");
    // pcm.reference = model: its weights and its engine (one row per problem of an update) where scoring runs
    int bt_slots = (int)(c->rollout.slots < c->grpo.prompts ? c->rollout.slots : c->grpo.prompts);
    size_t bt = bt_model ? model_count_params(&bt_mc, MODEL_HEAD_LM) * sizeof(float) +
                               rollout_engine_bytes_for(&bt_mc, bt_slots, kv)
                         : 0;
    // frozen: the reference (grpo.kl_beta), or a PCM's experts (their weights; their log-prob passes
    // on a trainer, their KV caches on a rollout rank), and pcm.reference_model where scoring runs
    mem_row r[4] = {
        {"trainer", 0, 0, 0, 0, 0, (ref_reward ? 0 : ref) + frozen + frozen_acts, 0, 0, 0},
        {"rollout", P, 0, 0, 0, engine, frozen + frozen_kv + (c->cluster.reward_ranks ? 0 : bt),
         c->cluster.reward_ranks ? 0 : prm_bytes, 0, 0},
        {"reward", 0, 0, 0, 0, 0, (ref_reward ? ref : 0) + bt, prm_bytes, 0, 0},
        {"one proc", 0, 0, 0, 0, engine, ref + frozen + frozen_acts + frozen_kv + bt, prm_bytes, 0, 0},
    };
    trainer_row(o, &r[0], c, &mc, head, false, (int)c->cluster.trainer_ranks, mb, maxT, true);
    r[3].params = r[0].params, r[3].grads = r[0].grads, r[3].moments = r[0].moments, r[3].acts = r[0].acts;
    if (!c->cluster.reward_ranks && ref_reward) r[1].ref = ref;
    fprintf(o, "rollout    %d slots x %d KV columns (rollout.slots, prompt %d + grpo.max_new %lld)\n", slots, kv, maxlen,
            (long long)c->grpo.max_new);
    if (w->size > 1 || c->cluster.trainer_ranks + c->cluster.rollout_ranks + c->cluster.reward_ranks > 1)
        print_mem(o, r, c->cluster.reward_ranks ? 3 : 2, c->cluster.backend);
    else print_mem(o, r + 3, 1, c->cluster.backend);
    print_buffers(o, c, &r[0], (int)c->cluster.trainer_ranks, true);
    rc = 0;
out:
    reward_plugin_close(plugin);
    if (prm_open) prm_free(&ps);
    if (j.task_ready) sft_task_free(&j.task);
    for (int i = 0; j.bt_text && i < j.ndata; i++) free(j.bt_text[i]);
    free(j.bt_text), free(j.data_pref);
    if (j.data) rollout_data_free(j.data, j.ndata);
    if (j.eval) rollout_data_free(j.eval, j.neval);
    tok_free(j.tok);
    return rc;
}

// --- sft --------------------------------------------------------------------------------------

static int dry_sft(FILE *o, const fx_config *c, const comm_world *w, fx_err *err) {
    model_config mc;
    tok_tokenizer *tok = NULL;
    sft_task task;
    bool task_ready = false;
    int rc = -1;
    policy_params pp = pipe_policy_params(c);
    sft_task_params tp = pipe_task_params(c);
    describe_launch(o, c, w, false);
    if (policy_check(&pp, &mc, &tok, err)) goto out;
    describe_model(o, "policy", c->model.path, &mc, MODEL_HEAD_LM);
    describe_tokenizer(o, tok, c);
    if (sft_task_init(&task, tok, &tp, err)) goto out;
    task_ready = true;
    if (c->sft.data[0]) {
        if (sft_task_load_data(&task, c->sft.data, err)) goto out;
        fprintf(o, "data       sft.data %s: %lld examples that fit model.max_seq %lld\n", c->sft.data,
                (long long)task.ndata, (long long)c->model.max_seq);
    } else fprintf(o, "data       the built-in task's traces (%lld operations, %lld digits)\n", (long long)c->task.ops,
                   (long long)c->task.digits);
    if (c->sft.batch < w->size) {
        fx_errf(err, "sft.batch: %lld sequences cannot be shared by %d ranks", (long long)c->sft.batch, w->size);
        goto out;
    }
    fprintf(o, "first examples of the training stream (prompt, then the response trained on):\n");
    for (int i = 0; i < DRY_PROMPTS; i++) {
        tok_ids ids = {0};
        int np;
        sft_example(&task, (uint64_t)i, &ids, &np);
        char what[48];
        snprintf(what, sizeof what, "example %d: prompt", i);
        print_ids(o, tok, what, ids.ids, (size_t)np);
        snprintf(what, sizeof what, "example %d: response", i);
        print_ids(o, tok, what, ids.ids + np, ids.n - (size_t)np);
        tok_ids_free(&ids);
    }
    // Each rank trains on its share of sft.batch rows at once (sft_run).
    int rows = (int)((c->sft.batch + w->size - 1) / w->size);
    mem_row r = {"sft", 0, 0, 0, 0, 0, 0, 0, 0, 0};
    trainer_row(o, &r, c, &mc, MODEL_HEAD_LM, false, w->size, rows, (int)c->model.max_seq, false);
    // The held-out evaluation's KV cache and decoding scratch (rank 0's; with trainer.shard = full,
    // every rank's): sft.batch rows at a time every sft.eval_every steps, rank 0's share at the end,
    // a prefill of up to model.max_seq tokens per row.
    int ev = c->sft.eval_every > 0 ? (int)c->sft.batch : (int)(c->sft.batch / w->size), T = (int)c->model.max_seq;
    r.kv = model_kv_bytes_for(&mc, ev, T) + model_decode_bytes_for(&mc, MODEL_HEAD_LM, ev * T);
    fprintf(o, "eval       %lld held-out problems, decoded %d at a time (KV cache of %d columns)\n",
            (long long)c->sft.eval_problems, ev, T);
    print_mem(o, &r, 1, c->cluster.backend);
    print_buffers(o, c, &r, w->size, false);
    rc = 0;
out:
    if (task_ready) sft_task_free(&task);
    tok_free(tok);
    return rc;
}

static int count_trace(void *ctx, const prm_input_trace *t, fx_err *err) {
    (void)t, (void)err;
    ++*(int64_t *)ctx;
    return 0;
}

// --- prm-train ---------------------------------------------------------------------------------

static int dry_prm_train(FILE *o, const fx_config *c, const comm_world *w, fx_err *err) {
    model_config mc, pc;
    model_head head;
    tok_tokenizer *tok = NULL, *ptok = NULL;
    int rc = -1;
    describe_launch(o, c, w, false);
    if (!c->model.path[0]) {
        fx_errf(err, "model.path: expected the folder of a model to start the PRM from (e.g. an SFT run's model/)");
        goto out;
    }
    if (model_check_dir(c->model.path, err) || tok_load(&tok, c->model.path, err) ||
        model_check_files(c->model.path, &mc, &head, err))
        goto out;
    describe_model(o, "backbone", c->model.path, &mc, head);
    if (c->prm.extra_layers > 0) {
        if (head == MODEL_HEAD_PRM) {
            fx_errf(err, "prm.extra_layers: %s is already a PRM (%d layers); new layers go on a language model that a "
                    "new PRM starts from; set prm.extra_layers 0", c->model.path, mc.num_hidden_layers);
            goto out;
        }
        mc.num_hidden_layers += (int)c->prm.extra_layers;
        fprintf(o, "model      + %lld new layers on top (prm.extra_layers): %d in all, the new ones starting as the identity\n",
                (long long)c->prm.extra_layers, mc.num_hidden_layers);
    }
    describe_tokenizer(o, tok, c);
    if (tok_token_id(tok, "<extra_0>") < 0) {
        fx_errf(err, "%s: tokenizer: no <extra_0> token, which the PRM reads at", c->model.path);
        goto out;
    }
    if (c->prm.data[0]) {
        int64_t n = 0;
        if (prm_input_each(c->prm.data, NULL, tok, count_trace, &n, err)) goto out;
        fprintf(o, "data       prm.data %s: %lld traces (%.0f%% of the training traces)\n", c->prm.data, (long long)n,
                100 * c->prm.data_share);
    } else fprintf(o, "data       traces of the built-in task (%.0f%% of their steps made wrong)\n",
                   100 * c->prm.error_rate);
    if (!strcmp(c->prm.layout, "policy"))
        fprintf(o, "input      prm.layout policy: the trace as the policy writes it, each step read at its last token, "
                   "one <extra_0> at the end for the trajectory\n");
    if (c->prm.twins)
        fprintf(o, "data       prm.twins: generator traces in minimal pairs (the second with one more step made wrong)\n");
    if (c->prm.dense > 0)
        fprintf(o, "loss       + %g x the step loss at every token of the steps (prm.dense)\n", c->prm.dense);
    if (c->prm.lm_weight > 0) {
        if (!mc.tie_word_embeddings) {
            fx_errf(err, "prm.lm_weight: %s has no tied embedding (tie_word_embeddings false), which the auxiliary LM "
                    "loss uses as its head; set prm.lm_weight 0", c->model.path);
            goto out;
        }
        fprintf(o, "loss       + %g x next-token cross-entropy on the right steps' text (prm.lm_weight)\n", c->prm.lm_weight);
    }
    if (c->prm.template_rollouts > 0) {
        const char *pp = c->prm.policy_path[0] ? c->prm.policy_path : c->model.path;
        model_head ph;
        if (model_check_dir(pp, err) || tok_load(&ptok, pp, err) || model_check_files(pp, &pc, &ph, err) ||
            prm_check_rollout_policy(pp, ph, err))
            goto out;
        describe_model(o, "policy", pp, &pc, ph);
    }
    if (c->prm.batch < w->size) {
        fx_errf(err, "prm.batch: %lld traces cannot be shared by %d ranks", (long long)c->prm.batch, w->size);
        goto out;
    }
    int rows = (int)((c->prm.batch + w->size - 1) / w->size);
    mem_row r = {"prm-train", 0, 0, 0, 0, 0, 0, 0, 0, 0};
    trainer_row(o, &r, c, &mc, MODEL_HEAD_PRM, c->prm.lm_weight > 0, w->size, rows, (int)c->model.max_seq, false);
    if (c->prm.template_rollouts > 0) r.ref = model_count_params(&pc, MODEL_HEAD_LM) * sizeof(float);
    print_mem(o, &r, 1, c->cluster.backend);
    print_buffers(o, c, &r, w->size, false);
    rc = 0;
out:
    tok_free(tok);
    tok_free(ptok);
    return rc;
}

int pipeline_dry_run(int *argc, char ***argv, pipeline_dry_kind kind, const char *path, int nset, char **sets,
                     char **report) {
    *report = NULL;
    comm_init(argc, argv);
    fx_config *c = fx_malloc(sizeof *c);
    fx_err err = {{0}};
    comm_world w = {0};
    int bad = -1, code;
    int mine = cfg_resolve(c, path, nset, sets, &err) ? FX_EXIT_INPUT : 0;
    if (!(code = comm_agree(mine, &bad))) {
        cfg_apply_log(c);
        mine = comm_world_build(&w, c, &err) ? FX_EXIT_INPUT : 0;
    }
    if (!code && !(code = comm_agree(mine, &bad))) {
        // The first rank checks and reports; the others have checked the launch with it.
        if (w.rank == 0) {
            char *text = NULL;
            size_t len = 0;
            FILE *o = open_memstream(&text, &len);
            fprintf(o, "dry run of `fluxrl %s` on %s: nothing is trained or written\n",
                    kind == PIPELINE_DRY_TRAIN ? "train" : kind == PIPELINE_DRY_SFT ? "sft" : "prm-train", path);
            int rc = kind == PIPELINE_DRY_TRAIN ? dry_train(o, c, &w, &err)
                     : kind == PIPELINE_DRY_SFT ? dry_sft(o, c, &w, &err)
                                                : dry_prm_train(o, c, &w, &err);
            fclose(o);
            mine = rc ? FX_EXIT_INPUT : 0;
            if (!rc) *report = text;
            else free(text);
        }
        code = comm_agree(mine, &bad);
    }
    if (mine && comm_world_rank() == bad) fx_error("%s", err.msg);
    comm_world_free(&w);
    free(c);
    comm_finalize();
    return code;
}
