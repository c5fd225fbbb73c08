#!/usr/bin/env bash
# Builds the libFuzzer targets (fuzz/) in build-fuzz/ with clang++-14, ASan and UBSan, then runs
# each for SECONDS (default 20) on inputs up to 4096 bytes. Exits non-zero if any target finds a
# crash, a sanitizer report or a broken reader promise; the input is saved in
# build-fuzz/artifacts/. Each target's corpus persists in build-fuzz/corpus/ between runs.
#
# Usage: bash scripts/fuzz.sh [SECONDS]
set -euo pipefail

seconds="${1:-20}"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${root}/build-fuzz"
data="${root}/tests/data"
targets=(fuzz_jsonl fuzz_edn fuzz_jepsen_log fuzz_elle_json fuzz_auto)

mkdir -p "${build}"
cmake -S "${root}" -B "${build}" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_CXX_COMPILER=clang++-14 -DFAULTLINE_FUZZ=ON -DFAULTLINE_TESTS=OFF \
  -DFAULTLINE_BENCH=OFF > "${build}/configure.log" 2>&1 ||
  { cat "${build}/configure.log"; exit 1; }
cmake --build "${build}" -j2 --target "${targets[@]}"

# Seeds: the small sample histories of each format, plus fuzz/seeds/<format>/.
seed_files() {
  case "$1" in
    fuzz_jsonl) find "${root}/fuzz/seeds/jsonl" -type f ;;
    fuzz_elle_json) find "${root}/fuzz/seeds/elle_json" -type f ;;
    fuzz_edn) find "${data}/knossos" "${data}/elle/cases" "${root}/fuzz/seeds/edn" -name '*.edn' ;;
    fuzz_jepsen_log) find "${data}/porcupine" -name '*.log' ;;
    fuzz_auto) find "${data}" "${root}/fuzz/seeds" -type f \
      \( -name '*.edn' -o -name '*.log' -o -name '*.json*' \) ;;
  esac
}

failed=()
for target in "${targets[@]}"; do
  corpus="${build}/corpus/${target}"
  seeds="${build}/seeds/${target}"
  mkdir -p "${corpus}" "${seeds}" "${build}/artifacts"
  seed_files "${target}" | while read -r file; do
    if [ "$(stat -c %s "${file}")" -le 4096 ]; then
      cp "${file}" "${seeds}/$(echo "${file#"${root}"/}" | tr '/' '_')"
    fi
  done
  echo "== ${target}: ${seconds} s"
  if ! "${build}/fuzz/${target}" -max_len=4096 -max_total_time="${seconds}" -timeout=10 \
      -rss_limit_mb=2048 -print_final_stats=1 \
      -artifact_prefix="${build}/artifacts/${target}-" "${corpus}" "${seeds}" \
      > "${build}/${target}.log" 2>&1; then
    tail -n 40 "${build}/${target}.log"
    failed+=("${target}")
  else
    grep -E 'stat::number_of_executed_units|stat::new_units_added' "${build}/${target}.log" || true
  fi
done

if [ "${#failed[@]}" -ne 0 ]; then
  echo "fuzz: FAILED: ${failed[*]} (inputs in ${build}/artifacts/)"
  exit 1
fi
echo "fuzz: all ${#targets[@]} targets ran ${seconds} s without a finding"
