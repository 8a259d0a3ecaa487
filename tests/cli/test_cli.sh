#!/usr/bin/env bash
# test_cli.sh FLUXRL SRC — the program's commands, outputs and exit codes (0 ok, 2 bad input).
set -u
fx=$1 src=$2
. "$src/tests/lib.sh"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

expect_run 0 "help" -- "$fx" help
expect_contains "$out" "config check" "help lists config check"
expect_contains "$out" "ranks" "help lists ranks"
expect_run 2 "no arguments: usage, exit 2" -- "$fx"
expect_contains "$err" "usage: fluxrl COMMAND" "bare fluxrl shows usage"
expect_run 0 "--version" -- "$fx" --version
expect_contains "$out" "fluxrl 0.1.0" "version line"
expect_contains "$out" "MPI       Open MPI" "MPI version"
expect_contains "$out" "HDF5      1." "HDF5 version"
expect_contains "$out" "OpenBLAS  OpenBLAS" "OpenBLAS config"
expect_run 0 "version" -- "$fx" version
expect_run 2 "version with an argument" -- "$fx" version extra

expect_run 2 "unknown command" -- "$fx" confg check x.json
expect_contains "$err" "unknown command 'confg'; did you mean 'fluxrl config'?" "suggestion for a near miss"
expect_run 2 "unknown command far from any" -- "$fx" zzzzzzzzz
expect_contains "$err" "run 'fluxrl help' for the list" "no suggestion for a far miss"
expect_run 2 "config alone" -- "$fx" config
expect_contains "$out" "fluxrl config check" "config group lists check"
expect_run 0 "config --help" -- "$fx" config --help
expect_run 2 "config unknown" -- "$fx" config chek
expect_contains "$err" "unknown command 'chek'" "config subcommand named"

for c in "help" "version" "config check" "config get" "config doc" "ranks" "plot" "traces info" "traces export"; do
    # shellcheck disable=SC2086
    expect_run 0 "$c --help" -- "$fx" $c --help
    expect_contains "$out" "usage: " "$c --help prints usage"
    # shellcheck disable=SC2086
    expect_run 0 "help $c" -- "$fx" help $c
done
expect_run 2 "help for no such command" -- "$fx" help nothing

# config check: valid files and every kind of error, exit 2 with the file and key named.
cat >"$tmp/ok.json" <<'J'
{
  "run": {"name": "t", "seed": 5},
  "cluster": {"rollout_ranks": 2}
}
J
expect_run 0 "config check valid" -- "$fx" config check "$tmp/ok.json"
expect_contains "$out" '"seed":	5' "resolved seed"
expect_contains "$out" '"rollout_ranks":	2' "resolved rollout ranks"
expect_contains "$out" '"reward_ranks":	1' "defaults are printed too"
expect_run 0 "config check --set" -- "$fx" config check "$tmp/ok.json" --set run.seed=9 --set=cluster.backend=cuda
expect_contains "$out" '"seed":	9' "override applied"
expect_contains "$out" '"backend":	"cuda"' "override with = applied"
for f in configs/*.json; do
    expect_run 0 "shipped config $f" -- "$fx" config check "$src/$f"
done

printf '{\n  "run": {"name": "t"}\n  "log": {}\n}\n' >"$tmp/broken.json"
expect_run 2 "broken JSON" -- "$fx" config check "$tmp/broken.json"
expect_contains "$err" "broken.json:3:3: malformed JSON" "line and column of broken JSON"
printf '{"cluster": {"trainer_rank": 2}}' >"$tmp/unknown.json"
expect_run 2 "unknown key" -- "$fx" config check "$tmp/unknown.json"
expect_contains "$err" "unknown.json: cluster.trainer_rank: unknown key; did you mean cluster.trainer_ranks?" "suggestion"
printf '{"log": {"progress_interval": -1}}' >"$tmp/range.json"
expect_run 2 "out of range" -- "$fx" config check "$tmp/range.json"
expect_contains "$err" "range.json: log.progress_interval: expected a number in (0, 86400], got -1" "range error"
printf '{"log": {"level": 3}}' >"$tmp/type.json"
expect_run 2 "wrong type" -- "$fx" config check "$tmp/type.json"
expect_contains "$err" 'type.json: log.level: expected one of "error", "warn", "info", "debug", got 3' "type error"
expect_run 2 "missing file" -- "$fx" config check "$tmp/none.json"
expect_contains "$err" "none.json: cannot open: No such file or directory" "missing file named"
expect_run 2 "directory as config" -- "$fx" config check "$tmp"
expect_contains "$err" "not a regular file" "directory rejected"
expect_run 2 "no file" -- "$fx" config check
expect_contains "$err" "a config FILE is required" "file required"
expect_run 2 "bad --set" -- "$fx" config check "$tmp/ok.json" --set run.seed=x
expect_contains "$err" '--set: run.seed: expected an integer in [0, 9007199254740991], got "x"' "--set typed"
expect_run 2 "--set unknown key" -- "$fx" config check "$tmp/ok.json" --set cluster.treads=2
expect_contains "$err" "did you mean cluster.threads?" "--set suggestion"
expect_run 2 "--set without value" -- "$fx" config check "$tmp/ok.json" --set
expect_run 2 "unknown option" -- "$fx" config check "$tmp/ok.json" --frobnicate
expect_contains "$err" "unknown option '--frobnicate'" "option named"
expect_run 2 "two files" -- "$fx" config check "$tmp/ok.json" "$tmp/ok.json"
expect_run 2 "config doc with argument" -- "$fx" config doc extra
expect_run 0 "config get" -- "$fx" config get "$tmp/ok.json" cluster.rollout_ranks
expect_contains "$out" "2" "value from the file"
expect_run 0 "config get with --set" -- "$fx" config get "$tmp/ok.json" log.all_ranks --set log.all_ranks=true
expect_contains "$out" "true" "value from the override"
expect_run 0 "config get string" -- "$fx" config get "$tmp/ok.json" run.name
expect_contains "$out" "t" "string value"
expect_run 2 "config get unknown key" -- "$fx" config get "$tmp/ok.json" run.nope
expect_contains "$err" "run.nope: unknown key" "unknown key named"
expect_run 2 "config get bad file" -- "$fx" config get "$tmp/broken.json" run.name
expect_run 2 "config get without key" -- "$fx" config get "$tmp/ok.json"

# ranks without mpirun: one process plays every role and writes the resolved config.
expect_run 0 "ranks single process" -- "$fx" ranks "$tmp/ok.json" --set "run.out_dir=$tmp/runs"
expect_contains "$out" "1 rank: 1 trainer, 1 rollout, 1 reward (one process plays every role)" "single-process roles"
expect_contains "$out" "resolved config: $tmp/runs/t/config.json" "run folder"
expect_run 0 "resolved config is a valid config" -- "$fx" config check "$tmp/runs/t/config.json"
expect_contains "$out" '"out_dir":	"'"$tmp"'/runs"' "the override is in the resolved config"
expect_run 2 "ranks with a bad config" -- "$fx" ranks "$tmp/unknown.json"
expect_contains "$err" "did you mean cluster.trainer_ranks?" "ranks reports config errors"
expect_run 0 "ranks threads" -- "$fx" ranks --set cluster.threads=3 --set "run.out_dir=$tmp/runs"
expect_contains "$out" "cpu            3" "threads per rank from the config"

finish test_cli
