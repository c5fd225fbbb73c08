#!/usr/bin/env bash
# Times the whole `faultline report` command a user runs, on histories of several shapes and sizes,
# and measures the report it writes (docs/performance.md, "Reports"). For every size and shape:
#
#   check + render: /usr/bin/time -v faultline report FILE --out DIR   (a bare history file:
#                   linearizable or list-append, stats and perf with gnuplot, then the page)
#   render only:    /usr/bin/time -v faultline report RUN              (a stored run folder that
#                   already holds results.json and checker/: the page only)
#
# and the report's size: index.html bytes, the report/ folder's bytes and files. Prints one line
# per case and a table of the median and the worst over the shapes per size. Exits non-zero when a
# command fails or a verdict is not the expected one (unknown is accepted: see CHECK_LIMIT).
#
#   bench/report_bench.sh                                    # Release build in build-bench/
#   BUILD_DIR=build-x BUILD_TYPE=RelWithDebInfo bench/report_bench.sh
#   SIZES="10000 100000" SHAPES="kv-many list-append" bench/report_bench.sh
#
# Environment: BUILD_DIR (build-bench), BUILD_TYPE (Release), JOBS (2: compile jobs), SIZES
# ("10000 100000 1000000": client invocations, so twice as many history lines), SHAPES (all, see
# below), SEED (1), CHECK_LIMIT (120: seconds of checking before the verdict is unknown), KEEP (0;
# 1 keeps the histories and reports in BUILD_DIR/report-bench/), SKIP_BUILD (0; 1 uses what
# BUILD_DIR holds), FAULTLINE, GEN and GEN_TXN (the binaries: BUILD_DIR/faultline,
# BUILD_DIR/bench/gen_kv_history, BUILD_DIR/bench/bench_txn).
#
# Shapes (gen_kv_history, kv model, JSONL with times, as a run's history.jsonl; "stale" plants 10
# stale reads, so the history must be invalid; "nemesis" adds about 20 partitions, shaded in the
# report; a crashed op's client continues as a new process, so 10% crashes give N/10 processes):
#   kv-many          1000 keys, 50 clients, 0.1% crashed, valid
#   kv-few-crash     10 keys, 5 clients, 10% crashed, valid
#   kv-few-stale     10 keys, 5 clients, no crash, invalid (at 50 clients the 1M check needs
#                    over 12 GB: docs/performance.md)
#   kv-crash-nemesis 1000 keys, 50 clients, 10% crashed, nemesis, invalid
#   kv-nemesis       1000 keys, 5 clients, no crash, nemesis, valid
#   list-append      bench_txn --out: transactions of 4 appends and reads, 10 in flight, 100
#                    sessions, 10 µs apart; checked with --checker list-append, valid (a real
#                    `faultline test --db fake --workload list-append` run makes only about
#                    2,500 ops/s here: 1M ops would take 7 minutes)
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${BUILD_DIR:-${root}/build-bench}"
build_type="${BUILD_TYPE:-Release}"
jobs="${JOBS:-2}"
sizes="${SIZES:-10000 100000 1000000}"
shapes="${SHAPES:-kv-many kv-few-crash kv-few-stale kv-crash-nemesis kv-nemesis list-append}"
seed="${SEED:-1}"
check_limit="${CHECK_LIMIT:-120}"
keep="${KEEP:-0}"

if [ "${SKIP_BUILD:-0}" != 1 ]; then
  cmake -S "${root}" -B "${build}" -G Ninja -DCMAKE_BUILD_TYPE="${build_type}" >/dev/null
  cmake --build "${build}" -j"${jobs}" --target faultline gen_kv_history bench_txn
fi
faultline="${FAULTLINE:-${build}/faultline}"
gen="${GEN:-${build}/bench/gen_kv_history}"
gen_txn="${GEN_TXN:-${build}/bench/bench_txn}"
work="${build}/report-bench"
rm -rf "${work}"
mkdir -p "${work}"
results="${work}/results.txt"

load() { cut -d' ' -f1-3 /proc/loadavg; }
cpu="$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
echo "== machine: $(nproc) cores, ${cpu}, $(awk '/MemTotal/ {printf "%.0f GiB", $2 / 1048576}' \
  /proc/meminfo); build ${build_type} (${build}); load average $(load)"

# Runs a command under /usr/bin/time -v; sets wall_s, cpu_s, rss_mib and status. Its output goes
# to $log.
timed() {
  local time_log="${work}/time.log"
  status=0
  /usr/bin/time -v -o "${time_log}" "$@" >"${log}" 2>&1 || status=$?
  wall_s="$(awk -F': ' '/Elapsed \(wall clock\)/ {
      n = split($2, part, ":"); s = 0; for (i = 1; i <= n; i++) s = s * 60 + part[i]; print s }' \
    "${time_log}")"
  cpu_s="$(awk -F': ' '/User time|System time/ { s += $2 } END { printf "%.2f", s }' \
    "${time_log}")"
  rss_mib="$(awk -F': ' '/Maximum resident set size/ { printf "%.0f", $2 / 1024 }' \
    "${time_log}")"
}

# Appends one result line; reports a failed command with the end of its output. The expected
# exit statuses are a list like "1|2".
record() {
  local case_name="$1" phase="$2" expected_status="$3"
  shift 3
  local ok=1
  [[ "|${expected_status}|" == *"|${status}|"* ]] || ok=0
  echo "${case_name} phase=${phase} wall_s=${wall_s} cpu_s=${cpu_s} rss_mib=${rss_mib}" \
    "exit=${status} expected_exit=${expected_status} ok=${ok} load=$(load | cut -d' ' -f1) $*" |
    tee -a "${results}"
  if [ "${ok}" -ne 1 ]; then
    echo "!! ${case_name} ${phase}: exit ${status}, expected ${expected_status}; output:"
    tail -20 "${log}"
  fi
}

# The report folder's size: index.html bytes, all bytes, file count.
report_size() {
  local report="$1"
  if [ ! -d "${report}" ]; then
    echo "index_bytes=0 report_bytes=0 report_files=0"
    return
  fi
  echo "index_bytes=$(stat -c %s "${report}/index.html" 2>/dev/null || echo 0)" \
    "report_bytes=$(du -sb "${report}" | cut -f1)" \
    "report_files=$(find "${report}" -type f | wc -l)"
}

for size in ${sizes}; do
  echo "== ${size} ops, load average $(load)"
  for shape in ${shapes}; do
    case_name="size=${size} shape=${shape}"
    history="${work}/${shape}-${size}.jsonl"
    checked="${work}/${shape}-${size}-checked"
    run="${work}/${shape}-${size}-run"
    log="${work}/${shape}-${size}.log"
    mkdir -p "${run}"
    # A partition about every 1/20 of the run: a client's op takes 1.1 ms on average.
    nemesis=(--nemesis-every $((size * 1100 / 20 / 50)))
    checker=(--model kv)
    expected=0
    case "${shape}" in
      kv-many) args=(--keys 1000 --clients 50 --crash-probability 0.001) ;;
      kv-few-crash) args=(--keys 10 --clients 5 --crash-probability 0.1) ;;
      kv-few-stale) args=(--keys 10 --clients 5 --crash-probability 0 --stale 10); expected=1 ;;
      kv-crash-nemesis)
        args=(--keys 1000 --clients 50 --crash-probability 0.1 --stale 10 "${nemesis[@]}")
        expected=1
        ;;
      kv-nemesis)
        args=(--keys 1000 --clients 5 --crash-probability 0 --nemesis-every
              $((size * 1100 / 20 / 5)))
        ;;
      list-append)
        args=()
        checker=(--checker list-append)
        ;;
      *) echo "unknown shape ${shape}" >&2; exit 254 ;;
    esac
    if [ "${shape}" = list-append ]; then
      "${gen_txn}" --txns "${size}" --seed "${seed}" --out "${history}" 2>"${log}"
    else
      "${gen}" --ops "${size}" --seed "${seed}" --format jsonl "${args[@]}" --out "${history}" \
        2>"${log}"
    fi
    ops="$(grep '"type":"invoke"' "${history}" | grep -vc '"process":"nemesis"' || true)"
    history_bytes="$(stat -c %s "${history}")"

    timed "${faultline}" report "${history}" --out "${checked}" "${checker[@]}" \
      --time-limit "${check_limit}"
    # Unknown (2) is accepted: the checker's search may run out of CHECK_LIMIT or memory; the
    # report is still written, and that is what is timed here.
    record "${case_name}" check "${expected}|2" "invocations=${ops} history_bytes=${history_bytes}" \
      "$(report_size "${checked}")"

    # The stored run a test leaves: its history, results.json and the checkers' files.
    if [ -f "${checked}/results.json" ]; then
      ln "${history}" "${run}/history.jsonl"
      cp "${checked}/results.json" "${run}/"
      cp -al "${checked}/checker" "${run}/"
      timed "${faultline}" report "${run}"
      record "${case_name}" render 0 "invocations=${ops} history_bytes=${history_bytes}" \
        "$(report_size "${run}/report")"
    fi
    if [ "${keep}" != 1 ]; then rm -rf "${history}" "${checked}" "${run}"; fi
  done
done
echo "== done, load average $(load)"

echo
echo "== median and worst over the shapes (wall s, peak RSS MiB, sizes in bytes; the worst's shape)"
printf "%-8s %-7s %-6s %8s %8s %-17s %7s %7s %10s %10s %12s %12s %6s %6s\n" \
  ops phase cases wall_med wall_max worst_shape rss_med rss_max index_med index_max \
  report_med report_max files_med files_max
for size in ${sizes}; do
  for phase in check render; do
    grep -E "^size=${size} .*phase=${phase} " "${results}" | awk '
      function median(values, n,    i, j, t) {
        for (i = 2; i <= n; i++) for (j = i; j > 1 && values[j - 1] > values[j]; j--) {
          t = values[j]; values[j] = values[j - 1]; values[j - 1] = t
        }
        return n % 2 ? values[(n + 1) / 2] : (values[n / 2] + values[n / 2 + 1]) / 2
      }
      {
        delete kv
        for (i = 1; i <= NF; i++) { split($i, pair, "="); kv[pair[1]] = pair[2] }
        n++
        wall[n] = kv["wall_s"] + 0; rss[n] = kv["rss_mib"] + 0; index_bytes[n] = kv["index_bytes"] + 0
        report[n] = kv["report_bytes"] + 0; files[n] = kv["report_files"] + 0
        if (wall[n] >= wall_max) { wall_max = wall[n]; worst = kv["shape"] }
        if (rss[n] > rss_max) rss_max = rss[n]
        if (index_bytes[n] > index_max) index_max = index_bytes[n]
        if (report[n] > report_max) report_max = report[n]
        if (files[n] > files_max) files_max = files[n]
        size = kv["size"]; phase = kv["phase"]
      }
      END {
        if (n == 0) exit
        printf "%-8s %-7s %-6d %8.2f %8.2f %-17s %7.0f %7.0f %10.0f %10.0f %12.0f %12.0f %6.0f %6.0f\n",
          size, phase, n, median(wall, n), wall_max, worst, median(rss, n), rss_max,
          median(index_bytes, n), index_max, median(report, n), report_max, median(files, n),
          files_max
      }'
  done
done

# Non-zero when any command failed or a verdict was not the expected one.
! grep -q ' ok=0 ' "${results}"
