#!/usr/bin/env bash
# demo.sh — the main job on the embedded default (configs/demo.json), from a fresh clone:
# dependencies, the build, then
#   1. the launch: `fluxrl ranks` under mpirun with one rank per role (trainer, rollout, reward),
#      collectives checked on every role, the resolved config written to runs/demo/;
#   2. supervised fine-tuning of a tiny Qwen2-shaped policy, from scratch, on the built-in
#      arithmetic task's traces (10% of their steps wrong on purpose)        -> runs/demo/
#   3. GRPO from that policy with the task's checker as reward (one process) -> runs/demo-grpo/
#   4. sampled evaluation of both policies on the same held-out problems (4 samples each:
#      pass@1, majority vote, pass@4): before and after RL;
#   5. learning curves as PNG files in runs/demo/plots/ and runs/demo-grpo/plots/.
# About 4 minutes on 2 cores. Extra arguments are --set overrides for every stage.
# Still to come in this job: the PRM's rewards and GRPO across the MPI ranks.
set -euo pipefail
cd "$(dirname "$0")/.."
launch/deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j"$(nproc)" >/dev/null
fx=build/fluxrl
cfg=configs/demo.json
get() { "$fx" config get "$cfg" "$1" "${@:2}"; }
out=$(get run.out_dir "$@")
sft="$out/$(get run.name "$@")"
rl="$sft-grpo"
echo "== 1/5 the launch: roles and collectives under mpirun"
launch/mpirun.sh "$cfg" "$@"
echo "== 2/5 supervised fine-tuning on the built-in task"
"$fx" sft "$cfg" "$@"
echo "== 3/5 GRPO from the fine-tuned policy"
"$fx" train "$cfg" "$@" --set "run.name=$(basename "$rl")" --set "model.path=$sft/model"
echo "== 4/5 sampled evaluation, before and after GRPO (the same problems and seeds)"
for policy in "$sft" "$rl"; do
    printf '%-24s ' "$(basename "$policy"):"
    "$fx" eval --model "$policy/model" --problems 200 --n 4 --temperature 1 --seed 1 \
        --ops "$(get task.ops "$@")" --digits "$(get task.digits "$@")" --operators "$(get task.operators "$@")" \
        --task-seed "$(get run.seed "$@")" --chat "$(get task.chat "$@")" 2>/dev/null | tee "$policy/eval.json"
done
echo "== 5/5 learning curves"
"$fx" plot "$sft"
"$fx" plot "$rl"
