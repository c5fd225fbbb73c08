#!/usr/bin/env bash
# Builds the benchmarks (Release, in build-bench/), generates the kv histories there (not
# committed), runs every benchmark of docs/performance.md and prints a table.
#
#   scripts/bench.sh                 # everything but the reports
#   JOBS=2 OPS=1000000 REPEAT=5 scripts/bench.sh
#   REPORTS=1 scripts/bench.sh       # and then bench/report_bench.sh (a few minutes more)
#
# Environment: BUILD_DIR (build-bench), BUILD_TYPE (Release), JOBS (2: compile jobs), OPS (1000000:
# invocations in the big kv history), REPEAT (5: rounds of the etcd suite), BIG_REPEAT (3: rounds
# of the big kv history), SEED (1), SWEEP_SEEDS (20: single-key histories, seeds 1..N), REPORTS
# (0; 1 also times `faultline report` on 10k-1M ops in six shapes: bench/report_bench.sh).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${BUILD_DIR:-${root}/build-bench}"
build_type="${BUILD_TYPE:-Release}"
jobs="${JOBS:-2}"
ops="${OPS:-1000000}"
repeat="${REPEAT:-5}"
big_repeat="${BIG_REPEAT:-3}"
sweep_seeds="${SWEEP_SEEDS:-20}"
seed="${SEED:-1}"
cores="$(nproc)"

cmake -S "${root}" -B "${build}" -G Ninja -DCMAKE_BUILD_TYPE="${build_type}" >/dev/null
cmake --build "${build}" -j"${jobs}" --target gen_kv_history bench_linearizable bench_runner
gen="${build}/bench/gen_kv_history"
bench="${build}/bench/bench_linearizable"

cpu="$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
echo "== machine: ${cores} cores, ${cpu}, load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "== generating histories (seed ${seed})"
"${gen}" --ops "${ops}" --keys 1000 --clients 50 --seed "${seed}" --out "${build}/kv-big.edn"
"${gen}" --ops "${ops}" --keys 1000 --clients 50 --seed "${seed}" --corrupt 10 \
  --out "${build}/kv-big-corrupt.edn"
"${gen}" --ops 400 --keys 1 --clients 10 --crash-probability 0.05 --seed "${seed}" \
  --out "${build}/kv-single.edn"

results="$(mktemp)"
trap 'rm -f "${results}"' EXIT

# Runs one benchmark under /usr/bin/time -v; appends its RESULT line plus time's peak RSS.
run() {
  local label="$1"
  shift
  local log
  log="$(mktemp)"
  local status=0
  /usr/bin/time -v "$@" >"${log}" 2>&1 || status=$?
  grep -E '^(round|etcd suite|MISMATCH)' "${log}" | sed 's/^/  /' || true
  local result time_rss
  result="$(grep '^RESULT' "${log}" || echo "RESULT failed=1")"
  time_rss="$(awk -F': ' '/Maximum resident set size/ {printf "%.1f", $2 / 1024}' "${log}")"
  echo "${label} ${result#RESULT } time_rss_mib=${time_rss:-?} exit=${status}" >>"${results}"
  if [ "${status}" -ne 0 ]; then
    echo "!! ${label} exited ${status}; output:"
    tail -20 "${log}"
  fi
  rm -f "${log}"
}

echo "== etcd suite (${repeat} rounds)"
run etcd "${bench}" etcd "${root}/tests/data/porcupine" --repeat "${repeat}"

echo "== single key, 400 ops (800 lines), 10 clients, 5% crashed"
run single "${bench}" file "${build}/kv-single.edn" --model kv --threads 1 --repeat 21 \
  --expect valid

# One seed can be lucky: the search's cost on a single key varies a lot with the history's shape,
# so time many seeds and report the spread.
echo "== single key, seeds 1..${sweep_seeds} (3 rounds each, 60 s limit)"
sweep="$(mktemp)"
for s in $(seq 1 "${sweep_seeds}"); do
  "${gen}" --ops 400 --keys 1 --clients 10 --crash-probability 0.05 --seed "${s}" \
    --out "${build}/kv-single-sweep.edn" 2>/dev/null
  line="$("${bench}" file "${build}/kv-single-sweep.edn" --model kv --threads 1 --repeat 3 \
    --time-limit 60 | grep '^RESULT' || echo 'RESULT total_s=nan verdict=error')"
  echo "seed=${s} ${line#RESULT }" >>"${sweep}"
done
awk '
  {
    for (i = 1; i <= NF; i++) { split($i, pair, "="); kv[pair[1]] = pair[2] }
    printf "  seed %-3s %8s s  %8s MiB  %s\n", kv["seed"], kv["total_s"], kv["peak_rss_mib"],
      kv["verdict"]
  }' "${sweep}"
# mawk has no asort: sort the times first, then read them in order.
pattern='s/.*seed=([0-9]+).*total_s=([^ ]+).*verdict=([a-z]+).*/\2 \1 \3/'
sed -E "${pattern}" "${sweep}" | sort -g | awk '
  {
    times[NR] = $1 + 0
    if ($3 != "valid") bad++
    if ($1 + 0 > 1) slow++
    max = $1 + 0; max_seed = $2
  }
  END {
    median = NR % 2 ? times[(NR + 1) / 2] : (times[NR / 2] + times[NR / 2 + 1]) / 2
    printf "single-sweep n=%d median_s=%.4f max_s=%.4f max_seed=%s over_1s=%d not_valid=%d",
      NR, median, max, max_seed, slow, bad
    printf " exit=%d\n",
      (bad > 0 ? 1 : 0)
  }' >>"${results}"
rm -f "${sweep}"

thread_counts=(1 2)
if [ "${cores}" -gt 2 ]; then thread_counts+=("${cores}"); fi
for threads in "${thread_counts[@]}"; do
  echo "== kv ${ops} ops, ${threads} threads"
  run "kv-t${threads}" "${bench}" file "${build}/kv-big.edn" --model kv --threads "${threads}" \
    --repeat "${big_repeat}" --expect valid
done
echo "== kv ${ops} ops with 10 corrupted gets, ${cores} threads"
run "kv-corrupt-t${cores}" "${bench}" file "${build}/kv-big-corrupt.edn" --model kv \
  --threads "${cores}" --expect invalid

echo "== runner throughput, no-op client, 10 threads, journal off and on"
"${build}/bench/bench_runner" --concurrency 10 --ops 300000 --repeat 3 | grep -E '^(median|RESULT)'

echo
echo "== results (seconds; RSS in MiB; medians where rounds > 1)"
awk '
  {
    delete kv
    for (i = 2; i <= NF; i++) { split($i, pair, "="); kv[pair[1]] = pair[2] }
    if ($1 == "single-sweep") {
      printf "%-16s n=%-2s median %8s  max %8s (seed %s)  over 1 s: %s  not valid: %s  exit %s\n",
        $1, kv["n"], kv["median_s"], kv["max_s"], kv["max_seed"], kv["over_1s"], kv["not_valid"],
        kv["exit"]
    } else if ($1 == "etcd") {
      printf "%-16s %3s  total %8s  read %8s  check %8s  worst %s %s  rss %s",
        $1, "", kv["total_s"], kv["read_s"], kv["check_s"], kv["worst_file"], kv["worst_s"],
        kv["time_rss_mib"]
      printf "  mismatches %s  exit %s\n", kv["mismatches"], kv["exit"]
    } else {
      printf "%-16s t=%-2s total %8s  read %8s  check %8s  rss %8s  %s (expected %s)  exit %s\n",
        $1, kv["threads"], kv["total_s"], kv["read_s"], kv["check_s"], kv["time_rss_mib"],
        kv["verdict"], kv["expected"], kv["exit"]
    }
  }' "${results}"

status=0
grep -qv ' exit=0$' "${results}" && status=1
if [ "${REPORTS:-0}" = 1 ]; then
  echo
  BUILD_DIR="${build}" BUILD_TYPE="${build_type}" JOBS="${jobs}" SEED="${seed}" \
    "${root}/bench/report_bench.sh" || status=1
fi
# Non-zero when any benchmark failed or gave a wrong verdict.
exit "${status}"
