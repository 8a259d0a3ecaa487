#!/usr/bin/env bash
# mpirun.sh — start a fluxrl job under Open MPI with what these machines need: permission to run
# as root (CI and containers), oversubscription (more ranks than cores on small machines) and no
# core binding (each rank sets its thread count from cluster.threads).
#
#   launch/mpirun.sh CONFIG.json [--set section.key=value ...]
#       -np is the config's cluster.trainer_ranks + rollout_ranks + reward_ranks; runs
#       `fluxrl $FLUXRL_COMMAND CONFIG --set ...` (FLUXRL_COMMAND defaults to `ranks`).
#   launch/mpirun.sh -np N PROGRAM [ARGS ...]
#       plain mpirun with the options above.
# FLUXRL_BIN picks the fluxrl binary (default: build/fluxrl of this checkout); MPIRUN_ARGS adds
# options for mpirun (e.g. a hostfile).
set -euo pipefail
args=(--oversubscribe --bind-to none)
[ "$(id -u)" -eq 0 ] && args+=(--allow-run-as-root)
# shellcheck disable=SC2206
[ -n "${MPIRUN_ARGS:-}" ] && args+=($MPIRUN_ARGS)

if [ $# -ge 1 ] && [[ "$1" == *.json ]]; then
    fx=${FLUXRL_BIN:-"$(cd "$(dirname "$0")/.." && pwd)/build/fluxrl"}
    [ -x "$fx" ] || { echo "launch/mpirun.sh: $fx not found; build first (launch/demo.sh does)" >&2; exit 2; }
    n=0
    for role in trainer rollout reward; do
        v=$("$fx" config get "$1" "cluster.${role}_ranks" "${@:2}") || exit 2 # fluxrl said why
        n=$((n + v))
    done
    exec mpirun "${args[@]}" -np "$n" "$fx" "${FLUXRL_COMMAND:-ranks}" "$@"
fi
exec mpirun "${args[@]}" "$@"
