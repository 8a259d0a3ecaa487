#!/usr/bin/env bash
# bon.sh — ReasonFlux-PRM's Best-of-N claim in miniature, by `fluxrl best-of-n`: the PRM's choice
# (highest r^, the paper's), the PRM-weighted vote, and the same two by a sample's lowest step
# reward (fluxrl's extensions, docs/prm.md), against majority vote, mean pass@1 and pass@N, at
# N = 4, 8, 16, on three sets of the policy's samples: 200 held-out problems x 16 of task seed 1234
# (seed 7: the samples bench/prm_evidence/levers.sh judges PRMs on, where the selections were
# chosen), 200 of task seed 4321 (seed 11: fresh, drawn to confirm them) and 200 of task seed 8765
# (seed 13: a third, fresh set).
# Usage: PRMS="DIR DIR ..." bench/prm_evidence/bon.sh [FLUXRL]
#   POLICY (default the 5-operation policy of levers.sh), OPS (5), DIGITS (2), MAX_NEW (320),
#   OUT (runs/prm-bon; a set whose lines are there is not drawn again), THREADS (0: all cores);
#   SECTION=TAG writes the table between TAG's markers of docs/results.md.
set -euo pipefail
src=$(cd "$(dirname "$0")/../.." && pwd)
fx=${1:-${FLUXRL:-$src/build/fluxrl}}
: "${PRMS:?PRMS=\"DIR ...\": the PRMs to judge}"
policy=${POLICY:-$src/runs/evidence-oracle-ops5-stop900/sft/model}
out=${OUT:-$src/runs/prm-bon}
threads=${THREADS:-0}
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-$([ "$threads" -gt 0 ] && echo "$threads" || nproc)}
mkdir -p "$out"
prm=()
for p in $PRMS; do prm+=(--prm "$p"); done
t0=$(date +%s)
for set in "1234 7 held" "4321 11 fresh" "8765 13 fresh2"; do
    read -r task seed name <<<"$set"
    [ -s "$out/$name.lines" ] && continue
    printf '[%4ds] best-of-n: 200 problems x 16 (task seed %s, seed %s)\n' $(($(date +%s) - t0)) "$task" "$seed" >&2
    "$fx" best-of-n --policy "$policy" "${prm[@]}" --n 16 --problems 200 --task-seed "$task" --seed "$seed" \
        --max-new "${MAX_NEW:-320}" --ops "${OPS:-5}" --digits "${DIGITS:-2}" --out "$out/$name.jsonl" \
        >"$out/$name.lines.tmp" 2>"$out/$name.log"
    mv "$out/$name.lines.tmp" "$out/$name.lines"
done

PYTHONPATH="$src/bench" /usr/bin/python3 - "$out" "$src" "$policy" "$PRMS" <<'PY'
import json, os, sys, datetime
from results_section import machine, write_between
out, src, policy, prms = sys.argv[1:5]
rel = lambda p: os.path.relpath(os.path.abspath(p), src)
label = {"held": ("task seed 1234, seed 7 (levers)", "levers"), "fresh": ("task seed 4321, seed 11 (fresh)", "fresh"),
         "fresh2": ("task seed 8765, seed 13 (fresh)", "fresh 2")}
sets = {name: [json.loads(l) for l in open(f"{out}/{name}.lines")] for name in label}
cols = ("prm_best", "prm_vote", "min_step_best", "min_step_vote")
rows = ["| samples | N | pass@1 | majority | pass@N | PRM | within-problem AUROC of r^ | highest r^ (the paper's) | "
        "r^-weighted vote | lowest step highest | lowest-step-weighted vote |", "|---|---|---|---|---|---|---|---|---|---|---|"]
for name, lines in sets.items():
    for l in lines:
        if l["samples"] < 4: continue
        rows.append(f"| {label[name][0]} | "
                    f"{l['samples']} | {100 * l['pass@1']:.1f}% | {100 * l['majority']:.1f}% | {100 * l['pass@n']:.1f}% | "
                    f"`{rel(l['prm'])}` | {l['within_auroc']:.3f} | "
                    + " | ".join(f"{100 * l[c]:.1f}%" for c in cols) + " |")
# The paired difference of the lowest-step-weighted vote from majority vote, problem by problem, for
# the first PRM (whose scores --out writes), with a 95% interval (normal, from the problems' spread);
# the two rates recomputed here must be best-of-n's own.
def vote(smp, w):
    tot = {}
    for r in smp:
        if r["answer"] is not None and w(r) is not None: tot[r["answer"]] = tot.get(r["answer"], 0.0) + w(r)
    pick = [r for r in smp if r["answer"] is not None and w(r) is not None]
    return max(pick, key=lambda r: (tot[r["answer"]], -r["sample"]))["correct"] if pick else False
pair = []
for name, lines in sets.items():
    by = {}
    for l in open(f"{out}/{name}.jsonl", "rb"):
        r = json.loads(l.decode("utf-8", "replace"))
        by.setdefault(r["problem"], []).append(r)
    first = lines[0]["prm"]
    for n in (4, 8, 16):
        d = [vote(smp[:n], lambda r: r["min_step"]) - vote(smp[:n], lambda r: 1.0) for smp in by.values()]
        cli = next(l for l in lines if l["prm"] == first and l["samples"] == n)
        assert abs(sum(vote(smp[:n], lambda r: 1.0) for smp in by.values()) / len(by) - cli["majority"]) < 1e-4, (name, n)
        assert abs(sum(vote(smp[:n], lambda r: r["min_step"]) for smp in by.values()) / len(by) - cli["min_step_vote"]) < 1e-4, (name, n)
        m = sum(d) / len(d)
        se = (sum((x - m) ** 2 for x in d) / (len(d) - 1) / len(d)) ** 0.5
        pair.append(f"{label[name][1]} N = {n}: {100 * m:+.1f} [{100 * (m - 1.96 * se):+.1f}, {100 * (m + 1.96 * se):+.1f}]")
table = "\n".join(rows) + (f"\n\nLowest-step-weighted vote minus majority vote, paired by problem, points with a 95% interval, "
                           f"PRM `{rel(sets['held'][0]['prm'])}`: " + "; ".join(pair) + ".")
meta = (f"Measured {datetime.date.today().isoformat()} by `PRMS=\"{' '.join(rel(p) for p in prms.split())}\" "
        f"bench/prm_evidence/bon.sh` on {os.cpu_count()} cores ({machine()}). Policy `{rel(policy)}`; 200 problems x 16 "
        f"samples at temperature 1 per set, each PRM scoring the same samples; N = 4 and 8 are the first N of each problem.")
print(meta + "\n\n" + table)
if os.environ.get("SECTION"):
    write_between(os.environ["SECTION"], "bench/prm_evidence/bon.sh", f"{meta}\n\n{table}", f"{src}/docs/results.md")
PY
