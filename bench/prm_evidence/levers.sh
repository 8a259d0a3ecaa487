#!/usr/bin/env bash
# levers.sh — issue #19, part 2: which training choices make a fluxrl-trained PRM check the steps.
# Measured where the oracle bound says step checks pay (5 operations on 2-digit numbers, the SFT
# policy at step 900 of 1500; docs/results.md, "GRPO: the oracle bound, 5 operations"), on the
# policy's own held-out samples (200 problems x 16 at temperature 1, task seed 1234, seed 7):
#   twins         a right step of an all-right sample against the same step with one column's
#                 result off by one (up to 400 pairs): P(the right one scores higher), 0.5 = blind;
#   within AUROC  P(a sample with the right answer scores above a wrong sample of the same problem),
#                 by r^ = mean step reward + trajectory reward, by the steps alone (alpha 0) and by
#                 the trajectory reward alone;
#   step AUROC    the step rewards against the checker's labels, pooled over every sample;
#   Best-of-N     the PRM's choice (highest r^; and by the steps alone, alpha 0) against majority vote,
#                 on the same samples, N = 4, 8, 16.
# Each variant is one `fluxrl prm-train` from the policy (or BACKBONE) with its own --set options,
# half of its training traces the policy's own samples (1000 training problems x 4, task seed 101)
# labelled by the checker, half the generator's (30% of steps wrong). Variants (VARIANTS):
#   base      lr LR (3e-4), STEPS steps of 16 traces, warm-up 100, cosine to a tenth
#   twins     base with prm.twins: the generator's traces in minimal pairs
#   own       base with the policy's samples only (prm.data_share 1)
#   lr1e-4    base at lr 1e-4
#   lm        base with prm.lm_weight 1: the next-token loss on the right steps' text kept as an
#             auxiliary term (the backbone stays a model of the task)
#   twins-lm  both
#   deep2     base with prm.extra_layers 2: two new layers on the policy's four, starting as the
#             identity (a verifier deeper than the policy whose backbone is the policy)
#   deep2-twins-lm  all three
#   dense     base with prm.dense 1: the step loss at every token of the steps as well, 0 from the
#             first token where a step departs from the checker's gold step
#   dense-deep2, dense-deep2-lm, dense-twins-lm, dense-deep2-twins-lm: with the others
#   policy-NAME  variant NAME (policy: base) with prm.layout policy: the input as the policy writes
#             it, each step read at its last token (docs/prm.md)
#   tmpl-NAME variant NAME with the paper's template-guided trajectory targets (prm.template_rollouts
#             TMPL_N, default 4, rolled out by the policy; docs/prm.md) in place of the trace's own
#             answer's correctness
#   NAME@N    variant NAME trained for N steps instead of STEPS (its own folder, prm_NAME@N)
#   NAME~S    variant NAME (NAME@N too) trained with run.seed S in place of configs/demo.json's 1234:
#             another training seed (the new layers' and head's start, the generator's traces, the
#             order of the data); its own folder, prm_NAME~S
#   NAME+FROM variant NAME (with @N and ~S) trained on from variant FROM's PRM (prm_FROM/model, which
#             must be there) instead of from the policy: more steps with the schedule begun again
#             (warm-up, cosine to a tenth), no new layers (deep2: FROM's); its own folder, prm_NAME+FROM
# Usage: VARIANTS="base twins" STEPS=3000 bench/prm_evidence/levers.sh [FLUXRL]
#   writes runs/prm-levers/ (OUT; a variant whose scores are there is not trained again) and the
#   table between the prm-levers markers of docs/results.md (SECTION=TAG: TAG's markers; DOCS=0: not). THREADS per run (default 0:
#   all cores); run two variants at once with THREADS=1 each.
set -euo pipefail
src=${SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
fx=${1:-${FLUXRL:-$src/build/fluxrl}}
out=${OUT:-$src/runs/prm-levers}
policy=${POLICY:-$src/runs/evidence-oracle-ops5-stop900/sft/model}
backbone=${BACKBONE:-$policy}
steps=${STEPS:-3000}
lr=${LR:-0.0003}
variants=${VARIANTS-"base twins"} # VARIANTS="" (set, empty): the samples and twins only
threads=${THREADS:-0}
task=(--set task.ops=${OPS:-5} --set task.digits=${DIGITS:-2} --set model.max_seq=${MAX_SEQ:-448})
mkdir -p "$out"
t0=$(date +%s)
say() { printf '[%5ds] %s\n' $(($(date +%s) - t0)) "$*" >&2; }
if [ ! -f "$policy/model.safetensors" ]; then
    echo "no policy at $policy: make it with OPS=5 DIGITS=2 MAX_SEQ=448 MAX_NEW=320 SFT_STEPS=1500 SFT_STOP=900 STEPS=1 SEEDS=1 VARIANTS=outcome DOCS=0 bench/grpo_evidence/oracle.sh runs/evidence-oracle-ops5-stop900" >&2
    exit 2
fi
common=(--set "run.out_dir=$out" --set log.progress=off --set "cluster.threads=$threads" "${task[@]}")
sample() { # TASK_SEED PROBLEMS N SEED OUT
    [ -s "$5" ] && return 0
    say "sampling the policy: $2 problems x $3 (task seed $1)"
    "$fx" best-of-n --policy "$policy" --n "$3" --problems "$2" --task-seed "$1" --seed "$4" \
        --max-new 320 --ops "${OPS:-5}" --digits "${DIGITS:-2}" --out "$5" >"$5.bon" 2>"$5.log"
}
sample 1234 200 16 7 "$out/held.jsonl"
sample 101 1000 4 1 "$out/own.jsonl"
[ -s "$out/held_in.jsonl" ] || /usr/bin/python3 -c 'import json, sys
for l in open(sys.argv[1], "rb"):
    j = json.loads(l.decode("utf-8", "replace"))
    print(json.dumps({"problem": j["problem"], "response": j["response"]}))' "$out/held.jsonl" >"$out/held_in.jsonl"
# Twins (docs/prm.md): bench/prm_evidence/make_twins.py, as bench/prm_evidence/run.sh makes them.
[ -s "$out/twin_in.jsonl" ] || /usr/bin/python3 "$src/bench/prm_evidence/make_twins.py" "$out/held.jsonl" "$fx" >"$out/twin_in.jsonl"

for v in $variants; do
    extra=()
    vsteps=$steps
    from=$backbone
    if [[ $v == *+* ]]; then
        from=$out/prm_${v#*+}/model
        [ -f "$from/model.safetensors" ] || { echo "variant $v: no PRM at $from to train on from" >&2; exit 2; }
    fi
    own=${v%%+*}
    spec=${own%\~*}
    [[ $own == *\~* ]] && extra=(--set "run.seed=${own##*\~}")
    [[ $spec == *@* ]] && vsteps=${spec#*@}
    name=${spec%@*}
    if [ "$name" = policy ]; then name=base; extra+=(--set prm.layout=policy)
    elif [[ $name == policy-* ]]; then name=${name#policy-}; extra+=(--set prm.layout=policy); fi
    if [[ $name == tmpl-* ]]; then # the paper's template-guided trajectory targets, rolled out by the policy
        name=${name#tmpl-}; extra+=(--set "prm.template_rollouts=${TMPL_N:-4}" --set "prm.policy_path=$policy")
    fi
    case "$name" in
        base) ;;
        twins) extra+=(--set prm.twins=true) ;;
        own) extra+=(--set prm.data_share=1) ;;
        lr1e-4) extra+=(--set prm.lr=0.0001) ;;
        lm) extra+=(--set prm.lm_weight=1) ;;
        twins-lm) extra+=(--set prm.twins=true --set prm.lm_weight=1) ;;
        deep2) extra+=(--set prm.extra_layers=2) ;;
        deep2-twins-lm) extra+=(--set prm.extra_layers=2 --set prm.twins=true --set prm.lm_weight=1) ;;
        dense) extra+=(--set prm.dense=1) ;;
        dense-deep2) extra+=(--set prm.dense=1 --set prm.extra_layers=2) ;;
        dense-deep2-lm) extra+=(--set prm.dense=1 --set prm.extra_layers=2 --set prm.lm_weight=1) ;;
        dense-twins-lm) extra+=(--set prm.dense=1 --set prm.twins=true --set prm.lm_weight=1) ;;
        dense-deep2-twins-lm) extra+=(--set prm.dense=1 --set prm.extra_layers=2 --set prm.twins=true --set prm.lm_weight=1) ;;
        *) echo "unknown variant $v (base twins own lr1e-4 lm twins-lm deep2 deep2-twins-lm dense dense-deep2" \
                "dense-deep2-lm dense-twins-lm dense-deep2-twins-lm; policy-NAME; tmpl-NAME; NAME@STEPS; NAME~SEED)" >&2; exit 2 ;;
    esac
    [ "$from" = "$backbone" ] || extra+=(--set prm.extra_layers=0) # a PRM has the layers it was trained with
    d=$out/prm_$v
    if [ ! -f "$d/model/model.safetensors" ]; then
        say "training PRM $v ($vsteps steps)"
        "$fx" prm-train "$src/configs/demo.json" "${common[@]}" --set "run.name=prm_$v" --set "model.path=$from" \
            --set "prm.data=$out/own.jsonl" --set prm.data_share=0.5 --set "prm.lr=$lr" --set "prm.steps=$vsteps" \
            --set prm.warmup=100 --set prm.eval_every=500 --set prm.eval_traces=200 --set prm.checkpoint_every=500 \
            "${extra[@]}" --resume auto >"$out/train_$v.log" 2>&1
    fi
    [ -s "$d/held.jsonl" ] || "$fx" prm-score --prm "$d/model" --input "$out/held_in.jsonl" >"$d/held.jsonl" 2>>"$out/score.log"
    [ -s "$d/twin.jsonl" ] || "$fx" prm-score --prm "$d/model" --input "$out/twin_in.jsonl" >"$d/twin.jsonl" 2>>"$out/score.log"
    say "PRM $v scored"
done

DOCS=${DOCS:-1} PYTHONPATH="$src/bench" /usr/bin/python3 - "$out" "$src" "$steps" "$lr" "$variants" "$fx" "$policy" <<'PY'
import json, os, platform, sys, datetime
from results_section import machine, write_between
out, src, steps, lr, variants, fx, policy = sys.argv[1:8]
def lines(p): return [json.loads(l.decode("utf-8", "replace")) for l in open(p, "rb") if l.strip()]
held = lines(f"{out}/held.jsonl")
bon = {l["samples"]: l for l in lines(f"{out}/held.jsonl.bon")}
def auroc(pos, neg):
    pos, neg = sorted(pos), sorted(neg)
    # Mann-Whitney with ties half, by merging
    wins, j, k = 0.0, 0, 0
    for s in pos:
        while j < len(neg) and neg[j] < s: j += 1
        k = j
        while k < len(neg) and neg[k] == s: k += 1
        wins += j + 0.5 * (k - j)
    return wins / (len(pos) * len(neg))
tw = lines(f"{out}/twin_in.jsonl")
rows = [f"| PRM | twins ({len(tw) // 2} pairs) | within-problem AUROC of r^ (alpha 1) | alpha 0 (steps only) | trajectory alone | step AUROC | Best-of-4 / 8 / 16: PRM | Best-of-4 / 8 / 16 by the steps only | held-out step AUROC, generator traces |",
        "|---|---|---|---|---|---|---|---|---|"]
def within(held, score):
    """P(a sample with the right answer scores above a wrong sample of the same problem), ties half."""
    by = {}
    for h, s in zip(held, score): by.setdefault(h["problem"], []).append((h["correct"], s))
    wins = pairs = 0
    for smp in by.values():
        for ci, si in smp:
            if not ci: continue
            for cj, sj in smp:
                if cj: continue
                pairs += 1
                wins += 1.0 if si > sj else 0.5 if si == sj else 0.0
    return wins / pairs, by
for v in variants.split():
    d = f"{out}/prm_{v}"
    sc = lines(f"{d}/held.jsonl")
    assert len(sc) == len(held)
    w1, by = within(held, [s["score"] for s in sc])
    w0, by0 = within(held, [sum(s["step_rewards"]) / max(1, len(s["step_rewards"])) for s in sc])
    wt, _ = within(held, [s["trajectory_reward"] for s in sc])
    ts = lines(f"{d}/twin.jsonl")
    tw_w = sum(1.0 if ts[i]["step_rewards"][tw[i]["changed_step"]] > ts[i + 1]["step_rewards"][tw[i]["changed_step"]]
               else 0.5 if ts[i]["step_rewards"][tw[i]["changed_step"]] == ts[i + 1]["step_rewards"][tw[i]["changed_step"]]
               else 0.0 for i in range(0, len(tw), 2)) / (len(tw) // 2)
    # Pooled step AUROC against the checker's labels of the held-out samples.
    if not os.path.exists(f"{out}/held_checked.jsonl"):
        import subprocess
        inp = "".join(json.dumps({"prompt": h["problem"], "trace": "<think>\n" + h["response"]}) + "\n" for h in held)
        r = subprocess.run([fx, "task", "check"], input=inp.encode(),
                           capture_output=True, check=True)
        open(f"{out}/held_checked.jsonl", "wb").write(r.stdout)
    ck = lines(f"{out}/held_checked.jsonl")
    pos, neg = [], []
    for c, s in zip(ck, sc):
        for lab, r in zip(c["step_correct"], s["step_rewards"]):
            (pos if lab else neg).append(r)
    step_auc = auroc(pos, neg)
    def best_of(by): # the first n samples of each problem, the highest score's answer (the first of ties)
        return [100 * sum(smp[max(range(n), key=lambda i: (smp[i][1], -i))][0] for smp in by.values()) / len(by)
                for n in (4, 8, 16)]
    bo, bo0 = best_of(by), best_of(by0)
    ev = [json.loads(l) for l in open(f"{d}/metrics.jsonl") if "eval_step_auroc" in l]
    last = ev[-1]["eval_step_auroc"] if ev else float("nan")
    rows.append(f"| {v} | {tw_w:.3f} | {w1:.3f} | {w0:.3f} | {wt:.3f} | {step_auc:.3f} | {bo[0]:.1f}% / {bo[1]:.1f}% / {bo[2]:.1f}% | "
                f"{bo0[0]:.1f}% / {bo0[1]:.1f}% / {bo0[2]:.1f}% | {last:.3f} |")
table = "\n".join(rows)
# What the policy's own slips are: the first wrong step of each held-out sample that is wrong
# somewhere, by kind (the generator writes only the first kind: a column result off, a carry dropped).
import re, collections
kinds = collections.Counter()
for h, c in zip(held, ck):
    if h["correct"] and all(c["step_correct"]): continue
    if "</think>" not in h["response"]:
        kinds["no </think>"] += 1
        continue
    think = h["response"].split("</think>")[0].strip().split("\n\n")
    toks = re.findall(r"\d+|[+*-]", re.match(r"Compute (.*)\.", h["problem"]).group(1))
    ops = [(toks[i], int(toks[i + 1])) for i in range(1, len(toks), 2)]
    cur, kind = int(toks[0]), "the answer line"
    for k, ok in enumerate(c["step_correct"]):
        st = think[k] if k < len(think) else ""
        if ok:
            m = re.search(r"=(\d+)$", st)
            if m: cur = int(m.group(1))
            continue
        hm = re.match(r"(\d+)([+*-])(\d+):", st)
        if k >= len(think): kind = "the answer line"
        elif not hm: kind = "an unreadable step"
        elif k < len(ops) and (int(hm.group(1)) != cur or (hm.group(2), int(hm.group(3))) != ops[k]):
            kind = "a wrong value or operand copied into the step's header"
        elif any((int(x) + int(y) + int(c or 0) if o == "+" else int(x) - int(y) - int(c or 0) if o == "-" else
                  int(x) * int(y) + int(c or 0)) != int(r)
                 for x, o, y, _, c, r in re.findall(r" (\d+)([+*-])(\d+)(?:([+-])(\d+))?=(\d+),", st)):
            kind = "a column whose result does not follow from its digits"
        else: kind = "columns that add up but take a wrong digit or carry, or a wrong result line"
        break
    kinds[kind] += 1
tot = sum(kinds.values())
slips = "; ".join(f"{k} {100 * v / tot:.0f}%" for k, v in kinds.most_common())
maj = " / ".join(f"{100 * bon[n]['majority']:.1f}%" for n in (4, 8, 16))
passn = " / ".join(f"{100 * bon[n]['pass@n']:.1f}%" for n in (4, 8, 16))
cpu = machine()
# The policy's own run: its last held-out greedy evaluation (an SFT run folder's metrics.jsonl).
greedy = ""
mpath = os.path.join(os.path.dirname(os.path.abspath(policy)), "metrics.jsonl")
if os.path.exists(mpath):
    ev = [json.loads(l) for l in open(mpath) if "eval_answer_acc" in l]
    if ev: greedy = f"; its run's last held-out greedy evaluation {100 * ev[-1]['eval_answer_acc']:.1f}% at step {ev[-1]['step']}"
meta = (f"Measured {datetime.date.today().isoformat()} by `VARIANTS=\"{variants}\" STEPS={steps} "
        f"bench/prm_evidence/levers.sh` on {os.cpu_count()} cores ({cpu}). Policy: `{os.path.relpath(policy, src)}`{greedy}. "
        f"PRMs from its backbone (NAME+FROM: from FROM's PRM), {steps} steps of 16 traces unless @N, lr {float(lr):g} "
        f"(warm-up 100, cosine to a tenth), half the policy's own samples and half the generator's. Held-out: 200 "
        f"problems x 16 samples at temperature 1: pass@1 {100 * bon[16]['pass@1']:.1f}%, majority of 4 / 8 / 16 "
        f"{maj}, pass@4 / 8 / 16 {passn}. "
        f"The policy's first slip in each of its {tot} held-out samples with one: {slips}.")
print(meta + "\n\n" + table)
if os.environ.get("DOCS", "1") != "0": # SECTION=TAG: the table between TAG's markers instead
    write_between(os.environ.get("SECTION", "prm-levers"), "bench/prm_evidence/levers.sh", f"{meta}\n\n{table}",
                  f"{src}/docs/results.md")
PY
