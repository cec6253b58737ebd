# Convenience wrapper around CMake. `make demo` and `make check` are the README's two commands:
# each installs what is missing (apt-get), builds, and runs.
BUILD       ?= build
BUILD_ASAN  ?= build-asan
BUILD_FUZZ  ?= build-fuzz
JOBS        ?= $(shell nproc 2>/dev/null || echo 2)
FUZZ_SECONDS ?= 20

.PHONY: deps build demo check check-asan check-valgrind fuzz clean

deps:
	@bash .ci/install-deps

build: deps
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	@cmake --build $(BUILD) -j $(JOBS)

# The main job on the built-in default: the decision core on a real EKS node list.
demo: build
	./$(BUILD)/propsim eval --nodes-file tests/data/nodes/eks-nodelist.json \
	  --params '{"linear":{"coresPerReplica":256,"nodesPerReplica":16,"preventSinglePointFailure":true}}'

check: build
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS) -LE valgrind

check-asan: deps
	@cmake -S . -B $(BUILD_ASAN) -DCMAKE_BUILD_TYPE=Debug -DPROPSCALER_SANITIZE=ON >/dev/null
	@cmake --build $(BUILD_ASAN) -j $(JOBS)
	cd $(BUILD_ASAN) && ctest --output-on-failure -j $(JOBS) -LE valgrind

check-valgrind: build
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS) -L valgrind

# Build the libFuzzer targets with clang and run each for FUZZ_SECONDS on its seed corpus.
fuzz: deps
	@CC=clang cmake -S . -B $(BUILD_FUZZ) -DCMAKE_BUILD_TYPE=Debug -DPROPSCALER_FUZZ=ON >/dev/null
	@cmake --build $(BUILD_FUZZ) -j $(JOBS)
	@bash tests/fuzz/run-all $(BUILD_FUZZ) $(FUZZ_SECONDS)

clean:
	rm -rf $(BUILD) $(BUILD_ASAN) $(BUILD_FUZZ)
