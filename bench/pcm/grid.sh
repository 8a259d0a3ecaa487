#!/usr/bin/env bash
# bench/pcm/grid.sh [OUT_DIR] — the evidence of issue 18 (docs/results.md, "PCM: the preference
# grid"): a PCM trained with preference-weighted Bradley–Terry rewards against the baselines of
# the same code, on two dimensions in tension that code measures exactly
# (bench/pcm/accuracy_and_brevity.py): right (the answer) and brief (1 - characters / 400).
#   experts  `full`:  the demo's SFT policy (configs/demo.json), which works every sum out;
#            `brief`: `full` after BRIEF_STEPS SFT steps on the same problems answered without the
#                     work ("<think>\n</think>\nThe answer is N."): short, mostly wrong.
#   PCM      a new PCM (hidden 32, 1 layer) over (full, brief), `fluxrl train configs/pcm_demo.json`: pcm.reward = bt
#            (R = sum_i w_i sigmoid(r_i(y) - r_i(y_ref)), y_ref the full expert's greedy response),
#            each problem at a preference drawn uniformly from the simplex, STEPS updates of GRPO.
#   grid     w = (1,0), (0.75,0.25), (0.5,0.5), (0.25,0.75), (0,1); per seed (run.seed 1..SEEDS:
#            the PCM's training and the PROBLEMS held-out problems) every method decodes greedily:
#            each expert alone, token-level merging with alpha = w in probability space (`uniform`)
#            and in logit space (`logit`), Personalized Soups (`fluxrl merge`, theta = sum_i w_i
#            theta_i) and the trained PCM. Scored as in training: each dimension's mean, R's mean,
#            and the PCM's win rate against each baseline (per problem by R, ties half).
# Writes docs/results.md's section and docs/img/pcm_pareto.png (accuracy against brevity, one
# line per method through the preferences; gnuplot); DOCS=0 prints the table only (launch/pcm_demo.sh).
# Runs already in OUT_DIR are reused.
# ALPHA_INIT=0.9,0.1 starts the PCMs at that mix (pcm.alpha_init, docs/pcm.md): they are trained and
# decoded under names of their own (pcm-start0.9,0.1-SEED) beside the baselines of the same OUT_DIR,
# into a section and a plot of their own.
# OBJECTIVE=rebel trains the PCMs with REBEL (grpo.objective, the paper's objective; docs/grpo.md)
# in place of the GRPO family's clipped objective, likewise under names of their own.
# PRIOR=0.05 gives the PCMs that preference prior (pcm.preference_prior, fluxrl's extension: alpha
# logits + log(w + PRIOR), docs/pcm.md), likewise under names, a section and a plot of their own.
# TEMPERATURE=0.5 samples the PCMs' training rollouts at that temperature (grpo.temperature; configs/pcm_demo.json
# has 1) under names of their own (-t0.5); the grid still decodes greedily. (Not TEMP: Open MPI takes
# TEMP for its temporary folder.)
set -euo pipefail
cd "$(dirname "$0")/../.."
out=${1:-runs/evidence-pcm-grid} steps=${STEPS:-20} seeds=${SEEDS:-3} problems=${PROBLEMS:-200}
brief_steps=${BRIEF_STEPS:-150} t_start=$(date +%s) # FULL_STEPS: the full expert's SFT steps (the demo's 450)
fx=${FLUXRL_BIN:-build/fluxrl}
pcm=pcm${ALPHA_INIT:+-start$ALPHA_INIT}${PRIOR:+-prior$PRIOR}${OBJECTIVE:+-$OBJECTIVE}${TEMPERATURE:+-t$TEMPERATURE} # the PCM runs' name
[ "$steps" = 20 ] || pcm=$pcm-u$steps # STEPS other than 20: PCMs, a section and a plot of their own
mkdir -p "$out"
common=(--set "run.out_dir=$out" --set log.progress=off)
task=(--ops 3 --digits 2 --operators +-) # configs/demo.json's task
grid=(1,0 0.75,0.25 0.5,0.5 0.25,0.75 0,1)

if [ ! -f "$out/full/model/model.safetensors" ]; then
    echo "== the full expert: the demo's SFT" >&2
    "$fx" sft configs/demo.json "${common[@]}" --set run.name=full ${FULL_STEPS:+--set "sft.steps=$FULL_STEPS"} >/dev/null
fi
if [ ! -f "$out/brief/model/model.safetensors" ]; then
    echo "== the brief expert: $brief_steps SFT steps on answers without the work" >&2
    "$fx" task sample --n 20000 --seed 991 "${task[@]}" | /usr/bin/python3 -c '
import json, sys
for line in sys.stdin:
    d = json.loads(line)
    print(json.dumps({"problem": d["prompt"], "response": "<think>\n</think>\nThe answer is %s." % d["answer"]}))
' >"$out/brief.jsonl"
    "$fx" sft configs/demo.json "${common[@]}" --set run.name=brief --set "model.path=$out/full/model" \
        --set "sft.data=$out/brief.jsonl" --set "sft.steps=$brief_steps" --set sft.lr=0.001 --set sft.warmup=10 \
        --set sft.eval_every=0 >/dev/null
fi
experts="$out/full/model,$out/brief/model"
for w in "${grid[@]}"; do
    [ -f "$out/soup-$w/model.safetensors" ] || "$fx" merge --experts "$experts" --weights "$w" --out "$out/soup-$w" >/dev/null
done

# gen NAME SEED [fluxrl generate options]: greedy responses to the PROBLEMS held-out problems of
# run.seed SEED, as JSON lines {"group", "right", "brief"} in $out/eval/NAME-SEED.jsonl (problem order).
. bench/pcm/decode.sh
gen() {
    local name=$1 seed=$2
    shift 2
    pcm_decode "$out" "$name" "$seed" 0 1 226 "$@"
}

for seed in $(seq 1 "$seeds"); do
    run=$out/$pcm-$seed
    if [ ! -f "$run/model/model.safetensors" ]; then
        echo "== PCM ($pcm), seed $seed" >&2
        "$fx" train configs/pcm_demo.json "${common[@]}" --set "pcm.experts=$experts" --set "grpo.steps=$steps" \
            --set "grpo.eval_every=$steps" --set "run.name=$pcm-$seed" --set "run.seed=$seed" \
            ${ALPHA_INIT:+--set "pcm.alpha_init=$ALPHA_INIT"} ${PRIOR:+--set "pcm.preference_prior=$PRIOR"} \
            ${OBJECTIVE:+--set "grpo.objective=$OBJECTIVE"} ${TEMPERATURE:+--set "grpo.temperature=$TEMPERATURE"} >/dev/null
    fi
    echo "== grid, seed $seed" >&2
    gen full "$seed" --model "$out/full/model"
    gen brief "$seed" --model "$out/brief/model"
    for w in "${grid[@]}"; do
        gen "uniform-$w" "$seed" --experts "$experts" --preference "$w"
        gen "logit-$w" "$seed" --experts "$experts" --preference "$w" --merge logit
        gen "soup-$w" "$seed" --model "$out/soup-$w"
        gen "$pcm-$w" "$seed" --experts "$experts" --pcm "$run/model" --preference "$w"
    done
done

minutes=$((($(date +%s) - t_start) / 60))
PYTHONPATH=bench /usr/bin/python3 - "$out" "$steps" "$seeds" "$(nproc --all)" "$minutes" "$problems" "$brief_steps" \
    "${grid[*]}" "$pcm" "${ALPHA_INIT:-}" "${PRIOR:-}" "${OBJECTIVE:-}" "${TEMPERATURE:-}" <<'PY'
import datetime, json, math, os, statistics, subprocess, sys
from results_section import evidence_args, write_section
out, steps, seeds, cores, minutes, cpu = evidence_args()
problems, brief_steps, grid = int(sys.argv[6]), int(sys.argv[7]), sys.argv[8].split()
pcm_name, alpha_init, prior, objective, temp = sys.argv[9], sys.argv[10], sys.argv[11], sys.argv[12], sys.argv[13]
S = range(1, seeds + 1)
W = [tuple(map(float, w.split(","))) for w in grid]
sig = lambda x: 1 / (1 + math.exp(-x))
def load(name, s):
    rows = [json.loads(l) for l in open(f"{out}/eval/{name}-{s}.jsonl")]
    assert [r["group"] for r in rows] == list(range(len(rows))), (name, s)
    return [(r["right"], r["brief"]) for r in rows]
def R(w, y, ref):  # the training reward: sum_i w_i sigmoid(r_i(y) - r_i(y_ref))
    return sum(wi * sig(a - b) for wi, a, b in zip(w, y, ref))
methods = [("full", "full expert alone"), ("brief", "brief expert alone"), ("uniform", "token merge, alpha = w"),
           ("logit", "logit merge, alpha = w"), ("soup", "Personalized Soups"), ("pcm", "trained PCM")]
def name(m, g):
    return m if m in ("full", "brief") else f"{pcm_name if m == 'pcm' else m}-{g}"
stats = {}  # (method, w) -> per seed (right, brief, R)
wins = {}   # (method, w) -> per seed the PCM's win rate against it
for g, w in zip(grid, W):
    for s in S:
        ref = load("full", s)
        pcm = load(name("pcm", g), s)
        for m, _ in methods:
            y = load(name(m, g), s)
            r = [R(w, a, b) for a, b in zip(y, ref)]
            stats.setdefault((m, g), []).append((statistics.mean(a[0] for a in y), statistics.mean(a[1] for a in y),
                                                  statistics.mean(r)))
            if m != "pcm":
                rp = [R(w, a, b) for a, b in zip(pcm, ref)]
                wins.setdefault((m, g), []).append(statistics.mean(1.0 if a > b else 0.5 if a == b else 0.0
                                                                   for a, b in zip(rp, r)))
mean = lambda xs: statistics.mean(xs)
sd = lambda xs: statistics.stdev(xs) if len(xs) > 1 else 0.0
lines = ["| w | method | right, % | brief | R | PCM's win rate against it, % (per seed) |", "|---|---|---|---|---|---|"]
for g in grid:
    for m, label in methods:
        st = stats[(m, g)]
        win = "—" if m == "pcm" else (f"{100*mean(wins[(m, g)]):.1f} ± {100*sd(wins[(m, g)]):.1f} ("
                                      + ", ".join(f"{100*x:.1f}" for x in wins[(m, g)]) + ")")
        lines.append(f"| ({g}) | {label} | {100*mean([x[0] for x in st]):.1f} | {mean([x[1] for x in st]):.3f} | "
                     f"{mean([x[2] for x in st]):.3f} | {win} |")
table = "\n".join(lines)
print(table)
if os.environ.get("DOCS", "1") == "0": sys.exit(0)  # launch/pcm_demo.sh: the table only
# The Pareto plot: mean accuracy against mean brevity, one line per method through the preferences.
suffix = (("-start-" + alpha_init.replace(",", "-") if alpha_init else "") + ("-prior-" + prior if prior else "")
          + ("-" + objective if objective else "") + ("-t" + temp if temp else "") + (f"-u{steps}" if steps != 20 else ""))
img = f"docs/img/pcm_pareto{suffix}.png"
dat = f"{out}/pareto{suffix}.dat"
with open(dat, "w") as f:
    for m, label in methods:
        f.write(f'"{label}"\n')
        for g in grid:
            st = stats[(m, g)]
            f.write(f"{mean([x[1] for x in st]):.4f} {100*mean([x[0] for x in st]):.2f}\n")
        f.write("\n\n")
plot = f"""set terminal png size 800,560
set output '{img}'
set xlabel 'brief (mean of 1 - characters/400)'
set ylabel 'right (% of {problems} held-out problems)'
set key outside right
set grid
plot for [i=0:{len(methods)-1}] '{dat}' index i with linespoints title columnheader(1)
"""
subprocess.run(["gnuplot"], input=plot, text=True, check=True)
tag = "pcm-grid" + suffix
start = (f"a new PCM started at alpha = ({alpha_init}) whatever the preference (pcm.alpha_init: the alpha head's "
         f"bias log alpha)" if alpha_init else "a new PCM (alpha about 1/2 each at the start)")
if prior:
    start = (f"a new PCM with the preference prior {prior} (pcm.preference_prior, fluxrl's extension: alpha logits "
             f"W_a h + b_a + log(w + {prior}), so it starts at about alpha = (w + {prior}) / (1 + 2 x {prior}), merging by "
             f"the preference, and learns a correction to that)" + (f", its alpha head's bias started at log ({alpha_init})"
                                                                     if alpha_init else ""))
title = ", ".join(x for x in (f"the PCM started at alpha = ({alpha_init})" if alpha_init else "",
                               f"the PCM with the preference prior {prior}" if prior else "",
                               f"trained by {objective.upper()}" if objective else "",
                               f"sampled at temperature {temp} in training" if temp else "",
                               f"{steps} updates" if steps != 20 else "") if x)
env = ((f"ALPHA_INIT={alpha_init} " if alpha_init else "") + (f"PRIOR={prior} " if prior else "")
       + (f"OBJECTIVE={objective} " if objective else "") + (f"TEMPERATURE={temp} " if temp else "")
       + (f"STEPS={steps} " if steps != 20 else ""))
algo = f"{objective.upper()} (grpo.objective = {objective})" if objective else "GRPO"

section = f"""<!-- {tag}: written by bench/pcm/grid.sh -->
## PCM: the preference grid{", " + title if title else ""}

`{env}bench/pcm/grid.sh` (STEPS={steps}, SEEDS={seeds}, PROBLEMS={problems}, BRIEF_STEPS={brief_steps}),
{datetime.date.today()}, on this project's {cores}-core VM ({cpu}, no GPU; {minutes} minutes, runs
already in OUT_DIR reused). Two dimensions in tension, measured by code
(bench/pcm/accuracy_and_brevity.py): right (the answer after </think>) and brief (1 - characters /
400). Experts: `full`, the demo's SFT policy, which works every sum out; `brief`, `full` after
{brief_steps} SFT steps on the same kind of problems answered without the work. The PCM: {start},
hidden 32, 1 layer, over (full, brief), trained by `fluxrl train` with pcm.reward = bt (R = sum_i w_i
sigmoid(r_i(y) - r_i(y_ref)), y_ref the full expert's greedy response), preferences drawn uniformly
from the simplex, {steps} {algo} updates of 8 prompts x 8 samples at temperature {temp or 1}, lr 1e-3, per seed (run.seed
{", ".join(map(str, S))}). Every method decodes the seed's {problems} held-out problems greedily at each
preference; the table gives the means over the seeds and the PCM's win rate by R (ties half),
mean ± standard deviation over the seeds. The full expert's R is 0.5 at every preference by
construction (it is the reference). Plot: {img}.

{table}
<!-- /{tag} -->
"""
write_section(tag, section)
PY
