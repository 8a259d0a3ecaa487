#!/usr/bin/env bash
# test_rewards.sh FLUXRL SRC VERIFIER_PLUGIN FAILING_PLUGIN — `fluxrl train` with each source of outcome rewards
# (docs/rewards.md), on a small SFT policy of the built-in task:
#   - reward.outcome = plugin with examples/rewards/verifier_plugin.c: metrics and final weights equal
#     the built-in verifier's run bit for bit (built-in task and a JSONL dataset);
#   - reward.outcome = command with examples/rewards/sympy_equal.py (2 workers), the shell example and
#     examples/rewards/code_exec.py on a tiny programming dataset: the runs finish, infos are logged;
#   - the same command run on a reward rank under mpirun equals the one-process run;
#   - a reward program that dies, hangs or writes garbage at every start after the first failure:
#     exit 1 after one retry, the message naming the request and quoting the program's stderr; no
#     reward process left behind, also when fluxrl itself is killed; the same failure on a reward
#     rank under mpirun ends the job with exit 1; a plugin that reports an error: exit 1 naming the
#     request and quoting it.
set -u
fx=$1 src=$2 plugin=$3 failing_plugin=$4
. "$src/tests/lib.sh"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
py=/usr/bin/python3
common=(--set "run.out_dir=$tmp" --set model.max_seq=96 --set task.ops=1 --set task.digits=1 --set cluster.threads=1
        --set log.progress=off)
expect_run 0 "a warm-start policy (SFT)" -- "$fx" sft "$src/configs/demo.json" "${common[@]}" --set run.name=s \
    --set model.hidden_size=64 --set model.layers=2 --set model.heads=4 --set model.kv_heads=2 \
    --set model.intermediate_size=128 --set sft.batch=16 --set sft.steps=400 --set sft.lr=0.005 --set sft.warmup=10 \
    --set sft.log_every=100 --set sft.eval_every=0 --set sft.eval_problems=16
tr=("${common[@]}" --set "model.path=$tmp/s/model" --set grpo.steps=4 --set grpo.prompts=4 --set grpo.group_size=4
    --set grpo.max_new=40 --set grpo.eval_every=2 --set grpo.eval_problems=16 --set grpo.minibatch=16
    --set grpo.lr=0.0001 --set grpo.checkpoint_every=0)
# Metrics without the wall-clock fields.
numbers() { sed 's/"time_[a-z_]*": [0-9.e+-]*, //g; s/, "rollout_tokens_per_s": [0-9.e+-]*//; s/, "sync_bytes": [0-9.e+-]*//' "$1"; }
same_run() { # same_run A B WHAT: the metrics and the final weights of runs A and B are equal
    expect_run 0 "$3: the same metrics" -- diff <(numbers "$tmp/$1/metrics.jsonl") <(numbers "$tmp/$2/metrics.jsonl")
    expect_run 0 "$3: the same weights" -- cmp "$tmp/$1/model/model.safetensors" "$tmp/$2/model/model.safetensors"
}

# --- the plugin reproduces the built-in verifier, bit for bit ---
expect_run 0 "train, verifier" -- "$fx" train "$src/configs/demo.json" "${tr[@]}" --set run.name=v
expect_run 0 "train, the verifier plugin" -- "$fx" train "$src/configs/demo.json" "${tr[@]}" --set run.name=p \
    --set reward.outcome=plugin --set "reward.plugin=$plugin"
same_run v p "plugin = verifier (built-in task)"
expect_run 0 "some rewards are 1 and some 0 (the comparison means something)" -- grep -q '"reward_mean": 0\.[0-9]' \
    "$tmp/v/metrics.jsonl"
expect_run 0 "the plugin's infos are logged" -- grep -q '"info":{"extracted":' "$tmp/p/reward_info.jsonl"
# A JSONL dataset of the same problems: "Compute a+b." with its answer, the gold as a worked solution.
$py - "$tmp/d.jsonl" <<'E'
import random, sys
r = random.Random(5)
with open(sys.argv[1], "w") as f:
    for i in range(40):
        a, b = r.randrange(10), r.randrange(10)
        op = r.choice("+-") if a >= b else "+"
        f.write('{"question": "Compute %d%s%d.", "answer": "so #### %d", "source": "t%d"}\n' % (a, op, b, a + b if op == "+" else a - b, i))
E
data=(--set "grpo.data=$tmp/d.jsonl" --set "grpo.eval_data=$tmp/d.jsonl")
expect_run 0 "train on JSONL, verifier" -- "$fx" train "$src/configs/demo.json" "${tr[@]}" "${data[@]}" --set run.name=vj
expect_run 0 "train on JSONL, the verifier plugin" -- "$fx" train "$src/configs/demo.json" "${tr[@]}" "${data[@]}" \
    --set run.name=pj --set reward.outcome=plugin --set "reward.plugin=$plugin"
same_run vj pj "plugin = verifier (JSONL)"

# --- reward dimensions from a plugin (ABI 2, pcm.reward = bt, docs/pcm.md) ---
# A PCM over two copies of the policy; the plugin writes the verifier's reward on both dimensions,
# and pcm.reference = none: R = sum_i w_i sigmoid(r) = sigmoid(r), so each update's reward_mean is
# accuracy * sigmoid(1) + (1 - accuracy) / 2, whatever the preference drawn.
expect_run 0 "train a PCM on the plugin's reward dimensions" -- "$fx" train "$src/configs/demo.json" "${tr[@]}" \
    --set run.name=bt --set "pcm.experts=$tmp/s/model,$tmp/s/model" --set model.path= --set model.hidden_size=16 \
    --set model.layers=1 --set model.heads=2 --set model.kv_heads=1 --set model.intermediate_size=32 \
    --set reward.outcome=plugin --set "reward.plugin=$plugin" --set pcm.reward=bt --set pcm.reference=none
expect_run 0 "reward_mean = accuracy * sigmoid(1) + (1 - accuracy) / 2" -- $py -c '
import json, math, sys
up = [d for d in map(json.loads, open(sys.argv[1])) if "loss" in d]
s1 = 1 / (1 + math.exp(-1))
assert len(up) == 4 and any(0 < d["accuracy"] < 1 for d in up), up
for d in up:
    assert abs(d["reward_mean"] - (d["accuracy"] * s1 + (1 - d["accuracy"]) / 2)) < 1e-6, d' "$tmp/bt/metrics.jsonl"

# --- external programs: SymPy (2 workers), shell, code execution ---
expect_run 0 "train with the SymPy reward server" -- "$fx" train "$src/configs/demo.json" "${tr[@]}" "${data[@]}" \
    --set run.name=sy --set reward.outcome=command --set reward.workers=2 \
    --set "reward.command=$py $src/examples/rewards/sympy_equal.py"
expect_run 0 "SymPy's infos are logged, with the meta's field" -- grep -q '"how":"sympy"' "$tmp/sy/reward_info.jsonl"
expect_run 0 "SymPy agrees with the verifier on these answers" -- diff <(numbers "$tmp/vj/metrics.jsonl") \
    <(numbers "$tmp/sy/metrics.jsonl")
# jq comes with launch/deps.sh: its absence fails here rather than skipping the shell examples
expect_run 0 "jq is installed (launch/deps.sh)" -- command -v jq
expect_run 0 "train with the shell example" -- "$fx" train "$src/configs/demo.json" "${tr[@]}" "${data[@]}" \
    --set run.name=sh --set reward.outcome=command --set "reward.command=sh $src/examples/rewards/contains_answer.sh"
printf '%s\n' '{"question": "Compute 1+2.", "answer": "", "tests": [{"input": "", "output": "3"}]}' \
    '{"question": "Compute 4+4.", "answer": "", "tests": [{"input": "", "output": "8"}]}' >"$tmp/code.jsonl"
expect_run 0 "train with the code-execution server" -- "$fx" train "$src/configs/demo.json" "${tr[@]}" \
    --set "grpo.data=$tmp/code.jsonl" --set run.name=ce --set grpo.steps=1 --set grpo.dynamic_rounds=0 \
    --set reward.outcome=command --set "reward.command=$py $src/examples/rewards/code_exec.py --time-limit 1 --memory-mb 128"
expect_run 0 "code execution ran each response on its tests" -- grep -q '"tests":1,"status":"' "$tmp/ce/reward_info.jsonl"
# The server itself: a right program, a wrong one, an endless loop, a memory hog.
out=$(printf '%s\n' \
    '{"id":1,"response":"</think>```python\na,b=map(int,input().split())\nprint(a+b)\n```","meta":{"tests":[{"input":"1 2\n","output":"3"},{"input":"5 -5\n","output":"0"}]}}' \
    '{"id":2,"response":"</think>print(3)","meta":{"tests":[{"input":"1 2\n","output":"3"},{"input":"5 -5\n","output":"0"}]}}' \
    '{"id":3,"response":"</think>while True: pass","meta":{"tests":[{"input":"","output":"3"}]}}' \
    '{"id":4,"response":"</think>x = bytearray(1 << 30)","meta":{"tests":[{"input":"","output":"3"}]}}' |
    $py "$src/examples/rewards/code_exec.py" --time-limit 1 --memory-mb 128)
expect_contains "$out" '"id": 1, "reward": 1.0' "code_exec: a right program"
expect_contains "$out" '"id": 2, "reward": 0.5' "code_exec: right on one test of two"
expect_contains "$out" '"status": "time limit"' "code_exec: the time limit"
expect_contains "$out" '"status": "memory limit"' "code_exec: the memory limit"

# --- the minimal programs of docs/protocol.md, as printed there ---
awk '/^```python$/{f=1; next} /^```$/{f=0} f' "$src/docs/protocol.md" >"$tmp/minimal.py"
awk '/^```sh$/{f=1; next} /^```$/{f=0} f' "$src/docs/protocol.md" >"$tmp/minimal.sh"
expect_run 0 "docs/protocol.md's Python program" -- "$fx" train "$src/configs/demo.json" "${tr[@]}" "${data[@]}" \
    --set run.name=mp --set reward.outcome=command --set "reward.command=$py $tmp/minimal.py"
expect_run 0 "docs/protocol.md's shell program" -- "$fx" train "$src/configs/demo.json" "${tr[@]}" "${data[@]}" \
    --set run.name=ms --set reward.outcome=command --set "reward.command=sh $tmp/minimal.sh"
same_run mp ms "the two minimal programs agree"

# --- the reward program on a reward rank (mpirun) computes what it computes in one process ---
faulty="$py $src/tests/rewards/faulty_reward.py"
cmd=(--set reward.outcome=command --set "reward.command=$faulty good 0")
expect_run 0 "train with a reward program, one process" -- "$fx" train "$src/configs/demo.json" "${tr[@]}" "${cmd[@]}" \
    --set run.name=c1
expect_run 0 "train with a reward program on a reward rank" -- timeout 300 "$src/launch/mpirun.sh" -np 3 "$fx" train \
    "$src/configs/demo.json" "${tr[@]}" "${cmd[@]}" --set run.name=c3 --set cluster.reward_ranks=1
same_run c1 c3 "reward rank = one process"
expect_run 0 "the reward rank logs its infos" -- test -s "$tmp/c3/reward_info.r2.jsonl"
# The program's step_rewards as process rewards (faulty_reward.py gives 0.5 to every step).
expect_run 0 "train on the program's step rewards" -- "$fx" train "$src/configs/demo.json" "${tr[@]}" "${cmd[@]}" \
    --set run.name=st --set grpo.advantage=process --set grpo.step_rewards=outcome
expect_run 0 "every step reward is the program's 0.5" -- grep -q '"step_reward_mean": 0.5, ' "$tmp/st/metrics.jsonl"
expect_run 1 "no step reward other than 0.5" -- sh -c 'grep -v "\"step_reward_mean\": 0.5, " "$1" | grep -q step_reward_mean' \
    _ "$tmp/st/metrics.jsonl"

# --- failures: exit 1 after one retry, the request named, the program's stderr quoted ---
no_orphans() { # no process of faulty_reward.py with this test's marker is left
    sleep 0.5
    expect_run 1 "$1: no reward process left behind" -- pgrep -f "faulty_reward.py .* $tmp/marker"
}
for mode in die hang garbage; do
    rm -f "$tmp/marker"
    expect_run 1 "a reward program that fails ($mode)" -- timeout 120 "$fx" train "$src/configs/demo.json" "${tr[@]}" \
        --set run.name=f --set reward.outcome=command --set reward.timeout=2 \
        --set "reward.command=$faulty $mode 20 $tmp/marker"
    expect_contains "$err" "restarting it once" "$mode: one retry"
    expect_contains "$err" "restarted once already: " "$mode: then the run stops"
    expect_contains "$err" "faulty_reward: failing ($mode) at request" "$mode: its stderr is quoted"
    case $mode in
        die) expect_contains "$err" "died) before answering" "die: named" ;;
        hang) expect_contains "$err" "no result within reward.timeout = 2 s" "hang: named" ;;
        garbage) expect_contains "$err" 'it wrote "this is not JSON", which is not a JSON object' "garbage: named" ;;
    esac
    expect_run 0 "$mode: the request is named" -- grep -Eq "request [0-9]+" <<<"$err"
    no_orphans "$mode"
done
# On a reward rank under mpirun: the rank brings the job down with exit 1.
rm -f "$tmp/marker"
expect_run 1 "a reward program that fails on a reward rank (mpirun)" -- timeout 120 "$src/launch/mpirun.sh" -np 3 "$fx" \
    train "$src/configs/demo.json" "${tr[@]}" --set run.name=fm --set reward.outcome=command \
    --set "reward.command=$faulty garbage 5 $tmp/marker"
expect_contains "$err" "[r2 reward" "the reward rank reports it"
expect_contains "$err" "restarted once already: while it held request 2000000" "the request is named (ids of rank 2)"
no_orphans "mpirun"
# A plugin that reports an error: exit 1 at once, naming the request, quoting the plugin.
expect_run 1 "a plugin that fails" -- "$fx" train "$src/configs/demo.json" "${tr[@]}" --set run.name=fp \
    --set reward.outcome=plugin --set "reward.plugin=$failing_plugin"
expect_contains "$err" "the plugin reports: cannot judge request 19" "the plugin's failure is named"
# One death only: the restarted program answers, and the run goes on.
rm -f "$tmp/marker"
expect_run 0 "a reward program that dies once" -- "$fx" train "$src/configs/demo.json" "${tr[@]}" --set run.name=d1 \
    --set reward.outcome=command --set "reward.command=$faulty die 20"
expect_contains "$err" "restarting it once" "the death is logged"
# fluxrl killed mid-run: its reward program goes with it.
"$fx" train "$src/configs/demo.json" "${tr[@]}" --set run.name=k --set reward.outcome=command \
    --set "reward.command=$faulty hang 1 $tmp/marker" >/dev/null 2>&1 &
pid=$!
for _ in $(seq 100); do pgrep -f "faulty_reward.py hang 1 $tmp/marker" >/dev/null && break; sleep 0.1; done
sleep 0.5
kill -KILL $pid
wait $pid 2>/dev/null
no_orphans "fluxrl killed"

finish test_rewards
