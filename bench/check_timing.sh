#!/bin/sh
# bench/check_timing.sh: wall time of `xentcheck check` against the C ABI example, the two
# check targets of docs/performance.md:
#   - a default run (17 properties x 100 generated problems) for seeds 1 to SEEDS (default 20);
#   - `--max-success 0 --cases FILE` with one (8, 128000) case (logits and class targets only,
#     about 20 MB, written deterministically by bench/make_eval_input.py), REPEAT times
#     (default 15).
# Prints each run and the minimum, median and maximum against the targets (< 2 s, < 0.5 s).
# The machine's phase moves these times (see docs/performance.md): run it more than once.
#
#   sh bench/check_timing.sh [BUILD_DIR]           (default: build; needs BUILD_DIR/bin/xentcheck
#                                                   and BUILD_DIR/lib/libxentcheck_example_abi.so)
#   SEEDS=20 REPEAT=15 WORK=/tmp/xc sh bench/check_timing.sh build
set -eu
cd "$(dirname "$0")/.."
BUILD=${1:-build}
XENTCHECK=$BUILD/bin/xentcheck
LIBRARY=$BUILD/lib/libxentcheck_example_abi.so
PYTHON=/usr/bin/python3
SEEDS=${SEEDS:-20}
REPEAT=${REPEAT:-15}
WORK=${WORK:-${TMPDIR:-/tmp}/xentcheck-check-timing}
[ -x "$XENTCHECK" ] || { echo "no $XENTCHECK: build it first" >&2; exit 2; }
[ -f "$LIBRARY" ] || { echo "no $LIBRARY: build the target xentcheck_example_abi" >&2; exit 2; }
mkdir -p "$WORK"
CASE=$WORK/vocab_8x128000.json
[ -s "$CASE" ] || $PYTHON bench/make_eval_input.py --cases 1 --rows 8 --classes 128000 \
    --no-expect "$CASE"

echo "machine: $(nproc) cores, $(lscpu 2>/dev/null | sed -n 's/^Model name: *//p' | head -1)"
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"

# seconds COMMAND...: the command's wall time in seconds (its output discarded; exit codes 0
# and 1, a passed or failed check, both count as runs).
seconds() {
    start=$(date +%s.%N)
    code=0
    "$@" > /dev/null 2> "$WORK/stderr" || code=$?
    end=$(date +%s.%N)
    [ $code -le 1 ] || { echo "exit code $code: $*" >&2; cat "$WORK/stderr" >&2; exit 1; }
    awk -v a="$start" -v b="$end" 'BEGIN { printf "%.3f\n", b - a }'
}

# summary LABEL TARGET FILE: minimum, median and maximum of the times in FILE.
summary() {
    sort -n "$3" | awk -v label="$1" -v target="$2" '
        { t[NR] = $1 }
        END {
            m = t[int((NR + 1) / 2)]
            printf "%s: min %.2f s, median %.2f s, max %.2f s over %d runs (target < %s s): %s\n",
                   label, t[1], m, t[NR], NR, target, (m < target) ? "met" : "NOT met"
        }'
}

: > "$WORK/default"
seed=1
while [ $seed -le "$SEEDS" ]; do
    s=$(seconds "$XENTCHECK" check --lib "$LIBRARY" --seed $seed)
    echo "default run, seed $seed: $s s"
    echo "$s" >> "$WORK/default"
    seed=$((seed + 1))
done
: > "$WORK/cases"
i=1
while [ $i -le "$REPEAT" ]; do
    s=$(seconds "$XENTCHECK" check --lib "$LIBRARY" --max-success 0 --cases "$CASE")
    echo "--cases (8, 128000), run $i: $s s"
    echo "$s" >> "$WORK/cases"
    i=$((i + 1))
done
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
echo
summary "check, default run" 2 "$WORK/default"
summary "check --cases (8, 128000)" 0.5 "$WORK/cases"
