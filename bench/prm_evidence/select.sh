#!/usr/bin/env bash
# select.sh — ReasonFlux-PRM's data-selection claim in miniature: SFT of a policy on a PRM's top K
# of a noisy pool of the policy's own samples against a random K of the same pool and against the
# whole pool, each arm for every seed in SEEDS, judged by held-out greedy accuracy (200 problems of
# task seed 1234, `fluxrl eval`). The PRM's top K is by r^ (`fluxrl select`, the paper's score); the
# arm `min` (MIN=1) takes the top K by the lowest step reward instead (fluxrl's extension, the
# aggregation best-of-n's min_step_* use); the arm `oracle` (ORACLE=1), the bound, K samples whose
# every step the task's checker finds right (a seeded draw; all of them if fewer).
# bench/prm_evidence/run.sh calls it for its table.
# Usage: POLICY=DIR PRM=DIR OUT=DIR bench/prm_evidence/select.sh [FLUXRL]
#   POOL        the pool, as `fluxrl best-of-n --out` writes it (default: drawn here, POOL_PROBLEMS
#               training problems of task seed 202 x 4 samples at temperature 1, seed 2)
#   TOPK (300), SEEDS ("1 2 3"), SFT_STEPS (100); OPS, DIGITS, MAX_SEQ, MAX_NEW: the built-in task
#   (default configs/demo.json's); THREADS (0: all cores)
#   SECTION=TAG  also writes the table between TAG's markers of docs/results.md (run.sh writes its own)
# Writes into OUT: pool_all.jsonl (the pool scored, best first), pool_{top,min,random_S,oracle}.jsonl,
# pool_checked.jsonl (the checker's verdicts in the pool's order), eval_{policy,ARM-S}.json, sft/.
# The arms that do not select by the PRM (random, oracle, all) are drawn from, or are, the pool in
# its own order, so they are the same whichever PRM selects (paired across PRMs; until 2026-12-07
# they were drawn from pool_all.jsonl, whose order is the PRM's).
set -euo pipefail
src=$(cd "$(dirname "$0")/../.." && pwd)
fx=${1:-${FLUXRL:-$src/build/fluxrl}}
: "${POLICY:?POLICY=DIR: the policy to fine-tune}" "${PRM:?PRM=DIR: the PRM that selects}" "${OUT:?OUT=DIR}"
k=${TOPK:-300}
seeds=${SEEDS:-"1 2 3"}
sft_steps=${SFT_STEPS:-100}
pool_problems=${POOL_PROBLEMS:-300}
threads=${THREADS:-0}
arms="top random all"
[ "${MIN:-0}" = 1 ] && arms="top min random all"
[ "${ORACLE:-0}" = 1 ] && arms="oracle $arms"
task=() evtask=()
[ -n "${OPS:-}" ] && task+=(--set "task.ops=$OPS") evtask+=(--ops "$OPS")
[ -n "${DIGITS:-}" ] && task+=(--set "task.digits=$DIGITS") evtask+=(--digits "$DIGITS")
[ -n "${MAX_SEQ:-}" ] && task+=(--set "model.max_seq=$MAX_SEQ")
[ -n "${MAX_NEW:-}" ] && evtask+=(--max-new "$MAX_NEW")
mkdir -p "$OUT"
log=$OUT/select_log.txt
t0=$(date +%s)
say() { printf '[%4ds] %s\n' $(($(date +%s) - t0)) "$*" >&2; }
run() { "$@" >>"$log" 2>&1 || { echo "failed: $* (see $log)" >&2; tail -5 "$log" >&2; exit 1; }; }
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-$([ "$threads" -gt 0 ] && echo "$threads" || nproc)}

pool=${POOL:-$OUT/pool.jsonl}
if [ ! -s "$pool" ]; then
    say "sampling the pool: $pool_problems problems x 4 (task seed 202)"
    run "$fx" best-of-n --policy "$POLICY" --n 4 --problems "$pool_problems" --task-seed 202 --seed 2 "${evtask[@]}" \
        --out "$pool"
fi
# The pool scored by the PRM (all of it, best r^ first), its top k, the top k by the lowest step
# reward (`fluxrl select --by min-step`), a random k per seed.
say "selecting: top $k of the pool by the PRM"
[ -s "$OUT/pool_all.jsonl" ] ||
    run "$fx" select --prm "$PRM" --input "$pool" --top-k 1000000 --out "$OUT/pool_all.jsonl"
head -n "$k" "$OUT/pool_all.jsonl" >"$OUT/pool_top.jsonl"
[ "${MIN:-0}" != 1 ] || [ -s "$OUT/pool_min.jsonl" ] ||
    run "$fx" select --prm "$PRM" --input "$pool" --top-k "$k" --by min-step --out "$OUT/pool_min.jsonl"
/usr/bin/python3 -c 'import random, sys
lines = open(sys.argv[1], "rb").readlines()  # bytes: a sample may hold a stray byte
k = int(sys.argv[3])
for s in sys.argv[4:]:
    sh = list(lines)
    random.Random(int(s)).shuffle(sh)
    open(f"{sys.argv[2]}/pool_random_{s}.jsonl", "wb").writelines(sh[:k])' "$pool" "$OUT" "$k" $seeds
# The checker's verdicts on the pool (how clean each selection is).
/usr/bin/python3 -c 'import json, sys
for l in open(sys.argv[1], "rb"):
    j = json.loads(l.decode("utf-8", "replace"))
    print(json.dumps({"prompt": j["problem"], "trace": "<think>\n" + j["response"]}))' "$pool" \
    | "$fx" task check >"$OUT/pool_checked.jsonl"
/usr/bin/python3 -c 'import json, random, sys
lines = open(sys.argv[1], "rb").readlines()
ok = [l for l, c in zip(lines, open(sys.argv[2])) if all(json.loads(c)["step_correct"]) and json.loads(c)["answer_correct"]]
random.Random(0).shuffle(ok)
open(sys.argv[3], "wb").writelines(ok[:int(sys.argv[4])])' "$pool" "$OUT/pool_checked.jsonl" \
    "$OUT/pool_oracle.jsonl" "$k"

sft=(--set "model.path=$POLICY" --set "sft.steps=$sft_steps" --set sft.batch=16 --set sft.lr=0.0001 --set sft.min_lr=0.00001
     --set sft.warmup=5 --set sft.eval_every=0 --set sft.eval_problems=1 --set sft.checkpoint_every=0 --set log.progress=off
     --set "run.out_dir=$OUT/sft" --set "cluster.threads=$threads" "${task[@]}")
ev=(--problems 200 --task-seed 1234 "${evtask[@]}")
[ -s "$OUT/eval_policy.json" ] || "$fx" eval --model "$POLICY" "${ev[@]}" >"$OUT/eval_policy.json" 2>>"$log"
for s in $seeds; do
    for d in $arms; do
        data=$OUT/pool_$d.jsonl
        [ "$d" = random ] && data=$OUT/pool_random_$s.jsonl
        [ "$d" = all ] && data=$pool
        [ -s "$OUT/eval_$d-$s.json" ] && continue
        say "sft on $d (seed $s, $sft_steps steps)"
        run "$fx" sft "$src/configs/demo.json" "${sft[@]}" --set "run.name=$d-$s" --set "run.seed=$s" --set "sft.data=$data"
        "$fx" eval --model "$OUT/sft/$d-$s/model" "${ev[@]}" >"$OUT/eval_$d-$s.json" 2>>"$log"
    done
done
say "selection done"
[ -n "${SECTION:-}" ] || exit 0

PYTHONPATH="$src/bench" /usr/bin/python3 - "$OUT" "$src" "$k" "$sft_steps" "$seeds" "$arms" "$POLICY" "$PRM" \
    "$(($(date +%s) - t0))" "${OPS:-3}" "${DIGITS:-}" "$pool" <<'PY'
import json, os, sys, datetime
from results_section import machine, write_between
out, src, k, sft_steps, seeds, arms, policy, prm, secs, ops, digits, pool_path = sys.argv[1:13]
seeds, arms, k = seeds.split(), arms.split(), int(k)
def lines(p): return [json.loads(l.decode("utf-8", "replace")) for l in open(p, "rb") if l.strip()]
def mean(x): return sum(x) / len(x)
def sd(x):
    m = mean(x)
    return (sum((v - m) ** 2 for v in x) / (len(x) - 1)) ** 0.5 if len(x) > 1 else 0.0
ev = lambda name: json.load(open(f"{out}/eval_{name}.json"))["pass@1"]
pool = lines(pool_path)  # the pool's own order, as pool_checked.jsonl
checked = lines(f"{out}/pool_checked.jsonl")
key = lambda l: (l["problem"], l["response"])
verdict = {key(p): (c["answer_correct"], all(c["step_correct"])) for p, c in zip(pool, checked)}
def clean(path):
    v = [verdict[key(l)] for l in lines(path)]
    return 100 * mean([a for a, _ in v]), 100 * mean([a and s for a, s in v])
name = {"oracle": f"{len(lines(f'{out}/pool_oracle.jsonl'))} whose every step is right (the checker: the bound)",
        "top": f"the PRM's top {k} by r^", "min": f"the top {k} by the lowest step reward",
        "random": f"a random {k}", "all": f"the whole pool ({len(pool)})"}
rows = ["| SFT data | right answers / every step right | held-out greedy accuracy, mean ± sd | per seed | "
        "paired difference from random, mean (per seed) |", "|---|---|---|---|---|"]
rnd = [ev(f"random-{s}") for s in seeds]
for d in arms:
    acc = [ev(f"{d}-{s}") for s in seeds]
    if d == "random": a, b = (mean(x) for x in zip(*(clean(f"{out}/pool_random_{s}.jsonl") for s in seeds)))
    else: a, b = clean(f"{out}/pool_{d}.jsonl")
    diff = [x - y for x, y in zip(acc, rnd)]
    rows.append(f"| {name[d]} | {a:.1f}% / {b:.1f}% | {100 * mean(acc):.1f}% ± {100 * sd(acc):.1f} | "
                f"{', '.join(f'{100 * x:.1f}' for x in acc)} | "
                + ("—" if d == "random" else f"{100 * mean(diff):+.1f} ({', '.join(f'{100 * x:+.1f}' for x in diff)})") + " |")
table = "\n".join(rows)
meta = (f"Measured {datetime.date.today().isoformat()} by `SECTION=... POLICY={os.path.relpath(policy, src)} "
        f"PRM={os.path.relpath(prm, src)} bench/prm_evidence/select.sh` ({ops} operations"
        + (f", {digits}-digit numbers" if digits else "") +
        f") on {os.cpu_count()} cores ({machine()}). "
        f"Pool: {len(pool)} samples of the policy on training problems (task seed 202, temperature 1). SFT: from the "
        f"policy, {sft_steps} steps of 16, lr 1e-4 (cosine to 1e-5), seeds {', '.join(seeds)} (run.seed: the data's "
        f"order). The policy before SFT: {100 * ev('policy'):.1f}% held-out greedy (200 problems, task seed 1234). "
        f"Each SFT run with its evaluation took about a minute at one thread on this machine.")
print(meta + "\n\n" + table)
write_between(os.environ["SECTION"], "bench/prm_evidence/select.sh", f"{meta}\n\n{table}", f"{src}/docs/results.md")
PY
