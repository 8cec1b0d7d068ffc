#!/usr/bin/env bash
# OpenBLAS from Debian, the "well-tuned BLAS" the unpadded bench prints beside libtorch's GEMM. Prints the library's path.
set -euo pipefail
lib=/usr/lib/x86_64-linux-gnu/openblas-pthread/libopenblas.so.0
if [ ! -e "$lib" ]; then
  if [ "$(id -u)" = 0 ]; then apt-get install -y -q libopenblas0-pthread >&2; else sudo apt-get install -y -q libopenblas0-pthread >&2; fi
fi
echo "$lib"
