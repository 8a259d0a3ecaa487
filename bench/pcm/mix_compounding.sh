#!/usr/bin/env bash
# bench/pcm/mix_compounding.sh [OUT_DIR] — why a PCM started near 1/K each collapses onto a brief
# expert (docs/results.md, "PCM: the preference grid"): token-level merging in probability space
# with a fixed alpha = (1 - eps, eps) over bench/pcm/grid.sh's experts (full: works every sum out;
# brief: answers at once). Each token of a long response is the brief expert's with probability
# about eps times its disagreement, so the full expert's work survives only (1 - eps)^n over the n
# tokens where the two disagree. Measured: sampled pass@1 (fluxrl eval, temperature 1, N samples on
# PROBLEMS held-out problems of task seeds 1..SEEDS) and greedy accuracy, at each eps of EPS. Needs
# the experts of grid.sh in OUT_DIR (default runs/evidence-pcm-grid: run grid.sh first).
# Writes the section "PCM: what a constant mix costs" of docs/results.md. About 10 minutes on the
# project's 2-core VM.
set -euo pipefail
cd "$(dirname "$0")/../.."
out=${1:-runs/evidence-pcm-grid} fx=${FLUXRL_BIN:-build/fluxrl}
problems=${PROBLEMS:-100} n=${N:-4} seeds=${SEEDS:-2}
read -r -a eps <<<"${EPS:-0 0.01 0.03 0.1 0.25 0.5}"
experts="$out/full/model,$out/brief/model"
[ -f "$out/brief/model/model.safetensors" ] || { echo "mix_compounding.sh: no experts in $out (run bench/pcm/grid.sh)" >&2; exit 2; }
mkdir -p "$out/mix"
t_start=$(date +%s)
for e in "${eps[@]}"; do
    w=$(/usr/bin/python3 -c "import sys; e = float(sys.argv[1]); print(f'{1 - e:g},{e:g}')" "$e")
    for seed in $(seq 1 "$seeds"); do
        f=$out/mix/$w-$seed
        [ -f "$f.sampled.json" ] || "$fx" eval --experts "$experts" --preference "$w" --ops 3 --digits 2 --operators +- \
            --task-seed "$seed" --problems "$problems" --n "$n" --temperature 1 --seed "$seed" --max-new 226 \
            >"$f.sampled.json" 2>/dev/null
        [ -f "$f.greedy.json" ] || "$fx" eval --experts "$experts" --preference "$w" --ops 3 --digits 2 --operators +- \
            --task-seed "$seed" --problems "$problems" --n 1 --temperature 0 --max-new 226 >"$f.greedy.json" 2>/dev/null
    done
done
minutes=$((($(date +%s) - t_start) / 60))
PYTHONPATH=bench /usr/bin/python3 - "$out" 0 "$seeds" "$(nproc --all)" "$minutes" "$problems" "$n" "${eps[*]}" <<'PY'
import datetime, json, math, sys
from results_section import evidence_args, write_section
out, _, seeds, cores, minutes, cpu = evidence_args()
problems, n, eps = int(sys.argv[6]), int(sys.argv[7]), [float(e) for e in sys.argv[8].split()]
S = range(1, seeds + 1)
def get(e, s, kind, key):
    return json.load(open(f"{out}/mix/{1 - e:g},{e:g}-{s}.{kind}.json"))[key]
base = sum(get(0.0, s, "sampled", "pass@1") for s in S) / seeds if 0.0 in eps else None
lines = ["| eps (the brief expert's weight) | sampled pass@1, % (per seed) | mean | greedy, % (per seed) | n_eff: (1 - eps)^n_eff = pass@1 / pass@1 at eps 0 |",
         "|---|---|---|---|---|"]
for e in eps:
    p = [get(e, s, "sampled", "pass@1") for s in S]
    g = [get(e, s, "greedy", "pass@1") for s in S]
    m = sum(p) / seeds
    neff = "—" if e == 0 or not base or m <= 0 else f"{math.log(m / base) / math.log(1 - e):.0f}"
    lines.append(f"| {e:g} | {', '.join(f'{100*x:.1f}' for x in p)} | {100*m:.1f} | {', '.join(f'{100*x:.1f}' for x in g)} | {neff} |")
table = "\n".join(lines)
print(table)
section = f"""<!-- pcm-mix: written by bench/pcm/mix_compounding.sh -->
## PCM: what a constant mix costs

`bench/pcm/mix_compounding.sh` (PROBLEMS={problems}, N={n}, SEEDS={seeds}), {datetime.date.today()}, on this
project's {cores}-core VM ({cpu}, no GPU; {minutes} minutes, evaluations already in OUT_DIR reused). bench/pcm/grid.sh's experts (full,
brief) merged token by token in probability space with a fixed alpha = (1 - eps, eps), no PCM:
sampled pass@1 at temperature 1 ({n} samples on each of {problems} held-out problems of task seeds
{", ".join(map(str, S))}: what GRPO's rollouts see) and greedy accuracy. A small constant weight on
the brief expert compounds over the tokens where the experts disagree: n_eff is the number of such
tokens that (1 - eps)^n_eff would take to explain the fall. It means something only while the fall
goes on: from about eps 0.25 most samples are the brief expert's own short answers, right about as
often as it is alone (4.5% greedy in the grid), which floors pass@1. A PCM that starts at 1/K each (eps 0.5)
or even at 0.9/0.1 samples almost no right answer, so the accuracy dimension of its reward carries
no signal and training follows brevity alone (the grid above); a router over long responses must
keep the other expert's weight far below 1/n where it should not speak.

{table}
<!-- /pcm-mix -->
"""
write_section("pcm-mix", section)
PY
