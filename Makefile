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

# The main job on the built-in default: CoreDNS's CPA params evaluated on real Node objects
# (an EKS NodeList, then a 6-node OpenShift cluster with its masters' taint ignored).
DEMO_NODES = $(sort $(wildcard tests/data/nodes/ci-ln-3z9y7mt-*.json))
demo: build
	@echo "== CoreDNS params on a real EKS NodeList (tests/data/nodes/eks-nodelist.json)"
	./$(BUILD)/propsim eval --configmap manifests/examples/coredns-autoscaler-params.yaml \
	  --nodes-file tests/data/nodes/eks-nodelist.json
	@echo
	@echo "== The same on a real 6-node OpenShift cluster, masters' NoSchedule taint not counted"
	./$(BUILD)/propsim eval --configmap manifests/examples/coredns-autoscaler-params.yaml \
	  $(addprefix --nodes-file ,$(DEMO_NODES)) --ignore-taint node-role.kubernetes.io/master:NoSchedule

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
