#!/usr/bin/env bash
# Benchmark `propsim serve` at scale: startup with N realistic nodes, a full paged LIST
# (limit=500, as client-go reflectors page), 100 concurrent watchers receiving a burst of node
# updates, and the server's memory. Prints a table. Not a test: nothing here asserts a time.
#
#   bash tests/bench/bench_serve.sh [build/propsim] [NODES=15000] [WATCHERS=100] [UPDATES=200]
set -eu   # no pipefail: `grep | head` ends its producer early by design
PROPSIM=${1:-build/propsim}
NODES=${2:-15000}
WATCHERS=${3:-100}
UPDATES=${4:-200}
work=$(mktemp -d)
pids=()
trap 'kill "${pids[@]}" 2>/dev/null; wait 2>/dev/null; rm -rf "$work"' EXIT
now() { date +%s.%N; }
rss_kb() { awk '/^VmRSS/ {print $2}' "/proc/$1/status"; }
hwm_kb() { awk '/^VmHWM/ {print $2}' "/proc/$1/status"; }

t0=$(now)
"$PROPSIM" serve --listen 127.0.0.1:0 --nodes "$NODES" >"$work/port" 2>"$work/log" &
SERVER=$!
pids+=("$SERVER")
until [ -s "$work/port" ]; do sleep 0.02; done
t_start=$(echo "$(now) - $t0" | bc)
URL=http://127.0.0.1:$(cat "$work/port")
rss_idle=$(rss_kb "$SERVER")

# full paged LIST, three times; report the best
best=999
for run in 1 2 3; do
  t0=$(now)
  cont=""
  pages=0
  bytes=0
  items=0
  while :; do
    curl -s "$URL/api/v1/nodes?limit=500${cont:+&continue=$cont}" >"$work/page"
    pages=$((pages + 1))
    bytes=$((bytes + $(stat -c %s "$work/page")))
    items=$((items + $(grep -o '"kind":"Node"' "$work/page" | wc -l)))
    cont=$(grep -o '"continue":"[^"]*"' "$work/page" | cut -d'"' -f4 || true)
    [ -n "$cont" ] || break
  done
  t=$(echo "$(now) - $t0" | bc)
  if (($(echo "$t < $best" | bc))); then best=$t; fi
done
rv=$(grep -o '"resourceVersion":"[0-9]*"' "$work/page" | head -1 | grep -o '[0-9]*')

# watchers from the list's resourceVersion, then a burst of updates
for i in $(seq "$WATCHERS"); do
  curl -sN "$URL/api/v1/nodes?watch=1&resourceVersion=$rv&allowWatchBookmarks=true&timeoutSeconds=60" >"$work/w$i" &
  pids+=($!)
done
sleep 1
names=$(curl -s "$URL/api/v1/nodes?limit=$UPDATES" | grep -o '"name":"node-pool-[^"]*"' | cut -d'"' -f4)
t0=$(now)
for n in $names; do
  curl -s -o /dev/null -X PATCH -H 'Content-Type: application/merge-patch+json' \
    -d '{"spec":{"unschedulable":true}}' "$URL/api/v1/nodes/$n"
done
t_updates=$(echo "$(now) - $t0" | bc)
# wait until every watcher has every update (or 30 s)
deadline=$(($(date +%s) + 30))
while :; do
  done_count=0
  for i in $(seq "$WATCHERS"); do
    [ "$(grep -c '"type":"MODIFIED"' "$work/w$i")" -ge "$UPDATES" ] && done_count=$((done_count + 1))
  done
  [ "$done_count" = "$WATCHERS" ] || [ "$(date +%s)" -ge "$deadline" ] && break
  sleep 0.2
done
t_delivered=$(echo "$(now) - $t0" | bc)
rss_watch=$(rss_kb "$SERVER")
hwm=$(hwm_kb "$SERVER")
threads=$(ls "/proc/$SERVER/task" | wc -l)

printf '\npropsim serve benchmark (%s nodes, %s watchers, %s updates) on %s, %s cores\n' "$NODES" "$WATCHERS" "$UPDATES" "$(uname -m)" "$(nproc)"
printf '%-58s %.2fs\n' "startup with generated nodes" "$t_start"
printf '%-58s %s\n' "full paged LIST (limit=500): pages / items / bytes" "$pages / $items / $bytes"
printf '%-58s %.2fs (includes a curl and a grep per page)\n' "full paged LIST time (best of 3)" "$best"
printf '%-58s %.2fs\n' "updates applied (sequential curl PATCH)" "$t_updates"
printf '%-58s %.2fs (%s/%s complete)\n' "every watcher received every update after" "$t_delivered" "$done_count" "$WATCHERS"
printf '%-58s %s\n' "server RSS idle / with watchers / peak" "$((rss_idle / 1024)) MiB / $((rss_watch / 1024)) MiB / $((hwm / 1024)) MiB"
printf '%-58s %s\n' "server threads with watchers" "$threads"
printf '\nrerun: bash tests/bench/bench_serve.sh %s %s %s %s\n' "$PROPSIM" "$NODES" "$WATCHERS" "$UPDATES"
