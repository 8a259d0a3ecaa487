#!/usr/bin/python3
"""fnv1a64.py FOLDER... — the content hash fluxrl records for each expert of a PCM folder
(docs/pcm.md, pipeline/experts.h): FNV-1a 64 over the bytes of the folder's *.safetensors files in
name order, as 16 hex digits, one line per folder. Written independently of fluxrl's C code, for
tests/cli/test_pcm_cli.sh and tests/mpi/test_train_dist.sh.
"""
import glob
import os
import sys


def fnv1a64(folder):
    h = 14695981039346656037
    for f in sorted(glob.glob(os.path.join(folder, "*.safetensors"))):
        for b in open(f, "rb").read():
            h = ((h ^ b) * 1099511628211) % 2**64
    return "%016x" % h


if __name__ == "__main__":
    for folder in sys.argv[1:]:
        print(fnv1a64(folder))
