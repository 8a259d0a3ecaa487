#!/usr/bin/env bash
# prepare_deps.sh — fills .gpu-deps/ (ignored by git) with the Debian packages that a device
# machine lacks (MPI, HDF5, cJSON, OpenBLAS, PCRE2, utf8proc, pkg-config and what their libraries
# link), as .deb files: bench/gpu/run.sh unpacks them there with dpkg-deb -x into a folder of its
# own (never into /) and points LD_LIBRARY_PATH, PKG_CONFIG and CMake at it. Run it here, on a
# machine that reaches Debian's archive, then name .gpu-deps in the device tool's `carry`.
# The .debs stay compressed in transit; the carry limit is 64 MiB for everything that travels.
set -euo pipefail
cd "$(dirname "$0")/../.."
out=.gpu-deps
pkgs=(
  # MPI (Open MPI 4.1: library, headers, mpirun/orted for more than one rank, PMIx)
  libopenmpi-dev libopenmpi3 openmpi-bin openmpi-common libpmix2 libhwloc15 libevent-core-2.1-7
  libevent-pthreads-2.1-7 libevent-2.1-7 libmunge2 libltdl7 libnuma1
  # HDF5 (serial) and what libhdf5 links: szip/aec, and curl (its read-only S3 driver) with its TLS stack
  libhdf5-dev libhdf5-103-1 libhdf5-hl-100 libsz2 libaec0 libcurl4 libbrotli1 libgnutls30 libgssapi-krb5-2
  libhogweed6 libnettle8 libidn2-0 libk5crypto3 libkrb5-3 libkrb5support0 libkeyutils1 libldap-2.5-0 libnghttp2-14
  libp11-kit0 libpsl5 librtmp1 libsasl2-2 libssh2-1 libssl3 libtasn1-6 libunistring2 libgmp10 libffi8 libzstd1
  # cJSON, OpenBLAS (pthread build, gfortran runtime), PCRE2, utf8proc
  libcjson-dev libcjson1 libopenblas-dev libopenblas-pthread-dev libopenblas0-pthread libopenblas0 libgfortran5
  libquadmath0 libpcre2-dev libpcre2-8-0 libpcre2-16-0 libpcre2-32-0 libpcre2-posix3 libutf8proc-dev libutf8proc2
  # pkg-config, which CMake's pkg_check_modules runs
  pkgconf pkgconf-bin libpkgconf3
)
mkdir -p "$out"
if ! ls "$out"/*.deb >/dev/null 2>&1 || [ "${1:-}" = "--force" ]; then
  rm -f "$out"/*.deb
  apt-get update -qq >/dev/null 2>&1 || true
  (cd "$out" && apt-get download -qq "${pkgs[@]}")
fi
# The NCCL header, in case the device's CUDA has the library (pip's nvidia-nccl) but not nccl.h.
if [ -f /usr/local/cuda/include/nccl.h ]; then
  mkdir -p "$out/nccl/include" && cp /usr/local/cuda/include/nccl.h "$out/nccl/include/"
fi
n=$(ls "$out"/*.deb | wc -l)
size=$(du -sm "$out" | cut -f1)
echo "prepare_deps: $n packages in $out, ${size} MiB (carry limit: 64 MiB for everything that travels)"
[ "$size" -lt 56 ] || { echo "prepare_deps: $out is too large to carry" >&2; exit 1; }
