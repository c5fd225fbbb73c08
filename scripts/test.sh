#!/usr/bin/env bash
# Sets up a fresh Debian 12 machine and runs faultline's whole test suite (README Quick start).
# Usage: bash scripts/test.sh        (as root, or with sudo rights for the package install)
# Environment: FAULTLINE_BUILD_DIR (default build), FAULTLINE_FUZZ_SECONDS (default 10 per target;
# 0 skips the fuzz run).
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup.sh

build_dir=${FAULTLINE_BUILD_DIR:-build}
jobs=$(nproc)
cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo
cmake --build "$build_dir" -j "$jobs"

# The short fuzz run goes first so that CTest's summary is the last thing printed.
fuzz_seconds=${FAULTLINE_FUZZ_SECONDS:-10}
if [ "$fuzz_seconds" != 0 ] && [ -f scripts/fuzz.sh ]; then
  bash scripts/fuzz.sh "$fuzz_seconds"
fi

ctest --test-dir "$build_dir" --output-on-failure -j "$jobs"

