#!/bin/sh
# bench/reader_ab.sh: the JSON number reader of the working tree against the one at REV, timed
# in one process in alternating 2 ms slices (bench/tool/reader_ab.cpp), so that this machine's
# slow phases hit both alike: the way to tell a change of a few percent here. The same code at
# two addresses can differ by a few percent too (its loops' alignment), so the comparison runs
# twice, each version once in each place, and the result is the geometric mean of the two
# ratios (working tree / REV, below 1 when the working tree is faster) of the 10th percentile
# and of the median of the slices' times. Identical versions came out at 0.980 to 1.002 (10th
# percentile) and 0.997 to 1.011 (median) in four runs here.
#
#   sh bench/reader_ab.sh REV [ROUNDS]        (ROUNDS of two slices each per run, default 300)
set -eu
cd "$(dirname "$0")/.."
REV=${1:?usage: sh bench/reader_ab.sh REV [ROUNDS]}
ROUNDS=${2:-300}
HEADER=cli/common/include/xentcheck/common/json_number_reader.h
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
mkdir -p "$WORK/rev/xentcheck/common" "$WORK/tree/xentcheck/common"
git show "$REV:$HEADER" > "$WORK/rev/xentcheck/common/json_number_reader.h"
cp "$HEADER" "$WORK/tree/xentcheck/common/json_number_reader.h"
# Each version also as xentcheck::common_a, the namespace reader_ab.cpp calls A.
for version in rev tree; do
    sed 's/^namespace xentcheck::common {/namespace xentcheck::common_a {/' \
        "$WORK/$version/xentcheck/common/json_number_reader.h" > "$WORK/${version}_as_a.h"
    grep -q 'namespace xentcheck::common_a {' "$WORK/${version}_as_a.h" ||
        { echo "$version: no namespace xentcheck::common to rename" >&2; exit 2; }
done
build() {  # build OUTPUT A_HEADER B_INCLUDE_DIR
    ${CXX:-c++} -O3 -DNDEBUG -std=c++20 -I"$3" -DREADER_A="\"$2\"" bench/tool/reader_ab.cpp \
        -o "$1"
}
build "$WORK/rev_then_tree" "$WORK/rev_as_a.h" "$WORK/tree"
build "$WORK/tree_then_rev" "$WORK/tree_as_a.h" "$WORK/rev"
echo "REV: $HEADER at $(git rev-parse --short "$REV"); the working tree's"
echo "run 1, A = REV, B = working tree:"
"$WORK/rev_then_tree" "$ROUNDS" | tee "$WORK/run1"
echo "run 2, A = working tree, B = REV:"
"$WORK/tree_then_rev" "$ROUNDS" | tee "$WORK/run2"
# B / A: run 1 gives working tree / REV, run 2 REV / working tree. The 10th percentile and the
# median, not the mean: a slow phase's slices pull the mean apart even between identical copies.
ratio() { sed -n "s/.*B \/ A: mean [0-9.]*, 10th percentile \([0-9.]*\), median \([0-9.]*\).*/\1 \2/p" "$1"; }
awk -v r1="$(ratio "$WORK/run1")" -v r2="$(ratio "$WORK/run2")" 'BEGIN {
    split(r1, a, " "); split(r2, b, " ")
    p10 = sqrt(a[1] / b[1]); median = sqrt(a[2] / b[2])
    printf "working tree / REV, geometric mean of both runs: 10th percentile %.3f, median %.3f\n",
           p10, median }'
