#!/usr/bin/env bash
# setup.sh — installs the CortexJS Compute Engine (npm @cortex-js/compute-engine, pinned by
# package-lock.json) into tests/reference/verify/node_modules, one of the two judges agree.py
# measures fluxrl's answer verifier against (the other is Debian's python3-sympy). Idempotent:
# nothing happens when the pinned version is already installed. launch/deps.sh calls it.
set -euo pipefail
cd "$(dirname "$0")"
want=$(sed -n 's/.*"@cortex-js\/compute-engine": "\(.*\)".*/\1/p' package.json)
have=$(sed -n 's/^  "version": "\(.*\)".*/\1/p' node_modules/@cortex-js/compute-engine/package.json 2>/dev/null || true)
if [ -n "$want" ] && [ "$want" = "$have" ]; then
    exit 0
fi
echo "setup.sh: installing @cortex-js/compute-engine $want into $(pwd)/node_modules" >&2
npm ci --no-audit --no-fund --loglevel=error >/dev/null
