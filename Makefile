# Convenience wrapper around CMake. `make demo` and `make check` are the README's two commands:
# each installs what is missing (apt-get), builds, and runs.
BUILD       ?= build
BUILD_ASAN  ?= build-asan
BUILD_FUZZ  ?= build-fuzz
IMAGE_DIR   ?= build-image
JOBS        ?= $(shell nproc 2>/dev/null || echo 2)
FUZZ_SECONDS ?= 20

.PHONY: deps build kube-apiserver demo demo-eval demo-replay check check-asan check-valgrind fuzz image check-image clean

deps:
	@bash .ci/install-deps

build: deps
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	@cmake --build $(BUILD) -j $(JOBS)

# The main job on the built-in emulated cluster: propsim serve plays a growing cluster
# (tests/data/traces/demo-growth.jsonl: 4 -> 124 nodes, a cordon wave, a scale-in) and propscaler
# sizes CoreDNS live with the usual CPA params. About 70 seconds; Ctrl-C stops it.
DEMO_DIR ?= /tmp/propscaler-demo
demo: build
	@mkdir -p $(DEMO_DIR)
	@setsid ./$(BUILD)/propsim serve --listen 127.0.0.1:0 --trace tests/data/traces/demo-growth.jsonl --speed 1.5 \
	  --apply manifests/examples/coredns-autoscaler-params.yaml --apply manifests/examples/coredns-deployment.yaml \
	  --write-kubeconfig $(DEMO_DIR)/kubeconfig >$(DEMO_DIR)/port 2>$(DEMO_DIR)/serve.log & echo $$! >$(DEMO_DIR)/serve.pid; \
	  sleep 0.5; \
	  echo "== emulated cluster on http://127.0.0.1:$$(cat $(DEMO_DIR)/port) (KUBECONFIG=$(DEMO_DIR)/kubeconfig);" \
	       "propscaler sizes kube-system/coredns (16 nodes or 256 cores per replica, at least 2)"; \
	  trap 'kill $$(cat $(DEMO_DIR)/serve.pid) 2>/dev/null' EXIT; trap : INT TERM; \
	  timeout --foreground -s TERM 70 ./$(BUILD)/propscaler --kubeconfig $(DEMO_DIR)/kubeconfig --namespace kube-system \
	    --configmap coredns-autoscaler --target deployment/coredns --metrics-addr 127.0.0.1:0 --v=0 2>&1 | \
	    grep --line-buffered -E 'Replicas are not as expected|propscaler|scaling down|holding|guard|Error|error'; \
	  echo "== done: $$(KUBECONFIG=$(DEMO_DIR)/kubeconfig kubectl -n kube-system get deploy coredns -o jsonpath='{.spec.replicas}' 2>/dev/null) replicas at the end"

# The earlier offline demo: CPA's decision for real Node objects, no cluster needed.
DEMO_NODES = $(sort $(wildcard tests/data/nodes/ci-ln-3z9y7mt-*.json))
demo-eval: build
	./$(BUILD)/propsim eval --configmap manifests/examples/coredns-autoscaler-params.yaml \
	  --nodes-file tests/data/nodes/eks-nodelist.json
	./$(BUILD)/propsim eval --configmap manifests/examples/coredns-autoscaler-params.yaml \
	  $(addprefix --nodes-file ,$(DEMO_NODES)) --ignore-taint node-role.kubernetes.io/master:NoSchedule

# The offline simulator on real data: the Google 2011 cluster history (12,583 machines, 29 days)
# replayed through the decision core with CoreDNS's usual params; open the chart in a browser.
REPLAY_DIR ?= /tmp/propscaler-replay
demo-replay: build
	@mkdir -p $(REPLAY_DIR)
	./$(BUILD)/propsim import google2011 tests/data/traces/google2011-machine-events.csv.gz --cores-per-unit 32 \
	  -o $(REPLAY_DIR)/google2011.jsonl.gz
	./$(BUILD)/propsim replay $(REPLAY_DIR)/google2011.jsonl.gz --config manifests/examples/coredns-autoscaler-params.yaml \
	  --out $(REPLAY_DIR)
	@echo "== open $(REPLAY_DIR)/chart.svg in a browser (summary: $(REPLAY_DIR)/summary.json)"

# A real kube-apiserver 1.20 + etcd from Debian's packages, for the tests labelled "servers":
# built once into $(KUBE_CACHE) (about 7 minutes on 2 cores), then reused.
KUBE_CACHE ?= /var/cache/propscaler-kube
kube-apiserver: deps
	@bash tests/kube/build-apiserver.sh $(KUBE_CACHE) >/dev/null

check: build kube-apiserver
	cd $(BUILD) && PROPSCALER_KUBE_BIN=$(KUBE_CACHE)/bin ctest --output-on-failure -j $(JOBS) -LE valgrind

check-asan: deps
	@cmake -S . -B $(BUILD_ASAN) -DCMAKE_BUILD_TYPE=Debug -DPROPSCALER_SANITIZE=ON >/dev/null
	@cmake --build $(BUILD_ASAN) -j $(JOBS)
	cd $(BUILD_ASAN) && ctest --output-on-failure -j $(JOBS) -LE 'valgrind|kube' # the real server: in make check

check-valgrind: build
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS) -L valgrind

# Build the libFuzzer targets with clang and run each for FUZZ_SECONDS on its seed corpus.
fuzz: deps
	@# optimised, as libFuzzer advises: -O0 ran the targets at half the inputs per second
	@CC=clang cmake -S . -B $(BUILD_FUZZ) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DPROPSCALER_FUZZ=ON >/dev/null
	@cmake --build $(BUILD_FUZZ) -j $(JOBS)
	@bash tests/fuzz/run-all $(BUILD_FUZZ) $(FUZZ_SECONDS)

# The OCI image without a Docker engine (manifests/image/build.sh: mmdebstrap + umoci; root):
# $(IMAGE_DIR)/propscaler-image.tar, an OCI layout archive; prints its manifest digest.
image: deps
	@bash manifests/image/build.sh $(IMAGE_DIR)

# The image's own propscaler, unpacked and run in a chroot as its non-root user, against propsim serve.
check-image: image build
	bash tests/cli/test_image.sh $(IMAGE_DIR) $(BUILD)/propsim

clean:
	rm -rf $(BUILD) $(BUILD_ASAN) $(BUILD_FUZZ) $(IMAGE_DIR)
