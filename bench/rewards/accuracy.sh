#!/usr/bin/env bash
# accuracy.sh [FLUXRL] — a GRPO run with reward.outcome = command (examples/rewards/sympy_equal.py)
# against the built-in verifier, same seed and config: held-out accuracy before and after, and the
# time per update (docs/rewards.md, "Does it train the same?"). Output in ${OUT:-/tmp/fluxrl-reward-acc}.
set -eu
src=$(cd "$(dirname "$0")/../.." && pwd)
fx=${1:-$src/build/fluxrl}
out=${OUT:-/tmp/fluxrl-reward-acc}
rm -rf "$out" && mkdir -p "$out"
common=(--set "run.out_dir=$out" --set run.seed=7 --set log.progress=off --set cluster.threads=2
        --set model.hidden_size=64 --set model.layers=2 --set model.heads=4 --set model.kv_heads=2
        --set model.intermediate_size=192 --set model.max_seq=128 --set task.ops=2 --set task.digits=1)
"$fx" sft "$src/configs/demo.json" "${common[@]}" --set run.name=sft --set sft.steps=300 --set sft.batch=16 \
    --set sft.lr=0.005 --set sft.min_lr=0.0005 --set sft.warmup=10 --set sft.eval_every=0 --set sft.eval_problems=16 \
    --set sft.checkpoint_every=0 >"$out/sft.log" 2>&1
tr=("${common[@]}" --set "model.path=$out/sft/model" --set grpo.steps=30 --set grpo.prompts=8 --set grpo.group_size=8
    --set grpo.max_new=96 --set grpo.lr=0.00003 --set grpo.warmup=0 --set grpo.eval_every=0 --set grpo.eval_problems=200
    --set grpo.minibatch=32 --set grpo.checkpoint_every=0)
for run in verifier sympy; do
    extra=()
    [ $run = sympy ] && extra=(--set reward.outcome=command --set "reward.command=/usr/bin/python3 $src/examples/rewards/sympy_equal.py")
    start=$(date +%s.%N)
    "$fx" train "$src/configs/demo.json" "${tr[@]}" "${extra[@]}" --set run.name=$run >"$out/$run.log" 2>&1
    end=$(date +%s.%N)
    printf '%-9s %s  (%.1f s)\n' $run "$(tail -1 "$out/$run.log")" "$(echo "$end - $start" | bc)"
done
cmp -s "$out/verifier/model/model.safetensors" "$out/sympy/model/model.safetensors" &&
    echo "final weights: identical" || echo "final weights: differ"
