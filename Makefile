# The two commands a newcomer needs: `make run` starts the mesh, `make test` builds and tests it all.
# Both install missing Debian packages first (scripts/install-deps.sh).

BUILD_DIR ?= build
BUILD_TYPE ?= RelWithDebInfo
JOBS ?= $(shell nproc)

.PHONY: all deps configure build test run bench chaos fuzz test-asan format clean

# make chaos: the bank test over seeds SEED .. SEED+SEEDS-1, DURATION seconds of faults each,
# on BACKEND (sqlite or postgres).
SEED ?= 1
SEEDS ?= 10
DURATION ?= 120
# BACKEND=postgres: the production shape (PostgreSQL, two replicas of each service).
BACKEND ?= sqlite

# make fuzz: every fuzz target (tests/fuzz/) for FUZZ_SECONDS each, or only FUZZ_TARGETS, in a
# clang build with libFuzzer, AddressSanitizer and UndefinedBehaviorSanitizer (docs/testing.md).
FUZZ_SECONDS ?= 60
FUZZ_TARGETS ?=
FUZZ_BUILD_DIR ?= build-fuzz
# make test-asan: the tests in a build with AddressSanitizer and UndefinedBehaviorSanitizer (gcc).
# ASAN_TESTS picks tests by CTest regex (all by default); ASAN_EXCLUDE leaves out the docs
# walkthroughs (shell scripts over the same binaries, and npm) and the bank-test runs (minutes of
# faults each; `make chaos` is their place).
ASAN_BUILD_DIR ?= build-asan
ASAN_TESTS ?= .
ASAN_EXCLUDE ?= ^docs\.|bank test
SANITIZER_OPTIONS = ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:strict_string_checks=1:detect_stack_use_after_return=1 \
  LSAN_OPTIONS=suppressions=$(CURDIR)/tests/sanitizers/lsan.supp:print_suppressions=0 \
  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1

all: build

deps:
	@bash scripts/install-deps.sh

configure: deps
	@cmake -S . -B $(BUILD_DIR) -G Ninja -DCMAKE_BUILD_TYPE=$(BUILD_TYPE) >/dev/null

build: configure
	@cmake --build $(BUILD_DIR) -j $(JOBS)

test: build
	@cd $(BUILD_DIR) && ctest --output-on-failure -j $(JOBS) --timeout 600

run: build
	@$(BUILD_DIR)/src/fxmesh dev --bin $(BUILD_DIR)/src $(DEV_ARGS)

bench: configure
	@cmake --build $(BUILD_DIR) --target fxmesh-bench -j $(JOBS)
	@bash scripts/run-benchmarks.sh $(BUILD_DIR)

chaos: configure
	@cmake --build $(BUILD_DIR) --target fxmesh-chaos -j $(JOBS)
	@$(BUILD_DIR)/tests/chaos/fxmesh-chaos --backend=$(BACKEND) --seed=$(SEED) --seeds=$(SEEDS) --duration=$(DURATION)

fuzz:
	@bash scripts/install-deps.sh fuzz
	@CC=clang-14 CXX=clang++-14 cmake -S . -B $(FUZZ_BUILD_DIR) -G Ninja \
	  -DCMAKE_BUILD_TYPE=RelWithDebInfo -DFXMESH_FUZZ=ON -DFXMESH_SANITIZERS=address,undefined \
	  >/dev/null
	@cmake --build $(FUZZ_BUILD_DIR) --target fxmesh-fuzz -j $(JOBS)
	@$(SANITIZER_OPTIONS) bash scripts/run-fuzzers.sh $(FUZZ_BUILD_DIR) $(FUZZ_SECONDS) $(FUZZ_TARGETS)

test-asan: deps
	@cmake -S . -B $(ASAN_BUILD_DIR) -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	  -DFXMESH_SANITIZERS=address,undefined >/dev/null
	@$(SANITIZER_OPTIONS) cmake --build $(ASAN_BUILD_DIR) -j $(JOBS)
	@cd $(ASAN_BUILD_DIR) && $(SANITIZER_OPTIONS) ctest --output-on-failure -j $(JOBS) \
	  --timeout 1200 -R '$(ASAN_TESTS)' -E '$(ASAN_EXCLUDE)'

format:
	@git ls-files '*.cc' '*.h' | xargs clang-format -i

clean:
	rm -rf $(BUILD_DIR) $(FUZZ_BUILD_DIR) $(ASAN_BUILD_DIR)
