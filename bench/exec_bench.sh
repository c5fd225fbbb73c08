#!/usr/bin/env bash
# What the exec protocol (docs/clients.md) costs per op: `faultline test --db exec` against a
# client that does nothing (bench/exec/noop_client.c compiled with cc -O2, and
# bench/exec/noop_client.py), beside the in-process fake db, at several concurrencies. For each
# case: ops/s over the workload, the mean time an op takes as seen by one client thread
# (concurrency / ops per second), and the whole command's wall time and peak RSS (it also checks
# the history: stats and perf). docs/performance.md, "The exec protocol", has the numbers.
#
#   bench/exec_bench.sh                          # the default build in build/
#   BUILD_DIR=build-bench CONCURRENCY="1 10" SECONDS_PER_RUN=3 bench/exec_bench.sh
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${BUILD_DIR:-${root}/build}"
faultline="${FAULTLINE:-${build}/faultline}"
concurrencies="${CONCURRENCY:-1 5 10}"
seconds="${SECONDS_PER_RUN:-5}"
work="$(mktemp -d /tmp/faultline_exec_bench_XXXXXX)"
trap 'rm -rf "${work}"' EXIT

cc -O2 -o "${work}/noop" "${root}/bench/exec/noop_client.c"
echo "== machine: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg); ${seconds} s per run"
printf '%-8s %5s %10s %12s %8s %8s\n' client conc ops/s us/op wall_s rss_mib
for concurrency in ${concurrencies}; do
  for client in fake c python; do
    case "${client}" in
      fake) flags=(--db fake) ;;
      c) flags=(--db exec --client-command "${work}/noop") ;;
      python) flags=(--db exec --client-command "python3 ${root}/bench/exec/noop_client.py") ;;
    esac
    /usr/bin/time -f '%e %M' -o "${work}/time" "${faultline}" test "${flags[@]}" \
      --workload register --checker stats --concurrency "${concurrency}" \
      --time-limit "${seconds}" --store "${work}/store" >"${work}/out" 2>&1
    invoked="$(sed -n 's/^ops: \([0-9]*\) invoked.*/\1/p' "${work}/out")"
    read -r wall rss_kib <"${work}/time"
    awk -v client="${client}" -v c="${concurrency}" -v n="${invoked}" -v s="${seconds}" \
      -v wall="${wall}" -v rss="${rss_kib}" 'BEGIN {
        rate = n / s
        printf "%-8s %5d %10.0f %12.1f %8.2f %8.0f\n", client, c, rate, c / rate * 1e6, wall, rss / 1024 }'
    rm -rf "${work}/store"
  done
done
