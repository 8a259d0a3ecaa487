#!/usr/bin/env bash
# test_traces.sh FLUXRL FIXTURE SRC — `fluxrl traces`, and the store read by other tools:
# h5dump (hdf5-tools) and h5py under Debian's python3.
set -u
fx=$1 fixture=$2 src=$3
. "$src/tests/lib.sh"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

expect_run 0 "fixture" -- "$fixture" "$tmp/t.h5" 25
expect_run 0 "traces info" -- "$fx" traces info "$tmp/t.h5"
expect_contains "$out" "traces     25" "count"
expect_contains "$out" "groups     7" "groups"
expect_contains "$out" "model      fixture-model" "model identity"
expect_run 0 "traces export" -- "$fx" traces export "$tmp/t.h5" --out "$tmp/t.jsonl"
expect_run 0 "25 lines" -- test "$(wc -l <"$tmp/t.jsonl")" -eq 25
expect_contains "$(sed -n 4p "$tmp/t.jsonl")" '{"index":3,"group":0,"sample":3,"policy_version":0,"finish":"abort","think_end":1,"prompt_ids":[300,301,302,303,304,305],"response_ids":[3000,3001,3002,3003,3004,3005]' "line 4"
expect_run 0 "export to stdout" -- "$fx" traces export "$tmp/t.h5"
expect_run 0 "no temporary file left" -- test ! -e "$tmp/t.jsonl.tmp"

expect_run 2 "missing file" -- "$fx" traces info "$tmp/none.h5"
expect_contains "$err" "none.h5: cannot open" "missing named"
echo "text" >"$tmp/x.h5"
expect_run 2 "not HDF5" -- "$fx" traces export "$tmp/x.h5"
expect_contains "$err" "x.h5: not an HDF5 file" "not HDF5 named"
expect_run 2 "no file" -- "$fx" traces info
expect_run 2 "extra argument" -- "$fx" traces info "$tmp/t.h5" more
expect_run 0 "--help" -- "$fx" traces export --help

expect_run 0 "h5dump reads it" -- h5dump -d /traces/group_id "$tmp/t.h5"
expect_contains "$out" "( 25 ) / ( H5S_UNLIMITED )" "h5dump extent"
expect_run 0 "h5py reads it" -- /usr/bin/python3 -c '
import sys, h5py
f = h5py.File(sys.argv[1], "r")
n = f["traces/group_id"].shape[0]
s, l = f["traces/response_start"][9], f["traces/response_length"][9]
print(n, f.attrs["format"], f.attrs["model"], list(f["tokens/response_ids"][s:s + l]))
' "$tmp/t.h5"
expect_contains "$out" "25 fluxrl-traces fixture-model [9000, 9001, 9002, 9003]" "h5py view"

finish test_traces
