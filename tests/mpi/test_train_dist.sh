#!/usr/bin/env bash
# test_train_dist.sh FLUXRL SRC — `fluxrl train` across MPI roles, against the one-process run
# (and `fluxrl sft` and `fluxrl prm-train` on 2 data-parallel ranks against one process):
#   - trainer + rollout + reward ranks compute exactly what one process computes (metrics and the
#     final weights bit for bit), with and without a reward rank, on-policy and one-step-off;
#   - 2 trainers (data-parallel) x 2 rollout ranks: the same samples and rewards, losses within
#     1e-6 relative and weights within 1e-4 (float sums in another order);
#   - a rollout rank, a reward rank, the second of 2 trainers or the leader killed with SIGKILL
#     mid-run ends the job within 60 s with a non-zero exit, the rank named (its number by mpirun,
#     its role by the leader's "ranks:" line), leaving the newest checkpoint intact (the run
#     resumes from it);
#   - SIGTERM: a checkpoint, exit 3, and a resumed run whose metrics equal an uninterrupted run's;
#     SIGTERM to one rollout, reward or second trainer rank only: the same stop (exit 3), and the
#     trainer's stop resumes;
#   - bad input found while loading under mpirun: exit 2 from every rank;
#     SIGUSR1: an export of the policy, mid-run.
set -u
fx=$1 src=$2
. "$src/tests/lib.sh"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mpi="$src/launch/mpirun.sh"
cat >"$tmp/c.json" <<EOF
{"run": {"name": "sft", "out_dir": "$tmp", "seed": 7},
 "log": {"level": "info", "progress": "off"},
 "cluster": {"trainer_ranks": 1, "rollout_ranks": 1, "reward_ranks": 1, "threads": 1},
 "model": {"hidden_size": 64, "layers": 2, "heads": 4, "kv_heads": 2, "intermediate_size": 192, "max_seq": 128},
 "task": {"ops": 2, "digits": 1, "operators": "+-", "error_rate": 0.1, "chat": "r1"},
 "sft": {"steps": 300, "batch": 16, "lr": 0.005, "min_lr": 0.0005, "warmup": 10, "log_every": 100, "eval_every": 0,
         "eval_problems": 16, "checkpoint_every": 0},
 "grpo": {"steps": 3, "prompts": 4, "group_size": 4, "max_new": 96, "lr": 0.00003, "warmup": 0, "eval_every": 0,
          "eval_problems": 8, "minibatch": 16, "checkpoint_every": 0, "kl_beta": 0.01}
}
EOF
expect_run 0 "a warm-start policy (SFT)" -- "$fx" sft "$tmp/c.json"
set_model=(--set "model.path=$tmp/sft/model")
# Data-parallel SFT: 2 ranks, each half of every batch, the same losses as one process.
expect_run 0 "SFT on 2 data-parallel ranks" -- timeout 300 "$mpi" -np 2 "$fx" sft "$tmp/c.json" --set run.name=sft2 \
    --set sft.steps=30 --set sft.log_every=10
expect_run 0 "SFT, one process, the same steps" -- "$fx" sft "$tmp/c.json" --set run.name=sft1 --set sft.steps=30 \
    --set sft.log_every=10
# (Summation order differs, and lr 5e-3 amplifies it: over 30 steps losses agree within 1e-5,
# gradient norms within 1e-3, relative.)
expect_run 0 "data-parallel SFT losses = one process's within 1e-5" -- python3 -c '
import json, sys
a = [json.loads(l) for l in open(sys.argv[1]) if "loss" in l]
b = [json.loads(l) for l in open(sys.argv[2]) if "loss" in l]
assert len(a) == len(b) == 3, (a, b)
for x, y in zip(a, b):
    assert abs(x["loss"] - y["loss"]) <= 1e-5 * abs(x["loss"]), (x, y)
    assert abs(x["grad_norm"] - y["grad_norm"]) <= 1e-3 * abs(x["grad_norm"]), (x, y)' \
    "$tmp/sft1/metrics.jsonl" "$tmp/sft2/metrics.jsonl"
# Data-parallel PRM training: 2 ranks, the same losses and the same held-out AUROC as one process.
pt=(--set "model.path=$tmp/sft/model" --set prm.steps=20 --set prm.batch=8 --set prm.eval_every=0 --set prm.eval_traces=16)
expect_run 0 "prm-train on 2 data-parallel ranks" -- timeout 300 "$mpi" -np 2 "$fx" prm-train "$tmp/c.json" "${pt[@]}" \
    --set run.name=prm2
expect_run 0 "prm-train, one process" -- "$fx" prm-train "$tmp/c.json" "${pt[@]}" --set run.name=prm1
expect_run 0 "data-parallel PRM losses = one process's within 1e-5" -- python3 -c '
import json, sys
a = [json.loads(l) for l in open(sys.argv[1])]
b = [json.loads(l) for l in open(sys.argv[2])]
assert len(a) == len(b) and len(a) > 20, (len(a), len(b))
for x, y in zip(a, b):
    for k in ("loss", "eval_step_mse"):
        if k in x: assert abs(x[k] - y[k]) <= 1e-5 * abs(x[k]), (k, x, y)
    if "eval_step_auroc" in x: assert x["eval_step_auroc"] == y["eval_step_auroc"], (x, y)' \
    "$tmp/prm1/metrics.jsonl" "$tmp/prm2/metrics.jsonl"
# With template-guided targets each rank rolls out only the traces it trains on: the same targets
# (the batch's mean, final_target) and losses as one process that rolls out all of them.
tt=("${pt[@]}" --set prm.steps=4 --set prm.template_rollouts=2)
expect_run 0 "prm-train with template rollouts on 2 ranks" -- timeout 300 "$mpi" -np 2 "$fx" prm-train "$tmp/c.json" \
    "${tt[@]}" --set run.name=tmpl2
expect_run 0 "prm-train with template rollouts, one process" -- "$fx" prm-train "$tmp/c.json" "${tt[@]}" --set run.name=tmpl1
expect_run 0 "split template rollouts: the same targets and losses" -- python3 -c '
import json, sys
a = [json.loads(l) for l in open(sys.argv[1]) if "final_target" in l]
b = [json.loads(l) for l in open(sys.argv[2]) if "final_target" in l]
assert len(a) == len(b) == 4, (a, b)
for x, y in zip(a, b):
    assert abs(x["final_target"] - y["final_target"]) <= 1e-6, (x, y)
    assert abs(x["loss"] - y["loss"]) <= 1e-5 * abs(x["loss"]), (x, y)' \
    "$tmp/tmpl1/metrics.jsonl" "$tmp/tmpl2/metrics.jsonl"
# prm.twins, the auxiliary LM loss (prm.lm_weight) and the per-token step loss (prm.dense): their
# means are over the whole batch, so the ranks' shares sum to one process's.
lt=("${pt[@]}" --set prm.steps=4 --set prm.twins=true --set prm.lm_weight=0.5 --set prm.dense=1)
expect_run 0 "prm-train with twins and the LM loss on 2 ranks" -- timeout 300 "$mpi" -np 2 "$fx" prm-train "$tmp/c.json" \
    "${lt[@]}" --set run.name=lm2
expect_run 0 "prm-train with twins and the LM loss, one process" -- "$fx" prm-train "$tmp/c.json" "${lt[@]}" --set run.name=lm1
expect_run 0 "data-parallel LM loss: the same lm_ce and losses" -- python3 -c '
import json, sys
a = [json.loads(l) for l in open(sys.argv[1]) if "lm_ce" in l]
b = [json.loads(l) for l in open(sys.argv[2]) if "lm_ce" in l]
assert len(a) == len(b) == 4, (a, b)
for x, y in zip(a, b):
    assert x["lm_ce"] > 0 and x["dense_mse"] > 0, x
    for k in ("lm_ce", "dense_mse", "loss"): assert abs(x[k] - y[k]) <= 1e-5 * abs(x[k]), (k, x, y)' \
    "$tmp/lm1/metrics.jsonl" "$tmp/lm2/metrics.jsonl"

# Metrics without the timings and the weight sync's bytes (how the run travelled), one line per step.
strip() { python3 -c '
import json, sys
for l in open(sys.argv[1]):
    d = json.loads(l)
    print(json.dumps({k: v for k, v in d.items() if not k.startswith("time") and not k.endswith("per_s") and k != "sync_bytes"}, sort_keys=True))' "$1"; }
same_run() { # NAME_A NAME_B WHAT
    if diff <(strip "$tmp/$1/metrics.jsonl") <(strip "$tmp/$2/metrics.jsonl") >"$tmp/diff" &&
        cmp -s "$tmp/$1/model/model.safetensors" "$tmp/$2/model/model.safetensors"; then
        passed=$((passed + 1))
    else
        failed=$((failed + 1))
        printf 'FAIL %s: %s and %s differ\n' "$3" "$1" "$2" >&2
        head -c 3000 "$tmp/diff" >&2
    fi
}

expect_run 0 "one process" -- "$fx" train "$tmp/c.json" "${set_model[@]}" --set run.name=one
expect_contains "$out" "train: 3 GRPO updates" "one process finished"
expect_run 0 "3 ranks: trainer, rollout, reward" -- timeout 300 "$mpi" -np 3 "$fx" train "$tmp/c.json" \
    "${set_model[@]}" --set run.name=three
expect_contains "$err" "ranks: 1 trainer (rank 0), 1 rollout (rank 1), 1 reward (rank 2); max policy lag 0" \
    "roles and their ranks logged"
# Only the leader prints the result (another rank once printed an uninitialised one).
expect_run 0 "one result line from 3 ranks" -- test "$(printf '%s\n' "$out" | grep -c '^train: ')" = 1
same_run one three "3 ranks = one process"
# The run learned something: some update had groups with signal and a non-zero gradient.
expect_run 0 "updates moved the policy" -- python3 -c '
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1])]
steps = [d for d in lines if "loss" in d]
assert len(steps) == 3 and any(d["grad_norm"] > 0 for d in steps) and any(d["kl"] > 0 for d in steps), steps
assert all(d["policy_lag_max"] == 0 for d in steps)
# every metric finite
import math
assert all(isinstance(v, (int, float)) and math.isfinite(v) for d in lines for v in d.values()), lines
# dynamic sampling: groups without signal dropped, more problems drawn until 4 groups are kept
assert all(d["groups_kept"] == 4 or d["sampling_rounds"] == 4 for d in steps), steps
assert any(d["sampling_rounds"] > 0 and d["groups_sampled"] > d["groups_kept"] for d in steps), steps' "$tmp/three/metrics.jsonl"

expect_run 0 "2 ranks: no reward rank" -- timeout 300 "$mpi" -np 2 "$fx" train "$tmp/c.json" "${set_model[@]}" \
    --set run.name=two --set cluster.reward_ranks=0
same_run one two "trainer + rollout (scoring on the rollout rank) = one process"

# A PCM policy (docs/pcm.md) merging two experts, the SFT policy and the one GRPO made from it:
# the rollout rank decodes the experts and the PCM together, the trainer trains the PCM alone on
# each problem's own preference, weight sync sends the PCM. 3 ranks = one process, bit for bit.
pcm=(--set "pcm.experts=$tmp/sft/model,$tmp/one/model" --set grpo.kl_beta=0 --set model.hidden_size=16
     --set model.layers=1 --set model.heads=2 --set model.kv_heads=1 --set model.intermediate_size=32 --set grpo.lr=0.003
     --set grpo.eval_every=3)
expect_run 0 "PCM policy, one process" -- "$fx" train "$tmp/c.json" "${pcm[@]}" --set run.name=pcm1
expect_run 0 "PCM policy, 3 ranks" -- timeout 300 "$mpi" -np 3 "$fx" train "$tmp/c.json" "${pcm[@]}" --set run.name=pcm3
same_run pcm1 pcm3 "PCM policy: 3 ranks = one process"
expect_run 0 "the trained PCM: a PCM folder of 2 experts, moved by the updates" -- python3 -c '
import json, sys
c = json.load(open(sys.argv[1] + "/model/config.json"))
assert c["architectures"] == ["FluxrlPCMForTokenMixing"] and c["num_experts"] == 2, c
# the folder names its experts and the FNV-1a 64 of their weights (tests/fnv1a64.py, independent)
import os
sys.path.insert(0, sys.argv[3])
from fnv1a64 import fnv1a64
named = c["fluxrl_pcm"]["experts"]
want = [os.path.realpath(sys.argv[2] + "/../sft/model"), os.path.realpath(sys.argv[2] + "/model")]
assert [e["path"] for e in named] == want and [e["fnv1a64"] for e in named] == [fnv1a64(w) for w in want], (named, want)
steps = [json.loads(l) for l in open(sys.argv[1] + "/metrics.jsonl")]
assert any(d.get("grad_norm", 0) > 0 for d in steps), steps
# each update logs the mean mixing weight of each expert: on the simplex
up = [d for d in steps if "loss" in d]
assert len(up) == 3 and all(abs(d["pcm_alpha_1"] + d["pcm_alpha_2"] - 1) < 1e-6 for d in up), up
assert all("pcm_alpha_1" not in json.loads(l) for l in open(sys.argv[2] + "/metrics.jsonl"))' "$tmp/pcm3" "$tmp/one" "$src/tests"
# A PCM with a preference prior (pcm.preference_prior, fluxrl's extension): every rank builds it with
# the prior, so 3 ranks = one process again; the saved folder keeps it; the mix starts elsewhere, so
# the run is another than pcm1.
expect_run 0 "PCM with a preference prior, one process" -- "$fx" train "$tmp/c.json" "${pcm[@]}" \
    --set pcm.preference_prior=0.1 --set run.name=prior1
expect_run 0 "PCM with a preference prior, 3 ranks" -- timeout 300 "$mpi" -np 3 "$fx" train "$tmp/c.json" "${pcm[@]}" \
    --set pcm.preference_prior=0.1 --set run.name=prior3
same_run prior1 prior3 "PCM with a preference prior: 3 ranks = one process"
expect_run 1 "the prior changes the run" -- cmp -s "$tmp/prior1/model/model.safetensors" "$tmp/pcm1/model/model.safetensors"
expect_run 0 "its folder keeps the prior" -- python3 -c '
import json, sys
c = json.load(open(sys.argv[1] + "/model/config.json"))
assert abs(c["preference_prior"] - 0.1) < 1e-7, c' "$tmp/prior3"
# The weight sync's bytes per update (sync_bytes): the weights in fp32, of the PCM alone for a PCM
# policy, counted from the saved folders' safetensors headers; 0 in one process.
expect_run 0 "sync_bytes: 4 bytes per parameter of the policy (the PCM alone), 0 in one process" -- python3 -c '
import json, struct, sys
def params(d):
    with open(d + "/model/model.safetensors", "rb") as f:
        h = json.loads(f.read(struct.unpack("<Q", f.read(8))[0]))
    n = 0
    for k, v in h.items():
        if k == "__metadata__": continue
        c = 1
        for x in v["shape"]: c *= x
        n += c
    return n
def synced(d): return [x["sync_bytes"] for x in map(json.loads, open(d + "/metrics.jsonl")) if "loss" in x]
pcm, policy = params(sys.argv[1]), params(sys.argv[2])
assert synced(sys.argv[1]) == [4 * pcm] * 3 and synced(sys.argv[3]) == [4 * policy] * 3, (synced(sys.argv[1]), pcm, policy)
assert synced(sys.argv[4]) == [0] * 3 and synced(sys.argv[5]) == [0] * 3 and pcm < policy, (pcm, policy)' \
    "$tmp/pcm3" "$tmp/three" "$tmp/three" "$tmp/one" "$tmp/pcm1"
# A PCM started from a language model (model.path the SFT policy: its backbone, a new preference
# projection and alpha head), as the paper starts from a pretrained small LM.
expect_run 0 "PCM started from a language model's backbone" -- "$fx" train "$tmp/c.json" "${pcm[@]}" \
    --set "model.path=$tmp/sft/model" --set run.name=pcmlm
expect_run 0 "a PCM folder of 2 experts with the language model's shape" -- python3 -c '
import json, sys
c, lm = (json.load(open(d + "/model/config.json")) for d in sys.argv[1:3])
assert c["architectures"] == ["FluxrlPCMForTokenMixing"] and c["num_experts"] == 2, c
assert all(c[k] == lm[k] for k in ("hidden_size", "num_hidden_layers", "vocab_size", "intermediate_size")), (c, lm)
up = [d for d in map(json.loads, open(sys.argv[1] + "/metrics.jsonl")) if "loss" in d]
assert len(up) == 3 and any(d["grad_norm"] > 0 for d in up), up' "$tmp/pcmlm" "$tmp/sft"
ev=(--preference 0.5,0.5 --ops 2 --digits 1 --operators +- --problems 8 --max-new 64)
expect_run 0 "eval the trained PCM alone: its folder names the experts" -- "$fx" eval --pcm "$tmp/pcm3/model" "${ev[@]}"
alone=$out
expect_run 0 "eval the trained PCM with its experts given" -- "$fx" eval --pcm "$tmp/pcm3/model" \
    --experts "$tmp/sft/model,$tmp/one/model" "${ev[@]}"
expect_run 0 "the same result" -- test "$alone" = "$out"

# A KL to the reference PCM (the starting PCM over the same experts, beside the trainer) and the
# merged distribution's entropy bonus: 3 ranks = one process, the first update's KL is exactly 0
# (on-policy, the reference is the policy), and the entropy is the merge's (0 < H < log V).
kl=("${pcm[@]}" --set grpo.kl_beta=0.05 --set grpo.ref_on=trainer --set grpo.entropy_beta=0.01)
expect_run 0 "PCM with a KL to its reference, one process" -- "$fx" train "$tmp/c.json" "${kl[@]}" --set run.name=kl1
expect_run 0 "PCM with a KL to its reference, 3 ranks" -- timeout 300 "$mpi" -np 3 "$fx" train "$tmp/c.json" "${kl[@]}" \
    --set run.name=kl3
same_run kl1 kl3 "PCM with a KL: 3 ranks = one process"
expect_run 0 "the KL starts at 0 and moves; the entropy is the merge's" -- python3 -c '
import json, math, sys
up = [d for d in map(json.loads, open(sys.argv[1])) if "loss" in d]
assert len(up) == 3 and up[0]["kl"] == 0 and up[-1]["kl"] > 0, [d["kl"] for d in up]
V = json.load(open(sys.argv[2] + "/config.json"))["vocab_size"]
assert all(0 < d["entropy"] < math.log(V) for d in up), [d["entropy"] for d in up]' "$tmp/kl1/metrics.jsonl" \
    "$tmp/sft/model"

# Preferences from Dirichlet(0.3): the rollout rank and the trainer draw the same for each problem.
dir=("${pcm[@]}" --set pcm.preference_dist=dirichlet --set pcm.dirichlet_alpha=0.3)
expect_run 0 "PCM, Dirichlet(0.3) preferences, one process" -- "$fx" train "$tmp/c.json" "${dir[@]}" --set run.name=dir1
expect_run 0 "PCM, Dirichlet(0.3) preferences, 3 ranks" -- timeout 300 "$mpi" -np 3 "$fx" train "$tmp/c.json" "${dir[@]}" \
    --set run.name=dir3
same_run dir1 dir3 "PCM with Dirichlet preferences: 3 ranks = one process"
expect_run 1 "other preferences, another run" -- cmp -s "$tmp/dir1/model/model.safetensors" "$tmp/pcm1/model/model.safetensors"

# Preferences from the data (pcm.preference_dist = data): every line's "preference" is 0.3,0.7, so
# the run equals the one with pcm.preference = 0.3,0.7 on the same lines (the routing, its alpha
# means and the samples depend on w: ignored preferences would show).
"$fx" task sample --n 24 --ops 2 --digits 1 --operators +- | python3 -c '
import json, sys
for l in sys.stdin:
    d = json.loads(l)
    print(json.dumps({"prompt": d["prompt"], "answer": d["answer"], "preference": [0.3, 0.7]}))' >"$tmp/pref.jsonl"
pd=("${pcm[@]}" --set "grpo.data=$tmp/pref.jsonl" --set grpo.prompt_key=prompt --set grpo.eval_every=0)
expect_run 0 "PCM, preferences from the data" -- "$fx" train "$tmp/c.json" "${pd[@]}" --set pcm.preference_dist=data \
    --set run.name=pdata
expect_run 0 "PCM, the same preference fixed" -- "$fx" train "$tmp/c.json" "${pd[@]}" --set pcm.preference=0.3,0.7 \
    --set run.name=pfixed
same_run pdata pfixed "preferences from the data = the same preference fixed"
# Each problem's system turn from its line (grpo.system_key; a PCM's preference in words): every
# line says "Be brief.", so the run equals the one with task.system = "Be brief." on the same lines.
python3 -c '
import json, sys
for l in open(sys.argv[1]):
    d = json.loads(l)
    d["system"] = "Be brief."
    print(json.dumps(d))' "$tmp/pref.jsonl" >"$tmp/sys.jsonl"
sd=("${pcm[@]}" --set "grpo.data=$tmp/sys.jsonl" --set grpo.prompt_key=prompt --set grpo.eval_every=0
    --set pcm.preference=0.3,0.7 --set grpo.max_new=80)
expect_run 0 "PCM, system turns from the data" -- "$fx" train "$tmp/c.json" "${sd[@]}" --set grpo.system_key=system \
    --set run.name=sysdata
expect_run 0 "PCM, the same system turn for all" -- "$fx" train "$tmp/c.json" "${sd[@]}" --set "task.system=Be brief." \
    --set run.name=sysfixed
same_run sysdata sysfixed "system turns from the data = the same task.system"
expect_run 0 "the same without a system turn" -- "$fx" train "$tmp/c.json" "${sd[@]}" --set run.name=sysnone
expect_run 1 "a system turn changes the run" -- cmp -s "$tmp/sysdata/metrics.jsonl" "$tmp/sysnone/metrics.jsonl"
# A prompt too long for model.max_seq with grpo.max_new: exit 2 naming the problem, not a crash.
expect_run 2 "a prompt too long for model.max_seq" -- "$fx" train "$tmp/c.json" "${sd[@]}" --set grpo.system_key=system \
    --set grpo.max_new=120 --set run.name=toolong
expect_contains "$err" "grpo.data problem 1: its prompt is" "the problem named"
expect_contains "$err" "with grpo.max_new = 120 that exceeds model.max_seq = 128" "the numbers named"

# pcm.reward = bt: two reward dimensions (examples/rewards/correct_and_brief.py: correctness and
# brevity), each against the reference policy's greedy response (the first expert), weighed by the
# preference. 3 ranks = one process; every update's reward_mean is the mean over its traces of
# sum_i w_i sigmoid(r_i(y) - r_i(y_ref)), recomputed here from the program's own rewards (its info).
bt=("${pcm[@]}" --set pcm.reward=bt --set reward.outcome=command --set pcm.preference=0.25,0.75
    --set "reward.command=/usr/bin/python3 $src/examples/rewards/correct_and_brief.py")
expect_run 0 "PCM with BT rewards, one process" -- "$fx" train "$tmp/c.json" "${bt[@]}" --set run.name=bt1
expect_run 0 "PCM with BT rewards, 3 ranks" -- timeout 300 "$mpi" -np 3 "$fx" train "$tmp/c.json" "${bt[@]}" --set run.name=bt3
same_run bt1 bt3 "PCM with BT rewards: 3 ranks = one process"
expect_run 0 "reward_mean = the mean of sum_i w_i sigmoid(r_i(y) - r_i(y_ref))" -- python3 -c '
import json, math, sys
info = [json.loads(l) for l in open(sys.argv[1] + "/reward_info.jsonl")]
ref = {d["group"]: d["info"]["rewards"] for d in info if d["sample"] == -1}
sig = lambda x: 1 / (1 + math.exp(-x))
by_version = {}
for d in info:
    if d["sample"] >= 0:
        R = sum(w * sig(a - b) for w, a, b in zip((0.25, 0.75), d["info"]["rewards"], ref[d["group"]]))
        by_version.setdefault(d["policy_version"], []).append(R)
up = [json.loads(l) for l in open(sys.argv[1] + "/metrics.jsonl")]
up = [d for d in up if "loss" in d]
# (dynamic sampling refills: an update may sample more than its 4 groups of 4)
assert len(up) == 3 and sorted(by_version) == [0, 1, 2], (len(up), sorted(by_version))
assert {d["group"] for d in info} == set(ref), "a group scored without its reference"
for k, d in enumerate(up):
    Rs = by_version[k]
    assert len(Rs) % 4 == 0 and len(Rs) >= 16 and abs(sum(Rs) / len(Rs) - d["reward_mean"]) < 1e-6, (k, Rs, d)
    assert len(set(round(r, 6) for r in Rs)) > 2, Rs  # graded, not 0/1
' "$tmp/bt1"

expect_run 0 "5 ranks: 2 trainers, 2 rollout, 1 reward" -- timeout 300 "$mpi" -np 5 "$fx" train "$tmp/c.json" \
    "${set_model[@]}" --set run.name=five --set cluster.trainer_ranks=2 --set cluster.rollout_ranks=2
expect_run 0 "data-parallel = one process within float reordering" -- python3 -c '
import json, struct, sys, array
def metrics(p):
    return [json.loads(l) for l in open(p)]
a, b = metrics(sys.argv[1] + "/one/metrics.jsonl"), metrics(sys.argv[1] + "/five/metrics.jsonl")
assert len(a) == len(b)
for x, y in zip(a, b):
    for k in ("reward_mean", "accuracy", "response_tokens", "groups_kept", "groups_sampled", "step_reward_mean"):
        if k in x: assert x[k] == y[k], (k, x[k], y[k])   # the same samples and rewards
    for k in ("loss", "kl", "grad_norm"):
        if k in x: assert abs(x[k] - y[k]) <= 1e-6 * abs(x[k]) + 1e-9, (k, x[k], y[k])
def weights(p):
    raw = open(p, "rb").read(); n = struct.unpack("<Q", raw[:8])[0]
    return array.array("f", raw[8 + n:])
wa, wb = weights(sys.argv[1] + "/one/model/model.safetensors"), weights(sys.argv[1] + "/five/model/model.safetensors")
worst = max(abs(p - q) for p, q in zip(wa, wb))
assert len(wa) == len(wb) and worst < 1e-4, worst
print("worst weight difference", worst)' "$tmp"

expect_run 0 "one-step-off, one process" -- "$fx" train "$tmp/c.json" "${set_model[@]}" --set run.name=lag1one \
    --set rollout.max_policy_lag=1 --set grpo.steps=4
expect_run 0 "one-step-off, 3 ranks" -- timeout 300 "$mpi" -np 3 "$fx" train "$tmp/c.json" "${set_model[@]}" \
    --set run.name=lag1 --set rollout.max_policy_lag=1 --set grpo.steps=4
same_run lag1one lag1 "one-step-off: 3 ranks = one process"
expect_run 0 "traces one version behind, within the bound" -- python3 -c '
import json, sys
steps = [json.loads(l) for l in open(sys.argv[1])]
steps = [d for d in steps if "loss" in d]
assert steps[0]["policy_lag_max"] == 0 and all(d["policy_lag_max"] == 1 for d in steps[1:]), steps' \
    "$tmp/lag1/metrics.jsonl"
expect_run 2 "one-step-off needs recomputed log-probs" -- "$fx" train "$tmp/c.json" "${set_model[@]}" \
    --set rollout.max_policy_lag=1 --set grpo.recompute_old_logp=false
expect_contains "$err" "rollout.max_policy_lag: 1 needs grpo.recompute_old_logp = true" "the conflict named"
expect_run 2 "PRM rewards without a PRM" -- "$fx" train "$tmp/c.json" --set reward.beta=0.5
expect_contains "$err" "reward.beta: 0.5 mixes in the PRM's score, but reward.prm_path is empty" "named"
if ! nvidia-smi -L >/dev/null 2>&1; then
    expect_run 2 "cluster.backend = cuda without a GPU" -- "$fx" train "$tmp/c.json" --set cluster.backend=cuda
    expect_contains "$err" "cluster.backend: \"cuda\", but this process sees no CUDA device" "named"
    for cmd in sft prm-train; do # every command that takes a config honours cluster.backend
        expect_run 2 "$cmd with cluster.backend = cuda without a GPU" -- "$fx" $cmd "$src/configs/demo.json" \
            --set cluster.backend=cuda --set "run.out_dir=$tmp" --set model.path="$tmp"
        expect_contains "$err" "cluster.backend: \"cuda\", but this rank sees no CUDA device" "named ($cmd)"
    done
fi
expect_run 2 "world size differs from the config" -- timeout 120 "$mpi" -np 2 "$fx" train "$tmp/c.json"
expect_contains "$err" "the MPI world has 2 ranks but the config asks for 3" "both numbers named"

# A JSONL dataset (GSM8K-style keys) instead of the built-in stream: problems from its lines, the
# answer verifier as the outcome, greedy held-out accuracy on grpo.eval_data.
"$fx" task sample --n 40 --seed 11 --ops 2 --digits 1 >"$tmp/tasks.jsonl"
python3 -c '
import json, sys
for l in open(sys.argv[1]):
    d = json.loads(l); print(json.dumps({"q": d["prompt"], "a": "#### " + d["answer"]}))' "$tmp/tasks.jsonl" >"$tmp/data.jsonl"
expect_run 0 "train on a JSONL dataset, 3 ranks" -- timeout 300 "$mpi" -np 3 "$fx" train "$tmp/c.json" "${set_model[@]}" \
    --set run.name=data --set "grpo.data=$tmp/data.jsonl" --set "grpo.eval_data=$tmp/data.jsonl" \
    --set grpo.prompt_key=q --set grpo.answer_key=a --set grpo.eval_problems=16
expect_contains "$out" "train: 3 GRPO updates; held-out answers" "evaluated on grpo.eval_data"
expect_run 0 "the dataset's problems are solved and rewarded" -- python3 -c '
import json, sys
steps = [json.loads(l) for l in open(sys.argv[1])]
ev = [d for d in steps if "eval_answer_acc" in d]
tr = [d for d in steps if "loss" in d]
assert ev[0]["eval_answer_acc"] > 0 and any(d["reward_mean"] > 0 for d in tr), steps' "$tmp/data/metrics.jsonl"
expect_run 2 "a bad dataset line" -- "$fx" train "$tmp/c.json" "${set_model[@]}" --set run.name=bad \
    --set "grpo.data=$tmp/tasks.jsonl" --set grpo.prompt_key=q
expect_contains "$err" "tasks.jsonl:1" "the file and line named"

# SIGTERM (what Slurm sends before preemption): a checkpoint, exit 3; the resumed run's metrics
# equal the uninterrupted run's.
long=(--set grpo.steps=20 --set grpo.checkpoint_every=1)
expect_run 0 "uninterrupted reference" -- timeout 600 "$mpi" -np 3 "$fx" train "$tmp/c.json" "${set_model[@]}" \
    "${long[@]}" --set run.name=ref
ranks_of() { # RUN: the pids of the job's ranks (not mpirun's)
    for p in $(pgrep -f "fluxrl train $tmp/c.json .*run.name=$1"); do
        [ "$(cat "/proc/$p/comm" 2>/dev/null)" = fluxrl ] && echo "$p"
    done
}
wait_ckpt() { # RUN STEP: waits until a checkpoint of STEP or later exists (at most 120 s; older ones rotate away)
    for _ in $(seq 1200); do
        for f in "$tmp/$1"/checkpoints/step-*.h5; do
            [ -e "$f" ] || continue
            n=${f##*/step-}
            [ $((10#${n%.h5})) -ge "$2" ] && return 0
        done
        sleep 0.1
    done
    return 1
}
newest_step() { # RUN: the step of the newest checkpoint (step-00000012.h5: 12)
    local f
    f=$(ls "$tmp/$1/checkpoints/" | grep -E '^step-[0-9]+\.h5$' | sort | tail -1)
    f=${f#step-} f=${f%.h5}
    echo $((10#${f:-0}))
}
timeout -k 10 180 "$mpi" -np 3 "$fx" train "$tmp/c.json" "${set_model[@]}" "${long[@]}" --set run.name=term \
    --set grpo.steps=400 >"$tmp/term.out" 2>"$tmp/term.err" &
job=$!
rank_pid() { # RUN RANK
    for p in $(ranks_of "$1"); do
        tr '\0' '\n' <"/proc/$p/environ" 2>/dev/null | grep -qx "OMPI_COMM_WORLD_RANK=$2" && echo "$p"
    done
}
if wait_ckpt term 2; then
    kill -TERM $(ranks_of term) # as srun does: every task gets the signal
    wait "$job"
    code=$?
    [ "$code" -eq 3 ] && passed=$((passed + 1)) || { failed=$((failed + 1)); echo "FAIL SIGTERM: exit $code, expected 3" >&2; cat "$tmp/term.err" >&2; }
    expect_contains "$(cat "$tmp/term.err")" "checkpoint written, resume with --resume auto" "stop logged"
    expect_run 0 "resume after SIGTERM" -- timeout 600 "$mpi" -np 3 "$fx" train "$tmp/c.json" "${set_model[@]}" \
        "${long[@]}" --set run.name=term --resume auto
    expect_run 0 "resumed metrics = uninterrupted metrics" -- python3 -c '
import json, sys
def steps(p):
    out = {}
    for l in open(p):
        d = json.loads(l)
        out[(d["step"], "loss" in d)] = {k: v for k, v in d.items() if not k.startswith("time") and not k.endswith("per_s") and k != "sync_bytes"}
    return out
a, b = steps(sys.argv[1]), steps(sys.argv[2])
assert a == b, [(k, a.get(k), b.get(k)) for k in sorted(set(a) | set(b)) if a.get(k) != b.get(k)][:3]' \
        "$tmp/ref/metrics.jsonl" "$tmp/term/metrics.jsonl"
    cmp -s "$tmp/ref/model/model.safetensors" "$tmp/term/model/model.safetensors" && passed=$((passed + 1)) ||
        { failed=$((failed + 1)); echo "FAIL resumed weights differ from the uninterrupted run's" >&2; }
else
    failed=$((failed + 1)); echo "FAIL no checkpoint of step 2 within 120 s" >&2; kill -TERM "$job"
fi

# SIGTERM to one rank only (a rollout rank, then a reward rank, then the second of 2 trainers): it
# asks the leader to stop, and the job ends as if every rank had the signal: a checkpoint, exit 3
# from mpirun; the run resumes from that checkpoint.
for victim in "1 3" "2 3" "1 4 --set cluster.trainer_ranks=2"; do
    set -- $victim
    victim_rank=$1 np=$2
    shift 2
    name=term$victim_rank-$np
    timeout -k 10 120 "$mpi" -np $np "$fx" train "$tmp/c.json" "${set_model[@]}" "${long[@]}" --set run.name=$name \
        --set grpo.steps=400 "$@" >"$tmp/$name.out" 2>"$tmp/$name.err" &
    job=$!
    if wait_ckpt $name 2; then
        start=$(date +%s)
        kill -TERM "$(rank_pid $name $victim_rank)"
        wait "$job"
        code=$?
        echo "SIGTERM to rank $victim_rank only in $name: exit $code after $(($(date +%s) - start))s"
        [ "$code" -eq 3 ] && passed=$((passed + 1)) ||
            { failed=$((failed + 1)); echo "FAIL SIGTERM to rank $victim_rank of $np only: exit $code, expected 3" >&2; cat "$tmp/$name.err" >&2; }
        expect_contains "$(cat "$tmp/$name.err")" "received signal 15; stopping after this update" "the leader heard it"
        expect_contains "$(cat "$tmp/$name.err")" "checkpoint written, resume with --resume auto" "checkpoint logged"
        if [ "$np" -eq 4 ]; then # the trainer's stop: resumable like the leader's (one more update)
            n=$(newest_step $name)
            expect_run 0 "resume after SIGTERM to trainer rank 1" -- timeout 300 "$mpi" -np $np "$fx" train "$tmp/c.json" \
                "${set_model[@]}" "${long[@]}" --set run.name=$name --set grpo.steps=$((n + 1)) "$@" --resume auto
            expect_contains "$err" "step-$(printf %08d $n).h5 (step $n)" "resumed from the stop's checkpoint"
        fi
    else
        failed=$((failed + 1)); echo "FAIL $name: no checkpoint of step 2 within 120 s" >&2; kill -TERM "$job"
    fi
done

# Bad input found while loading (a model folder that does not exist): exit 2 from every rank under
# mpirun too (the ranks agree before their first collective), the file named once.
expect_run 2 "bad model.path under mpirun: exit 2" -- timeout 120 "$mpi" -np 3 "$fx" train "$tmp/c.json" \
    --set model.path="$tmp/no-such-model" --set run.name=badmodel
expect_contains "$err" "no-such-model" "the folder named"
# The same exit code under mpirun as in one process, for every command that runs on ranks: bad
# input (a missing model, a value out of range, an output folder that cannot be made) exits 2.
for cmd in sft prm-train train; do
    np=2; [ "$cmd" = train ] && np=3
    for bad in "model.path=$tmp/no-such-model" "sft.lr=-1" "run.out_dir=/proc/no-such-dir"; do
        "$fx" "$cmd" "$tmp/c.json" --set "$bad" --set run.name=bad1 >/dev/null 2>&1
        one=$?
        expect_run "$one" "$cmd --set $bad: under mpirun -np $np the one process's exit code ($one)" -- timeout 120 \
            "$mpi" -np "$np" "$fx" "$cmd" "$tmp/c.json" --set "$bad" --set run.name=badn
        [ "$one" -eq 2 ] && passed=$((passed + 1)) ||
            { failed=$((failed + 1)); echo "FAIL $cmd --set $bad: exit $one in one process, expected 2" >&2; }
    done
done

# A rank killed with SIGKILL (a rollout rank, a reward rank, the second of 2 trainers, the leader):
# the job ends within 60 s, non-zero; mpirun names the rank's number and the leader's "ranks:" line
# its role; the newest checkpoint is intact.
sigkill() { # RUN RANK ROLE_RANKS (as the leader logs them, e.g. "1 reward (rank 2)"); the job is $job
    local victim start elapsed newest
    victim=$(rank_pid $1 $2)
    start=$(date +%s)
    [ -n "$victim" ] && kill -KILL "$victim"
    wait "$job"
    code=$?
    elapsed=$(($(date +%s) - start))
    echo "SIGKILL of rank $2 in $1: exit $code after ${elapsed}s"
    [ -n "$victim" ] && [ "$code" -ne 0 ] && [ "$elapsed" -lt 60 ] && passed=$((passed + 1)) ||
        { failed=$((failed + 1)); echo "FAIL SIGKILL of rank $2 (pid '$victim'): exit $code after ${elapsed}s" >&2; }
    expect_contains "$(cat "$tmp/$1.err")" "process rank $2 with PID" "the killed rank's number"
    expect_contains "$(cat "$tmp/$1.err")" "exited on signal 9" "the signal"
    expect_contains "$(cat "$tmp/$1.err")" "ranks: " "the layout logged"
    expect_contains "$(grep 'ranks: ' "$tmp/$1.err")" "$3" "rank $2's role in the layout"
    newest=$(ls "$tmp/$1/checkpoints/" | grep -E '^step-[0-9]+\.h5$' | sort | tail -1)
    expect_run 0 "newest checkpoint of $1 intact: h5 opens it" -- h5ls -r "$tmp/$1/checkpoints/$newest"
}
timeout -k 10 180 "$mpi" -np 3 "$fx" train "$tmp/c.json" "${set_model[@]}" "${long[@]}" --set run.name=kill \
    --set grpo.steps=400 >"$tmp/kill.out" 2>"$tmp/kill.err" &
job=$!
if wait_ckpt kill 1; then # first an export of the policy, on request
    kill -USR1 "$(rank_pid kill 0)"
    for _ in $(seq 600); do compgen -G "$tmp/kill/export/step-*/model.safetensors" >/dev/null && break; sleep 0.1; done
    expect_run 0 "SIGUSR1: the policy exported as a Hugging Face folder" -- \
        "$fx" model info "$(compgen -G "$tmp/kill/export/step-*" | head -1)"
fi
if wait_ckpt kill 2; then
    sigkill kill 1 "1 rollout (rank 1)"
    n=$(newest_step kill) # one update more than it holds
    expect_run 0 "the run resumes from it" -- timeout 600 "$mpi" -np 3 "$fx" train "$tmp/c.json" "${set_model[@]}" \
        "${long[@]}" --set run.name=kill --set grpo.steps=$((n + 1)) --resume auto
    expect_contains "$err" "step-$(printf %08d $n).h5 (step $n)" "resumed from the newest checkpoint"
else
    failed=$((failed + 1)); echo "FAIL no checkpoint of step 2 within 120 s" >&2; kill -TERM "$job"
fi
for victim in "2 3 1 reward (rank 2)" "1 4 2 trainer (ranks 0-1)" "0 3 1 trainer (rank 0)"; do
    set -- $victim
    name=kill$1-$2
    timeout -k 10 180 "$mpi" -np $2 "$fx" train "$tmp/c.json" "${set_model[@]}" "${long[@]}" --set run.name=$name \
        --set grpo.steps=400 --set cluster.trainer_ranks=$(($2 - 2)) >"$tmp/$name.out" 2>"$tmp/$name.err" &
    job=$!
    if wait_ckpt $name 2; then
        sigkill $name $1 "${victim#* * }"
    else
        failed=$((failed + 1)); echo "FAIL $name: no checkpoint of step 2 within 120 s" >&2; kill -TERM "$job"
    fi
done

finish test_train_dist
