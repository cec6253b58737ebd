#!/usr/bin/env bash
# Benchmark propsim import/replay: the real Google 2011 history (37,780 events, 12,583 machines,
# 29 days) end to end, and a generated flapping trace of EVENTS events (default 10 million) replayed
# with --no-timeline (summary and chart; one core decides, a second inflates the gzip): events per second and peak memory (which
# should follow the node count, 10,000 here, not the trace length). The generated lines are in the trace writer's canonical
# form, which the fast path (policies/nodeline) decodes; the same events in another layout take
# policies/nodejson (strict JSON, no tree), and --json-decode shows the general cJSON path. Prints figures; asserts nothing.
#
#   bash tests/bench/bench_replay.sh [build] [EVENTS=10000000]
set -eu
BUILD=${1:-build}
EVENTS=${2:-10000000}
DATA=$(cd "$(dirname "$0")/../data" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
P='{"linear":{"coresPerReplica":256,"nodesPerReplica":16,"preventSinglePointFailure":true}}'
now() { date +%s.%N; }
t0=$(now)
"$BUILD/propsim" import google2011 "$DATA/traces/google2011-machine-events.csv.gz" --cores-per-unit 32 -o "$work/g.jsonl.gz" >/dev/null
t1=$(now)
/usr/bin/time -f '%M' -o "$work/g.mem" "$BUILD/propsim" replay "$work/g.jsonl.gz" --params "$P" --out "$work/g" >/dev/null
t2=$(now)
"$BUILD/propsim" generate flapping --nodes 10000 --flappers 2000 --period 10 --events "$EVENTS" -o "$work/big.jsonl.gz" >/dev/null
t3=$(now)
/usr/bin/time -f '%M' -o "$work/big.mem" "$BUILD/propsim" replay "$work/big.jsonl.gz" --params "$P" --out "$work/big" --no-timeline >/dev/null
t4=$(now)
"$BUILD/propsim" replay "$work/big.jsonl.gz" --params "$P" --out "$work/bigj" --no-timeline --json-decode >/dev/null
t5=$(now)
cmp -s "$work/big/summary.json" "$work/bigj/summary.json" || echo "WARNING: the fast path and --json-decode summaries differ"
# the same events in another layout (a space in each line): nodeline declines them, nodejson reads them without a tree
zcat "$work/big.jsonl.gz" | sed 's/,"type":/, "type":/' | gzip -1 >"$work/other.jsonl.gz"
ta=$(now)
"$BUILD/propsim" replay "$work/other.jsonl.gz" --params "$P" --out "$work/bigo" --no-timeline >/dev/null
tb=$(now)
cmp -s <(grep -v '"trace"' "$work/big/summary.json") <(grep -v '"trace"' "$work/bigo/summary.json") ||
  echo "WARNING: the nodeline and nodejson summaries differ"
"$BUILD/propsim" replay "$work/big.jsonl.gz" --params "$P" --out "$work/bigt" >/dev/null
t6=$(now)
tl_mib=$(( $(stat -c %s "$work/bigt/timeline.csv") / 1048576 + $(stat -c %s "$work/bigt/timeline.jsonl") / 1048576 ))
rm -rf "$work/bigt"
# a tenth of the events: memory must not grow with the trace length
"$BUILD/propsim" generate flapping --nodes 10000 --flappers 2000 --period 10 --events "$((EVENTS / 10))" -o "$work/small.jsonl.gz" >/dev/null
/usr/bin/time -f '%M' -o "$work/small.mem" "$BUILD/propsim" replay "$work/small.jsonl.gz" --params "$P" --out "$work/small" --no-timeline >/dev/null
rate=$(echo "$EVENTS / ($t4 - $t3)" | bc)
jrate=$(echo "$EVENTS / ($t5 - $t4)" | bc)
trate=$(echo "$EVENTS / ($t6 - $t5)" | bc)
printf '\npropsim replay benchmark on %s, %s cores (one decides; a thread reads and inflates the trace)\n' "$(uname -m)" "$(nproc)"
printf '%-72s %.2fs\n' "import google2011 (37,780 rows)" "$(echo "$t1 - $t0" | bc)"
printf '%-72s %.2fs, peak RSS %d MiB\n' "replay google2011 with timeline + summary + chart" "$(echo "$t2 - $t1" | bc)" "$(($(cat "$work/g.mem") / 1024))"
printf '%-72s %.2fs = %s events/s, peak RSS %d MiB\n' "replay $EVENTS generated events (10,000 nodes, --no-timeline: summary + chart)" \
  "$(echo "$t4 - $t3" | bc)" "$rate" "$(($(cat "$work/big.mem") / 1024))"
printf '%-72s %.2fs = %s events/s\n' "the same lines in another layout (nodejson: strict, no tree)" "$(echo "$tb - $ta" | bc)" \
  "$(echo "$EVENTS / ($tb - $ta)" | bc)"
printf '%-72s %.2fs = %s events/s\n' "the same with --json-decode (no fast path)" "$(echo "$t5 - $t4" | bc)" "$jrate"
printf '%-72s %.2fs = %s events/s, %s MiB of timeline\n' "the same writing timeline.csv, timeline.jsonl, chart.svg" \
  "$(echo "$t6 - $t5" | bc)" "$trate" "$tl_mib"
printf '%-72s peak RSS %d MiB\n' "replay $((EVENTS / 10)) events of the same cluster" "$(($(cat "$work/small.mem") / 1024))"
printf '\nrerun: bash tests/bench/bench_replay.sh %s %s\n' "$BUILD" "$EVENTS"
