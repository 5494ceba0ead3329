#!/usr/bin/env bash
# bench/cuda_check.sh DIR — the one-shot CUDA check for a GPU machine; results go to DIR/*.txt.
#
# Designed for a short GPU lease (15 minutes, one try): every stage has a timeout, a failing
# stage is recorded and the next one still runs, and DIR/summary.txt always ends with one line
# per stage.  Total wall time is about 5 minutes on an H200 when the bundle is prebuilt.
#
# The GPU machine has nvcc, the CUDA libraries and a driver, but not LuaJIT/HDF5/OpenBLAS/FFTW or
# busted.  So, on the development machine first:
#     make cuda-bundle            # make dist CUDA=1, then dist/spinlock.tar.gz (~25 MB; the folder
#                                 # itself, ~68 MB, is over the device tool's 64 MiB carry limit)
# and carry the tarball with the working tree (the device tool's carry: ["dist/spinlock.tar.gz"]).
# Then on the GPU machine, from the repository root:
#     bench/cuda_check.sh "$OUT/cuda"
#
# Stages (files in DIR):
#   env.txt      nvidia-smi, nvcc version, the binary's sl.backend_info()
#   plugin.txt   only if the carried plugin does not load: a rebuild with this machine's nvcc
#                (make BUILD=build-gpu CUDA=1 cuda; needs nothing but nvcc and gcc)
#   specs.txt    spec/cuda_spec.lua (busted if it works here, else bench/busted_shim.lua)
#   bench.txt    bench/cuda_bench.lua: SGEMM FP32/TF32 rates, conv TFLOP/s per shape, proxy
#                operators/s on 100 operators of configs/experiments/baseline_10k.yaml
#   summary.txt  one line per stage: name, exit status, seconds
# Environment: SPINLOCK_BIN=path/to/spinlock overrides the binary search; CHECK_BUILD=1 allows
# `make dist CUDA=1` when no binary is found (a development machine with every package).
set -euo pipefail

out=${1:?usage: bench/cuda_check.sh DIR}
mkdir -p "$out"
out=$(cd "$out" && pwd)
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
: > "$out/summary.txt"

log() { echo "[$(date +%H:%M:%S)] $*" | tee -a "$out/log.txt" >&2; }

# stage NAME TIMEOUT_S OUTFILE CMD...: runs CMD with a timeout, output to OUTFILE, never aborts.
stage() {
  local name=$1 limit=$2 file=$3
  shift 3
  log "stage $name (timeout ${limit}s) -> $file"
  local t0=$SECONDS rc=0
  timeout --kill-after=10 "$limit" "$@" >> "$out/$file" 2>&1 || rc=$?
  local dt=$((SECONDS - t0))
  [ "$rc" -eq 124 ] && echo "(timed out after ${limit}s)" >> "$out/$file"
  printf '%-10s rc=%-4s %5ss  %s\n' "$name" "$rc" "$dt" "$file" >> "$out/summary.txt"
  log "stage $name: rc=$rc in ${dt}s"
  return 0
}

# ---- 1. the binary ----
if [ -f dist/spinlock.tar.gz ] && [ ! -x dist/spinlock/spinlock ]; then
  log "unpacking dist/spinlock.tar.gz"
  tar -C dist -xzf dist/spinlock.tar.gz
fi
bin=${SPINLOCK_BIN:-}
if [ -z "$bin" ]; then
  for c in dist/spinlock/spinlock build/spinlock; do
    if [ -x "$c" ] && "$c" -e 'require "spinlock"' > /dev/null 2>&1; then bin=$c; break; fi
  done
fi
if [ -z "$bin" ] && [ "${CHECK_BUILD:-0}" = 1 ]; then
  stage build 1200 build.txt make dist CUDA=1
  [ -x dist/spinlock/spinlock ] && bin=dist/spinlock/spinlock
fi
if [ -z "$bin" ]; then
  log "no runnable spinlock binary (carry dist/spinlock from 'make dist CUDA=1', or set SPINLOCK_BIN)"
  printf '%-10s rc=%-4s %5ss  %s\n' binary 1 0 "no runnable binary" >> "$out/summary.txt"
  exit 1
fi
bin=$(cd "$(dirname "$bin")" && pwd)/$(basename "$bin")
log "binary: $bin"

# ---- 2. environment and plugin ----
backend_info='local i = require("spinlock").backend_info()
print("cuda_available", i.cuda_available); print("devices", i.devices); print("reason", i.reason)
print("plugin", i.plugin); for k, n in ipairs(i.device_names) do print("device " .. k, n) end
print("blas_core", i.blas_core)'
{
  echo "== nvidia-smi"; timeout 30 nvidia-smi 2>&1 || echo "(nvidia-smi failed)"
  echo "== nvcc"; timeout 30 nvcc --version 2>&1 || timeout 30 /usr/local/cuda/bin/nvcc --version 2>&1 || echo "(no nvcc)"
  echo "== uname"; uname -a
} >> "$out/env.txt" 2>&1 || true
stage backend 60 env.txt "$bin" -e "$backend_info"

available=$("$bin" -e 'io.write(tostring(require("spinlock").backend_info().cuda_available))' 2>/dev/null || echo false)
if [ "$available" != true ] && timeout 30 nvidia-smi -L > /dev/null 2>&1; then
  # A GPU is present but the carried plugin does not work with it: rebuild it with this nvcc.
  nvcc_bin=$(command -v nvcc || echo /usr/local/cuda/bin/nvcc)
  stage plugin 600 plugin.txt make BUILD=build-gpu CUDA=1 NVCC="$nvcc_bin" cuda
  if [ -f build-gpu/libspinlock_cuda.so ]; then
    export SPINLOCK_CUDA_PLUGIN=$root/build-gpu/libspinlock_cuda.so
    stage backend2 60 plugin.txt "$bin" -e "$backend_info"
  fi
fi

# ---- 3. parity specs ----
if [ -x /usr/bin/busted ] && "$bin" run /usr/bin/busted --version > /dev/null 2>&1; then
  stage specs 300 specs.txt "$bin" run /usr/bin/busted --tags=cuda --exclude-tags=slow spec/cuda_spec.lua
else
  stage specs 300 specs.txt "$bin" run bench/busted_shim.lua spec/cuda_spec.lua
fi

# ---- 4. benchmark ----
stage bench 420 bench.txt "$bin" run bench/cuda_bench.lua configs/experiments/baseline_10k.yaml 100 10

log "done; summary:"
cat "$out/summary.txt" >&2
