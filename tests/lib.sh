# lib.sh — assertions for fluxrl's shell tests. Source it; call `finish NAME` at the end, which
# prints "NAME: N passed, N failed" and exits non-zero on any failure.
passed=0
failed=0

# expect_run WANT_CODE DESCRIPTION -- CMD...: runs CMD, keeps its stdout in $out and stderr in $err.
expect_run() {
    local want=$1 what=$2
    shift 3
    local o e
    o=$(mktemp) e=$(mktemp)
    "$@" >"$o" 2>"$e"
    code=$?
    out=$(cat "$o") err=$(cat "$e")
    rm -f "$o" "$e"
    if [ "$code" -eq "$want" ]; then
        passed=$((passed + 1))
    else
        failed=$((failed + 1))
        printf 'FAIL %s: exit %s, expected %s\n  command: %s\n  stdout: %s\n  stderr: %s\n' \
            "$what" "$code" "$want" "$*" "$out" "$err" >&2
    fi
}

# expect_contains HAYSTACK NEEDLE DESCRIPTION
expect_contains() {
    if [[ "$1" == *"$2"* ]]; then
        passed=$((passed + 1))
    else
        failed=$((failed + 1))
        printf 'FAIL %s: output does not contain %q\n  output: %s\n' "$3" "$2" "$1" >&2
    fi
}

expect_not_contains() {
    if [[ "$1" != *"$2"* ]]; then
        passed=$((passed + 1))
    else
        failed=$((failed + 1))
        printf 'FAIL %s: output contains %q\n  output: %s\n' "$3" "$2" "$1" >&2
    fi
}

finish() {
    echo "$1: $passed passed, $failed failed"
    [ "$failed" -eq 0 ]
}
