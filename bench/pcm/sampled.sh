#!/usr/bin/env bash
# bench/pcm/sampled.sh [OUT_DIR] — why the grid's PCMs go brief in the middle (docs/results.md,
# "PCM: the methods as training samples them"): GRPO maximises R over the PCM's own samples at the
# training temperature, while bench/pcm/grid.sh scores greedy responses. This decodes each
# expert, merging with alpha = w, and the trained PCMs (PCMS, grid.sh's run names without the seed;
# default pcm-prior0.05) at the training temperature (TEMPERATURE, default configs/pcm_demo.json's 1; N
# samples per problem, default 8; max_new 192 as in training) on the PROBLEMS held-out problems of
# run.seed 1, and writes, at each preference of the grid, each dimension's mean and R's mean (against
# the full expert's greedy response, as in training) next to the same methods decoded greedily.
# Needs grid.sh's OUT_DIR (its experts; its greedy files of seed 1 are reused, made when missing).
# DOCS=0: the table only.
set -euo pipefail
cd "$(dirname "$0")/../.."
out=${1:-runs/evidence-pcm-grid} temp=${TEMPERATURE:-1} n=${N:-8} problems=${PROBLEMS:-200} t_start=$(date +%s)
pcms=${PCMS-pcm-prior0.05}
fx=${FLUXRL_BIN:-build/fluxrl}
task=(--ops 3 --digits 2 --operators +-) # configs/demo.json's task
grid=(1,0 0.75,0.25 0.5,0.5 0.25,0.75 0,1)
experts="$out/full/model,$out/brief/model"
[ -f "$out/brief/model/model.safetensors" ] || { echo "no experts in $out: run bench/pcm/grid.sh $out first" >&2; exit 2; }
. bench/pcm/decode.sh
seeds=()
for p in $pcms; do
    for s in 1 2 3; do [ -f "$out/$p-$s/model/model.safetensors" ] && seeds+=("$p-$s"); done
done
sampled() { pcm_decode "$out" "t$temp-n$n-$1" 1 "$temp" "$n" 192 "${@:2}"; }
greedy() { pcm_decode "$out" "$1" 1 0 1 226 "${@:2}"; }
echo "== reference and experts" >&2
pcm_decode "$out" ref192 1 0 1 192 --model "$out/full/model"
for m in full brief; do sampled "$m" --model "$out/$m/model"; greedy "$m" --model "$out/$m/model"; done
for w in "${grid[@]}"; do
    echo "== w = ($w)" >&2
    sampled "uniform-$w" --experts "$experts" --preference "$w"
    greedy "uniform-$w" --experts "$experts" --preference "$w"
    for r in "${seeds[@]}"; do
        sampled "${r%-*}-$w-s${r##*-}" --experts "$experts" --pcm "$out/$r/model" --preference "$w"
        greedy "g-${r%-*}-$w-s${r##*-}" --experts "$experts" --pcm "$out/$r/model" --preference "$w"
    done
done
minutes=$((($(date +%s) - t_start) / 60))
PYTHONPATH=bench /usr/bin/python3 - "$out" "$temp" "$n" "$(nproc --all)" "$minutes" "$problems" "${grid[*]}" "${seeds[*]}" <<'PY'
import datetime, json, math, os, statistics, sys
from results_section import machine, write_section
out, temp, n, cores, minutes, problems, grid, runs = sys.argv[1:9]
n, problems, grid, runs = int(n), int(problems), grid.split(), runs.split()
sig = lambda x: 1 / (1 + math.exp(-x))
def load(name):
    return [json.loads(l) for l in open(f"{out}/eval/{name}-1.jsonl")]
ref = load("ref192")
assert [r["group"] for r in ref] == list(range(problems))
def summary(rows, w):
    # each sample against its problem's reference response: R = sum_i w_i sigmoid(r_i(y) - r_i(y_ref))
    R = [w[0] * sig(r["right"] - ref[r["group"]]["right"]) + w[1] * sig(r["brief"] - ref[r["group"]]["brief"])
         for r in rows]
    return (100 * statistics.mean(r["right"] for r in rows), statistics.mean(r["brief"] for r in rows),
            statistics.mean(R))
pcm_names = sorted({r.rsplit("-", 1)[0] for r in runs})
lines = [f"| w | method | sampled at T = {temp}: right, % | brief | R | greedy: right, % | brief | R |",
         "|---|---|---|---|---|---|---|---|"]
for g in grid:
    w = tuple(map(float, g.split(",")))
    methods = [("full expert alone", ["full"]), ("brief expert alone", ["brief"]),
               ("token merge, alpha = w", [f"uniform-{g}"])]
    for p in pcm_names:
        ss = [r.rsplit("-", 1)[1] for r in runs if r.rsplit("-", 1)[0] == p]
        methods.append((f"trained PCM `{p}` ({len(ss)} seeds)", [f"{p}-{g}-s{s}" for s in ss]))
    for label, names in methods:
        samp = [summary(load(f"t{temp}-n{n}-{x}"), w) for x in names]
        gre = [summary(load(x if x in ("full", "brief") or x.startswith("uniform-") else "g-" + x), w) for x in names]
        m = lambda xs, i: statistics.mean(x[i] for x in xs)
        lines.append(f"| ({g}) | {label} | {m(samp, 0):.1f} | {m(samp, 1):.3f} | {m(samp, 2):.3f} | "
                     f"{m(gre, 0):.1f} | {m(gre, 1):.3f} | {m(gre, 2):.3f} |")
table = "\n".join(lines)
print(table)
if os.environ.get("DOCS", "1") == "0": sys.exit(0)
tag = f"pcm-sampled-t{temp}"
section = f"""<!-- {tag}: written by bench/pcm/sampled.sh -->
## PCM: the methods as training samples them (temperature {temp})

`TEMPERATURE={temp} N={n} PCMS="{" ".join(pcm_names)}" bench/pcm/sampled.sh` ({datetime.date.today()}, this project's
{cores}-core VM, {machine()}, no GPU; {minutes} minutes, files already there reused). GRPO raises R over
the PCM's own samples at the training temperature; bench/pcm/grid.sh scores greedy responses. Here
the same methods on the {problems} held-out problems of run.seed 1: {n} samples per problem at
temperature {temp} (max_new 192, as in training) and the greedy response, R of each against the full
expert's greedy response (as in training; max_new 192), means over every response (the PCMs': over
their seeds too).

{table}
<!-- /{tag} -->
"""
write_section(tag, section)
PY
