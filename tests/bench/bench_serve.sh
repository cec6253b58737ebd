#!/usr/bin/env bash
# Benchmark `propsim serve` at scale: startup with N realistic nodes, a full paged LIST
# (limit=500, as client-go reflectors page; plain and gzip), WATCHERS concurrent watchers receiving
# a burst of node updates (tests/bench/serveclient.py), the server's threads and memory. Prints a
# table. Not a test: nothing here asserts a time.
#
#   bash tests/bench/bench_serve.sh [build/propsim] [NODES=15000] [WATCHERS=1000] [UPDATES=200]
set -eu   # no pipefail: `grep | head` ends its producer early by design
PROPSIM=${1:-build/propsim}
NODES=${2:-15000}
WATCHERS=${3:-1000}
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

# full paged LIST, as a reflector pages it (limit=500, one keep-alive connection), plain and
# with gzip (client-go's default); best of three each
here=$(cd "$(dirname "$0")" && pwd)
best_list() { # [--gzip] -> "pages items wire-bytes seconds" of the fastest run
  for _ in 1 2 3; do python3 "$here/serveclient.py" list "$URL" "$@"; done | sort -k4 -n | head -1
}
read -r pages items bytes best <<<"$(best_list)"
read -r _ _ gz_bytes gz_best <<<"$(best_list --gzip)"

# a crowd of watchers from the current resourceVersion (one socket each, all open at once), then a
# burst of node updates: how long until every watcher has every update; the server's threads
read -r threads parked t_delivered <<<"$(python3 "$here/serveclient.py" watch "$URL" "$WATCHERS" "$UPDATES" "$SERVER")"
rss_watch=$(rss_kb "$SERVER")
hwm=$(hwm_kb "$SERVER")

printf '\npropsim serve benchmark (%s nodes, %s watchers, %s updates) on %s, %s cores\n' "$NODES" "$WATCHERS" "$UPDATES" "$(uname -m)" "$(nproc)"
printf '%-58s %.2fs\n' "startup with generated nodes" "$t_start"
printf '%-58s %s\n' "full paged LIST (limit=500): pages / items / bytes" "$pages / $items / $bytes"
printf '%-58s %ss plain, %ss gzip (%s bytes)\n' "full paged LIST time (best of 3)" "$best" "$gz_best" "$gz_bytes"
printf '%-58s %ss\n' "every watcher has every update, after the first PATCH" "$t_delivered"
printf '%-58s %s\n' "server RSS idle / with watchers / peak" "$((rss_idle / 1024)) MiB / $((rss_watch / 1024)) MiB / $((hwm / 1024)) MiB"
printf '%-58s %s (%s connections parked)\n' "server threads with every watcher open" "$threads" "$parked"
printf '\nrerun: bash tests/bench/bench_serve.sh %s %s %s %s\n' "$PROPSIM" "$NODES" "$WATCHERS" "$UPDATES"
