# The two commands a newcomer needs: `make run` starts the mesh, `make test` builds and tests it all.
# Both install missing Debian packages first (scripts/install-deps.sh).

BUILD_DIR ?= build
BUILD_TYPE ?= RelWithDebInfo
JOBS ?= $(shell nproc)

.PHONY: all deps configure build test run bench chaos format clean

# make chaos: the bank test over seeds SEED .. SEED+SEEDS-1, DURATION seconds of faults each,
# on BACKEND (sqlite or postgres).
SEED ?= 1
SEEDS ?= 10
DURATION ?= 120
# BACKEND=postgres: the production shape (PostgreSQL, two replicas of each service).
BACKEND ?= sqlite
# TLS=1: every gRPC call of the mesh and of the harness over mutual TLS.
TLS ?=

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
	@$(BUILD_DIR)/tests/chaos/fxmesh-chaos --backend=$(BACKEND) --seed=$(SEED) --seeds=$(SEEDS) --duration=$(DURATION) $(if $(filter 1,$(TLS)),--tls)

format:
	@git ls-files '*.cc' '*.h' | xargs clang-format -i

clean:
	rm -rf $(BUILD_DIR)
