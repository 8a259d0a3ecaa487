#!/usr/bin/env bash
# mpirun.sh — Open MPI's mpirun with what these machines need: permission to run as root (CI and
# containers run as root), oversubscription (more ranks than cores on small machines) and no
# core binding (each rank sets its own thread count from cluster.threads). Arguments pass through:
#   launch/mpirun.sh -np 3 build/fluxrl ranks configs/demo.json
set -euo pipefail
args=(--oversubscribe --bind-to none)
[ "$(id -u)" -eq 0 ] && args+=(--allow-run-as-root)
exec mpirun "${args[@]}" "$@"
