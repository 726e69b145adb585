# The two commands a newcomer needs: `make run` starts the mesh, `make test` builds and tests it all.
# Both install missing Debian packages first (scripts/install-deps.sh).

BUILD_DIR ?= build
BUILD_TYPE ?= RelWithDebInfo
JOBS ?= $(shell nproc)

.PHONY: all deps configure build test run bench chaos simulate configure-sanitizers fuzz test-asan format \
  image image-test clean

# make chaos: the bank test over seeds SEED .. SEED+SEEDS-1, DURATION seconds of faults each,
# on BACKEND (sqlite or postgres).
SEED ?= 1
SEEDS ?= 10
DURATION ?= 120
# BACKEND=postgres: the production shape (PostgreSQL, two replicas of each service).
BACKEND ?= sqlite
# TLS=1: every gRPC call of the mesh and of the harness over mutual TLS.
TLS ?=

# make bench: a release build of its own, BENCH_BUILD_DIR; its knobs (SCENARIOS, CONCURRENCY,
# SECONDS_EACH, WARMUP_SECONDS, RUNS, OPEN_LOOP, OUT_JSON, RECOVERY, RECOVERY_SAGAS) are read from
# the environment by scripts/run-benchmarks.sh, e.g. `make bench SECONDS_EACH=2 RUNS=1`.
BENCH_BUILD_DIR ?= build-bench
export SCENARIOS CONCURRENCY SECONDS_EACH WARMUP_SECONDS RUNS OPEN_LOOP OUT_JSON RECOVERY RECOVERY_SAGAS

# make simulate: the deterministic simulation of the saga (docs/testing.md) over SEEDS seeds from
# SEED; 100,000 unless SEEDS is given on the command line (`make test` runs 10,000).
SIMULATE_SEEDS = $(if $(filter command line,$(origin SEEDS)),$(SEEDS),100000)

# make fuzz and make test-asan share one clang build, SANITIZER_BUILD_DIR, with AddressSanitizer
# and UndefinedBehaviorSanitizer on everything (and libFuzzer's coverage): a cold sanitizer build
# is the expensive part, so it is paid once (docs/testing.md).
SANITIZER_BUILD_DIR ?= build-sanitizers
# make fuzz: every fuzz target (tests/fuzz/) for FUZZ_SECONDS each, or only FUZZ_TARGETS.
FUZZ_SECONDS ?= 60
FUZZ_TARGETS ?=
# make test-asan: the tests under the sanitizers. ASAN_TESTS picks tests by CTest regex (all by
# default); ASAN_EXCLUDE leaves out the docs walkthroughs (shell scripts over the same binaries,
# and npm) and the bank-test runs (minutes of faults each; `make chaos` is their place).
ASAN_TESTS ?= .
ASAN_EXCLUDE ?= ^docs\.|bank test
SANITIZER_OPTIONS = ASAN_OPTIONS=detect_leaks=1 \
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

bench: deps
	@cmake -S . -B $(BENCH_BUILD_DIR) -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
	@cmake --build $(BENCH_BUILD_DIR) --target fxmesh-bench fxmesh-recovery-bench fxmesh-rss-bench -j $(JOBS)
	@bash scripts/run-benchmarks.sh $(BENCH_BUILD_DIR)

chaos: configure
	@cmake --build $(BUILD_DIR) --target fxmesh-chaos -j $(JOBS)
	@$(BUILD_DIR)/tests/chaos/fxmesh-chaos --backend=$(BACKEND) --seed=$(SEED) --seeds=$(SEEDS) --duration=$(DURATION) $(if $(filter 1,$(TLS)),--tls)

simulate: configure
	@cmake --build $(BUILD_DIR) --target fxmesh-simulate -j $(JOBS)
	@$(BUILD_DIR)/tests/fxmesh-simulate --seed=$(SEED) --seeds=$(SIMULATE_SEEDS)

configure-sanitizers:
	@bash scripts/install-deps.sh fuzz
	@CC=clang-14 CXX=clang++-14 cmake -S . -B $(SANITIZER_BUILD_DIR) -G Ninja \
	  -DCMAKE_BUILD_TYPE=RelWithDebInfo -DFXMESH_FUZZ=ON -DFXMESH_SANITIZERS=address,undefined \
	  >/dev/null

fuzz: configure-sanitizers
	@cmake --build $(SANITIZER_BUILD_DIR) --target fxmesh-fuzz -j $(JOBS)
	@$(SANITIZER_OPTIONS) bash scripts/run-fuzzers.sh $(SANITIZER_BUILD_DIR) $(FUZZ_SECONDS) \
	  $(FUZZ_TARGETS)

test-asan: configure-sanitizers
	@$(SANITIZER_OPTIONS) cmake --build $(SANITIZER_BUILD_DIR) -j $(JOBS)
	@cd $(SANITIZER_BUILD_DIR) && $(SANITIZER_OPTIONS) ctest --output-on-failure -j $(JOBS) \
	  --timeout 1200 -R '$(ASAN_TESTS)' -E '$(ASAN_EXCLUDE)'

# make image: the container image fxmesh:<version> from the Dockerfile, with a dockerd of its own
# (root; apt-get installs docker.io and debootstrap), saved to $(IMAGE_DIR)/fxmesh-<version>.tar.
# make image-test: runs that saved image as Kubernetes would (tests/image/image_test.sh); it needs
# the host's fxmesh-kafka for the relay's broker, built here. Neither is part of `make test`
# (docs/testing.md says why and how long they take).
IMAGE_DIR ?= $(BUILD_DIR)/image

image:
	@bash scripts/build-image.sh $(IMAGE_DIR)

image-test: configure
	@cmake --build $(BUILD_DIR) --target fxmesh-kafka -j $(JOBS)
	@bash tests/image/image_test.sh $(IMAGE_DIR) $(BUILD_DIR)/src

format:
	@git ls-files '*.cc' '*.h' | xargs clang-format -i

clean:
	rm -rf $(BUILD_DIR) $(SANITIZER_BUILD_DIR) $(BENCH_BUILD_DIR)
