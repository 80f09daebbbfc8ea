#!/bin/sh
# Installs the Debian packages xentcheck builds and tests with; prints the command when not root.
set -eu
packages="g++ cmake make libgtest-dev libgmock-dev libbenchmark-dev librapidcheck-dev \
nlohmann-json3-dev libfmt-dev libcli11-dev libmpfr-dev libgmp-dev"
# The test suite also runs the Python example implementations and the PyTorch differential
# test; `make demo` needs only the build packages.
python_packages="python3 python3-numpy python3-torch"
# bench/compare.py also draws docs/performance.svg; eval_throughput.sh uses /usr/bin/time.
bench_packages="$python_packages python3-matplotlib time"
case "${1:-}" in
    --python) packages="$python_packages" ;;
    --test) packages="$packages $python_packages" ;;
    --bench) packages="$packages $bench_packages" ;;
esac
missing=""
for p in $packages; do
    status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
    case "$status" in
        *"install ok installed"*) ;;
        *) missing="$missing $p" ;;
    esac
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
    echo "xentcheck needs these Debian packages:$missing" >&2
    echo "run as root:  apt-get update && apt-get install -y$missing" >&2
    exit 1
fi
echo "installing:$missing" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -q >/dev/null
# shellcheck disable=SC2086
apt-get install -y -q --no-install-recommends $missing >/dev/null
