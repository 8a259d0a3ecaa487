#!/usr/bin/env bash
# test_sft.sh FLUXRL SRC MAKE_TINY_MODELS — `fluxrl sft` end to end on a very small model: it trains (the loss
# falls), evaluates, writes metrics and a Hugging Face folder that fluxrl loads again; bad
# settings are refused with exit 2.
set -u
fx=$1 src=$2 tiny=$3
. "$src/tests/lib.sh"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
small=(--set "run.out_dir=$tmp" --set run.name=s --set model.hidden_size=32 --set model.layers=1 --set model.heads=2
       --set model.kv_heads=1 --set model.intermediate_size=64 --set model.max_seq=96 --set task.ops=1 --set task.digits=1
       --set sft.batch=8 --set sft.steps=40 --set sft.warmup=5 --set sft.log_every=10 --set sft.eval_every=20
       --set sft.eval_problems=8 --set cluster.threads=1)
expect_run 0 "sft runs" -- "$fx" sft "$src/configs/demo.json" "${small[@]}"
expect_contains "$out" "sft: 40 steps; held-out answers" "summary line"
expect_run 0 "4 loss lines and 2 evaluations" -- test "$(grep -c '"loss"' "$tmp/s/metrics.jsonl")" -eq 4 -a \
    "$(grep -c '"eval_answer_acc"' "$tmp/s/metrics.jsonl")" -eq 2
first=$(grep '"loss"' "$tmp/s/metrics.jsonl" | head -1 | sed 's/.*"loss": \([0-9.e-]*\).*/\1/')
last=$(grep '"loss"' "$tmp/s/metrics.jsonl" | tail -1 | sed 's/.*"loss": \([0-9.e-]*\).*/\1/')
expect_run 0 "the loss falls ($first -> $last)" -- awk -v a="$first" -v b="$last" 'BEGIN { exit !(b < a * 0.8) }'
expect_run 0 "the model folder is complete" -- test -f "$tmp/s/model/config.json" -a -f "$tmp/s/model/model.safetensors" \
    -a -f "$tmp/s/model/tokenizer.json" -a -f "$tmp/s/model/tokenizer_config.json"
expect_run 0 "fluxrl model info reads it" -- "$fx" model info "$tmp/s/model"
expect_contains "$out" "Qwen2ForCausalLM" "architecture"
echo '{"ids": [1, 2, 3]}' >"$tmp/ids.jsonl"
expect_run 0 "fluxrl logprobs runs on it" -- "$fx" logprobs --model "$tmp/s/model" --input "$tmp/ids.jsonl"
expect_contains "$out" '{"logprobs":' "log-probs printed"
expect_run 0 "the resolved config is kept" -- test -f "$tmp/s/config.json"
# fluxrl eval on the saved model: greedy n=1 gives one line, pass@1 once; sampled results do
# not depend on how rows are batched (each sample has its own RNG stream).
ev=(eval --model "$tmp/s/model" --ops 1 --digits 1 --problems 6 --max-new 48 --task-seed 1234)
expect_run 0 "eval greedy" -- "$fx" "${ev[@]}"
expect_contains "$out" '{"problems": 6, "samples": 1, "pass@1": ' "eval line"
expect_run 0 "pass@1 is printed once (no pass@N field for one sample)" -- test "$(grep -o 'pass@' <<<"$out" | wc -l)" = 1
expect_run 0 "eval sampled, batch 1" -- "$fx" "${ev[@]}" --n 3 --temperature 1 --top-p 0.9 --seed 5 --batch 1
one=$out
expect_run 0 "eval sampled, batch 7" -- "$fx" "${ev[@]}" --n 3 --temperature 1 --top-p 0.9 --seed 5 --batch 7
expect_run 0 "batch-size invariance of samples" -- test "$one" = "$out"
printf '{"question": "Compute 1+1.", "answer": "The sum is #### 2"}\n{"question": "Compute 2+2.", "answer": 4}\n' >"$tmp/d.jsonl"
expect_run 0 "eval on JSONL" -- "$fx" eval --model "$tmp/s/model" --data "$tmp/d.jsonl" --max-new 8
expect_contains "$out" '{"problems": 2, "samples": 1' "two problems"
printf '{"question": "Compute 1+1.", "answer": "2"}\n{"question": 3, "answer": "4"}\n' >"$tmp/bad.jsonl"
expect_run 2 "bad JSONL line" -- "$fx" eval --model "$tmp/s/model" --data "$tmp/bad.jsonl"
expect_contains "$err" "bad.jsonl:2: question: expected a string" "file, line and field"
expect_run 2 "eval without --model" -- "$fx" eval --problems 3
expect_run 2 "eval missing model" -- "$fx" eval --model "$tmp/none"
expect_run 2 "eval bad number" -- "$fx" eval --model "$tmp/s/model" --n two

# fluxrl generate: traces in an HDF5 store, identical whatever the batching.
gen=(generate --model "$tmp/s/model" --ops 1 --digits 1 --problems 3 --n 2 --temperature 1 --seed 9 --max-new 40)
expect_run 0 "generate, batch 6" -- "$fx" "${gen[@]}" --out "$tmp/a.h5" --batch 6
expect_contains "$out" "generate: 6 traces (3 problems x 2)" "summary"
expect_run 0 "generate, batch 1" -- "$fx" "${gen[@]}" --out "$tmp/b.h5" --batch 1
expect_run 0 "export a" -- "$fx" traces export "$tmp/a.h5" --out "$tmp/a.jsonl"
expect_run 0 "export b" -- "$fx" traces export "$tmp/b.h5" --out "$tmp/b.jsonl"
# Tokens, steps and rewards identical; log-probs equal up to float rounding (the matmuls of a
# batch of 6 and of 1 round differently in the last bits).
expect_run 0 "the same traces whatever the batch" -- /usr/bin/python3 -c '
import json, sys
a = [json.loads(l) for l in open(sys.argv[1])]
b = [json.loads(l) for l in open(sys.argv[2])]
assert len(a) == len(b) == 6
for x, y in zip(a, b):
    lx, ly = x.pop("logprobs"), y.pop("logprobs")
    assert x == y, (x, y)
    assert all(abs(u - v) <= 1e-5 * max(1.0, abs(v)) for u, v in zip(lx, ly)), (lx, ly)
' "$tmp/a.jsonl" "$tmp/b.jsonl"
expect_run 0 "traces info" -- "$fx" traces info "$tmp/a.h5"
expect_contains "$out" "traces     6" "six traces"
expect_contains "$out" "groups     3" "three groups"
expect_run 2 "generate without --out" -- "$fx" generate --model "$tmp/s/model"
expect_contains "$err" "--out is required" "named"

# Stop strings, also across token boundaries: a sample ends with the token that completes one.
expect_run 0 "stop strings" -- /usr/bin/python3 - "$fx" "$tmp" <<'PY'
import json, subprocess, sys
fx, tmp = sys.argv[1], sys.argv[2]
def gen(extra, out):
    subprocess.run([fx, "generate", "--model", tmp + "/s/model", "--ops", "1", "--digits", "1", "--problems", "1",
                    "--max-new", "30", "--out", out] + extra, check=True, capture_output=True)
    return json.loads(subprocess.run([fx, "traces", "export", out], check=True, capture_output=True, text=True).stdout)
def dec(ids):
    r = subprocess.run([fx, "tokenize", "--tokenizer", tmp + "/s/model", "--decode"], input=json.dumps({"ids": ids}) + "\n",
                       check=True, capture_output=True, text=True)
    return json.loads(r.stdout)["text"]
free = gen([], tmp + "/free.h5")
ids = free["response_ids"]
texts = [dec(ids[:n]) for n in range(len(ids) + 1)]
# a 3-character stop string whose characters come from at least two tokens
n = next(n for n in range(3, len(ids) + 1) if len(texts[n]) >= 3 and len(texts[n]) - len(texts[n - 1]) < 3)
stop = texts[n][-3:]
first = next(k for k in range(len(ids) + 1) if stop in texts[k])
got = gen(["--stop", stop], tmp + "/stop.h5")
assert got["response_ids"] == ids[:first], (stop, got["response_ids"], ids[:first])
assert got["finish"] == "stop", got["finish"]
print("stop", repr(stop), "after", first, "tokens")
PY

# fluxrl prm-score: on the generated traces (HDF5) and on JSONL, with both read-outs.
expect_run 0 "tiny PRMs" -- "$tiny" "$tmp/prm"
expect_run 0 "prm-score on traces" -- "$fx" prm-score --prm "$tmp/prm/class2" --input "$tmp/a.h5"
expect_contains "$out" '{"index": 5, "step_rewards": [' "last trace scored"
expect_run 0 "one line per trace" -- test "$(printf '%s\n' "$out" | grep -c '"step_rewards"')" -eq 6
printf '{"problem": "Compute 1+2.", "steps": ["1+2: 1+2=3, 1+2=3", "The answer is 3."]}\n{"problem": "Compute 1+2.", "response": "<think>\\n1+2: 1+2=3, 1+2=3\\n</think>\\nThe answer is 3."}\n' >"$tmp/p.jsonl"
for kind in class2 scalar; do
    expect_run 0 "prm-score $kind on JSONL" -- "$fx" prm-score --prm "$tmp/prm/$kind" --input "$tmp/p.jsonl" --alpha 0.5
    # steps given as a list or as a response split at blank lines: the same scores
    l1=$(printf '%s\n' "$out" | sed -n 1p | sed 's/"index": 0/"index": X/')
    l2=$(printf '%s\n' "$out" | sed -n 2p | sed 's/"index": 1/"index": X/')
    expect_run 0 "$kind: steps and response agree" -- test -n "$l1" -a "$l1" = "$l2"
done
printf '{"problem": "Compute 1+2.", "steps": [3]}\n' >"$tmp/pbad.jsonl"
expect_run 2 "prm-score bad line" -- "$fx" prm-score --prm "$tmp/prm/class2" --input "$tmp/pbad.jsonl"
expect_contains "$err" "pbad.jsonl:1: steps: expected an array of strings" "file, line, field"
expect_run 2 "prm-score with a language model" -- "$fx" prm-score --prm "$tmp/prm/lm" --input "$tmp/p.jsonl"
expect_contains "$err" "a PRM needs a process-reward or reward head" "refused"
expect_run 2 "prm-score without --input" -- "$fx" prm-score --prm "$tmp/prm/class2"

# Checkpoints and --resume auto: a run resumed from its step-30 checkpoint logs exactly what the
# uninterrupted run logged (time-based throughput aside), with no step repeated or lost.
ck=("${small[@]}" --set sft.steps=60 --set sft.checkpoint_every=10 --set run.keep_checkpoints=10 --set sft.eval_every=0)
expect_run 0 "uninterrupted run" -- "$fx" sft "$src/configs/demo.json" "${ck[@]}" --set run.name=r
expect_run 0 "checkpoints 10..50 kept" -- test "$(ls "$tmp/r/checkpoints" | tr '\n' ' ')" = \
    "step-00000010.h5 step-00000020.h5 step-00000030.h5 step-00000040.h5 step-00000050.h5 "
cp -r "$tmp/r" "$tmp/p"
rm "$tmp/p/checkpoints/step-00000040.h5" "$tmp/p/checkpoints/step-00000050.h5" "$tmp/p/model/model.safetensors"
expect_run 0 "resume from step 30" -- "$fx" sft "$src/configs/demo.json" "${ck[@]}" --set run.name=p --resume auto
expect_contains "$err" "resuming from $tmp/p/checkpoints/step-00000030.h5 (step 30)" "resumed where expected"
strip() { sed 's/, "train_tokens_per_s": [0-9.e+-]*//' "$1"; }
expect_run 0 "resumed metrics equal the uninterrupted ones" -- test "$(strip "$tmp/p/metrics.jsonl")" = "$(strip "$tmp/r/metrics.jsonl")"
expect_run 0 "steps logged once each" -- test "$(grep -o '"step": [0-9]*' "$tmp/p/metrics.jsonl" | tr '\n' ' ')" = \
    '"step": 10 "step": 20 "step": 30 "step": 40 "step": 50 "step": 60 "step": 60 '
expect_run 0 "the same final weights" -- cmp "$tmp/p/model/model.safetensors" "$tmp/r/model/model.safetensors"
expect_run 2 "bad --resume" -- "$fx" sft "$src/configs/demo.json" "${ck[@]}" --resume sometimes
# SIGTERM: the run stops after its step with a checkpoint and exit code 3; --resume auto goes on.
"$fx" sft "$src/configs/demo.json" "${small[@]}" --set run.name=t --set sft.steps=1000000 --set sft.checkpoint_every=0 \
    --set sft.eval_every=0 >"$tmp/t.out" 2>"$tmp/t.err" &
pid=$!
for _ in $(seq 100); do grep -q '"step": 10,' "$tmp/t/metrics.jsonl" 2>/dev/null && break; sleep 0.1; done
kill -TERM $pid
wait $pid
code=$?
expect_run 0 "exit code 3 after SIGTERM (got $code)" -- test "$code" -eq 3
expect_contains "$(cat "$tmp/t.err")" "stopped by signal 15 after step" "the stop is logged"
expect_run 0 "a checkpoint was written" -- test -n "$(ls "$tmp/t/checkpoints")"
stop=$(ls "$tmp/t/checkpoints" | sed 's/step-0*\([0-9]*\).h5/\1/')
expect_run 0 "resume after SIGTERM" -- "$fx" sft "$src/configs/demo.json" "${small[@]}" --set run.name=t \
    --set sft.steps=$((stop + 10)) --set sft.eval_every=0 --resume auto
expect_contains "$err" "(step $stop)" "resumed at the stop"

# fluxrl train (GRPO, one process) from the SFT model: runs, logs rewards and evaluations, saves.
expect_run 0 "train" -- "$fx" train "$src/configs/demo.json" "${small[@]}" --set run.name=g --set "model.path=$tmp/s/model" \
    --set grpo.steps=3 --set grpo.prompts=2 --set grpo.group_size=4 --set grpo.max_new=40 --set grpo.eval_every=2 \
    --set grpo.eval_problems=4 --set grpo.minibatch=3
expect_contains "$out" "train: 3 GRPO updates; held-out answers" "summary"
expect_run 0 "3 update lines, evaluations at 0, 2 and 3" -- test "$(grep -c '"reward_mean"' "$tmp/g/metrics.jsonl")" -eq 3 -a \
    "$(grep -o '"step": [0-9]*, "eval' "$tmp/g/metrics.jsonl" | tr '\n' ' ')" = '"step": 0, "eval "step": 2, "eval "step": 3, "eval '
expect_run 0 "the trained policy is a complete folder" -- test -f "$tmp/g/model/model.safetensors" -a -f "$tmp/g/model/tokenizer.json"
expect_run 0 "train with a KL penalty and an entropy bonus" -- "$fx" train "$src/configs/demo.json" "${small[@]}" \
    --set run.name=k --set "model.path=$tmp/s/model" --set grpo.steps=2 --set grpo.prompts=2 --set grpo.group_size=4 \
    --set grpo.max_new=40 --set grpo.eval_every=0 --set grpo.eval_problems=4 --set grpo.kl_beta=0.1 \
    --set grpo.kl_estimator=k2 --set grpo.entropy_beta=0.01 --set grpo.dynamic_sampling=false
expect_run 0 "kl 0 on the first update (the reference is the starting policy)" -- grep -q '"step": 1, .*"kl": 0, "entropy": [1-9]' "$tmp/k/metrics.jsonl"
expect_run 0 "train with process advantages (the checker's step rewards)" -- "$fx" train "$src/configs/demo.json" \
    "${small[@]}" --set run.name=pa --set "model.path=$tmp/s/model" --set grpo.steps=2 --set grpo.prompts=2 \
    --set grpo.group_size=4 --set grpo.max_new=40 --set grpo.eval_every=0 --set grpo.eval_problems=4 \
    --set grpo.advantage=process
expect_run 0 "step rewards logged" -- grep -q '"step_reward_mean": [0-9]' "$tmp/pa/metrics.jsonl"
expect_run 0 "train with the REBEL objective, 2 minibatches" -- "$fx" train "$src/configs/demo.json" "${small[@]}" \
    --set run.name=rb --set "model.path=$tmp/s/model" --set grpo.steps=2 --set grpo.prompts=2 --set grpo.group_size=4 \
    --set grpo.max_new=40 --set grpo.eval_every=0 --set grpo.eval_problems=4 --set grpo.objective=rebel \
    --set grpo.rebel_eta=0.5 --set grpo.ppo_minibatches=2 --set grpo.dynamic_sampling=false
expect_run 0 "REBEL: a loss >= 0 (a sum of squares) on both updates" -- test \
    "$(grep -cE '"step": [12], .*"loss": [0-9]' "$tmp/rb/metrics.jsonl")" -eq 2
# train checkpoints: resumed from update 2, it logs what the uninterrupted run logged (times
# aside) and ends with the same weights.
tr=("${small[@]}" --set "model.path=$tmp/s/model" --set grpo.steps=6 --set grpo.prompts=2 --set grpo.group_size=4
    --set grpo.max_new=40 --set grpo.eval_every=0 --set grpo.eval_problems=4 --set grpo.checkpoint_every=2
    --set run.keep_checkpoints=10 --set grpo.dynamic_sampling=false)
expect_run 0 "train, uninterrupted" -- "$fx" train "$src/configs/demo.json" "${tr[@]}" --set run.name=tr
cp -r "$tmp/tr" "$tmp/tp"
rm "$tmp/tp/checkpoints/step-00000004.h5"
expect_run 0 "train, resumed from update 2" -- "$fx" train "$src/configs/demo.json" "${tr[@]}" --set run.name=tp --resume auto
expect_contains "$err" "(step 2)" "resumed at 2"
tstrip() { sed -E 's/, "time_[a-z]+_s": [^,}]*//g; s/, "rollout_tokens_per_s": [^,}]*//; s/, "sync_bytes": [^,}]*//' "$1"; }
expect_run 0 "the same metrics" -- test "$(tstrip "$tmp/tp/metrics.jsonl")" = "$(tstrip "$tmp/tr/metrics.jsonl")"
expect_run 0 "the same weights" -- cmp "$tmp/tp/model/model.safetensors" "$tmp/tr/model/model.safetensors"
expect_run 2 "group size 1 refused" -- "$fx" train "$src/configs/demo.json" "${small[@]}" --set grpo.group_size=1
expect_contains "$err" "grpo.group_size: expected an integer in [2, 4096], got \"1\"" "named"

# fluxrl prm-train from the SFT policy's backbone: a PRM folder that prm-score loads.
expect_run 0 "prm-train" -- "$fx" prm-train "$src/configs/demo.json" "${small[@]}" --set run.name=pt \
    --set "model.path=$tmp/s/model" --set prm.steps=4 --set prm.batch=4 --set prm.eval_every=2 --set prm.eval_traces=8
expect_contains "$out" "prm-train: 4 steps; held-out step AUROC" "summary"
expect_run 0 "a Qwen2ForProcessRewardModel" -- grep -q Qwen2ForProcessRewardModel "$tmp/pt/model/config.json"
expect_run 0 "prm-score loads the trained PRM" -- "$fx" prm-score --prm "$tmp/pt/model" --input "$tmp/p.jsonl"
# prm.layout policy: the folder says so, and prm-score reads it in that layout (its scores differ
# from the same PRM read in the published layout, which it was not trained on).
expect_run 0 "prm-train, policy layout" -- "$fx" prm-train "$src/configs/demo.json" "${small[@]}" --set run.name=ptp \
    --set "model.path=$tmp/s/model" --set prm.steps=4 --set prm.batch=4 --set prm.eval_every=0 --set prm.eval_traces=8 \
    --set prm.layout=policy
expect_run 0 "marked policy" -- /usr/bin/python3 -c 'import json, sys; assert json.load(open(sys.argv[1]))["fluxrl_prm"] == {"input": "policy", "trajectory_separator": True}' "$tmp/ptp/model/config.json"
expect_run 0 "prm-score, policy layout" -- "$fx" prm-score --prm "$tmp/ptp/model" --input "$tmp/p.jsonl"
pol=$out
mkdir -p "$tmp/ptc" && cp -r "$tmp/ptp/model/." "$tmp/ptc/"
/usr/bin/python3 -c 'import json, sys; p = sys.argv[1]; c = json.load(open(p)); c["fluxrl_prm"]["input"] = "chatml"; json.dump(c, open(p, "w"))' "$tmp/ptc/config.json"
expect_run 0 "prm-score, the same PRM read as chatml" -- "$fx" prm-score --prm "$tmp/ptc" --input "$tmp/p.jsonl"
expect_run 0 "the layouts score differently" -- test -n "$pol" -a "$out" != "$pol"
/usr/bin/python3 -c 'import json, sys; p = sys.argv[1]; c = json.load(open(p)); c["fluxrl_prm"]["input"] = "tokens"; json.dump(c, open(p, "w"))' "$tmp/ptc/config.json"
expect_run 2 "an unknown layout" -- "$fx" prm-score --prm "$tmp/ptc" --input "$tmp/p.jsonl"
expect_contains "$err" "config.json: fluxrl_prm.input: expected \"chatml\", \"policy\" or \"template\", got \"tokens\"" "named"
# A PRM trained further keeps its layout: the other one is refused, its own trains.
expect_run 2 "a policy-layout PRM trained further in the published layout" -- "$fx" prm-train "$src/configs/demo.json" \
    "${small[@]}" --set run.name=ptx --set "model.path=$tmp/ptp/model" --set prm.steps=2 --set prm.batch=4 --set prm.eval_every=0
expect_contains "$err" "prm.layout: $tmp/ptp/model/config.json says fluxrl_prm.input \"policy\"" "named"
expect_run 0 "no run folder left" -- test ! -e "$tmp/ptx/model"
expect_run 0 "a policy-layout PRM trained further in its layout" -- "$fx" prm-train "$src/configs/demo.json" "${small[@]}" \
    --set run.name=pty --set "model.path=$tmp/ptp/model" --set prm.steps=2 --set prm.batch=4 --set prm.eval_every=0 \
    --set prm.layout=policy
expect_run 2 "a published-layout PRM trained further in the policy layout" -- "$fx" prm-train "$src/configs/demo.json" \
    "${small[@]}" --set run.name=ptz --set "model.path=$tmp/pt/model" --set prm.steps=2 --set prm.batch=4 \
    --set prm.eval_every=0 --set prm.layout=policy
expect_contains "$err" "fluxrl_prm.input \"chatml\": the PRM was trained in the published layout; set prm.layout published" "named"
expect_run 2 "prm.layout checked" -- "$fx" prm-train "$src/configs/demo.json" "${small[@]}" --set "model.path=$tmp/s/model" \
    --set prm.layout=tokens
expect_contains "$err" "prm.layout" "named"
expect_run 2 "prm-train needs model.path" -- "$fx" prm-train "$src/configs/demo.json" "${small[@]}"
expect_contains "$err" "model.path: expected the folder of a model" "named"

# Starting from the saved folder (model.path) continues training it.
expect_run 0 "sft from a Hugging Face folder" -- "$fx" sft "$src/configs/demo.json" "${small[@]}" --set run.name=s2 \
    --set "model.path=$tmp/s/model" --set sft.steps=5 --set sft.eval_every=0
expect_run 0 "its saved folder has the tokenizer too" -- cmp "$tmp/s2/model/tokenizer.json" "$tmp/s/model/tokenizer.json"
expect_run 2 "heads must divide hidden_size" -- "$fx" sft "$src/configs/demo.json" "${small[@]}" --set model.heads=3
expect_contains "$err" "model: heads (3) must divide hidden_size (32)" "named"
expect_run 2 "bad operators" -- "$fx" sft "$src/configs/demo.json" "${small[@]}" --set task.operators=/
expect_contains "$err" "operators" "operators named"
expect_run 2 "missing model folder" -- "$fx" sft "$src/configs/demo.json" "${small[@]}" --set "model.path=$tmp/none"
expect_run 2 "no config" -- "$fx" sft
finish test_sft
