#!/usr/bin/env bash
# The demo (README Quick start, command 1): on a fresh Debian 12 machine as root, installs what
# faultline needs, builds it, brings up a local cluster of 5 nodes (network namespaces, one sshd
# each), installs and starts etcd on them over SSH, runs a 60 s register test with partitions and
# kills, checks the history for linearizability, and prints the verdict, the fault timeline, the
# run directory and its HTML report's path. Faults are healed at the end (also on Ctrl-C); the cluster is removed.
# Usage: bash scripts/demo.sh [extra `faultline test` flags, e.g. --time-limit 20]
# Environment: FAULTLINE_BUILD_DIR (default build), FAULTLINE_KEEP_CLUSTER=1 leaves the cluster up.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup.sh

build_dir=${FAULTLINE_BUILD_DIR:-build}
cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo > /dev/null
cmake --build "$build_dir" -j "$(nproc)" --target faultline

faultline="$build_dir/faultline"
if [ "${FAULTLINE_KEEP_CLUSTER:-0}" != 1 ]; then
  trap '"$faultline" cluster down > /dev/null || echo "demo: faultline cluster down failed" >&2' EXIT
fi

status=0
"$faultline" test --local --db etcd --workload register \
  --nemesis partition,kill --nemesis-interval 10 \
  --time-limit 60 --concurrency 2n --rate 200 "$@" || status=$?

case $status in
  0) echo "demo: etcd kept linearizability under partitions and kills (valid)" ;;
  1) echo "demo: faultline found a linearizability violation (invalid); the witness is above" ;;
  2) echo "demo: the verdict is unknown (the run was cut short or the check ran out of budget)" ;;
  *) echo "demo: the test did not run to a verdict (exit $status)" ;;
esac
echo "demo: the run directory above holds history.jsonl, results.json, run.log and nodes/<node>/ logs"
# The run's report (plots, fault timeline, the anomaly drawn), for a browser; `faultline serve`
# browses every run.
report="$(readlink -f store/latest 2>/dev/null)/report/index.html"
if [ -f "$report" ]; then
  echo "demo: the report: file://$report"
fi
exit "$status"
