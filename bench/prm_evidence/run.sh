#!/usr/bin/env bash
# run.sh — ReasonFlux-PRM's claims in miniature on the built-in task, as one table:
#   1. step-error detection: the AUROC of the PRM's step rewards against the checker's labels on
#      held-out traces the policy wrote (200 problems x 16 samples, task seed 1234), pooled over all
#      steps and — what Best-of-N needs — within problems: how often a sample with the right answer
#      scores above a wrong sample of the same problem;
#   2. data selection: SFT of the policy on the PRM's top k of a noisy pool of its own samples vs a
#      random k of the same pool vs the whole pool (held-out greedy accuracy, seeds 1 2 3);
#   3. Best-of-N: the PRM's choice vs majority vote (and mean pass@1, oracle pass@N) at N = 4, 8, 16.
# PRMs: `gen` from the policy's backbone on the generator's traces with injected errors; `own` from
# the policy's backbone on the policy's own samples labelled by the checker (prm.data) — the one
# the applications use; `deep` as `own` but from an 8-layer language model trained here (DEEP=0:
# not), to see whether a verifier deeper than the policy spots its errors better. With TEMPLATE=N
# one more, `tmpl`, as `own` with template-guided trajectory targets (N rollouts per trace; slow).
# Usage: bench/prm_evidence/run.sh [FLUXRL] — writes runs/prm_evidence/ (OUT; a step whose output
# is there already is skipped) and the table between the prm-evidence markers of docs/results.md
# (DOCS=0: not). ~25-30 min on 2 idle cores.
set -euo pipefail
src=$(cd "$(dirname "$0")/../.." && pwd)
fx=${1:-${FLUXRL:-$src/build/fluxrl}}
out=${OUT:-$src/runs/prm_evidence}
policy=${POLICY:-$src/runs/demo/model}
prm_steps=${PRM_STEPS:-1000}
prm_lr=${PRM_LR:-0.001}  # PRM_STEPS=10000 PRM_LR=0.0003: the first PRMs that begin to check the digits (docs/prm.md)
sft_steps=${SFT_STEPS:-100}
k=${TOPK:-300}
pool_problems=${POOL_PROBLEMS:-300}
seeds=${SEEDS:-"1 2 3"}
template=${TEMPLATE:-0}
deep=${DEEP:-1}
mkdir -p "$out"
log=$out/log.txt
: >"$log"
t0=$(date +%s)
say() { printf '[%4ds] %s\n' $(($(date +%s) - t0)) "$*" >&2; }
run() { "$@" >>"$log" 2>&1 || { echo "failed: $* (see $log)" >&2; tail -5 "$log" >&2; exit 1; }; }

if [ ! -f "$policy/model.safetensors" ]; then
    say "no policy at $policy: training the demo's (fluxrl sft configs/demo.json, ~2-3 min)"
    run "$fx" sft "$src/configs/demo.json" --set "run.out_dir=$out" --set run.name=policy --set log.progress=off
    policy=$out/policy/model
fi

prm=(--set "run.out_dir=$out" --set "model.path=$policy" --set "prm.steps=$prm_steps" --set prm.batch=16
     --set "prm.lr=$prm_lr" --set prm.warmup=20 --set prm.eval_every=0 --set prm.eval_traces=200 --set log.progress=off)
if [ ! -f "$out/prm_gen/model/model.safetensors" ]; then
    say "training PRM gen (the generator's traces, $prm_steps steps)"
    run "$fx" prm-train "$src/configs/demo.json" "${prm[@]}" --set run.name=prm_gen
fi
# The policy's own samples (temperature 1) on training problems: task seeds 101 (PRM training) and
# 202 (the noisy SFT pool); held-out evaluation uses task seed 1234, the problems fluxrl sft
# evaluates. best-of-n --out writes every sample as {problem, response, correct, ...}.
sample() { # TASK_SEED PROBLEMS SEED OUT
    [ -f "$4" ] && return 0
    say "sampling the policy: $2 problems x 4 (task seed $1)"
    run "$fx" best-of-n --policy "$policy" --prm "$out/prm_gen/model" --n 4 --problems "$2" --task-seed "$1" --seed "$3" \
        --out "$4"
}
sample 101 1000 1 "$out/own.jsonl"
sample 202 "$pool_problems" 2 "$out/pool.jsonl"
if [ ! -f "$out/prm_own/model/model.safetensors" ]; then
    say "training PRM own (the policy's own samples, $prm_steps steps)"
    run "$fx" prm-train "$src/configs/demo.json" "${prm[@]}" --set run.name=prm_own --set "prm.data=$out/own.jsonl" \
        --set prm.data_share=1
fi
prms="own gen"
if [ "$deep" = 1 ]; then
    # The policy has 4 layers, all of which it uses to write the next digit; a verifier that must
    # also compare that digit with the one written may need more. An 8-layer language model
    # trained like the policy (configs/demo.json's SFT), then a PRM from it as `own`.
    if [ ! -f "$out/lm8/model/model.safetensors" ]; then
        say "training an 8-layer language model for PRM deep (fluxrl sft, model.layers=8, ~4 min)"
        run "$fx" sft "$src/configs/demo.json" --set "run.out_dir=$out" --set run.name=lm8 --set model.layers=8 \
            --set log.progress=off --set sft.eval_every=0
    fi
    if [ ! -f "$out/prm_deep/model/model.safetensors" ]; then
        say "training PRM deep (as own, from the 8-layer model)"
        run "$fx" prm-train "$src/configs/demo.json" "${prm[@]}" --set run.name=prm_deep --set "model.path=$out/lm8/model" \
            --set "prm.data=$out/own.jsonl" --set prm.data_share=1
    fi
    prms="$prms deep"
fi
if [ "$template" -gt 0 ]; then
    if [ ! -f "$out/prm_tmpl/model/model.safetensors" ]; then
        say "training PRM tmpl (as own, with template-guided targets: $template rollouts per trace)"
        run "$fx" prm-train "$src/configs/demo.json" "${prm[@]}" --set run.name=prm_tmpl --set "prm.data=$out/own.jsonl" \
            --set prm.data_share=1 --set "prm.template_rollouts=$template" --set "prm.policy_path=$policy"
    fi
    prms="$prms tmpl"
fi
say "best-of-n: 200 held-out problems x 16 samples, scored by every PRM"
bon=()
for p in $prms; do bon+=(--prm "$out/prm_$p/model"); done
[ -s "$out/bon.jsonl" ] || "$fx" best-of-n --policy "$policy" "${bon[@]}" --n 16 --problems 200 --task-seed 1234 --seed 7 \
    --out "$out/held.jsonl" >"$out/bon.jsonl" 2>>"$log"
# Every PRM's scores of the held-out samples (for the within-problem AUROC).
for p in $prms; do
    [ -s "$out/held_$p.jsonl" ] && continue
    /usr/bin/python3 -c 'import json, sys
for l in open(sys.argv[1], "rb"):
    j = json.loads(l.decode("utf-8", "replace"))
    print(json.dumps({"problem": j["problem"], "response": j["response"]}))' "$out/held.jsonl" >"$out/held_in.jsonl"
    "$fx" prm-score --prm "$out/prm_$p/model" --input "$out/held_in.jsonl" >"$out/held_$p.jsonl" 2>>"$log"
done
# Twins: does a PRM check the arithmetic at all? Take held-out samples whose steps are all right,
# change one column's result in one think step by one (that step is then wrong, nothing else
# differs) and count how often the right step scores above its twin (0.5: blind to the error).
[ -s "$out/twin_in.jsonl" ] || /usr/bin/python3 "$src/bench/prm_evidence/make_twins.py" "$out/held.jsonl" "$fx" >"$out/twin_in.jsonl"
for p in $prms; do
    [ -s "$out/twin_$p.jsonl" ] || "$fx" prm-score --prm "$out/prm_$p/model" --input "$out/twin_in.jsonl" >"$out/twin_$p.jsonl" 2>>"$log"
done

# Data selection (bench/prm_evidence/select.sh): SFT on PRM own's top k of the pool, on a random k
# and on the whole pool, for each seed; it writes pool_all / pool_checked / eval_*.json here.
POLICY=$policy PRM=$out/prm_own/model OUT=$out POOL=$out/pool.jsonl TOPK=$k SEEDS=$seeds SFT_STEPS=$sft_steps \
    "$src/bench/prm_evidence/select.sh" "$fx"
say "done"

DOCS=${DOCS:-1} /usr/bin/python3 - "$out" "$src" "$k" "$sft_steps" "$prm_steps" "$seeds" "$prms" "$(($(date +%s) - t0))" "$pool_problems" "$prm_lr" <<'PY'
import json, os, platform, sys, datetime
out, src, k, sft_steps, prm_steps, seeds, prms, secs, pool_problems, prm_lr = sys.argv[1:11]
seeds, prms = seeds.split(), prms.split()
def lines(p): return [json.loads(l.decode("utf-8", "replace")) for l in open(p, "rb") if l.strip()]
def mean(x): return sum(x) / len(x)
def sd(x):
    m = mean(x)
    return (sum((v - m) ** 2 for v in x) / (len(x) - 1)) ** 0.5 if len(x) > 1 else 0.0
bon = {}
for l in lines(f"{out}/bon.jsonl"):
    bon.setdefault(l["prm"].rstrip("/").split("/")[-2][len("prm_"):], {})[l["samples"]] = l
held = lines(f"{out}/held.jsonl")
def within(p):
    """P(a sample with the right answer scores above a wrong sample of the same problem), ties half."""
    sc = [l["score"] for l in lines(f"{out}/held_{p}.jsonl")]
    assert len(sc) == len(held)
    by = {}
    for h, s in zip(held, sc): by.setdefault(h["problem"], []).append((h["correct"], s))
    wins = pairs = 0
    for v in by.values():
        for ci, si in v:
            if not ci: continue
            for cj, sj in v:
                if cj: continue
                pairs += 1
                wins += 1.0 if si > sj else 0.5 if si == sj else 0.0
    return wins / pairs, pairs
def twin(p):
    """P(a right step scores above the same step with one column result changed by one)."""
    pairs = lines(f"{out}/twin_in.jsonl")
    sc = lines(f"{out}/twin_{p}.jsonl")
    assert len(sc) == len(pairs)
    wins = 0.0
    for i in range(0, len(pairs), 2):
        k = pairs[i]["changed_step"]
        a, b = sc[i]["step_rewards"][k], sc[i + 1]["step_rewards"][k]
        wins += 1.0 if a > b else 0.5 if a == b else 0.0
    return wins / (len(pairs) // 2), len(pairs) // 2
checked = lines(f"{out}/pool_checked.jsonl")  # the pool's order (select.sh)
key = lambda l: (l["problem"], l["response"])
verdict = {key(p): c["answer_correct"] for p, c in zip(lines(f"{out}/pool.jsonl"), checked)}
right = [verdict[key(l)] for l in lines(f"{out}/pool_all.jsonl")]  # best PRM score first
k = int(k)
ev = lambda name: json.load(open(f"{out}/eval_{name}.json"))["pass@1"]
rows = ["| what | measured |", "|---|---|"]
for p in prms:
    l = bon[p][16]
    rows.append(f"| step AUROC, PRM {p}, held-out model-written traces ({l['steps']} steps, {l['wrong_steps']} wrong) | "
                f"{l['step_auroc'] if l['step_auroc'] is not None else 'n/a'} |")
for p in prms:
    w, n = within(p)
    rows.append(f"| within-problem AUROC of r^, PRM {p}: right-answer sample above a wrong one of the same problem ({n} pairs) | {w:.4f} |")
for p in prms:
    w, n = twin(p)
    rows.append(f"| twins, PRM {p}: a right step scores above itself with one column result off by one ({n} pairs; 0.5 = blind) | {w:.3f} |")
rows.append(f"| noisy pool: {len(right)} samples of the policy, right answers | {100 * mean(right):.1f}% |")
rows.append(f"| right answers in the PRM's top {k} / in a random {k} (expected) | "
            f"{100 * mean(right[:k]):.1f}% / {100 * mean(right):.1f}% |")
rows.append(f"| policy before SFT, held-out greedy accuracy | {100 * ev('policy'):.1f}% |")
for d, name in (("top", f"PRM top {k}"), ("random", f"random {k}"), ("all", f"whole pool ({len(right)})")):
    acc = [ev(f"{d}-{s}") for s in seeds]
    rows.append(f"| SFT on {name}: held-out accuracy, seeds {' '.join(seeds)} | "
                f"{100 * mean(acc):.1f}% ± {100 * sd(acc):.1f} ({', '.join(f'{100 * a:.1f}' for a in acc)}) |")
for p in prms:
    for n in (4, 8, 16):
        l = bon[p][n]
        rows.append(f"| Best-of-{n}, PRM {p}: PRM choice / majority / pass@1 / pass@{n} | "
                    f"{100 * l['prm_best']:.1f}% / {100 * l['majority']:.1f}% / {100 * l['pass@1']:.1f}% / {100 * l['pass@n']:.1f}% |")
table = "\n".join(rows)
print(table)
cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), platform.machine())
meta = (f"Measured {datetime.date.today().isoformat()} by `bench/prm_evidence/run.sh` on {os.cpu_count()} cores ({cpu}), "
        f"{int(secs) // 60} min {int(secs) % 60} s in all (steps found done are not counted). Policy: the demo's SFT "
        f"policy (`runs/demo/model`, 4 layers, 0.83M parameters). PRMs: {prm_steps} steps of 16 traces, lr {float(prm_lr):g} "
        f"(cosine to a tenth); `gen` from the policy's backbone on the generator's traces (30% of steps wrong); `own` from "
        f"the policy's backbone on the policy's own samples (1000 training problems x 4, task seed 101, temperature 1) "
        f"labelled by the checker; `deep` as `own` from an 8-layer language model (1.6M parameters, the demo's SFT "
        f"recipe). Noisy pool: {pool_problems} other training problems x 4 samples (task seed 202); selection by PRM "
        f"`own` (r^ = mean step + trajectory reward). SFT: from the policy, {sft_steps} steps of 16, lr 1e-4 (cosine to "
        f"1e-5), seeds {', '.join(seeds)} (run.seed: initial shuffling of the data). Held-out accuracy: greedy, 200 "
        f"problems of task seed 1234 (`fluxrl eval`). Best-of-N: 200 held-out problems x 16 samples at temperature 1 "
        f"(seed 7); N = 4 and 8 use the first N samples of each problem.")
if os.environ.get("DOCS", "1") != "0":
    path = f"{src}/docs/results.md"
    doc = open(path).read()
    a, b = "<!-- prm-evidence: written by bench/prm_evidence/run.sh -->", "<!-- /prm-evidence -->"
    if a not in doc or b not in doc:
        sys.exit(f"{path}: the markers {a} and {b} are missing; put them where the table goes")
    doc = doc[:doc.index(a) + len(a)] + f"\n{meta}\n\n{table}\n" + doc[doc.index(b):]
    open(path, "w").write(doc)
    print(f"(written to {path})", file=sys.stderr)
PY
