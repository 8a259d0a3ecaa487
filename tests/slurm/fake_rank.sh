#!/usr/bin/env bash
# fake_rank.sh — a stand-in for a distributed, resumable fluxrl subcommand (none exists yet), for
# tests/slurm/test_slurm.sh: `config ...` goes to the real fluxrl ($FLUXRL_REAL); anything else is
# one rank that records its arguments in $FAKE_DIR and, on the job's first start, waits for
# SIGTERM, then exits 3 as fluxrl does after writing a checkpoint. After a requeue it exits 0.
set -u
[ "${1:-}" = config ] && exec "$FLUXRL_REAL" "$@"
[ "${2:-}" = --help ] && { echo "usage: fluxrl fake CONFIG [--set ...] [--resume auto|never]"; exit 0; }
rank=${OMPI_COMM_WORLD_RANK:-${SLURM_PROCID:-x}} # under mpirun SLURM_PROCID is the batch shell's
restart=${SLURM_RESTART_COUNT:-0}
echo "$*" >"$FAKE_DIR/args.$restart.$rank"
[ "$restart" -eq 0 ] || exit 0
trap 'sleep "${FAKE_STOP_S:-0}"; echo stopped >"$FAKE_DIR/stopped.$rank"; exit 3' TERM
touch "$FAKE_DIR/ready.$rank"
# Short sleeps: Slurm signals every process of a step, these too; the trap runs after each.
while :; do sleep 0.2; done
