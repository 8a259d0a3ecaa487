#!/usr/bin/env bash
# bench/pcm/bt_evidence.sh [OUT_DIR] — does a PCM trained on preference-weighted rewards
# (pcm.reward = bt, docs/pcm.md) follow the preference? Issue 18. The experts of
# bench/pcm/evidence.sh (strong: the demo's SFT policy; weak: 20 more SFT steps at lr 0.003, seed 7)
# and two opposed reward dimensions, bench/pcm/right_and_wrong.py: rewards = [right, wrong]. Each
# problem's preference is drawn uniformly from the simplex; each dimension is normalised against
# the strong expert's greedy response (pcm.reference = model), R = sum_i w_i sigmoid(r_i(y) -
# r_i(y_ref)). Beside it, the same PCM trained on the scalar outcome reward (pcm.reward = scalar:
# the preference carries no signal). SEEDS seeds (run.seed), STEPS updates each. Measured, greedy
# on the run's 200 held-out problems: the trained PCM's accuracy at w = (1, 0), (0.5, 0.5) and
# (0, 1). A PCM that reads the preference is accurate at (1, 0) (bound: the strong expert alone)
# and inaccurate at (0, 1) (bound: the weak expert alone); one that does not, the same at every w.
# Writes the section "PCM: following the preference" of docs/results.md.
set -euo pipefail
cd "$(dirname "$0")/../.."
out=${1:-runs/evidence-pcm} steps=${STEPS:-10} seeds=${SEEDS:-2} t_start=$(date +%s)
. bench/pcm/experts.sh # $fx, ${common[@]}, ${task[@]}, ${pcm[@]}, greedy_eval, and the two experts, made once in $out
for seed in $(seq 1 "$seeds"); do
    for kind in bt scalar; do
        run=$out/$kind-$seed
        if [ ! -f "$run/model/model.safetensors" ]; then
            echo "== PCM, pcm.reward = $kind, seed $seed" >&2
            extra=()
            [ "$kind" = bt ] && extra=(--set pcm.reward=bt --set reward.outcome=command
                                       --set "reward.command=/usr/bin/python3 bench/pcm/right_and_wrong.py")
            "$fx" train configs/demo.json "${common[@]}" "${pcm[@]}" "${extra[@]}" --set "run.name=$kind-$seed" \
                --set "run.seed=$seed" >/dev/null
        fi
        for pref in 1,0 0,1; do
            greedy_eval "$run/at-${pref%%,*}.json" "$seed" --pcm "$run/model" --preference "$pref"
        done
    done
done
summarise <<'PY'
import datetime, json, statistics
from results_section import evidence_args, write_section
out, steps, seeds, cores, minutes, cpu = evidence_args()
S = range(1, seeds + 1)
def at(kind, s, e):
    return json.load(open(f"{out}/{kind}-{s}/at-{e}.json"))["pass@1"]
def own(kind, s):  # the run's own last held-out evaluation, at 1/K each
    return [d["eval_answer_acc"] for d in map(json.loads, open(f"{out}/{kind}-{s}/metrics.jsonl")) if "eval_answer_acc" in d][-1]
pct = lambda xs: ", ".join(f"{100*x:.1f}" for x in xs)
lines = ["| pcm.reward | w = (1, 0) | w = (0.5, 0.5) | w = (0, 1) | (1, 0) minus (0, 1) |", "|---|---|---|---|---|"]
for kind in ("bt", "scalar"):
    a, m, b = [at(kind, s, 1) for s in S], [own(kind, s) for s in S], [at(kind, s, 0) for s in S]
    d = [x - y for x, y in zip(a, b)]
    lines.append(f"| {kind} | {pct(a)} (mean {100*statistics.mean(a):.1f}) | {pct(m)} (mean {100*statistics.mean(m):.1f}) "
                 f"| {pct(b)} (mean {100*statistics.mean(b):.1f}) | {pct(d)} (mean {100*statistics.mean(d):+.1f}) |")
table = "\n".join(lines)
print(table)
section = f"""<!-- pcm-bt: written by bench/pcm/bt_evidence.sh -->
## PCM: following the preference

`bench/pcm/bt_evidence.sh` (STEPS={steps}, SEEDS={seeds}), {datetime.date.today()}, on this project's
{cores}-core VM ({cpu}, no GPU; {minutes} minutes, runs already in OUT_DIR reused). The experts of
"PCM: learning to route" (strong: the demo's SFT policy; weak: 20 more SFT steps at lr 0.003). Two
opposed reward dimensions (bench/pcm/right_and_wrong.py: right, wrong), each problem at its own
preference drawn uniformly from the simplex, each dimension normalised against the strong expert's
greedy response: R = sum_i w_i sigmoid(r_i(y) - r_i(y_ref)) (`pcm.reward = bt`). Beside it the same
PCM trained on the outcome reward alone (`pcm.reward = scalar`), where the preference carries no
signal. A new PCM (hidden 32, 1 layer), GRPO, 8 prompts x 8 samples, lr 1e-3, {steps} updates. Greedy
held-out accuracy of the trained PCM (200 problems, the run's seed) at three preferences, per seed
(run.seed {", ".join(map(str, S))}), %; (0.5, 0.5) is the run's own final evaluation. A PCM that reads
the preference is accurate at (1, 0) (bound: the strong expert alone, about 50%) and inaccurate at
(0, 1) (bound: the weak expert alone, about 5%).

{table}
<!-- /pcm-bt -->
"""
write_section("pcm-bt", section)
PY
