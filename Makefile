# planverify - a thin front for CMake. The README's two commands:
#   make run    install what is missing, build, run the main job
#   make test   install what is missing, build, run every test
# and for developers:
#   make bench      the benchmarks in bench/ (figures, no assertions)
#   make sanitize   the tests again under ASan + UBSan (in build-san/)
#   make format     rewrite solver/ server/ tests/ C files with clang-format
#   make clean      remove build/ and build-san/
#
# An existing build directory is used as it is (its generator and options
# kept); CMake re-runs itself when CMakeLists.txt or the file lists change.

MAKEFLAGS += --no-print-directory

BUILD_DIR ?= build
SAN_BUILD_DIR ?= build-san
JOBS ?= $(shell nproc 2>/dev/null || echo 2)
CMAKE ?= cmake
CTEST ?= ctest
CLANG_FORMAT ?= clang-format

SPECS := $(wildcard specs/*.yaml)

# ---------------------------------------------------------------------------
# RUN_CMD: what `make run` runs: the gRPC service on the bundled specs, on
# 127.0.0.1:50051 (LISTEN=host:port to change), until Ctrl-C.
LISTEN ?= 127.0.0.1:50051
RUN_CMD ?= ./$(BUILD_DIR)/planverify serve --listen $(LISTEN)
define RUN_NOTE
planverify: starting the service on $(LISTEN) with the bundled specs (Ctrl-C stops it).
  Try it from another terminal:
    ./$(BUILD_DIR)/planverify verify --server $(LISTEN) specs/examples/split-refund-unknown.yaml
  or any gRPC client: service planverify.v1.PlanVerifier (proto/planverify/v1/planverify.proto),
  health at grpc.health.v1.Health/Check.
endef
export RUN_NOTE
# ---------------------------------------------------------------------------

.PHONY: all deps build test run bench bench-compare sanitize format clean

all: build

deps:
	@bash scripts/install-deps.sh

# Configure DIR with ARGS unless it already holds a generated build (a
# Makefile or build.ninja): an existing directory keeps its generator and
# cache, and a configure that failed half-way is simply run again.
define configure
	@if [ ! -f $(1)/Makefile ] && [ ! -f $(1)/build.ninja ]; then \
	    $(CMAKE) -S . -B $(1) $(2); \
	fi
endef

build: deps
	$(call configure,$(BUILD_DIR),)
	@$(CMAKE) --build $(BUILD_DIR) -j$(JOBS)

test: build
	@$(CTEST) --test-dir $(BUILD_DIR) --output-on-failure -j2

run: build
	@if [ ! -x ./$(BUILD_DIR)/planverify ]; then \
	    echo "make run: ./$(BUILD_DIR)/planverify was not built (server/ has no sources yet)" >&2; \
	    exit 1; \
	fi
	@echo "$$RUN_NOTE"
	$(RUN_CMD)

# bench: every benchmark, one report, bench/results/latest.{md,json} (about 5
# minutes on 2 cores; bench/run_bench.sh lists the variables that scale it).
# bench-compare BASE=FILE: the same, compared with an earlier result file.
bench: build
	@bash bench/run_bench.sh $(BUILD_DIR)

bench-compare: build
	@if [ -z "$(BASE)" ]; then \
	    echo "usage: make bench-compare BASE=bench/results/FILE.json" >&2; exit 2; \
	fi
	@bash bench/run_bench.sh --compare $(BASE) $(BUILD_DIR)

sanitize: deps
	$(call configure,$(SAN_BUILD_DIR),-DPV_SANITIZE=ON)
	@$(CMAKE) --build $(SAN_BUILD_DIR) -j$(JOBS)
	@$(CTEST) --test-dir $(SAN_BUILD_DIR) --output-on-failure -j2

format:
	@files=$$(find solver server tests -name '*.[ch]' 2>/dev/null | sort); \
	if [ -n "$$files" ]; then $(CLANG_FORMAT) -i $$files; fi

clean:
	rm -rf $(BUILD_DIR) $(SAN_BUILD_DIR)
