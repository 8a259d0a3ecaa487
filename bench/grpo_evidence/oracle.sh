#!/usr/bin/env bash
# bench/grpo_evidence/oracle.sh [OUT_DIR] — the oracle bound of issue 19 part 1 for the GRPO claim:
# process advantages from the built-in task's exact step checker (a perfect PRM:
# grpo.advantage=process, grpo.step_rewards=checker) against outcome-only GRPO, from the same SFT
# policy (configs/demo.json), SEEDS seeds paired by run.seed (the RL problems, the samples and the
# held-out problems), STEPS updates each. Measured per run: held-out greedy accuracy after the
# updates (the run's own evaluation, 200 problems) and sampled pass@1 (fluxrl eval, 4 samples at
# temperature 1 on the same 200 held-out problems). Prints a table with the paired differences
# and their 95% t-intervals (VARIANTS: a subset of the three) and writes the section "GRPO: the oracle bound" of docs/results.md
# (DOCS=0: prints the table only, e.g. when only the SFT policy is wanted: STEPS=1 SEEDS=1 VARIANTS=outcome).
# VARIANTS="outcome rebel" measures the REBEL objective (grpo.objective=rebel, docs/grpo.md) against
# the clipped objective instead, into the section "GRPO: the REBEL objective".
# OPS and DIGITS (default 3 and 2, configs/demo.json's) change the task for the SFT policy, the RL
# problems and the evaluations, with MAX_SEQ and MAX_NEW (default 256 and 192) for the longer traces
# and SFT_STEPS (default the config's 450) for an SFT policy that has learnt them;
# a task other than the demo's writes its own section, "GRPO: the oracle bound, OPS operations".
# SFT_STOP=N takes the SFT policy at step N of the SFT_STEPS schedule (its cosine not yet annealed:
# a policy part way up, where RL has room): the SFT is stopped by SIGTERM after its step-N
# checkpoint and resumed from that checkpoint with sft.steps = N, which runs no step and saves it.
# PRM=DIR adds the variants prm-process (process advantages from that PRM's step rewards + the
# outcome) and prm-mixed (reward 0.7 outcome + 0.3 r^): a learned PRM next to the oracle, issue 19
# part 4; a run that has any of them writes the section "GRPO: a learned PRM (TAG) against the oracle
# bound". TAG (PRM_TAG; default: the PRM's run folder name without "prm_", e.g. dense-deep2-lm-8000
# for runs/prm-levers/prm_dense-deep2-lm@8000/model) names those runs (prm-process-TAG-SEED) and
# the section, so PRMs compared on the same outcome runs each keep theirs.
# About 35 minutes on this project's 2-core VM (SFT 5, each run ~2.5).
set -euo pipefail
cd "$(dirname "$0")/../.."
fx=${FLUXRL_BIN:-build/fluxrl}
out=${1:-runs/evidence-oracle}
steps=${STEPS:-40}
seeds=${SEEDS:-5}
mkdir -p "$out"
ops=${OPS:-3} digits=${DIGITS:-2} max_seq=${MAX_SEQ:-256} max_new=${MAX_NEW:-192}
common=(--set "run.out_dir=$out" --set log.progress=off --set "task.ops=$ops" --set "task.digits=$digits"
        --set "model.max_seq=$max_seq" --set "grpo.max_new=$max_new")
task=(--ops "$ops" --digits "$digits" --operators +-) # the runs' task, for fluxrl eval
t_start=$(date +%s)
if [ ! -f "$out/sft/model/model.safetensors" ]; then
    echo "== sft" >&2
    if [ -z "${SFT_STOP:-}" ]; then
        "$fx" sft configs/demo.json "${common[@]}" --set run.name=sft ${SFT_STEPS:+--set "sft.steps=$SFT_STEPS"} >/dev/null
    else
        ck=$(printf '%s/sft/checkpoints/step-%08d.h5' "$out" "$SFT_STOP")
        "$fx" sft configs/demo.json "${common[@]}" --set run.name=sft --set "sft.steps=${SFT_STEPS:?SFT_STOP needs SFT_STEPS}" \
            --set "sft.checkpoint_every=$SFT_STOP" --set run.keep_checkpoints=1000 >/dev/null &
        sft_pid=$!
        while [ ! -f "$ck" ] && kill -0 "$sft_pid" 2>/dev/null; do sleep 2; done
        kill -TERM "$sft_pid" 2>/dev/null || true
        wait "$sft_pid" || true # exit 3: stopped after writing a checkpoint of its own, removed below
        [ -f "$ck" ] || { echo "oracle.sh: the SFT ended without $ck" >&2; exit 1; }
        find "$out/sft/checkpoints" -name 'step-*.h5' ! -name "$(basename "$ck")" -delete
        "$fx" sft configs/demo.json "${common[@]}" --set run.name=sft --set "sft.steps=$SFT_STOP" --resume auto >/dev/null
    fi
fi
read -r -a variants <<<"${VARIANTS:-outcome oracle-process oracle-process-only}"
prm_tag=
if [ -n "${PRM:-}" ]; then
    p=${PRM%/}
    [ "$(basename "$p")" = model ] && p=$(dirname "$p")
    prm_tag=${PRM_TAG:-$(basename "$p" | sed 's/^prm_//; s/[^A-Za-z0-9_-]/-/g')}
fi
for seed in $(seq 1 "$seeds"); do
    for v in "${variants[@]}"; do
        name=$v-$seed
        [[ $v == prm-* ]] && name=$v-${prm_tag:?$v needs PRM=DIR}-$seed
        run=$out/$name
        if [ ! -f "$run/model/model.safetensors" ]; then
            case $v in
            outcome) extra=() ;;
            oracle-process) extra=(--set grpo.advantage=process --set grpo.step_rewards=checker
                                   --set grpo.process_add_outcome=true) ;;
            oracle-process-only) extra=(--set grpo.advantage=process --set grpo.step_rewards=checker
                                        --set grpo.process_add_outcome=false) ;;
            rebel) extra=(--set grpo.objective=rebel) ;;
            prm-process) extra=(--set "reward.prm_path=${PRM:?prm-process needs PRM=DIR}" --set grpo.advantage=process
                                --set grpo.step_rewards=prm --set grpo.process_add_outcome=true) ;;
            prm-mixed) extra=(--set "reward.prm_path=${PRM:?prm-mixed needs PRM=DIR}" --set reward.beta=0.3) ;;
            *) echo "unknown variant $v" >&2; exit 2 ;;
            esac
            echo "== $v, seed $seed" >&2
            "$fx" train configs/demo.json "${common[@]}" --set "run.name=$name" --set "run.seed=$seed" \
                --set "model.path=$out/sft/model" --set "grpo.steps=$steps" --set "grpo.eval_every=$steps" \
                "${extra[@]}" >/dev/null
        fi
        [ -f "$run/sampled.json" ] ||
            "$fx" eval --model "$run/model" "${task[@]}" --task-seed "$seed" --problems 200 --n 4 \
                --temperature 1 --seed "$seed" --max-new "$max_new" >"$run/sampled.json" 2>/dev/null
    done
done
minutes=$(( ($(date +%s) - t_start) / 60 ))
PRM_TAG=$prm_tag /usr/bin/python3 - "$out" "$steps" "$seeds" "$(nproc --all)" "$minutes" "${variants[*]}" "$ops" "$digits" <<'PY'
import json, math, os, re, statistics, sys, datetime
sys.path.insert(0, "bench")
from results_section import evidence_args, write_section
out, steps, seeds, cores, minutes, cpu = evidence_args()
wanted = sys.argv[6].split()
ops, digits = int(sys.argv[7]), int(sys.argv[8])
demo_task = (ops, digits) == (3, 2)
T975 = {1: 12.706, 2: 4.303, 3: 3.182, 4: 2.776, 5: 2.571, 6: 2.447, 7: 2.365, 8: 2.306, 9: 2.262}
variants = [("outcome", "outcome only (grpo)"),
            ("oracle-process", "process advantages, checker steps + outcome"),
            ("oracle-process-only", "process advantages, checker steps only"),
            ("rebel", "REBEL objective (eta 1), outcome rewards"),
            ("prm-process", "process advantages, learned PRM steps + outcome"),
            ("prm-mixed", "reward 0.7 outcome + 0.3 learned PRM r^")]
variants = [v for v in variants if v[0] in wanted]
def evals(run):
    return [d for d in map(json.loads, open(f"{out}/{run}/metrics.jsonl")) if "eval_answer_acc" in d]
def sampled(run):
    return json.load(open(f"{out}/{run}/sampled.json"))["pass@1"]
S = range(1, seeds + 1)
prm_tag = os.environ.get("PRM_TAG", "")
rn = lambda k, s: f"{k}-{prm_tag}-{s}" if k.startswith("prm-") else f"{k}-{s}"
start = [evals(f"outcome-{s}")[0]["eval_answer_acc"] for s in S]
res = {k: ([evals(rn(k, s))[-1]["eval_answer_acc"] for s in S], [sampled(rn(k, s)) for s in S]) for k, _ in variants}
def ci(d):
    m = statistics.mean(d)
    h = T975.get(len(d) - 1, 1.96) * statistics.stdev(d) / math.sqrt(len(d)) if len(d) > 1 else float("nan")
    return f"{100*m:+.1f} [{100*(m-h):+.1f}, {100*(m+h):+.1f}]"
pct = lambda xs: ", ".join(f"{100*x:.1f}" for x in xs)
lines = [f"Held-out greedy accuracy before GRPO (the SFT policy) on seeds 1..{seeds}: {pct(start)}% "
         f"(mean {100*statistics.mean(start):.1f}%). {steps} updates of 8 prompts x 8 samples, lr 1e-5.", "",
         "| variant | greedy, after (per seed, %) | mean | sampled pass@1 (per seed, %) | mean | greedy vs outcome, paired (95% CI, points) | sampled vs outcome |",
         "|---|---|---|---|---|---|---|"]
for k, name in variants:
    g, p = res[k]
    if k == "outcome": dg = dp = "—"
    else:
        dg = ci([a - b for a, b in zip(g, res["outcome"][0])])
        dp = ci([a - b for a, b in zip(p, res["outcome"][1])])
    lines.append(f"| {name} | {pct(g)} | {100*statistics.mean(g):.1f} | {pct(p)} | {100*statistics.mean(p):.1f} | {dg} | {dp} |")
table = "\n".join(lines)
print(table)
tag, title = ("grpo-rebel", "GRPO: the REBEL objective") if "rebel" in wanted else ("grpo-oracle", "GRPO: the oracle bound")
learned = [k for k in wanted if k.startswith("prm-")]
if learned:
    tag, title = f"grpo-learned-prm-{prm_tag}", f"GRPO: a learned PRM ({prm_tag}) against the oracle bound"
if not demo_task:
    tag, title = f"{tag}-ops{ops}-d{digits}", f"{title}, {ops} operations on {digits}-digit numbers"
what = ("""The REBEL objective (docs/grpo.md: all pairs of each group, eta 1) against GRPO's clipped
objective, both on the verifier's outcome rewards; the same SFT policy (configs/demo.json) and, per
seed, the same RL problems, sampling stream and held-out problems. One minibatch and one epoch per
update (the demo's), so REBEL's step is on-policy: its gradient is a surrogate's with advantages
proportional to R - mean(R) of the group, without GRPO's division by the group's standard deviation.""" if tag == "grpo-rebel" else
f"""The task's exact
step checker stands in for a perfect PRM: process advantages (DeepSeekMath's process supervision,
docs/grpo.md) from its step labels. Each variant ({'; '.join(n for k, n in variants if k != 'outcome')})
against outcome-only GRPO; the same SFT policy (configs/demo.json) and, per seed, the same RL problems,
sampling stream and held-out problems.""")
if learned:
    uses = {"prm-process": "its step rewards in place of the checker's for prm-process",
            "prm-mixed": "its r^ mixed into the reward, 0.7 outcome + 0.3 r^, for prm-mixed"}
    what += f""" The learned PRM: `{os.environ.get('PRM', '')}` ({'; '.join(uses[k] for k in learned)})."""
section = f"""<!-- {tag}: written by bench/grpo_evidence/oracle.sh -->
## {title}

`{'' if demo_task else f'OPS={ops} DIGITS={digits} MAX_SEQ={os.environ.get("MAX_SEQ", 256)} MAX_NEW={os.environ.get("MAX_NEW", 192)} SFT_STEPS={os.environ.get("SFT_STEPS", 450)} '}{f'SFT_STOP={os.environ["SFT_STOP"]} ' if os.environ.get("SFT_STOP") else ''}bench/grpo_evidence/oracle.sh` (STEPS={steps}, SEEDS={seeds}, VARIANTS=\"{' '.join(wanted)}\"), {datetime.date.today()}, on this
project's {cores}-core VM ({cpu}, no GPU; {"about 4 minutes per run when the machine is otherwise idle, SFT 5 minutes" if demo_task else f"{minutes} minutes for the runs this invocation made"}; runs already in OUT_DIR are reused). {what} Sampled pass@1: `fluxrl eval --n 4 --temperature 1` on
the run's 200 held-out problems. Intervals: paired by seed, t-distribution.

{table}
<!-- /{tag} -->
"""
if os.environ.get("DOCS", "1") != "0": # DOCS=0: the table only (a smoke run, or runs made for another script)
    write_section(tag, section)
PY
