#!/usr/bin/env bash
# Remakes the screenshots of docs/reports.md, docs/images/report-*.png and docs/images/serve.png,
# with Debian's headless Chromium (tests/browser/ checks the same pages).
# Usage: bash scripts/doc_screenshots.sh [BUILD_DIR]   (default: build; run as root, like the
# tests; needs chromium, gnuplot and graphviz from scripts/setup.sh)
#
# The pages:
# - a fake register run with stale reads (12 s at 100 ops/s). The fake db runs inside faultline
#   and has no nodes to fault, so to show how faults look a partition (3-6 s) and a kill of n3
#   (8-10 s) are written into its history as nemesis ops, and the run is checked and reported
#   again (`faultline report RUN`);
# - a G-single cycle: a list-append history of three transactions (as tests/browser/), checked
#   and reported by `faultline report RUN --checker list-append`;
# - a fake list-append run on the read-committed store (lost updates, G-single, G2: see
#   docs/workloads.md), for the runs page;
# - `faultline serve` over the store holding the three.
# A section is shot through a wrapper page whose iframe opens the report and then, once it has
# drawn, goes to the section's anchor (headless Chromium shoots a page opened at an anchor blank).
set -euo pipefail
cd "$(dirname "$0")/.."

faultline=$(realpath "${1:-build}")/faultline
images=$PWD/docs/images
work=$(mktemp -d)
serve_pid=
cleanup() {
  if [ -n "$serve_pid" ]; then kill "$serve_pid" 2>/dev/null || true; wait "$serve_pid" || true; fi
  rm -rf "$work"
}
trap cleanup EXIT
mkdir -p "$images"

# shot URL OUT WIDTH HEIGHT [ANCHOR]: a WIDTH x HEIGHT screenshot of URL, at ANCHOR if given.
shot() {
  local url=$1 out=$2 width=$3 height=$4 anchor=${5:-}
  local wrapper=$work/shot.html target=$url
  if [ -n "$anchor" ]; then
    target=file://$wrapper
    {
      echo '<!DOCTYPE html><html><body style="margin:0;overflow:hidden">'
      echo "<iframe id=\"page\" src=\"$url\" style=\"border:0;width:${width}px;height:${height}px\">"
      echo '</iframe><script>'
      echo "setTimeout(function () { document.getElementById('page').src = '$url#$anchor'; }, 2000);"
      echo '</script></body></html>'
    } > "$wrapper"
  fi
  # Its own session and process group, so that no helper process outlives it.
  setsid timeout -s KILL 60 chromium --headless --no-sandbox --disable-gpu --no-first-run \
    --disable-background-networking --disable-component-update --disable-sync \
    --user-data-dir="$work/profile" --hide-scrollbars --virtual-time-budget=5000 \
    --window-size="$width,$height" --screenshot="$out" "$target" \
    > "$work/chromium.log" 2>&1 &
  local pid=$!
  wait "$pid" || { cat "$work/chromium.log"; return 1; }
  kill -KILL -- "-$pid" 2>/dev/null || true
  rm -rf "$work/profile"
  echo "$out: $(stat -c %s "$out") bytes"
}

# insert_faults HISTORY: a partition from 3 s to 6 s and a kill from 8 s to 10 s, as nemesis ops
# in time order, every op's index renumbered.
insert_faults() {
  awk '
    function nemesis(time, type, f, value) {
      printf "{\"index\":%d,\"time\":%.0f,\"type\":\"%s\",\"process\":\"nemesis\",\"f\":\"%s\",\"value\":%s}\n",
        index_++, time, type, f, value
    }
    BEGIN {
      split("3000000000 3005000000 6000000000 6004000000 8000000000 8010000000 10000000000 10003000000", at)
      split("invoke info invoke ok invoke info invoke ok", types)
      split("start-partition start-partition stop-partition stop-partition start-kill start-kill stop-kill stop-kill", fs)
      split("\"majorities-ring\"|[\"n1\",\"n2\"]|null|\"healed\"|\"n3\"|[\"n3\"]|null|[\"n3\"]", values, "|")
      next_ = 1
    }
    NR == 1 { print; next }
    {
      match($0, /"time":[0-9]+/)
      time = substr($0, RSTART + 7, RLENGTH - 7) + 0
      while (next_ <= 8 && at[next_] + 0 <= time) {
        nemesis(at[next_], types[next_], fs[next_], values[next_]); next_++
      }
      sub(/"index":[0-9]+/, "\"index\":" index_++)
      print
    }' "$1" > "$1.new"
  mv "$1.new" "$1"
}

# expect_invalid COMMAND...: runs it, its output into $work/last.log; exit 1 (invalid) expected.
expect_invalid() {
  local code=0
  "$@" > "$work/last.log" 2>&1 || code=$?
  if [ "$code" != 1 ]; then cat "$work/last.log"; echo "exit $code, expected 1: $*"; exit 1; fi
}

store=$work/store
echo "== a fake register run with stale reads, faults written into its history"
expect_invalid "$faultline" test --db fake --fake-bug stale-reads --time-limit 12 --rate 100 \
  --plot-window 1 --seed 3 --store "$store"
register_run=$(realpath "$store/latest")
insert_faults "$register_run/history.jsonl"
rm -rf "$register_run/results.json" "$register_run/checker" "$register_run/report"
expect_invalid "$faultline" report "$register_run"
report=file://$register_run/report/index.html
shot "$report" "$images/report-top.png" 1280 700
shot "$report" "$images/report-faults.png" 1280 330 faults
shot "$report" "$images/report-plots.png" 1280 740 plots
shot "$report" "$images/report-linearizability.png" 1280 860 anomalies
shot "$report" "$images/report-timeline.png" 1280 400 timeline

echo "== a G-single cycle"
g_single_run=$store/g-single/20240102T000000
mkdir -p "$g_single_run"
t1='[["append","x",1],["append","y",1]]'
t2='[["append","x",2],["r","y",null]]'
cat > "$g_single_run/history.jsonl" <<EOF
{"faultline_history":1,"test":"g-single","concurrency":3}
{"index":0,"type":"invoke","process":0,"f":"txn","time":1000000,"value":$t1}
{"index":1,"type":"invoke","process":1,"f":"txn","time":1100000,"value":$t2}
{"index":2,"type":"ok","process":0,"f":"txn","time":2000000,"value":$t1}
{"index":3,"type":"ok","process":1,"f":"txn","time":2100000,"value":$t2}
{"index":4,"type":"invoke","process":2,"f":"txn","time":3000000,"value":[["r","x",null]]}
{"index":5,"type":"ok","process":2,"f":"txn","time":3500000,"value":[["r","x",[1,2]]]}
EOF
expect_invalid "$faultline" report "$g_single_run" --checker list-append \
  --consistency-model serializable
shot "file://$g_single_run/report/index.html" "$images/report-g-single.png" 1280 560 anomalies

echo "== a fake list-append run on a read-committed store"
expect_invalid "$faultline" test --db fake --workload list-append --fake-isolation read-committed \
  --time-limit 1 --seed 1 --store "$store"

echo "== faultline serve"
"$faultline" serve --store "$store" --host 127.0.0.1 --port 0 > "$work/serve.log" 2>&1 &
serve_pid=$!
for _ in $(seq 100); do grep -q 'http://' "$work/serve.log" && break; sleep 0.1; done
address=$(grep -o 'http://127\.0\.0\.1:[0-9]*/' "$work/serve.log")
shot "$address" "$images/serve.png" 1280 300
