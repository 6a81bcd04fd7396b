# The two commands a newcomer needs: `make run` and `make test` (see README.md).
BUILD   ?= build
ASAN    ?= build-asan
JOBS    ?= 2
PORT    ?= 9092
CMAKE_FLAGS ?= -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo
ifeq ($(CI),true)
CMAKE_FLAGS += -DHAKO_WERROR=ON
endif

.PHONY: all setup build run test unit asan e2e clean format bench pg pg-stop s3 s3-stop

all: build

setup:
	@scripts/setup.sh

$(BUILD)/build.ninja:
	cmake -S . -B $(BUILD) $(CMAKE_FLAGS)

build: $(BUILD)/build.ninja
	cmake --build $(BUILD) -j$(JOBS)

run: setup build
	$(BUILD)/hako broker --listener-url tcp://0.0.0.0:$(PORT) --advertised-listener-url tcp://localhost:$(PORT)

# S3 settings for the engine tests: the throwaway moto_server of scripts/s3_start.sh.
S3_ENV = AWS_ENDPOINT_URL="$$(scripts/s3_start.sh)" AWS_ALLOW_HTTP=true AWS_REGION=us-east-1 \
	AWS_ACCESS_KEY_ID=hako AWS_SECRET_ACCESS_KEY=hako

unit: build pg s3
	cd $(BUILD) && HAKO_TEST_S3_ENDPOINT="$$($(CURDIR)/scripts/s3_start.sh)" ctest --output-on-failure -j$(JOBS)
	$(S3_ENV) HAKO_CONFORMANCE_URLS="$$(scripts/pg_start.sh)?schema=c_{unique} s3://hako-conformance/{unique}?create_bucket=true" \
	  $(BUILD)/conformance_tests --gtest_filter='*/env*' --gtest_brief=1

# A throwaway PostgreSQL 15 for the postgres:// engine tests (idempotent; prints its URL).
pg:
	@scripts/pg_start.sh

pg-stop:
	@scripts/pg_stop.sh

# A throwaway S3-compatible server (moto_server) for the s3:// engine tests.
s3:
	@scripts/s3_start.sh

s3-stop:
	@scripts/s3_stop.sh

# Decoder and codec tests under AddressSanitizer + UBSan, built with clang 14.
asan:
	cmake -S . -B $(ASAN) -G Ninja -DCMAKE_BUILD_TYPE=Debug -DHAKO_SANITIZE=ON \
	  -DCMAKE_CXX_COMPILER=clang++-14 $(if $(filter true,$(CI)),-DHAKO_WERROR=ON)
	cmake --build $(ASAN) -j$(JOBS) --target unit_tests
	$(ASAN)/unit_tests --gtest_brief=1

# The end-to-end suite runs once per storage engine.
e2e: build pg s3
	HAKO_E2E_ENGINE=memory HAKO_BIN=$(CURDIR)/$(BUILD)/hako /usr/bin/python3 -m pytest tests/e2e -q -p no:cacheprovider
	HAKO_E2E_ENGINE=sqlite HAKO_BIN=$(CURDIR)/$(BUILD)/hako /usr/bin/python3 -m pytest tests/e2e -q -p no:cacheprovider
	HAKO_E2E_ENGINE=postgres HAKO_E2E_PG_URL="$$(scripts/pg_start.sh)" HAKO_BIN=$(CURDIR)/$(BUILD)/hako /usr/bin/python3 -m pytest tests/e2e -q -p no:cacheprovider
	HAKO_E2E_ENGINE=s3 HAKO_E2E_S3_ENDPOINT="$$(scripts/s3_start.sh)" HAKO_BIN=$(CURDIR)/$(BUILD)/hako /usr/bin/python3 -m pytest tests/e2e -q -p no:cacheprovider

test: setup build unit asan e2e
	@scripts/pg_stop.sh
	@scripts/s3_stop.sh

# Benchmarks measure, they never pass or fail: not part of `test` (bench/README.md).
bench: $(BUILD)/build.ninja
	BUILD=$(BUILD) JOBS=$(JOBS) bench/run.sh $(BENCH_FLAGS)

format:
	find src tests -name '*.h' -o -name '*.cc' | xargs clang-format -i

clean:
	rm -rf $(BUILD) $(ASAN)
