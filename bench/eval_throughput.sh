#!/bin/sh
# bench/eval_throughput.sh: end-to-end throughput and memory of `xentcheck eval --format json`
# against the NumPy equivalent (bench/eval_numpy.py), on inputs generated deterministically by
# bench/make_eval_input.py:
#   - 100,000 cases of 3 classes (one row each, index targets, expect probs/loss/grad);
#   - a 200 MB JSON Lines file of the same cases (about 780,000), for peak memory.
# Each program runs REPEAT times (default 3) with its report written to /dev/null; the median
# wall time gives cases/s, and /usr/bin/time gives CPU time and peak resident memory. Prints
# one line per run and a summary against the targets of docs/performance.md (Tool overhead).
#
#   sh bench/eval_throughput.sh [BUILD_DIR]       (default: build; needs BUILD_DIR/bin/xentcheck)
#   REPEAT=5 WORK=/tmp/xc sh bench/eval_throughput.sh build
set -eu
cd "$(dirname "$0")/.."
BUILD=${1:-build}
XENTCHECK=$BUILD/bin/xentcheck
PYTHON=/usr/bin/python3
REPEAT=${REPEAT:-3}
WORK=${WORK:-${TMPDIR:-/tmp}/xentcheck-eval-throughput}
[ -x "$XENTCHECK" ] || { echo "no $XENTCHECK: build it first (cmake --build $BUILD --target xentcheck)" >&2; exit 2; }
[ -x /usr/bin/time ] || { echo "needs /usr/bin/time (Debian package time)" >&2; exit 2; }
mkdir -p "$WORK"
SMALL=$WORK/cases100k.jsonl
LARGE=$WORK/cases200mb.jsonl
[ -s "$SMALL" ] || $PYTHON bench/make_eval_input.py --cases 100000 "$SMALL"
[ -s "$LARGE" ] || $PYTHON bench/make_eval_input.py --megabytes 200 "$LARGE"
LARGE_CASES=$(grep -c . "$LARGE")

echo "machine: $(nproc) cores, $(lscpu 2>/dev/null | sed -n 's/^Model name: *//p' | head -1)"
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"

# run LABEL CASES COMMAND...: prints "LABEL wall_s user_s sys_s max_rss_kb cases_per_s" per run
# and appends the medians to $WORK/summary.
run() {
    label=$1
    cases=$2
    shift 2
    : > "$WORK/runs"
    i=0
    while [ $i -lt "$REPEAT" ]; do
        /usr/bin/time -f "%e %U %S %M" -o "$WORK/time" "$@" > /dev/null 2> "$WORK/stderr" || {
            code=$?
            [ $code -eq 0 ] || { echo "$label: exit code $code" >&2; cat "$WORK/stderr" >&2; exit 1; }
        }
        read -r wall user sys rss < "$WORK/time"
        rate=$(awk -v n="$cases" -v t="$wall" 'BEGIN { printf "%.0f", n / t }')
        echo "$label run $((i + 1)): wall ${wall} s, user ${user} s, sys ${sys} s, peak RSS ${rss} KB, ${rate} cases/s"
        echo "$wall $user $sys $rss" >> "$WORK/runs"
        i=$((i + 1))
    done
    sort -n "$WORK/runs" | awk -v label="$label" -v n="$cases" -v r="$REPEAT" '
        { w[NR] = $1; u[NR] = $2; s[NR] = $3; m[NR] = $4 }
        END { k = int((r + 1) / 2); printf "%s %s %s %s %s %.0f\n", label, w[k], u[k], s[k], m[k], n / w[k] }' \
        >> "$WORK/summary"
}

: > "$WORK/summary"
run xentcheck 100000 "$XENTCHECK" eval --format json "$SMALL"
run xentcheck-jobs1 100000 "$XENTCHECK" eval --format json --jobs 1 "$SMALL"
run numpy 100000 "$PYTHON" bench/eval_numpy.py "$SMALL"
run xentcheck-200MB "$LARGE_CASES" "$XENTCHECK" eval --format json "$LARGE"
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"

echo
echo "median of $REPEAT runs (wall s, user s, sys s, peak RSS KB, cases/s):"
cat "$WORK/summary"
awk '
    { wall[$1] = $2; rss[$1] = $5; rate[$1] = $6 }
    END {
        met = (rate["xentcheck"] >= 300000) ? "met" : "NOT met"
        printf "throughput: %d cases/s (target >= 300000): %s\n", rate["xentcheck"], met
        ratio = wall["numpy"] / wall["xentcheck"]
        met = (ratio >= 5) ? "met" : "NOT met"
        printf "vs NumPy: %.1fx faster (target >= 5x): %s\n", ratio, met
        mb = rss["xentcheck-200MB"] / 1024
        met = (mb < 100) ? "met" : "NOT met"
        printf "200 MB input: peak RSS %.1f MB (target < 100 MB): %s\n", mb, met
    }' "$WORK/summary"
