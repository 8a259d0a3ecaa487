#!/usr/bin/env bash
# bench/grpo_evidence/run.sh [OUT_DIR] — ReasonFlux-PRM's RL claim in miniature on the built-in
# task: GRPO with outcome rewards only vs PRM-mixed rewards (0.7 outcome + 0.3 r^) vs process
# advantages from the PRM's step rewards (DeepSeekMath process supervision, plus the outcome
# advantage), the same SFT policy, PRM, updates and prompts, 3 seeds each (run.seed 1, 2, 3: the
# RL problems and the samples). Trains the SFT policy (configs/demo.json) and the PRM
# (prm-train from it) first unless OUT_DIR has them. Prints one table and writes the section
# "GRPO: outcome vs PRM rewards" of docs/results.md and docs/img/grpo_evidence.png (held-out
# greedy accuracy and mean reward per update, averaged over seeds). About 20 minutes on 2 cores.
set -euo pipefail
cd "$(dirname "$0")/../.."
fx=${FLUXRL_BIN:-build/fluxrl}
out=${1:-runs/evidence-grpo}
steps=${STEPS:-40}
mkdir -p "$out" docs/img
common=(--set "run.out_dir=$out" --set log.progress=off)
if [ ! -f "$out/sft/model/model.safetensors" ]; then
    "$fx" sft configs/demo.json "${common[@]}" --set run.name=sft >/dev/null
fi
if [ ! -f "$out/prm/model/model.safetensors" ]; then
    "$fx" prm-train configs/demo.json "${common[@]}" --set run.name=prm --set "model.path=$out/sft/model" >/dev/null
fi
variants=(outcome prm-mixed process-prm)
for seed in 1 2 3; do
    for v in "${variants[@]}"; do
        [ -f "$out/$v-$seed/model/model.safetensors" ] && continue
        case $v in
        outcome) extra=() ;;
        prm-mixed) extra=(--set "reward.prm_path=$out/prm/model" --set reward.beta=0.3) ;;
        process-prm) extra=(--set "reward.prm_path=$out/prm/model" --set grpo.advantage=process
                            --set grpo.step_rewards=prm --set grpo.process_add_outcome=true) ;;
        esac
        echo "== $v, seed $seed" >&2
        "$fx" train configs/demo.json "${common[@]}" --set "run.name=$v-$seed" --set "run.seed=$seed" \
            --set "model.path=$out/sft/model" --set "grpo.steps=$steps" --set grpo.eval_every=10 \
            "${extra[@]}" >/dev/null
    done
done
python3 - "$out" "$steps" "$(nproc --all)" <<'PY'
import json, os, re, statistics, subprocess, sys, datetime
out, steps, cores = sys.argv[1], int(sys.argv[2]), sys.argv[3]
variants = [("outcome", "outcome only"), ("prm-mixed", "PRM-mixed, 0.7 outcome + 0.3 r^"),
            ("process-prm", "process advantages, PRM step rewards + outcome")]
def load(run):
    return [json.loads(l) for l in open(f"{out}/{run}/metrics.jsonl")]
prm_eval = [d for d in load("prm") if "eval_step_auroc" in d]
auroc = prm_eval[-1]["eval_step_auroc"] if prm_eval else float("nan")
# Held-out problems come from each seed's own stream, so the starting accuracy differs per seed.
sft_acc = [[d for d in load(f"outcome-{seed}") if "eval_answer_acc" in d][0]["eval_answer_acc"] for seed in (1, 2, 3)]
rows, curves = [], {}
for key, name in variants:
    finals, rewards = [], []
    acc_curve, rew_curve = {}, {}
    for seed in (1, 2, 3):
        m = load(f"{key}-{seed}")
        ev = [d for d in m if "eval_answer_acc" in d]
        finals.append(ev[-1]["eval_answer_acc"])
        for d in ev: acc_curve.setdefault(d["step"], []).append(d["eval_answer_acc"])
        tr = [d for d in m if "loss" in d]
        rewards.append(statistics.mean(d["accuracy"] for d in tr[-10:]))
        for d in tr: rew_curve.setdefault(d["step"], []).append(d["accuracy"])
    rows.append((name, finals, rewards))
    curves[key] = (acc_curve, rew_curve)
lines = []
lines.append(f"SFT policy before GRPO, held-out greedy on seeds 1, 2, 3: {', '.join(f'{100*x:.1f}%' for x in sft_acc)}"
             f" (mean {100*statistics.mean(sft_acc):.1f}%); PRM held-out step AUROC {auroc:.3f}; {steps} GRPO updates"
             " of 8 prompts x 8 samples, lr 1e-5")
lines.append("")
hdr = f"| variant | held-out greedy accuracy after {steps} updates (seeds 1, 2, 3) | mean ± sd | sampled accuracy, last 10 updates (mean over seeds) |"
lines += [hdr, "|---|---|---|---|"]
for name, finals, rewards in rows:
    lines.append(f"| {name} | {', '.join(f'{100*x:.1f}%' for x in finals)} | {100*statistics.mean(finals):.1f}% ± {100*statistics.stdev(finals):.1f} | {100*statistics.mean(rewards):.1f}% |")
table = "\n".join(lines)
print(table)
# The plot: accuracy and sampled reward per update, mean over seeds.
dat = f"{out}/curves.dat"
with open(dat, "w") as f:
    for key, _ in variants:
        acc, rew = curves[key]
        f.write(f"# {key} accuracy\n")
        for s in sorted(acc): f.write(f"{s} {100*statistics.mean(acc[s])}\n")
        f.write("\n\n")
        f.write(f"# {key} reward\n")
        for s in sorted(rew): f.write(f"{s} {100*statistics.mean(rew[s])}\n")
        f.write("\n\n")
gp = f"""set terminal pngcairo size 1100,420
set output 'docs/img/grpo_evidence.png'
set multiplot layout 1,2
set title 'held-out greedy accuracy (%), mean of 3 seeds'
set xlabel 'update'
set key bottom right
plot '{dat}' index 0 with linespoints title 'outcome', '{dat}' index 2 with linespoints title 'PRM-mixed', '{dat}' index 4 with linespoints title 'process (PRM steps)'
set title 'sampled accuracy per update (%), mean of 3 seeds'
plot '{dat}' index 1 with lines title 'outcome', '{dat}' index 3 with lines title 'PRM-mixed', '{dat}' index 5 with lines title 'process (PRM steps)'
unset multiplot
"""
subprocess.run(["gnuplot"], input=gp, text=True, check=True)
section = f"""<!-- grpo-evidence: written by bench/grpo_evidence/run.sh -->
## GRPO: outcome vs PRM rewards

`bench/grpo_evidence/run.sh`, {datetime.date.today()}, on this project's {cores}-core VM (AMD EPYC, no
GPU). The same SFT policy (configs/demo.json) and PRM (`fluxrl prm-train configs/demo.json` from
it), the same updates and prompts per seed; one process (the distributed run computes the same
numbers, tests/mpi/test_train_dist.sh).

{table}

![held-out accuracy and sampled accuracy per update](img/grpo_evidence.png)
<!-- /grpo-evidence -->
"""
path = "docs/results.md"
text = open(path).read() if os.path.exists(path) else "# Results\n\nMeasured results of fluxrl's experiments, with the scripts that make them.\n\n"
pat = re.compile(r"<!-- grpo-evidence.*?<!-- /grpo-evidence -->\n", re.S)
text = pat.sub(lambda _: section, text) if pat.search(text) else text.rstrip("\n") + "\n\n" + section
open(path, "w").write(text)
PY
