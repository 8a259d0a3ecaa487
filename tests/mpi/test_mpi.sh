#!/usr/bin/env bash
# test_mpi.sh FLUXRL MPI_FAIL SRC MPI_COMM — fluxrl under `mpirun -np 2` (as root and on 2 cores, through
# launch/mpirun.sh): roles split as configured, a world-size mismatch named, a failed rank ending
# the whole job with its rank and role instead of a hang.
set -u
fx=$1 fail=$2 src=$3 comm=$4
. "$src/tests/lib.sh"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mpi="$src/launch/mpirun.sh"

expect_run 0 "2 ranks: trainer + rollout" -- timeout 120 "$mpi" -np 2 "$fx" ranks \
    --set cluster.reward_ranks=0 --set "run.out_dir=$tmp" --set run.name=two
expect_contains "$out" "2 ranks: 1 trainer, 1 rollout, 0 reward" "header"
expect_contains "$out" "    0  trainer      0/1" "rank 0 is the trainer"
expect_contains "$out" "    1  rollout      0/1" "rank 1 is the rollout rank"
expect_contains "$out" "collectives: ok" "allreduce over world and roles"
expect_run 0 "resolved config written once" -- test -f "$tmp/two/config.json"

printf '{"run": {"name": "cfgmode", "out_dir": "%s"}, "cluster": {"reward_ranks": 0}}' "$tmp" >"$tmp/c.json"
expect_run 0 "mpirun.sh CONFIG: -np from the config" -- env FLUXRL_BIN="$fx" timeout 120 "$mpi" "$tmp/c.json"
expect_contains "$out" "2 ranks: 1 trainer, 1 rollout, 0 reward" "np computed"
expect_run 0 "mpirun.sh CONFIG --set" -- env FLUXRL_BIN="$fx" timeout 120 "$mpi" "$tmp/c.json" --set cluster.reward_ranks=1
expect_contains "$out" "3 ranks: 1 trainer, 1 rollout, 1 reward" "np follows the override"
expect_run 2 "mpirun.sh with a bad config" -- env FLUXRL_BIN="$fx" timeout 120 "$mpi" "$tmp/c.json" --set cluster.reward_ranks=x
expect_contains "$err" "--set: cluster.reward_ranks: expected an integer" "config error passed through"

expect_run 2 "world size differs from the config" -- timeout 120 "$mpi" -np 2 "$fx" ranks --set "run.out_dir=$tmp"
expect_contains "$err" "the MPI world has 2 ranks but the config asks for 3" "both numbers named"
expect_run 2 "bad config under mpirun: every rank stops" -- timeout 120 "$mpi" -np 2 "$fx" ranks --set run.seed=-3
expect_contains "$err" "run.seed: expected an integer" "error printed"

start=$(date +%s)
expect_run 1 "a failed rank brings the job down" -- timeout 120 "$mpi" -np 2 "$fail"
expect_contains "$err" "[r1 rollout" "failed rank's prefix"
expect_contains "$err" "injected failure on purpose" "its message"
expect_contains "$err" "rank 1 (rollout) failed; bringing the job down" "rank and role named"
expect_not_contains "$err" "unreachable" "rank 0 never passed the barrier"
elapsed=$(($(date +%s) - start))
[ "$elapsed" -lt 60 ] && passed=$((passed + 1)) || { failed=$((failed + 1)); echo "FAIL abort took ${elapsed}s" >&2; }

start=$(date +%s)
expect_run 1 "a stalled rank is ended by its watchdog" -- timeout 120 "$mpi" -np 2 "$fail" stall
expect_contains "$err" "[r1 rollout" "stalled rank's prefix"
expect_contains "$err" "error: stalled: no progress for 2." "stall reported"
expect_contains "$err" "in a step that never ends; ending the job" "what stalled"
elapsed=$(($(date +%s) - start))
[ "$elapsed" -lt 30 ] && passed=$((passed + 1)) || { failed=$((failed + 1)); echo "FAIL stall took ${elapsed}s" >&2; }

expect_run 0 "messages, weight sync and sharded decoding across 3 ranks" -- timeout 120 "$mpi" -np 3 "$comm"
expect_contains "$out" "mpi_comm: 67 passed, 0 failed" "every check on every rank"

finish test_mpi
