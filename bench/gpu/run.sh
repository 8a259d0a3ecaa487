#!/usr/bin/env bash
# run.sh — the whole device check in one call: what the machine has, the carried libraries
# (.gpu-deps/, from bench/gpu/prepare_deps.sh), a CUDA build, the gpu-labelled tests and the GPU
# benchmarks next to PyTorch + transformers; everything it prints also lands in $OUT (or
# build-gpu/out when OUT is unset): run.log, ctest.log, bench.jsonl, summary.txt.
#
#   bench/gpu/run.sh [--quick|--train-only]
#     --quick: tests and the 25m benchmark only; --train-only: the `fluxrl train` check only
#
# The device tool call (docs/gpu.md): command "bash bench/gpu/run.sh", carry [".gpu-deps"],
# timeout_s 540. Steps have their own timeouts so that one hang still leaves the results of the rest.
set -uo pipefail
cd "$(dirname "$0")/../.."
root=$PWD
OUT=${OUT:-${FLUXRL_GPU_BUILD:-$root/build-gpu}/out}
mkdir -p "$OUT"
exec > >(tee -a "$OUT/run.log") 2>&1
quick=0 train_only=0
[ "${1:-}" = "--quick" ] && quick=1
[ "${1:-}" = "--train-only" ] && train_only=1
t_start=$(date +%s)
summary() { echo "$*" | tee -a "$OUT/summary.txt"; }
has() { command -v "$1" >/dev/null 2>&1; }

echo "== fluxrl bench/gpu/run.sh $(date -u +%Y-%m-%dT%H:%M:%SZ) on $(hostname)"
echo "== what this machine has"
gpu="none"
if has nvidia-smi && nvidia-smi -L >/dev/null 2>&1; then
    gpu=$(nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader | head -1)
    nvidia-smi -L
else
    echo "nvidia-smi: no CUDA device (or no driver) on this machine"
fi
nvcc=$(command -v nvcc || ls /usr/local/cuda/bin/nvcc 2>/dev/null || true)
echo "nvcc:    ${nvcc:-missing} $([ -n "$nvcc" ] && "$nvcc" --version | tail -1)"
echo "cmake:   $(has cmake && cmake --version | head -1 || echo missing)"
echo "python3: $(has python3 && python3 -c 'import sys; print(sys.version.split()[0])' || echo missing)"
py_torch=$(python3 -c 'import torch; print(torch.__version__, "cuda", torch.cuda.is_available())' 2>/dev/null || echo missing)
py_tf=$(python3 -c 'import transformers; print(transformers.__version__)' 2>/dev/null || echo missing)
echo "torch:   $py_torch"
echo "transformers: $py_tf"
syslibs=$(ldconfig -p 2>/dev/null || true)
for lib in libmpi.so libhdf5_serial.so libcjson.so libopenblas.so libpcre2-8.so libutf8proc.so libnccl.so libcublasLt.so; do
    case "$syslibs" in *"$lib"*) echo "system $lib: yes" ;; *) echo "system $lib: no" ;; esac
done
summary "card: $gpu"
summary "date: $(date -u +%Y-%m-%d)"

# --- carried libraries ------------------------------------------------------------------------------
deps=${TMPDIR:-/tmp}/fluxrl-gpu-deps # unpacked outside the tree: only .gpu-deps/*.deb travel
cmake_deps=()
if ls .gpu-deps/*.deb >/dev/null 2>&1; then
    echo "== unpacking $(ls .gpu-deps/*.deb | wc -l) carried packages into $deps"
    mkdir -p "$deps"
    for f in .gpu-deps/*.deb; do
        if has dpkg-deb; then dpkg-deb -x "$f" "$deps"; else ar p "$f" data.tar.xz | tar -xJ -C "$deps"; fi ||
            echo "cannot unpack $f"
    done
    lib=$deps/usr/lib/x86_64-linux-gnu
    dep_ld=$lib:$lib/openblas-pthread:$lib/hdf5/serial:$lib/openmpi/lib
    export PKG_CONFIG_PATH=$lib/pkgconfig:$lib/openblas-pthread/pkgconfig:$deps/usr/share/pkgconfig
    export PKG_CONFIG_SYSROOT_DIR=$deps
    export PKG_CONFIG_LIBDIR=$PKG_CONFIG_PATH # only the carried .pc files
    if ! has pkg-config; then export PKG_CONFIG=$deps/usr/bin/pkgconf; fi
    # Open MPI and PMIx find their plugins and help files under a moved prefix through these.
    export OPAL_PREFIX=$deps/usr PMIX_INSTALL_PREFIX=$deps/usr
    export PATH=$PATH:$deps/usr/bin
    ln -sf mpirun.openmpi "$deps/usr/bin/mpirun"
    export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_btl=self,vader OMPI_MCA_pml=ob1
    # FindHDF5 asks the h5cc wrapper for its flags; Debian's (hdf5-helpers) has /usr baked in, so
    # a small one of ours answers for the carried library.
    cat >"$deps/usr/bin/h5cc-carried" <<H5CC
#!/bin/sh
flags="-I$deps/usr/include/hdf5/serial -L$lib/hdf5/serial"
case "\$1" in
  -show) shift; echo "cc \$flags \$* -lhdf5 -Wl,-rpath-link,$dep_ld"; exit 0 ;;
  -showconfig) echo "HDF5 Version: 1.10.8"; echo "Parallel HDF5: no"; exit 0 ;;
esac
exec cc \$flags "\$@" -lhdf5 -Wl,-rpath-link,$dep_ld
H5CC
    chmod +x "$deps/usr/bin/h5cc-carried"
    cmake_deps=(
        -DPKG_CONFIG_EXECUTABLE="${PKG_CONFIG:-$(command -v pkg-config)}"
        -DMPI_C_COMPILER=/nonexistent -DMPI_C_LIB_NAMES=mpi -DMPI_mpi_LIBRARY="$lib/openmpi/lib/libmpi.so"
        -DMPI_C_HEADER_DIR="$lib/openmpi/include"
        -DHDF5_C_COMPILER_EXECUTABLE="$deps/usr/bin/h5cc-carried"
        # the linker finds the libraries that the carried ones need (libhdf5 -> libsz, ...)
        -DCMAKE_EXE_LINKER_FLAGS="-Wl,-rpath-link,$dep_ld"
    )
else
    echo "== no carried packages (.gpu-deps/*.deb): using the system's libraries"
    dep_ld=
fi

# NCCL: the toolkit's, or pip's nvidia-nccl (library only: then the carried header).
nccl_args=()
if ! { ls /usr/local/cuda/lib64/libnccl.so* || ls /usr/lib/x86_64-linux-gnu/libnccl.so*; } >/dev/null 2>&1; then
    pylib=$(python3 -c 'import nvidia.nccl, os; print(os.path.join(list(nvidia.nccl.__path__)[0], "lib"))' 2>/dev/null || true)
    if [ -n "$pylib" ] && ls "$pylib"/libnccl.so* >/dev/null 2>&1; then
        mkdir -p "$deps/nccl/lib"
        ln -sf "$(ls "$pylib"/libnccl.so* | head -1)" "$deps/nccl/lib/libnccl.so"
        inc=$(dirname "$pylib")/include
        [ -f "$inc/nccl.h" ] || inc=$root/.gpu-deps/nccl/include
        nccl_args=(-DNCCL_LIBRARY="$deps/nccl/lib/libnccl.so" -DNCCL_INCLUDE_DIR="$inc")
        dep_ld=$dep_ld${dep_ld:+:}$pylib
        echo "NCCL: pip's $pylib (header from $inc)"
    else
        echo "NCCL: not found (toolkit or pip); the configure step will say so"
    fi
fi

# Our programs get the carried libraries first; python3 (PyTorch) and cmake keep the system's.
withdeps=(env "LD_LIBRARY_PATH=$dep_ld${dep_ld:+:}${LD_LIBRARY_PATH:-}")

if [ "$gpu" = "none" ]; then
    summary "result: NOT RUN: no CUDA device on this machine (nothing was tested or measured)"
    [ -n "$nvcc" ] || exit 1
    echo "== building anyway (compile check only)"
fi

# --- build ----------------------------------------------------------------------------------------------
echo "== configure + build (CUDA ON, sm_90)"
build=${FLUXRL_GPU_BUILD:-$root/build-gpu}
t0=$(date +%s)
if ! timeout 300 cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DFLUXRL_CUDA=ON \
        -DCMAKE_CUDA_COMPILER="$nvcc" -DCMAKE_CUDA_ARCHITECTURES=90 "${cmake_deps[@]}" "${nccl_args[@]}" \
        >"$OUT/configure.log" 2>&1; then
    tail -40 "$OUT/configure.log"
    summary "result: configure FAILED (configure.log)"
    exit 1
fi
if ! "${withdeps[@]}" timeout 420 cmake --build "$build" -j"$(nproc)" --target test_cuda_ops test_nccl bench_model \
        >"$OUT/build.log" 2>&1; then
    grep -E "error|Error" "$OUT/build.log" | head -40
    summary "result: build FAILED (build.log)"
    exit 1
fi
summary "build: $(($(date +%s) - t0)) s"
[ "$gpu" = "none" ] && exit 1

if [ $train_only = 0 ]; then
# --- tests ------------------------------------------------------------------------------------------------
echo "== ctest -L gpu"
(cd "$build" && "${withdeps[@]}" timeout 300 ctest -L gpu --output-on-failure --timeout 240) 2>&1 | tee "$OUT/ctest.log"
summary "tests: $(grep -E 'tests passed|tests failed' "$OUT/ctest.log" | tail -1)"
grep -E "^FAIL|failures" "$OUT/ctest.log" | head -20 | tee -a "$OUT/summary.txt"

# --- benchmarks -----------------------------------------------------------------------------------------------
left() { echo $((540 - ($(date +%s) - t_start))); }
bench() { # name, timeout, command...
    local name=$1 limit=$2
    shift 2
    [ "$(left)" -gt "$limit" ] || { summary "$name: skipped (time budget)"; return; }
    local line
    line=$(timeout "$limit" "$@" 2>>"$OUT/bench.err" | tail -1)
    [ -n "$line" ] || line="{\"bench\":\"$name\",\"error\":\"failed or timed out (bench.err)\"}"
    echo "$line" >>"$OUT/bench.jsonl"
    summary "$name: $line"
}
echo "== benchmarks (fluxrl bf16 | PyTorch + transformers, eager, bf16 autocast)"
sizes=(qwen2.5-0.5b qwen2.5-1.5b)
[ $quick = 1 ] && sizes=(25m)
# FLUXRL_GPU_SKIP_TRAIN_BENCH=1: decoding only (the training step measured before, code unchanged)
[ "${FLUXRL_GPU_SKIP_TRAIN_BENCH:-0}" = 1 ] && { summary "train benchmarks: skipped (FLUXRL_GPU_SKIP_TRAIN_BENCH)"; sizes_train=(); } || sizes_train=("${sizes[@]}")
for s in "${sizes_train[@]}"; do
    bench "fluxrl train $s" 120 "${withdeps[@]}" "$build/bench/bench_model" train "$s" --backend cuda --precision bf16
    bench "torch train $s" 120 python3 bench/gpu/reference.py train "$s"
done
for b in 1 64; do
    s=${sizes[0]}
    bench "fluxrl decode $s B=$b" 60 "${withdeps[@]}" "$build/bench/bench_model" decode "$s" "$b" --backend cuda --precision bf16
    bench "torch decode $s B=$b" 60 python3 bench/gpu/reference.py decode "$s" "$b"
done
fi

# --- fluxrl train on the card ------------------------------------------------------------------------
# The pipeline's CUDA path (pipeline/job.c: the policy on the device, the update, the weight sync)
# end to end in one process: a short SFT on the CPU (the demo's policy, fewer steps), then 3 GRPO
# updates from it with cluster.backend cpu and cuda (fp32 and bf16) on the same seed. The CPU and
# CUDA runs sample from slightly different logits, so their numbers are printed side by side, not
# compared for equality; the check is that the CUDA runs finish (exit 0) with finite losses.
train_left=$((540 - ($(date +%s) - t_start)))
if [ "$train_left" -gt 150 ]; then
    echo "== fluxrl train with cluster.backend = cuda"
    "${withdeps[@]}" timeout 200 cmake --build "$build" -j"$(nproc)" --target fluxrl >>"$OUT/build.log" 2>&1 ||
        summary "train check: build of fluxrl FAILED (build.log)"
    fx=("${withdeps[@]}" "$build/fluxrl")
    tr=$(mktemp -d)
    common=(--set run.out_dir="$tr" --set log.progress=off)
    if timeout 120 "${fx[@]}" sft configs/demo.json "${common[@]}" --set sft.steps=150 --set sft.eval_every=0 \
            --set sft.checkpoint_every=0 >"$tr/sft.log" 2>&1; then
        for be in cpu cuda:fp32 cuda:bf16; do
            name=grpo-${be/:/-}
            t0=$(date +%s)
            timeout 120 "${fx[@]}" train configs/demo.json "${common[@]}" --set run.name="$name" \
                --set model.path="$tr/demo/model" --set cluster.backend="${be%%:*}" \
                --set cluster.precision="$([ "$be" = cpu ] && echo fp32 || echo "${be#*:}")" \
                --set grpo.steps=3 --set grpo.eval_every=0 --set grpo.eval_problems=50 >"$tr/$name.log" 2>&1
            rc=$?
            tail -5 "$tr/$name.log"
            last=$(grep "\"loss\"" "$tr/$name/metrics.jsonl" 2>/dev/null | tail -1 | cut -c1-420)
            summary "train $be: exit $rc, $(($(date +%s) - t0)) s, last metrics: ${last:-none}"
        done
        # sft and prm-train on the device (cluster.backend, fp32: comparable with the CPU's losses)
        cpu_loss=$(grep '"loss"' "$tr/demo/metrics.jsonl" 2>/dev/null | tail -1 | cut -c1-160)
        t0=$(date +%s)
        timeout 90 "${fx[@]}" sft configs/demo.json "${common[@]}" --set run.name=sft-cuda --set cluster.backend=cuda \
            --set cluster.precision=fp32 --set sft.steps=150 --set sft.eval_every=0 --set sft.checkpoint_every=0 \
            >"$tr/sft-cuda.log" 2>&1
        rc=$?
        tail -3 "$tr/sft-cuda.log"
        last=$(grep '"loss"' "$tr/sft-cuda/metrics.jsonl" 2>/dev/null | tail -1 | cut -c1-160)
        summary "sft cuda:fp32: exit $rc, $(($(date +%s) - t0)) s, last: ${last:-none}; cpu: ${cpu_loss:-none}"
        t0=$(date +%s)
        timeout 90 "${fx[@]}" prm-train configs/demo.json "${common[@]}" --set run.name=prm-cuda \
            --set model.path="$tr/demo/model" --set cluster.backend=cuda --set cluster.precision=bf16 \
            --set prm.steps=40 --set prm.eval_every=0 --set prm.eval_traces=50 --set prm.checkpoint_every=0 \
            >"$tr/prm-cuda.log" 2>&1
        rc=$?
        tail -3 "$tr/prm-cuda.log"
        summary "prm-train cuda:bf16: exit $rc, $(($(date +%s) - t0)) s, $(tail -1 "$tr/prm-cuda.log" | cut -c1-200)"
    else
        summary "train check: sft FAILED ($(tail -3 "$tr/sft.log" | tr '\n' ' '))"
    fi
else
    summary "train check: skipped (time budget)"
fi
summary "total: $(($(date +%s) - t_start)) s"
echo "== done: results in $OUT (summary.txt, bench.jsonl, ctest.log, run.log); record them in docs/gpu.md"
