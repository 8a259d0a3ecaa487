#!/usr/bin/env bash
# bench/pipeline/run.sh [SFT_MODEL [PRM_MODEL]] — the time of a GRPO update on the demo config
# (configs/demo.json: 8 prompts x 8 samples, 3 MPI ranks: trainer, rollout, reward), split into
# rollout (generation on the rollout rank), reward (scoring on the reward rank), train and sync,
# synchronous (rollout.max_policy_lag = 0) next to one-step-off (1), and the overlap efficiency
# max(rollout, train) / step time. SFT_MODEL defaults to runs/demo/model (made by
# `fluxrl sft configs/demo.json` when absent); with PRM_MODEL the reward rank also scores with the
# PRM (reward.beta = 0.3), as launch/demo.sh does. Prints one table; the first 3 updates are
# warm-up and left out. Needs an otherwise idle machine for numbers worth recording.
set -euo pipefail
cd "$(dirname "$0")/../.."
fx=${FLUXRL_BIN:-build/fluxrl}
sft=${1:-runs/demo/model}
prm=${2:-}
steps=${STEPS:-23}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
if [ ! -f "$sft/model.safetensors" ]; then
    echo "no policy at $sft: training one (fluxrl sft configs/demo.json)" >&2
    "$fx" sft configs/demo.json --set log.progress=off >/dev/null
    sft=runs/demo/model
fi
extra=()
[ -n "$prm" ] && extra=(--set "reward.prm_path=$prm" --set reward.beta=0.3)
for lag in 0 1; do
    FLUXRL_BIN=$fx FLUXRL_COMMAND=train launch/mpirun.sh configs/demo.json --set "run.out_dir=$out" \
        --set "run.name=lag$lag" --set "model.path=$sft" --set "grpo.steps=$steps" --set grpo.eval_every=0 \
        --set grpo.eval_problems=1 --set grpo.checkpoint_every=0 --set log.progress=off \
        --set "rollout.max_policy_lag=$lag" "${extra[@]}" >/dev/null 2>"$out/lag$lag.err" ||
        { cat "$out/lag$lag.err" >&2; exit 1; }
done
python3 - "$out" "$(nproc --all)" "${prm:+with PRM}" <<'PY'
import json, statistics, sys
out, cores, prm = sys.argv[1], sys.argv[2], sys.argv[3]
print(f"GRPO update time, configs/demo.json on 3 ranks (trainer, rollout, reward) {prm}, {cores} cores;"
      " seconds per update, mean over updates 4..")
print(f"{'mode':<22}{'rollout':>9}{'reward':>9}{'train':>9}{'sync':>9}{'wait':>9}{'step':>9}{'overlap eff.':>14}")
for lag, name in ((0, "synchronous"), (1, "one-step-off")):
    rows = [json.loads(l) for l in open(f"{out}/lag{lag}/metrics.jsonl")]
    rows = [d for d in rows if "loss" in d][3:]
    m = {k: statistics.mean(d[k] for d in rows) for k in
         ("time_rollout_s", "time_reward_s", "time_train_s", "time_sync_s", "time_wait_s", "time_step_s")}
    eff = max(m["time_rollout_s"], m["time_train_s"]) / m["time_step_s"]
    print(f"{name:<22}{m['time_rollout_s']:9.3f}{m['time_reward_s']:9.3f}{m['time_train_s']:9.3f}"
          f"{m['time_sync_s']:9.3f}{m['time_wait_s']:9.3f}{m['time_step_s']:9.3f}{eff:14.2f}")
PY
