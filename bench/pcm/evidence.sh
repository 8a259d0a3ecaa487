#!/usr/bin/env bash
# bench/pcm/evidence.sh [OUT_DIR] — does a PCM trained by `fluxrl train` learn to route? (issue 18,
# docs/pcm.md). Two experts of one tokenizer: `strong`, the demo's SFT policy (configs/demo.json),
# and `weak`, the same policy after 20 more SFT steps at the demo's peak learning rate 0.003 with
# another seed (it forgets most of the task). A new PCM (hidden 32, 1 layer) merges them and is
# trained with GRPO on the verifier's outcome reward, each problem at its own preference drawn
# uniformly from the simplex (one reward dimension: the preference carries no signal here, the
# context does), SEEDS seeds (run.seed: the PCM's initialisation, the RL problems and the held-out
# problems), STEPS updates each. Measured per seed, greedy, on the run's 200 held-out problems,
# every policy decoded through the same merged engine: the strong and the weak expert alone
# (one-hot preferences, bit-identical to each expert alone), uniform merging (alpha = 0.5, 0.5:
# the untrained baseline), and the trained PCM (its own evaluation at the end, preference 0.5, 0.5).
# The strong expert alone is the bound a router between these two can be expected to reach.
# Writes the section "PCM: learning to route" of docs/results.md. 58 minutes on 2 cores shared with two
# other jobs (2026-12-06), the SFT of the experts aside; less on an idle machine (not measured).
set -euo pipefail
cd "$(dirname "$0")/../.."
out=${1:-runs/evidence-pcm} steps=${STEPS:-10} seeds=${SEEDS:-3} t_start=$(date +%s)
. bench/pcm/experts.sh # $fx, ${common[@]}, ${task[@]}, ${pcm[@]}, greedy_eval, and the two experts, made once in $out
for seed in $(seq 1 "$seeds"); do
    run=$out/pcm-$seed
    if [ ! -f "$run/model/model.safetensors" ]; then
        echo "== PCM, seed $seed" >&2
        "$fx" train configs/demo.json "${common[@]}" "${pcm[@]}" --set "run.name=pcm-$seed" --set "run.seed=$seed" \
            >/dev/null
    fi
    for pref in 1,0 0,1; do
        greedy_eval "$run/alone-${pref%%,*}.json" "$seed" --preference "$pref"
    done
done
summarise <<'PY'
import datetime, json, statistics
from results_section import evidence_args, write_section
out, steps, seeds, cores, minutes, cpu = evidence_args()
S = range(1, seeds + 1)
def evals(s):
    return [d["eval_answer_acc"] for d in map(json.loads, open(f"{out}/pcm-{s}/metrics.jsonl")) if "eval_answer_acc" in d]
def alone(s, e):
    return json.load(open(f"{out}/pcm-{s}/alone-{e}.json"))["pass@1"]
rows = [("strong expert alone (the bound)", [alone(s, 1) for s in S]),
        ("weak expert alone", [alone(s, 0) for s in S]),
        ("uniform merge, alpha = (0.5, 0.5) (the PCM's start)", [evals(s)[0] for s in S]),
        (f"trained PCM after {steps} updates", [evals(s)[-1] for s in S])]
pct = lambda xs: ", ".join(f"{100*x:.1f}" for x in xs)
lines = ["| policy | held-out greedy accuracy (seeds " + ", ".join(map(str, S)) + ", %) | mean |", "|---|---|---|"]
for name, xs in rows:
    lines.append(f"| {name} | {pct(xs)} | {100*statistics.mean(xs):.1f} |")
table = "\n".join(lines)
print(table)
section = f"""<!-- pcm-route: written by bench/pcm/evidence.sh -->
## PCM: learning to route

`bench/pcm/evidence.sh` (STEPS={steps}, SEEDS={seeds}), {datetime.date.today()}, on this project's
{cores}-core VM ({cpu}, no GPU; {minutes} minutes, runs already in OUT_DIR reused). Two experts of one
tokenizer: the demo's SFT policy (strong) and the same policy after 20 more SFT steps at lr 0.003,
seed 7 (weak). A new PCM (hidden 32, 1 layer, 18,818 parameters) merges them token by token and is
trained by `fluxrl train` (GRPO, outcome reward of the verifier, 8 prompts x 8 samples, lr 1e-3,
each problem at its own preference drawn uniformly from the simplex). Greedy accuracy on the
run's 200 held-out problems, every row decoded by the same merged engine (an expert alone: the
one-hot preference, bit-identical to the expert by itself; the PCM: preference 0.5, 0.5).

{table}
<!-- /pcm-route -->
"""
write_section("pcm-route", section)
PY
