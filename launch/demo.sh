#!/usr/bin/env bash
# demo.sh — the main job on the embedded default (configs/demo.json), from a fresh clone:
# dependencies, the build, then
#   1. the launch: `fluxrl ranks` under mpirun with one rank per role (trainer, rollout, reward),
#      collectives checked on every role, the resolved config written to runs/demo/;
#   2. supervised fine-tuning of a tiny Qwen2-shaped policy, from scratch, on the built-in
#      arithmetic task's traces (10% of their steps wrong on purpose)          -> runs/demo/
#   3. a process reward model trained from that policy on checker-labelled traces with 30% of
#      their steps wrong (step and trajectory targets, ReasonFlux-PRM's loss)   -> runs/demo-prm/
#   4. GRPO from the SFT policy on 3 MPI ranks — a trainer, a rollout rank and a reward rank that
#      scores every sample with the verifier and the PRM, reward 0.7 outcome + 0.3 r^ — one step
#      off-policy (generation of update k+1 overlaps training on update k)    -> runs/demo-grpo/
#   5. sampled evaluation of both policies on the same held-out problems (4 samples each:
#      pass@1, majority vote, pass@4): before and after RL;
#   6. learning curves as PNG files in runs/demo*/plots/.
# About 8 minutes on 2 cores. Extra arguments are --set overrides for every stage.
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
prm="$sft-prm"
rl="$sft-grpo"
echo "== 1/6 the launch: roles and collectives under mpirun"
launch/mpirun.sh "$cfg" "$@"
echo "== 2/6 supervised fine-tuning on the built-in task"
"$fx" sft "$cfg" "$@"
echo "== 3/6 a process reward model from the fine-tuned policy"
"$fx" prm-train "$cfg" "$@" --set "run.name=$(basename "$prm")" --set "model.path=$sft/model"
echo "== 4/6 GRPO with PRM rewards on 3 MPI ranks (trainer, rollout, reward)"
FLUXRL_COMMAND=train launch/mpirun.sh "$cfg" "$@" --set "run.name=$(basename "$rl")" --set "model.path=$sft/model" \
    --set "reward.prm_path=$prm/model" --set reward.beta=0.3 --set rollout.max_policy_lag=1
echo "== 5/6 sampled evaluation, before and after GRPO (the same problems and seeds)"
for policy in "$sft" "$rl"; do
    printf '%-24s ' "$(basename "$policy"):"
    "$fx" eval --model "$policy/model" --problems 200 --n 4 --temperature 1 --seed 1 \
        --ops "$(get task.ops "$@")" --digits "$(get task.digits "$@")" --operators "$(get task.operators "$@")" \
        --task-seed "$(get run.seed "$@")" --chat "$(get task.chat "$@")" \
        --system "$(get task.system "$@")" --chat-vars "$(get task.chat_vars "$@")" 2>/dev/null | tee "$policy/eval.json"
done
echo "== 6/6 learning curves"
for run in "$sft" "$prm" "$rl"; do "$fx" plot "$run"; done
