#!/usr/bin/env bash
# Benchmark `propsim import kwok` on a large generated KWOK recording: NODES full Node objects
# (copies of a real OpenShift worker from tests/data/nodes, renamed) as the snapshot, then PATCHES
# ResourcePatch documents (kwok's internal shape) turning a node NotReady or Ready again, one per
# 100 ms. Prints the recording's size, the import time and peak memory (the recording is
# streamed: memory follows the live nodes' objects, not the file), and the replay of the result.
# Asserts nothing but that the import and the replay succeed.
#
#   bash tests/bench/bench_kwok.sh [build] [NODES=15000] [PATCHES=100000]
set -eu
BUILD=${1:-build}
NODES=${2:-15000}
PATCHES=${3:-100000}
DATA=$(cd "$(dirname "$0")/../data" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
template="$DATA/nodes/ci-ln-3z9y7mt-f76d1-69jcr-worker-b-q6vs9.json"
name=ci-ln-3z9y7mt-f76d1-69jcr-worker-b-q6vs9

awk -v nodes="$NODES" -v patches="$PATCHES" -v name="$name" '
  { gsub(name, "@NAME@"); tpl = tpl $0 "\n" }
  END {
    for (i = 0; i < nodes; i++) {
      doc = tpl
      gsub("@NAME@", "kwok-" i, doc)
      printf "---\n%s", doc
    }
    srand(1)
    for (p = 1; p <= patches; p++) {
      n = int(rand() * nodes)
      status = (down[n] = !down[n]) ? "False" : "True"
      printf "---\napiVersion: kwok.x-k8s.io/internal\nkind: ResourcePatch\n"
      printf "target: {type: {version: v1, resource: nodes}, name: kwok-%d}\n", n
      printf "durationNanosecond: %d00000000\n", p
      printf "patch:\n  status:\n    conditions:\n    - {type: Ready, status: \"%s\", reason: KubeletStatus}\n", status
    }
  }' "$template" >"$work/rec.yaml"

now() { date +%s.%N; }
t0=$(now)
/usr/bin/time -f '%M' -o "$work/import.mem" "$BUILD/propsim" import kwok "$work/rec.yaml" -o "$work/rec.jsonl.gz" >"$work/import.out"
t1=$(now)
P='{"linear":{"coresPerReplica":256,"nodesPerReplica":16,"preventSinglePointFailure":true}}'
/usr/bin/time -f '%M' -o "$work/replay.mem" "$BUILD/propsim" replay "$work/rec.jsonl.gz" --params "$P" --out "$work/r" >/dev/null
t2=$(now)

printf '\npropsim import kwok benchmark on %s, %s cores (one used)\n' "$(uname -m)" "$(nproc)"
printf '%-40s %d MiB of YAML, %d documents\n' "recording ($NODES nodes, $PATCHES patches)" \
  "$(($(stat -c %s "$work/rec.yaml") / 1048576))" "$((NODES + PATCHES))"
printf '%-40s %.2fs, peak RSS %d MiB\n' "import kwok" "$(echo "$t1 - $t0" | bc)" "$(($(cat "$work/import.mem") / 1024))"
printf '%-40s %.2fs, peak RSS %d MiB\n' "replay of the imported trace" "$(echo "$t2 - $t1" | bc)" "$(($(cat "$work/replay.mem") / 1024))"
printf '%-40s %s\n' "import said" "$(cat "$work/import.out")"
printf '\nrerun: bash tests/bench/bench_kwok.sh %s %s %s\n' "$BUILD" "$NODES" "$PATCHES"
