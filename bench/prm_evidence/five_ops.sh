#!/usr/bin/env bash
# five_ops.sh — issue 19's evidence on the 5-operation task from scratch, in one command: the chain
# whose steps docs/results.md gives one by one, each step a script that skips what its output
# folder already has (so a stopped chain goes on where it was):
#   1. the policy and the oracle bound: bench/grpo_evidence/oracle.sh (5 operations on 2-digit
#      numbers, SFT taken at step 900 of 1500; outcome-only, the checker's process advantages with
#      and without the outcome; SEEDS seeds) -> "GRPO: the oracle bound, 5 operations"
#   2. the PRMs: bench/prm_evidence/levers.sh, PRM_STEPS (8000) steps of dense-deep2-lm with run.seed
#      2, then PRM_STEPS more from it with run.seed 3 (VARIANTS to change) -> "PRM: 8000 more steps"
#   3. PRM-selected SFT with the last PRM: bench/prm_evidence/select.sh (top 300 by r^ and by the
#      lowest step, random 300, the whole pool, the checker's bound; 3 seeds) -> "prm-select5-more"
#   4. Best-of-N with it: bench/prm_evidence/bon.sh (three sample sets) -> "prm-bon-more"
#   5. GRPO with it: oracle.sh with PRM= (process advantages and the mixed reward, next to step 1's
#      runs) -> "GRPO: a learned PRM (dense-deep2-lm-16000)"
# Usage: bench/prm_evidence/five_ops.sh [FLUXRL]
#   ROOT (runs): where the steps' folders go (evidence-oracle-ops5-stop900, prm-levers,
#   prm-select5-16000, prm-bon-16000); DOCS=0: no section of docs/results.md is written (a check of
#   the chain with small settings: SFT_STEPS, SFT_STOP, PRM_STEPS, STEPS, SEEDS, SELECT_SEEDS,
#   SELECT_SFT_STEPS);
#   THREADS per run (default 0: all cores).
# Each step's wall time goes to ROOT/five_ops.times and the total to stderr. The steps' times on this
# project's 2-core VM, each measured on its own (docs/results.md): step 1 about 45 min (SFT 5, 15
# GRPO runs of 2.5-3), step 2 93 + 93 min at one thread while another job ran, step 3 about 15 min,
# step 4 about 8 min, step 5 28 min at two threads: 4.5-5 hours in all, not measured in one go.
set -euo pipefail
src=$(cd "$(dirname "$0")/../.." && pwd)
fx=$(realpath "${1:-${FLUXRL:-$src/build/fluxrl}}")
root=$(realpath -m "${ROOT:-$src/runs}")
docs=${DOCS:-1}
prm_steps=${PRM_STEPS:-8000}
variants=${VARIANTS:-"dense-deep2-lm@$prm_steps~2 dense-deep2-lm@$prm_steps~3+dense-deep2-lm@$prm_steps~2"}
last=${variants##* }   # the PRM the claims use: the last variant trained
threads=${THREADS:-0}
oracle_out=$root/evidence-oracle-ops5-stop900
policy=$oracle_out/sft/model
prm=$root/prm-levers/prm_$last/model
task=(OPS=5 DIGITS=2 MAX_SEQ=448 MAX_NEW=320)
mkdir -p "$root"
times=$root/five_ops.times
t_all=$(date +%s)
step() { # NAME COMMAND...: runs it, appends its wall time to $times
    local name=$1 t0
    shift
    t0=$(date +%s)
    printf '== %s\n' "$name" >&2
    "$@"
    printf '%s\t%d s\n' "$name" $(($(date +%s) - t0)) | tee -a "$times" >&2
}
sec() { [ "$docs" = 1 ] && echo "$1" || true; } # a SECTION tag, or none with DOCS=0

step "1 policy and oracle bound" env -u PRM "${task[@]}" SFT_STEPS="${SFT_STEPS:-1500}" SFT_STOP="${SFT_STOP:-900}" \
    STEPS="${STEPS:-40}" SEEDS="${SEEDS:-5}" VARIANTS="outcome oracle-process oracle-process-only" DOCS="$docs" \
    FLUXRL_BIN="$fx" "$src/bench/grpo_evidence/oracle.sh" "$oracle_out"
step "2 PRMs ($variants)" env OUT="$root/prm-levers" POLICY="$policy" VARIANTS="$variants" STEPS="$prm_steps" \
    THREADS="$threads" DOCS="$docs" SECTION="$(sec prm-more)" "$src/bench/prm_evidence/levers.sh" "$fx"
step "3 PRM-selected SFT" env "${task[@]}" POLICY="$policy" PRM="$prm" SFT_STEPS="${SELECT_SFT_STEPS:-100}" \
    OUT="$root/prm-select5-16000" MIN=1 ORACLE=1 SEEDS="${SELECT_SEEDS:-1 2 3}" THREADS="$threads" \
    SECTION="$(sec prm-select5-more)" "$src/bench/prm_evidence/select.sh" "$fx"
step "4 Best-of-N" env POLICY="$policy" PRMS="$prm" OUT="$root/prm-bon-16000" THREADS="$threads" \
    SECTION="$(sec prm-bon-more)" "$src/bench/prm_evidence/bon.sh" "$fx"
step "5 GRPO with the PRM" env "${task[@]}" SFT_STEPS="${SFT_STEPS:-1500}" SFT_STOP="${SFT_STOP:-900}" \
    STEPS="${STEPS:-40}" SEEDS="${SEEDS:-5}" VARIANTS="outcome oracle-process prm-process prm-mixed" DOCS="$docs" \
    PRM="$prm" PRM_TAG="dense-deep2-lm-$((2 * prm_steps))" FLUXRL_BIN="$fx" "$src/bench/grpo_evidence/oracle.sh" "$oracle_out"
printf 'five_ops.sh: %d min in all (%s)\n' $((($(date +%s) - t_all) / 60)) "$times" >&2
