#!/bin/sh
# bench/build_timing.sh: the build targets of docs/performance.md, on a fresh clone of this
# repository's committed HEAD (uncommitted changes are not in it):
#   - `CI=true make test` from the fresh clone, as CI runs it (target < 15 min);
#   - then `touch lib/src/cross_entropy.cpp && make test` in that clone (target < 2 min).
# Prints both wall times, the test counts, and a verdict line each. A failing `make test` is
# reported and fails the script: a red build has no build time.
#
#   sh bench/build_timing.sh                       (about 5 minutes here; the logs stay in WORK)
#   WORK=/tmp/xc sh bench/build_timing.sh
set -eu
cd "$(dirname "$0")/.."
ROOT=$(pwd)
WORK=${WORK:-$(mktemp -d)}
CLONE=$WORK/fresh-clone
rm -rf "$CLONE"
git clone -q "$ROOT" "$CLONE"

echo "machine: $(nproc) cores, $(lscpu 2>/dev/null | sed -n 's/^Model name: *//p' | head -1)"
echo "commit: $(git -C "$CLONE" log -1 --format='%h %s')"
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"

# timed LOG LABEL TARGET_S COMMAND: runs COMMAND in the clone with a shell, its output in
# $WORK/LOG; prints the wall time, ctest's count and a verdict against TARGET_S.
timed() {
    log=$WORK/$1
    label=$2
    target=$3
    start=$(date +%s.%N)
    code=0
    (cd "$CLONE" && CI=true sh -c "$4") > "$log" 2>&1 < /dev/null || code=$?
    end=$(date +%s.%N)
    if [ $code -ne 0 ]; then
        echo "$label: exit code $code; the last lines of $log:" >&2
        tail -20 "$log" >&2
        exit 1
    fi
    tests=$(sed -n 's/^.*tests passed, \([0-9]*\) tests failed out of \([0-9]*\)$/\2 tests, \1 failed/p' \
        "$log" | tail -1)
    awk -v label="$label" -v a="$start" -v b="$end" -v target="$target" -v tests="$tests" \
        'BEGIN { t = b - a
                 printf "%s: %d min %02d s (%.0f s), %s (target < %d s): %s\n", label,
                        int(t / 60), int(t % 60), t, tests, target, (t < target) ? "met" : "NOT met" }'
}

timed fresh.log "make test, fresh clone" 900 "make test"
timed touched.log "touch lib/src/cross_entropy.cpp, make test" 120 \
    "touch lib/src/cross_entropy.cpp && make test"
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
rm -rf "$CLONE"
