#!/bin/sh
# bench/per_request_timing.sh: check --impl's own per-request overhead (encode the request,
# decode the response, compare with the reference), the target "< 20 us for cases of up to 16
# classes" of docs/performance.md, in ROUNDS short runs of the protocol benchmarks (default 10):
#   - BM_per_request_overhead at 1, 4 and 8 rows of 16 classes (generated requests);
#   - BM_per_request_check_mix: the requests a default check run sends for its cases of up to
#     16 classes (mean 6.2 rows), each with a reference of its own;
#   - BM_check_run/*/16: whole check runs capped at 16 classes against a process speaking the
#     protocol, read as two counters over the run's requests: user_us_per_request, all that
#     xentcheck computes in user space (generation, properties, references, encoding, decoding,
#     comparing), as "BM_check_run/.../user"; and us_per_request, that plus the kernel's work
#     for the pipes and for switching to and from the waits for the answers, as
#     ".../user+system", which is printed for context, without a verdict: the kernel's share is
#     the machine's (5 to 18 us a request on the AMD EPYC virtual machine of 29 November).
# One run is the mean over its iterations (at least 0.3 s); a round runs each benchmark once.
# Prints each round, then the minimum, median and maximum per benchmark against the target.
# This machine's speed moves by up to 2x within minutes (docs/performance.md), and this code
# (integer-heavy, 4 instructions a cycle) moves the most: the spread is part of the result.
#
#   sh bench/per_request_timing.sh [BUILD_DIR]     (default: build; needs BUILD_DIR/bin/xentcheck_bench)
#   ROUNDS=20 sh bench/per_request_timing.sh build
set -eu
cd "$(dirname "$0")/.."
BUILD=${1:-build}
BENCH=$BUILD/bin/xentcheck_bench
ROUNDS=${ROUNDS:-10}
FILTER='BM_per_request_(overhead/(1|4|8)/16|check_mix)$|BM_check_run/'
[ -x "$BENCH" ] || { echo "no $BENCH: build the target xentcheck_bench first" >&2; exit 2; }
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

echo "machine: $(nproc) cores, $(lscpu 2>/dev/null | sed -n 's/^Model name: *//p' | head -1)"
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"

round=1
while [ "$round" -le "$ROUNDS" ]; do
    # Name and time in ns of each benchmark (the console format: "name time unit cpu unit
    # counters"): a request's time, or for a whole check run its two per-request counters.
    "$BENCH" --benchmark_filter="$FILTER" --benchmark_min_time=0.3 2> /dev/null |
        awk '/^BM_check_run/ { for (i = 2; i <= NF; ++i) {
                                   if (split($i, kv, "=") != 2) continue
                                   if (kv[1] == "user_us_per_request") print $1 "/user", kv[2] * 1000
                                   if (kv[1] == "us_per_request") print $1 "/user+system", kv[2] * 1000
                               }
                               next }
             /^BM_/ { if ($3 != "ns") { print "unexpected unit: " $0 > "/dev/stderr"; exit 1 }
                      print $1, $2 }' > "$WORK/round"
    [ -s "$WORK/round" ] || { echo "no benchmark output in round $round" >&2; exit 1; }
    printf 'round %d:' "$round"
    awk '{ printf " %s %.1f us;", $1, $2 / 1000 }' "$WORK/round"
    echo
    cat "$WORK/round" >> "$WORK/all"
    round=$((round + 1))
done

# Minimum, median and maximum per benchmark, in microseconds, against 20 us.
sort -k1,1 -k2,2n "$WORK/all" | awk '
    function report() {
        if (n == 0) return
        m = t[int((n + 1) / 2)]
        over = 0
        for (i = 1; i <= n; ++i) over += t[i] >= 20000
        if (name ~ /\/user\+system$/) {
            printf "%s: min %.1f us, median %.1f us, max %.1f us over %d runs (context, no target: the kernel'"'"'s share is the machine'"'"'s)\n",
                   name, t[1] / 1000, m / 1000, t[n] / 1000, n
            return
        }
        printf "%s: min %.1f us, median %.1f us, max %.1f us over %d runs, %d of them >= 20 us (target < 20 us): %s\n",
               name, t[1] / 1000, m / 1000, t[n] / 1000, n, over,
               over == 0 ? "met in every run" : (m < 20000 ? "met by the median only" : "NOT met")
    }
    $1 != name { report(); name = $1; n = 0 }
    { t[++n] = $2 }
    END { report() }'
