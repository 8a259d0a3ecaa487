#!/usr/bin/env bash
# test_select.sh FLUXRL SRC MAKE_TINY_MODELS — the PRM's applications end to end on tiny random
# models: `fluxrl select` keeps the best-scored traces in score order (JSONL that `fluxrl sft`
# trains on with sft.data, or an HDF5 store), `fluxrl best-of-n` reports the PRM's choice next to
# the baselines, `fluxrl prm-train` takes prm.data and template-guided targets; bad input exits 2
# naming the file.
set -u
fx=$1 src=$2 tiny=$3
. "$src/tests/lib.sh"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
expect_run 0 "tiny models" -- "$tiny" "$tmp/m"
cat >"$tmp/pool.jsonl" <<'J'
{"problem": "Compute 1+2.", "response": "<think>\n1+2: 1+2=3, 1+2=3\n</think>\nThe answer is 3."}
{"problem": "Compute 5-3.", "response": "<think>\n5-3: 5-3=2, 5-3=2\n</think>\nThe answer is 2."}

{"problem": "Compute 4+4.", "steps": ["4+4: 4+4=8, 4+4=8", "The answer is 8."]}
{"problem": "Compute 9-1.", "response": "<think>\n9-1: 9-1=7, 9-1=7\n</think>\nThe answer is 7."}
{"problem": "Compute 2+7.", "response": "<think>\n2+7: 2+7=9, 2+7=9\n\nextra step\n</think>\nThe answer is 9."}
J
prm=(--prm "$tmp/m/class2")
expect_run 0 "prm-score the pool" -- "$fx" prm-score "${prm[@]}" --input "$tmp/pool.jsonl"
scores=$out
expect_run 0 "select the top 3" -- "$fx" select "${prm[@]}" --input "$tmp/pool.jsonl" --top-k 3 --out "$tmp/top.jsonl"
expect_contains "$out" "select: kept 3 of 5 traces" "summary"
expect_run 0 "no temporary file left" -- test ! -e "$tmp/top.jsonl.tmp"
# The kept indices are the 3 best of prm-score's scores, best first, with the same scores.
expect_run 0 "top-k order and scores" -- /usr/bin/python3 -c '
import json, sys
scores = [json.loads(l) for l in sys.argv[1].splitlines()]
top = [json.loads(l) for l in open(sys.argv[2])]
want = sorted(range(len(scores)), key=lambda i: (-scores[i]["score"], i))[:3]
assert [t["index"] for t in top] == want, ([t["index"] for t in top], want)
for t in top:
    s = scores[t["index"]]
    assert abs(t["score"] - s["score"]) < 1e-5 and len(t["step_rewards"]) == len(s["step_rewards"]), (t, s)
    assert t["problem"].startswith("Compute ") and "The answer is" in t["response"], t
assert all(a["score"] >= b["score"] for a, b in zip(top, top[1:]))
' "$scores" "$tmp/top.jsonl"
expect_run 0 "k above the pool keeps all" -- "$fx" select "${prm[@]}" --input "$tmp/pool.jsonl" --top-k 99 --out "$tmp/all.jsonl"
expect_run 0 "5 lines" -- test "$(wc -l <"$tmp/all.jsonl")" -eq 5
# --by min-step: the 3 whose lowest step reward (of prm-score's) is highest, ties in input order.
expect_run 0 "select --by min-step" -- "$fx" select "${prm[@]}" --input "$tmp/pool.jsonl" --top-k 3 --by min-step \
    --out "$tmp/min.jsonl"
expect_contains "$out" "select: kept 3 of 5 traces by the lowest step reward" "summary"
expect_run 0 "min-step order, each line's min_step and r^ from prm-score's rewards" -- /usr/bin/python3 -c '
import json, sys
scores = [json.loads(l) for l in sys.argv[1].splitlines()]
low = [min(s["step_rewards"]) for s in scores]
top = [json.loads(l) for l in open(sys.argv[2])]
want = sorted(range(len(scores)), key=lambda i: (-low[i], i))[:3]
assert [t["index"] for t in top] == want, ([t["index"] for t in top], want)
for t in top:
    assert abs(t["min_step"] - low[t["index"]]) < 1e-5 and abs(t["score"] - scores[t["index"]]["score"]) < 1e-5, t
' "$scores" "$tmp/min.jsonl"
expect_run 2 "select --by with an unknown value" -- "$fx" select "${prm[@]}" --input "$tmp/pool.jsonl" --top-k 3 \
    --by mean --out "$tmp/x.jsonl"
expect_contains "$err" "--by: expected r or min-step, got 'mean'" "named"
expect_run 0 "select with the scalar read-out" -- "$fx" select --prm "$tmp/m/scalar" --input "$tmp/pool.jsonl" --top-k 2 --out "$tmp/s.jsonl" --alpha 0.5
# A 2-class PRM read as released (no "fluxrl_prm" in config.json: its chat template, no trajectory
# separator): select takes prm-score's --trajectory-separator and --system and scores as it does.
cp -r "$tmp/m/class2" "$tmp/released"
/usr/bin/python3 -c 'import json, sys; p = sys.argv[1]; c = json.load(open(p)); del c["fluxrl_prm"]; json.dump(c, open(p, "w"))' "$tmp/released/config.json"
ask=(--trajectory-separator --system "Check each step.")
expect_run 0 "prm-score a released PRM, asked for the separator and a system turn" -- "$fx" prm-score --prm "$tmp/released" --input "$tmp/pool.jsonl" "${ask[@]}"
asked=$out
expect_run 0 "prm-score a released PRM as released" -- "$fx" prm-score --prm "$tmp/released" --input "$tmp/pool.jsonl"
plain=$out
expect_run 0 "select with --trajectory-separator --system" -- "$fx" select --prm "$tmp/released" --input "$tmp/pool.jsonl" --top-k 5 --out "$tmp/asked.jsonl" "${ask[@]}"
expect_run 0 "select's scores are prm-score's under the same asks, and the asks change them" -- /usr/bin/python3 -c '
import json, sys
asked = [json.loads(l) for l in sys.argv[1].splitlines()]
plain = [json.loads(l) for l in sys.argv[2].splitlines()]
top = {t["index"]: t for t in map(json.loads, open(sys.argv[3]))}
assert len(top) == len(asked) == 5
for i, s in enumerate(asked):
    assert abs(top[i]["score"] - s["score"]) < 1e-5 and abs(top[i]["trajectory_reward"] - s["trajectory_reward"]) < 1e-5, (top[i], s)
assert all(abs(a["score"] - p["score"]) > 1e-6 for a, p in zip(asked, plain)), (asked, plain)
' "$asked" "$plain" "$tmp/asked.jsonl"
expect_run 2 "select --system on a PRM read in fluxrl's layout" -- "$fx" select "${prm[@]}" --input "$tmp/pool.jsonl" --top-k 2 --out "$tmp/x.jsonl" --system "S"
expect_contains "$err" "fluxrl select: --trajectory-separator / --system: a system turn: $tmp/m/class2 is read in fluxrl's own layout" "its message"
expect_run 2 "select --trajectory-separator on a scalar PRM" -- "$fx" select --prm "$tmp/m/scalar" --input "$tmp/pool.jsonl" --top-k 2 --out "$tmp/x.jsonl" --trajectory-separator
expect_contains "$err" "apply to a 2-class PRM; $tmp/m/scalar has a scalar head" "its message"
small_bon=(best-of-n --policy "$tmp/m/lm" --ops 1 --digits 1 --problems 2 --max-new 8 --n 2 --seed 2)
expect_run 0 "best-of-n asks a released PRM for the separator and a system turn" -- "$fx" "${small_bon[@]}" --prm "$tmp/released" --trajectory-separator --prm-system "Check each step."
expect_run 2 "best-of-n --prm-system on a scalar PRM" -- "$fx" "${small_bon[@]}" --prm "$tmp/m/scalar" --prm-system "S"
expect_contains "$err" "fluxrl best-of-n: --trajectory-separator / --prm-system: the trajectory separator and the system turn apply to a 2-class PRM" "its message"

# fluxrl sft trains on the selection (sft.data).
small=(--set "run.out_dir=$tmp" --set model.hidden_size=32 --set model.layers=1 --set model.heads=2 --set model.kv_heads=1
       --set model.intermediate_size=64 --set model.max_seq=96 --set task.ops=1 --set task.digits=1 --set sft.batch=4
       --set sft.steps=6 --set sft.warmup=1 --set sft.log_every=2 --set sft.eval_every=0 --set sft.eval_problems=2
       --set cluster.threads=1 --set sft.checkpoint_every=0)
expect_run 0 "sft on the selection" -- "$fx" sft "$src/configs/demo.json" "${small[@]}" --set run.name=sel --set "sft.data=$tmp/top.jsonl"
expect_contains "$out" "sft: 6 steps" "trained"
first=$(grep '"loss"' "$tmp/sel/metrics.jsonl" | head -1 | sed 's/.*"loss": \([0-9.e-]*\).*/\1/')
last=$(grep '"loss"' "$tmp/sel/metrics.jsonl" | tail -1 | sed 's/.*"loss": \([0-9.e-]*\).*/\1/')
expect_run 0 "the loss falls on 3 examples ($first -> $last)" -- awk -v a="$first" -v b="$last" 'BEGIN { exit !(b < a) }'
printf '{"problem": "Compute 1+2.", "response": "3"}\n{"problem": "Compute 1+2.", "answer": "3"}\n' >"$tmp/bad.jsonl"
expect_run 2 "sft.data: a bad line" -- "$fx" sft "$src/configs/demo.json" "${small[@]}" --set run.name=bad --set "sft.data=$tmp/bad.jsonl"
expect_contains "$err" "bad.jsonl:2: response: expected a string" "file, line, field"
expect_run 2 "sft.data: a missing file" -- "$fx" sft "$src/configs/demo.json" "${small[@]}" --set run.name=bad --set "sft.data=$tmp/none.jsonl"
expect_contains "$err" "none.jsonl: cannot open" "file named"

# HDF5 in, HDF5 or JSONL out.
expect_run 0 "generate a pool" -- "$fx" generate --model "$tmp/m/lm" --ops 1 --digits 1 --problems 3 --n 2 --temperature 1 \
    --seed 4 --max-new 24 --out "$tmp/pool.h5"
expect_run 0 "select from a trace store into a trace store" -- "$fx" select "${prm[@]}" --input "$tmp/pool.h5" --top-k 4 --out "$tmp/top.h5"
expect_run 0 "traces info" -- "$fx" traces info "$tmp/top.h5"
expect_contains "$out" "traces     4" "four traces kept"
expect_run 0 "select from a trace store into JSONL" -- "$fx" select "${prm[@]}" --input "$tmp/pool.h5" --top-k 4 --out "$tmp/h.jsonl"
expect_run 0 "the same order" -- /usr/bin/python3 -c '
import json, subprocess, sys
fx, h5, js = sys.argv[1:4]
a = [json.loads(l) for l in subprocess.run([fx, "traces", "export", h5], check=True, capture_output=True, text=True).stdout.splitlines()]
b = [json.loads(l) for l in open(js)]
assert len(a) == len(b) == 4
assert [(x["group"], x["sample"]) for x in a] == [(y["index"] // 2, y["index"] % 2) for y in b], (a, b)
assert all(abs(x["trajectory_reward"] - y["trajectory_reward"]) < 1e-6 for x, y in zip(a, b))
' "$fx" "$tmp/top.h5" "$tmp/h.jsonl"
expect_run 2 "HDF5 output needs an HDF5 input" -- "$fx" select "${prm[@]}" --input "$tmp/pool.jsonl" --top-k 2 --out "$tmp/x.h5"

# Bad input: a model without a PRM head, a file that is not JSONL, missing options.
expect_run 2 "select with a language model" -- "$fx" select --prm "$tmp/m/lm" --input "$tmp/pool.jsonl" --top-k 2 --out "$tmp/x.jsonl"
expect_contains "$err" "$tmp/m/lm/config.json: architectures: a PRM needs" "the file named"
printf 'not json\n' >"$tmp/notes.txt"
expect_run 2 "select on a wrong file" -- "$fx" select "${prm[@]}" --input "$tmp/notes.txt" --top-k 2 --out "$tmp/x.jsonl"
expect_contains "$err" "notes.txt:1: expected a JSON object" "file and line"
expect_run 0 "nothing written" -- test ! -e "$tmp/x.jsonl" -a ! -e "$tmp/x.jsonl.tmp"
expect_run 2 "select: --top-k 0" -- "$fx" select "${prm[@]}" --input "$tmp/pool.jsonl" --top-k 0 --out "$tmp/x.jsonl"
expect_run 2 "select without --out" -- "$fx" select "${prm[@]}" --input "$tmp/pool.jsonl" --top-k 2

# fluxrl best-of-n: one line per N' = 1, 2, 4; the last with the step AUROC (built-in task).
bon=(best-of-n --policy "$tmp/m/lm" --prm "$tmp/m/class2" --ops 1 --digits 1 --problems 3 --max-new 24 --seed 2)
expect_run 0 "best-of-n" -- "$fx" "${bon[@]}" --n 4
one=$out
expect_run 0 "three lines, accuracies in [0, 1], pass@1 <= pass@n" -- /usr/bin/python3 -c '
import json, sys
lines = [json.loads(l) for l in sys.argv[1].splitlines()]
assert [l["samples"] for l in lines] == [1, 2, 4], lines
for l in lines:
    assert l["problems"] == 3
    assert all(0 <= l[k] <= 1 for k in ("prm_best", "pass@1", "majority", "pass@n")), l
    assert l["pass@1"] <= l["pass@n"] and l["prm_best"] <= l["pass@n"], l
assert "step_auroc" in lines[-1] and lines[-1]["steps"] > 0, lines[-1]
 ' "$one"
expect_run 0 "best-of-n --out" -- "$fx" "${bon[@]}" --n 4 --out "$tmp/bon_samples.jsonl"
expect_run 0 "within_auroc and pairs of each line = recomputed from the samples written by --out" -- /usr/bin/python3 -c '
import json, sys
lines = [json.loads(l) for l in sys.argv[1].splitlines()]
rows = [json.loads(l) for l in open(sys.argv[2])]
assert len(rows) == 12, len(rows)
for l in lines:
    wins = pairs = 0
    for p in range(3):
        s = [r for r in rows[4 * p:4 * p + 4] if r["sample"] < l["samples"]]
        for a in s:
            for b in s:
                if a["correct"] and not b["correct"]:
                    x = a["score"] if a["score"] is not None else float("-inf")
                    y = b["score"] if b["score"] is not None else float("-inf")
                    pairs += 1
                    wins += 1.0 if x > y else 0.5 if x == y else 0.0
    assert l["pairs"] == pairs, (l, pairs)
    if pairs: assert abs(l["within_auroc"] - wins / pairs) < 5e-5, (l, wins / pairs)
    else: assert l["within_auroc"] is None, l
 ' "$out" "$tmp/bon_samples.jsonl"
expect_run 0 "prm_best, prm_vote, min_step_best and min_step_vote = recomputed from the samples written by --out" -- /usr/bin/python3 -c '
import json, sys
lines = [json.loads(l) for l in sys.argv[1].splitlines()]
rows = [json.loads(l) for l in open(sys.argv[2])]
val = lambda x: x if x is not None else float("-inf")
def best(s, key): # the highest score, the first of ties
    return max(range(len(s)), key=lambda i: (val(s[i][key]), -i))
def vote(s, key): # each answer the sum of its samples scores; the most, the first sample of ties
    w = {}
    for r in s:
        if r["answer"] is not None and r[key] is not None: w[r["answer"]] = w.get(r["answer"], 0.0) + r[key]
    voters = [i for i, r in enumerate(s) if r["answer"] is not None and r[key] is not None]
    if not voters: return None
    return max(voters, key=lambda i: (w[s[i]["answer"]], -i))
seen = 0
for l in lines:
    got = {"prm_best": 0, "min_step_best": 0, "prm_vote": 0, "min_step_vote": 0}
    for p in range(3):
        s = [r for r in rows[4 * p:4 * p + 4] if r["sample"] < l["samples"]]
        got["prm_best"] += s[best(s, "score")]["correct"]
        got["min_step_best"] += s[best(s, "min_step")]["correct"]
        for k, key in (("prm_vote", "score"), ("min_step_vote", "min_step")):
            v = vote(s, key)
            got[k] += v is not None and s[v]["correct"]
        seen += sum(r["answer"] is not None for r in s)
    for k in got: assert abs(l[k] - got[k] / 3) < 5e-5, (k, l, got)
assert all(r["min_step"] is None or r["min_step"] <= 1 for r in rows), rows
 ' "$out" "$tmp/bon_samples.jsonl"
expect_run 0 "best-of-n, batch 3: the same" -- "$fx" "${bon[@]}" --n 4 --batch 3
expect_run 0 "batch-size invariance" -- test "$one" = "$out"
# Merged experts as the policy (docs/pcm.md): sampled through the continuous-batching engine, the
# same whatever the batch; one-hot on an expert, the samples the policy alone draws in the engine
# (fluxrl generate's, not the static decoder's: their draws may differ), so the lines need not
# equal the single-policy run's, only their form and the batch invariance.
mbon=(best-of-n --experts "$tmp/m/lm,$tmp/m/lm" --preference 0.3,0.7 --prm "$tmp/m/class2" --ops 1 --digits 1
      --problems 3 --max-new 24 --seed 2 --n 4)
expect_run 0 "best-of-n with merged experts" -- "$fx" "${mbon[@]}"
merged=$out
expect_run 0 "three lines of the same form" -- /usr/bin/python3 -c '
import json, sys
lines = [json.loads(l) for l in sys.argv[1].splitlines()]
assert [l["samples"] for l in lines] == [1, 2, 4] and all(l["problems"] == 3 for l in lines), lines' "$merged"
expect_run 0 "best-of-n with merged experts, batch 3" -- "$fx" "${mbon[@]}" --batch 3
expect_run 0 "merged: batch-size invariance" -- test "$merged" = "$out"
expect_run 2 "best-of-n with --policy and --experts" -- "$fx" "${mbon[@]}" --policy "$tmp/m/lm"
expect_contains "$err" "--policy and --experts / --pcm: expected one of them, got both" "named"
printf '{"question": "Compute 1+1.", "answer": "2"}\n{"question": "Compute 2+2.", "answer": "4"}\n' >"$tmp/d.jsonl"
expect_run 0 "best-of-n on JSONL" -- "$fx" best-of-n --policy "$tmp/m/lm" --prm "$tmp/m/class2" --data "$tmp/d.jsonl" --n 2 --max-new 8
expect_contains "$out" '{"problems": 2, "samples": 2, "prm_best": ' "two problems"
# Without --prm: the same samples' pass@1, majority and pass@N (the PRM run's), no PRM fields.
expect_run 0 "best-of-n without --prm" -- "$fx" best-of-n --policy "$tmp/m/lm" --ops 1 --digits 1 --problems 3 \
    --max-new 24 --seed 2 --n 4 --out "$tmp/bon_noprm.jsonl"
expect_run 0 "the PRM run's accuracies, prm_best, within_auroc and prm null" -- /usr/bin/python3 -c '
import json, sys
a = [json.loads(l) for l in sys.argv[1].splitlines()]
b = [json.loads(l) for l in sys.argv[2].splitlines()]
assert len(a) == len(b) == 3, (a, b)
for x, y in zip(a, b):
    assert [x[k] for k in ("problems", "samples", "pass@1", "majority", "pass@n")] == \
           [y[k] for k in ("problems", "samples", "pass@1", "majority", "pass@n")], (x, y)
    assert y["prm_best"] is None and y["within_auroc"] is None and y["prm"] is None and y["pairs"] == 0, y
    assert y["prm_vote"] is None and y["min_step_best"] is None and y["min_step_vote"] is None, y
rows = [json.loads(l) for l in open(sys.argv[3])]
assert len(rows) == 12 and all(r["score"] is None and r["min_step"] is None for r in rows), rows' "$one" "$out" "$tmp/bon_noprm.jsonl"
expect_run 2 "best-of-n: --prm-system without --prm" -- "$fx" best-of-n --policy "$tmp/m/lm" --prm-system "S"
expect_contains "$err" "--trajectory-separator / --prm-system: they tell a PRM how to read, and no --prm is given" "named"
expect_run 2 "best-of-n without --policy" -- "$fx" best-of-n --prm "$tmp/m/class2"
expect_contains "$err" "--policy (or --experts) is required" "named"
expect_run 2 "best-of-n with a language model as PRM" -- "$fx" "${bon[@]}" --prm "$tmp/m/lm"
expect_contains "$err" "a PRM needs a process-reward or reward head" "refused"
expect_run 2 "best-of-n: bad --n" -- "$fx" "${bon[@]}" --n 0

# prm-train on the policy's own traces (prm.data) and with template-guided trajectory targets.
pt=("${small[@]}" --set "model.path=$tmp/m/lm" --set prm.steps=2 --set prm.batch=2 --set prm.eval_every=0 --set prm.eval_traces=4)
expect_run 0 "prm-train with prm.data" -- "$fx" prm-train "$src/configs/demo.json" "${pt[@]}" --set run.name=pd \
    --set "prm.data=$tmp/pool.h5" --set prm.data_share=1
expect_contains "$err" "6 traces from $tmp/pool.h5" "pool read"
expect_run 2 "prm.data: every trace longer than model.max_seq stops (bad input: exit 2), never hangs" -- timeout 120 "$fx" prm-train \
    "$src/configs/demo.json" "${pt[@]}" --set run.name=pl --set "prm.data=$tmp/pool.h5" --set prm.data_share=1 \
    --set model.max_seq=16
expect_contains "$err" "longer than model.max_seq = 16 tokens" "said why"
expect_run 0 "prm-train with template rollouts" -- "$fx" prm-train "$src/configs/demo.json" "${pt[@]}" --set run.name=tg \
    --set prm.template_rollouts=2
expect_run 0 "targets logged" -- grep -q '"final_target": ' "$tmp/tg/metrics.jsonl"
# Training that PRM further with template targets: the rollouts need the policy, not the PRM.
expect_run 2 "template rollouts by a PRM folder: bad input" -- "$fx" prm-train "$src/configs/demo.json" "${pt[@]}" \
    --set run.name=tg2 --set "model.path=$tmp/tg/model" --set prm.template_rollouts=2
expect_contains "$err" "prm.template_rollouts: the rollouts' policy $tmp/tg/model (prm.policy_path, else model.path) is not a causal language model" "named the folder and key"
expect_run 0 "template rollouts by prm.policy_path while training a PRM further" -- "$fx" prm-train \
    "$src/configs/demo.json" "${pt[@]}" --set run.name=tg3 --set "model.path=$tmp/tg/model" --set prm.template_rollouts=2 \
    --set "prm.policy_path=$tmp/m/lm"
expect_run 2 "prm.data: not a built-in prompt" -- "$fx" prm-train "$src/configs/demo.json" "${pt[@]}" --set run.name=pb \
    --set "prm.data=$tmp/d.jsonl"
expect_contains "$err" "d.jsonl:1: " "file and line"
# prm-train checkpoints and --resume auto: resumed from its step-4 checkpoint (with template
# rollouts, whose targets depend on where the stream is), it logs what the uninterrupted run logged
# and writes the same PRM; SIGTERM stops it with a checkpoint and exit code 3.
pc=("${pt[@]}" --set prm.steps=8 --set prm.checkpoint_every=2 --set run.keep_checkpoints=10 --set prm.template_rollouts=2)
expect_run 0 "prm-train, uninterrupted" -- "$fx" prm-train "$src/configs/demo.json" "${pc[@]}" --set run.name=pr
expect_run 0 "prm checkpoints 2..6 kept" -- test "$(ls "$tmp/pr/checkpoints" | tr '\n' ' ')" = \
    "step-00000002.h5 step-00000004.h5 step-00000006.h5 "
cp -r "$tmp/pr" "$tmp/pp"
rm "$tmp/pp/checkpoints/step-00000006.h5" "$tmp/pp/model/model.safetensors"
expect_run 0 "prm-train resumed from step 4" -- "$fx" prm-train "$src/configs/demo.json" "${pc[@]}" --set run.name=pp \
    --resume auto
expect_contains "$err" "(step 4)" "resumed at 4"
expect_run 0 "resumed PRM metrics = uninterrupted" -- cmp "$tmp/pr/metrics.jsonl" "$tmp/pp/metrics.jsonl"
expect_run 0 "resumed PRM = uninterrupted PRM" -- cmp "$tmp/pr/model/model.safetensors" "$tmp/pp/model/model.safetensors"
"$fx" prm-train "$src/configs/demo.json" "${pt[@]}" --set run.name=pt --set prm.steps=1000000 --set prm.checkpoint_every=0 \
    >/dev/null 2>"$tmp/pt.err" &
pid=$!
for _ in $(seq 300); do grep -q '"step": 3,' "$tmp/pt/metrics.jsonl" 2>/dev/null && break; sleep 0.1; done
kill -TERM $pid
wait $pid
code=$?
expect_run 0 "prm-train: exit code 3 after SIGTERM (got $code)" -- test "$code" -eq 3
expect_run 0 "prm-train: a checkpoint written at the stop" -- test -n "$(ls "$tmp/pt/checkpoints")"
finish test_select
