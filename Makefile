# Ringfence front door. `make run` and `make test` are the two commands a new
# user needs; everything else is a building block of those two.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c

BUILD      ?= build
ASAN_BUILD ?= build-asan
FUZZ_BUILD ?= build-fuzz
FUZZ_SECS  ?= 60
JOBS       ?= $(shell nproc)
DEMO       ?= demo

BUILD_DEPS := build-essential cmake pkg-config libevent-dev libssl-dev \
              libsqlite3-dev libinih-dev libpwquality-dev cracklib-runtime \
              openssl libsrtp2-dev libnftables-dev libcurl4-openssl-dev libc-ares-dev
TEST_DEPS  := libcmocka-dev python3 python3-pytest sip-tester baresip \
              fail2ban clang libclang-rt-14-dev sipvicious iproute2 \
              nftables python3-aiosmtpd python3-cryptography

.PHONY: all build deps test-deps run test unit integration fuzz asan bench clean lint

all: build

# Install what is missing. As root, apt-get does it; otherwise print the command.
define install_pkgs
	@missing=$$(for p in $(1); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q '^install ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "installing: $$missing"; \
	    (apt-get update -qq || true) && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	  else \
	    echo "missing packages; run: sudo apt-get install $$missing" >&2; exit 1; \
	  fi; \
	fi
endef

deps:
	$(call install_pkgs,$(BUILD_DEPS))

test-deps: deps
	$(call install_pkgs,$(TEST_DEPS))

$(BUILD)/Makefile: CMakeLists.txt
	cmake -S . -B $(BUILD) -DRF_WERROR=ON >/dev/null

# The daemon only; `make test` builds the unit tests too.
build: $(BUILD)/Makefile
	cmake --build $(BUILD) -j$(JOBS) --target ringfence
	@scripts/check-banned.sh

run: deps build
	@if [ ! -d $(DEMO) ]; then $(BUILD)/ringfence init --dir $(DEMO); fi
	$(BUILD)/ringfence -c $(DEMO)/ringfence.conf serve

unit: $(BUILD)/Makefile
	cmake --build $(BUILD) -j$(JOBS)
	cd $(BUILD) && ctest --output-on-failure

integration: build
	RINGFENCE_BIN=$(abspath $(BUILD)/ringfence) /usr/bin/python3 -m pytest -q tests/integration

fuzz:
	CC=clang cmake -S . -B $(FUZZ_BUILD) -DRF_FUZZ=ON -DRF_TESTS=OFF >/dev/null
	cmake --build $(FUZZ_BUILD) -j$(JOBS)
	FUZZ_BUILD=$(FUZZ_BUILD) FUZZ_SECS=$(FUZZ_SECS) tests/fuzz/run.sh

# The full suite: unit, integration against the real binary, corpora, fuzzing.
test: test-deps
	@scripts/run-tests.sh $(BUILD) $(FUZZ_BUILD) $(FUZZ_SECS)

asan: test-deps
	cmake -S . -B $(ASAN_BUILD) -DRF_SANITIZE=ON >/dev/null
	@RF_SKIP_FUZZ=1 scripts/run-tests.sh $(ASAN_BUILD) $(FUZZ_BUILD) 0

bench: build
	bench/register.sh

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(FUZZ_BUILD)
