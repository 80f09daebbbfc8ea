# xentcheck: the two-command quick start (`make demo`, `make test`) and a few helpers.
BUILD_DIR ?= build
JOBS ?= $(shell nproc 2>/dev/null || echo 2)
CMAKE_FLAGS ?=

.PHONY: all deps deps-python deps-test deps-bench configure build demo test test-long bench compare format clean

all: build

deps:
	@sh scripts/install-deps.sh

deps-python:
	@sh scripts/install-deps.sh --python

deps-test:
	@sh scripts/install-deps.sh --test

deps-bench:
	@sh scripts/install-deps.sh --bench

configure: deps
	@cmake --preset release -B $(BUILD_DIR) $(CMAKE_FLAGS) >/dev/null

build: configure
	@cmake --build $(BUILD_DIR) -j $(JOBS)

# The demo needs only the tool, not the test suite.
demo: configure
	@cmake --build $(BUILD_DIR) -j $(JOBS) --target xentcheck
	@echo
	@echo '$$ build/bin/xentcheck eval fixtures/worked_example.json'
	@$(BUILD_DIR)/bin/xentcheck eval fixtures/worked_example.json

# Every test is stopped after 10 minutes (the longest takes under one here): a test that hangs
# fails instead of holding up CI.
test: deps-test build
	@cd $(BUILD_DIR) && ctest --output-on-failure --timeout 600 -j $(JOBS)

# Properties with many more cases than CI runs (see docs/properties.md).
test-long: build
	@cd $(BUILD_DIR) && RC_PARAMS="max_success=5000" ctest --output-on-failure --timeout 3600 -j $(JOBS) -L property

bench: build
	@$(BUILD_DIR)/bin/xentcheck_bench

# Every performance target of docs/performance.md in one run: the reference against PyTorch,
# numpy and the bound (redraws docs/performance.svg), then eval, check, the per-request overhead
# and make test from a fresh clone. Fails if a target is not met.
compare: deps-bench build
	@/usr/bin/python3 bench/compare.py --bench $(BUILD_DIR)/bin/xentcheck_bench

format:
	@find lib properties cli tests bench examples -name '*.h' -o -name '*.cpp' -o -name '*.c' \
	    | xargs clang-format -i

clean:
	@rm -rf $(BUILD_DIR)
