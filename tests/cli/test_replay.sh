#!/usr/bin/env bash
# propsim import / replay / generate on the real Google 2011 history and generated scenarios:
# counts checked against values computed independently (awk over the CSV), determinism, every
# output format, comparisons, windows, the capacity model, and bad or truncated traces.
set -u
PROPSIM=$1
DATA=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
COREDNS='{"linear":{"coresPerReplica":256,"nodesPerReplica":16,"preventSinglePointFailure":true}}'
G=$DATA/traces/google2011-machine-events.csv.gz

# 1. import the real trace
out=$("$PROPSIM" import google2011 "$G" --cores-per-unit 32 -o "$work/g.jsonl.gz" 2>"$work/import.err")
[ $? = 0 ] || fail "import exit: $out $(cat "$work/import.err")"
grep -q 'imported 37780 rows' <<<"$out" && grep -q '21443 ADD, 8957 REMOVE, 7380 UPDATE; 0 bad rows skipped; 32 rows without CPUs' <<<"$out" ||
  fail "import counts: $out"
[ "$(zcat "$work/g.jsonl.gz" | wc -l)" = 37780 ] || fail "one event per row"

# 2. replay it; nodes and cores at three times match an independent computation over the CSV
"$PROPSIM" replay "$work/g.jsonl.gz" --params "$COREDNS" --out "$work/g" >"$work/g.out" 2>&1 || fail "replay exit: $(cat "$work/g.out")"
for T in 600 86400 2506130; do
  want=$(zcat "$G" | awk -F, -v T="$T" '$1 <= T * 1000000 {
      if ($3 == 1) { delete p[$2]; delete m[$2] } else { p[$2] = 1; m[$2] = ($5 == "" ? 0 : int($5 * 32000 + 0.5)) } }
      END { n = 0; s = 0; for (k in p) { n++; s += m[k] } printf "%d,%d", n, int((s + 999) / 1000) }')
  got=$(awk -F, -v T="$T" '$1 == T".000000" {print $2","$4}' "$work/g/timeline.csv" | tail -1)
  [ "$got" = "$want" ] || fail "at t=$T: replay nodes,cores $got; computed from the CSV $want"
done
grep -q '"events":[[:space:]]*37780' "$work/g/summary.json" || fail "summary events"

# 3. determinism: the same input gives byte-identical outputs
"$PROPSIM" replay "$work/g.jsonl.gz" --params "$COREDNS" --out "$work/g2" >/dev/null 2>&1
for f in timeline.csv timeline.jsonl summary.json chart.svg; do
  cmp -s "$work/g/$f" "$work/g2/$f" || fail "replay is not deterministic: $f differs"
done
# --no-timeline: no timeline files, and the same summary and chart (drawn during the replay)
"$PROPSIM" replay "$work/g.jsonl.gz" --params "$COREDNS" --out "$work/g3" --no-timeline >/dev/null 2>&1 || fail "--no-timeline"
[ ! -e "$work/g3/timeline.csv" ] && [ ! -e "$work/g3/timeline.jsonl" ] || fail "--no-timeline wrote timeline files"
for f in summary.json chart.svg; do
  cmp -s "$work/g/$f" "$work/g3/$f" || fail "--no-timeline: $f differs"
done

# 3b. the fast path for canonical Node lines (policies/nodeline) decides exactly as JSON decoding:
#     byte-identical outputs with --json-decode, on the real trace and on every generated scenario,
#     under the counting options and the guard; a trace with bad lines reports them identically
for s in outage mass-delete upgrade flapping; do
  "$PROPSIM" generate "$s" --nodes 300 --duration 900 --flappers 40 --period 7 -o "$work/fp-$s.jsonl.gz" >/dev/null
done
fp_check() { # name trace options...
  local name=$1 tr=$2
  shift 2
  "$PROPSIM" replay "$tr" --params "$COREDNS" --params '{"ladder":{"nodesToReplicas":[[1,1],[50,3],[200,9]]}}' \
    --out "$work/fp-$name-a" "$@" >"$work/fp-$name-a.out" 2>"$work/fp-$name-a.err"
  "$PROPSIM" replay "$tr" --params "$COREDNS" --params '{"ladder":{"nodesToReplicas":[[1,1],[50,3],[200,9]]}}' \
    --out "$work/fp-$name-b" --json-decode "$@" >"$work/fp-$name-b.out" 2>"$work/fp-$name-b.err"
  for f in timeline.csv timeline.jsonl summary.json chart.svg; do
    cmp -s "$work/fp-$name-a/$f" "$work/fp-$name-b/$f" || fail "fast path vs --json-decode ($name $*): $f differs"
  done
  sed "s|fp-$name-b|fp-$name-a|g" "$work/fp-$name-b.out" | cmp -s - "$work/fp-$name-a.out" || fail "fast path vs --json-decode ($name): stdout differs"
  cmp -s "$work/fp-$name-a.err" "$work/fp-$name-b.err" || fail "fast path vs --json-decode ($name): stderr differs"
}
fp_check google "$work/g.jsonl.gz" --guard=false
fp_check google-legacy "$work/g.jsonl.gz" --legacy-schedulable --max-cores-per-node 3 --guard
for s in outage mass-delete upgrade flapping; do
  fp_check "$s" "$work/fp-$s.jsonl.gz" --guard
  fp_check "$s-sel" "$work/fp-$s.jsonl.gz" --nodelabels 'kubernetes.io/hostname notin (node-000001,node-000007)' --legacy-schedulable
done
{ zcat "$work/fp-upgrade.jsonl.gz" | head -50; echo 'not json'; zcat "$work/fp-upgrade.jsonl.gz" | sed -n '51,60p' | sed 's/"t":/"t": /';
  zcat "$work/fp-upgrade.jsonl.gz" | sed -n '61,90p'; printf '{"t":99,"type":"ADD'; } >"$work/fp-mixed.jsonl"
fp_check mixed "$work/fp-mixed.jsonl" --guard
grep -q 'fp-mixed.jsonl:51: not valid JSON' "$work/fp-mixed-a.err" || fail "bad line named on the fast path: $(cat "$work/fp-mixed-a.err")"

# 4. output formats
head -1 "$work/g/timeline.csv" | grep -qx 't,total_nodes,schedulable_nodes,total_cores,schedulable_cores,replicas,action,guard' ||
  fail "CSV header: $(head -1 "$work/g/timeline.csv")"
[ "$(wc -l <"$work/g/timeline.jsonl")" = "$(($(wc -l <"$work/g/timeline.csv") - 1))" ] || fail "a JSON line per CSV row"
head -1 "$work/g/timeline.jsonl" | grep -q '^{"t":[0-9.]*,"total_nodes":[0-9]*,"schedulable_nodes":[0-9]*,"total_cores":[0-9]*,"schedulable_cores":[0-9]*,"replicas":[0-9]*,"action":"[0-9>-]*","guard":""}$' ||
  fail "JSONL row: $(head -1 "$work/g/timeline.jsonl")"
for k in '"actions":' '"scaleUps":' '"scaleDowns":' '"minReplicas":' '"maxReplicas":' '"meanReplicas":' '"secondsAtReplicas":'; do
  grep -q "$k" "$work/g/summary.json" || fail "summary lacks $k"
done
head -1 "$work/g/chart.svg" | grep -q '^<svg xmlns="http://www.w3.org/2000/svg"' && grep -q '<polyline' "$work/g/chart.svg" &&
  tail -1 "$work/g/chart.svg" | grep -q '</svg>' || fail "chart.svg"
grep -c '<circle' "$work/g/chart.svg" | grep -qv '^0$' || fail "actions are marked on the chart"
# readable axes: 29 days ticked in whole weeks; 12,326..12,515 nodes (a narrow band) on a zoomed
# axis with round values; the replicas (817..829) likewise
[ "$(grep -o 'text-anchor="middle" fill="#555">[^<]*' "$work/g/chart.svg" | sed 's/.*>//' | sort -u | sort -n | tr '\n' ' ')" = \
  "0d 7d 14d 21d 28d " ] || fail "chart time ticks: $(grep -o 'text-anchor="middle" fill="#555">[^<]*' "$work/g/chart.svg" | sed 's/.*>//' | sort -u | tr '\n' ' ')"
grep -q 'Nodes (axis zoomed: it does not start at 0)' "$work/g/chart.svg" || fail "chart: narrow node band zoomed"
ylabels=$(grep -o 'text-anchor="end" fill="#555">[^<]*' "$work/g/chart.svg" | sed 's/.*>//' | head -5 | tr '\n' ' ')
[ "$ylabels" = "12200 12300 12400 12500 12600 " ] || fail "chart node axis: $ylabels"

# 5. compare two params sets; a window; the capacity model; a ConfigMap file
"$PROPSIM" generate growth --nodes 100 --start-nodes 4 --duration 100 -o "$work/grow.jsonl" >/dev/null
"$PROPSIM" replay "$work/grow.jsonl" --params "$COREDNS" --params '{"linear":{"nodesPerReplica":8}}' --out "$work/cmp" \
  --qps-per-replica 1000 --qps-per-node 100 >/dev/null 2>&1 || fail "compare run"
head -1 "$work/cmp/timeline.csv" | grep -q ',replicas_1,action_1,guard_1,replicas_2,action_2,guard_2$' || fail "comparison columns"
tail -1 "$work/cmp/timeline.csv" | grep -q '^100.000000,100,100,392,392,7,,"",13,,""$' || fail "final row: $(tail -1 "$work/cmp/timeline.csv")"
grep -q '"underProvisionedSeconds"' "$work/cmp/summary.json" || fail "capacity model in the summary"
"$PROPSIM" replay "$work/grow.jsonl" --params "$COREDNS" --out "$work/win" --from 50 --to 60 >/dev/null 2>&1
awk -F, 'NR > 1 && ($1 < 50 || $1 > 60) {bad = 1} END {exit bad}' "$work/win/timeline.csv" || fail "--from/--to window"
"$PROPSIM" replay "$work/grow.jsonl" --config "$DATA/manifests/examples__ladder.yaml" --out "$work/cfg" >/dev/null 2>&1 ||
  fail "--config with a ConfigMap file"
grep -q '"mode":[[:space:]]*"ladder"' "$work/cfg/summary.json" || fail "--config mode"

# 6. bad lines reported with line numbers and skipped; a truncated last line ignored
{ head -5 "$work/grow.jsonl"; echo 'not json'; echo '{"t":3,"type":"ADDED"}'; sed -n 6,20p "$work/grow.jsonl"; printf '{"t":99,"type":"ADD'; } >"$work/bad.jsonl"
"$PROPSIM" replay "$work/bad.jsonl" --params "$COREDNS" --out "$work/bad" >"$work/bad.out" 2>"$work/bad.err" || fail "bad lines are not fatal"
grep -q 'bad.jsonl:6: not valid JSON' "$work/bad.err" && grep -q 'bad.jsonl:7: an event needs' "$work/bad.err" &&
  grep -q 'bad.jsonl:23: truncated last line' "$work/bad.err" || fail "bad lines reported: $(cat "$work/bad.err")"
grep -q '"badLines":[[:space:]]*3' "$work/bad/summary.json" || fail "bad lines counted"
grep -q '"nodeEvents":[[:space:]]*20' "$work/bad/summary.json" || fail "the rest replayed"
# a t that is not a finite number is a bad line; a jump of years of poll periods (t in epoch
# seconds after relative ones) is refused with the line, instead of grinding through 10^8 polls
{ head -3 "$work/grow.jsonl"; echo '{"t":1e999,"type":"DELETED","object":{"kind":"Node","metadata":{"name":"x"}}}'; } >"$work/inf.jsonl"
out=$(timeout 60 "$PROPSIM" replay "$work/inf.jsonl" --params "$COREDNS" --out "$work/inf" 2>&1)
[ $? = 0 ] && grep -q 'inf.jsonl:4: "t" must be a finite non-negative number of seconds, skipped' <<<"$out" || fail "infinite t: $out"
{ head -3 "$work/grow.jsonl"; echo '{"t":1732442400,"type":"DELETED","object":{"kind":"Node","metadata":{"name":"x"}}}'; } >"$work/epoch.jsonl"
out=$(timeout 60 "$PROPSIM" replay "$work/epoch.jsonl" --params "$COREDNS" --out "$work/epoch" 2>&1)
[ $? = 1 ] && grep -q 'epoch.jsonl:4: t jumps from [0-9.]* to 1732442400 s, 1.73e+08 poll periods of 10 s; is t in another unit' <<<"$out" ||
  fail "epoch jump: $out"
# a trace that starts at an absurd (finite) time: t0 + 1 == t0 there, and the chart's arithmetic
# met 0/0 and a NaN cast to int (found by fuzz_replay; UBSan stops the ASan build's run on it)
printf '%s\n' '{"t":4e113,"type":"ADDED","object":{"kind":"Node","metadata":{"name":"a"}}}' \
  '{"t":0,"type":"ADDED","object":{"kind":"Node","metadata":{"name":"b"}}}' >"$work/huge.jsonl"
out=$(timeout 60 "$PROPSIM" replay "$work/huge.jsonl" --params "$COREDNS" --out "$work/huge" 2>&1)
[ $? = 0 ] && grep -q 'huge.jsonl:2: time goes backwards' <<<"$out" && grep -q '<svg' "$work/huge/chart.svg" &&
  ! grep -q -- '-[0-9]*,\|nan' "$work/huge/chart.svg" || fail "absurd times: $out"
# numeric flags are checked whole, finite and in range, and named
for bad in "--poll-period nan" "--from x" "--to 1e999" "--from 10 --to 5" "--qps-per-replica -3 --qps-per-node 1" "--scale-down-delay 1s"; do
  out=$("$PROPSIM" replay "$work/grow.jsonl" --params "$COREDNS" --out "$work/x" $bad 2>&1); rc=$?
  [ $rc = 2 ] && grep -q -- "--$(cut -d' ' -f1 <<<"${bad#--}")" <<<"$out" || fail "flag $bad: rc=$rc $out"
done
# wrong input fails loudly: the first five bad lines quoted with their numbers, the rest counted,
# exit 2 with a hint at the right command when nothing valid was read, no empty trace left behind
seq 1 2000 | awk '{ printf "%d;node-%d;Ready;16\n", $1 * 1000, $1 }' >"$work/other.csv"
out=$("$PROPSIM" import google2011 "$work/other.csv" --cores-per-unit 8 -o "$work/other.jsonl" 2>&1); rc=$?
[ $rc = 2 ] && [ "$(grep -c 'other.csv:[0-9]*: not a machine_events row' <<<"$out")" = 5 ] &&
  grep -q 'other.csv:1: not a machine_events row (time,machine ID,event type 0-2,platform,CPUs,memory), skipped: "1000;node-1;Ready;16"' <<<"$out" &&
  grep -q 'other.csv: 1995 more were not shown (2000 in all' <<<"$out" &&
  grep -q 'nothing valid in .*other.csv (no row is a Google 2011 machine_events row); .*propsim import kubectl-watch' <<<"$out" &&
  [ "$(wc -l <<<"$out")" -lt 10 ] && [ ! -e "$work/other.jsonl" ] || fail "google2011 on another layout: rc=$rc $out"
out=$("$PROPSIM" import kubectl-watch "$work/other.csv" -o "$work/other.jsonl" 2>&1); rc=$?
[ $rc = 2 ] && grep -q 'nothing valid in .*other.csv (no ADDED, MODIFIED or DELETED watch event); .*propsim import google2011' <<<"$out" &&
  [ ! -e "$work/other.jsonl" ] || fail "kubectl-watch on a CSV: rc=$rc $out"
printf 'kind: ConfigMap\nmetadata: {name: x}\n' >"$work/notnodes.yaml"
out=$("$PROPSIM" import kwok "$work/notnodes.yaml" -o "$work/other.jsonl" 2>&1); rc=$?
[ $rc = 2 ] && grep -q 'nothing valid in .*notnodes.yaml (no Node and no ResourcePatch of nodes)' <<<"$out" ||
  fail "kwok without nodes: rc=$rc $out"
: >"$work/empty.jsonl"
out=$("$PROPSIM" replay "$work/empty.jsonl" --params "$COREDNS" --out "$work/empty" 2>&1); rc=$?
[ $rc = 2 ] && grep -q 'nothing valid in .*empty.jsonl (no event); a trace is JSON lines' <<<"$out" &&
  ! grep -q 'replicas 0..0' <<<"$out" || fail "replay of an empty trace: rc=$rc $out"
out=$("$PROPSIM" replay "$work/other.csv" --params "$COREDNS" --out "$work/empty" 2>&1); rc=$?
[ $rc = 2 ] && [ "$(grep -c 'other.csv:[0-9]*: .*, skipped: "[0-9]*;node-[0-9]*;Ready;16"$' <<<"$out")" = 5 ] &&
  grep -q 'nothing valid in .*other.csv (no valid event)' <<<"$out" || fail "replay of a CSV: rc=$rc $out"
# out-of-order lines are kept at the previous time, and counted in the report and the summary
{ head -6 "$work/grow.jsonl"; sed -n 5p "$work/grow.jsonl"; } >"$work/ooo.jsonl"
out=$("$PROPSIM" replay "$work/ooo.jsonl" --params "$COREDNS" --out "$work/ooo" 2>&1); rc=$?
[ $rc = 0 ] && grep -q ', 0 bad lines, 1 out of order)' <<<"$out" && grep -q '"outOfOrderLines":[[:space:]]*1' "$work/ooo/summary.json" ||
  fail "out-of-order lines counted: rc=$rc $out $(grep -i order "$work/ooo/summary.json")"
# the end of the observation window is data: an END marker (or --until) carries the decisions, and
# the time-weighted mean, to the window's end; later events are skipped and said. One replica per
# node: 2 replicas over [0,100), 4 after. Expected means computed here by hand.
node() { printf '{"t":%s,"type":"ADDED","object":{"kind":"Node","metadata":{"name":"%s"},"status":{"allocatable":{"cpu":"4"},"conditions":[{"type":"Ready","status":"True"}]}}}\n' "$1" "$2"; }
{ node 0 a; node 0 b; node 100 c; node 100 d; } >"$work/win.jsonl"
{ cat "$work/win.jsonl"; echo '{"t":1000,"type":"END"}'; node 2000 e; } >"$work/win-end.jsonl"
ONE='{"linear":{"nodesPerReplica":1}}'
mean() { sed -n 's/.*"meanReplicas":[[:space:]]*\([0-9.]*\).*/\1/p' "$1/summary.json"; }
"$PROPSIM" replay "$work/win.jsonl" --params "$ONE" --out "$work/w0" >/dev/null 2>&1
out=$("$PROPSIM" replay "$work/win-end.jsonl" --params "$ONE" --out "$work/w1" 2>&1); rc=$?
[ $rc = 0 ] && [ "$(mean "$work/w0")" = 2 ] && [ "$(mean "$work/w1")" = 3.8 ] &&
  grep -q 'observed until t=1000 s (the trace.s END marker)' <<<"$out" &&
  grep -q 'win-end.jsonl:6: after the END marker of line 5, ignored' <<<"$out" &&
  grep -q '"windowEnd":[[:space:]]*1000' "$work/w1/summary.json" && grep -q '"end":[[:space:]]*1000' "$work/w1/summary.json" &&
  tail -1 "$work/w1/timeline.csv" | grep -q '^1000[,.]' || fail "END marker: rc=$rc mean $(mean "$work/w0") / $(mean "$work/w1"): $out"
out=$("$PROPSIM" replay "$work/win.jsonl" --params "$ONE" --out "$work/w2" --until 500 2>&1); rc=$?
[ $rc = 0 ] && [ "$(mean "$work/w2")" = 3.6 ] && grep -q 'observed until t=500 s (--until)' <<<"$out" || fail "--until 500: rc=$rc mean $(mean "$work/w2"): $out"
out=$("$PROPSIM" replay "$work/win-end.jsonl" --params "$ONE" --out "$work/w3" --until 50 2>&1); rc=$?
[ $rc = 0 ] && [ "$(mean "$work/w3")" = 2 ] && grep -q 'observed until t=50 s (--until); 2 later events skipped' <<<"$out" &&
  grep -q '"eventsAfterWindowEnd":[[:space:]]*2' "$work/w3/summary.json" || fail "--until 50: rc=$rc mean $(mean "$work/w3"): $out"
out=$("$PROPSIM" replay "$work/win.jsonl" --params "$ONE" --out "$work/w4" --until 1e300 2>&1); rc=$?
[ $rc = 1 ] && grep -q 'the window ends at 1e+300 s' <<<"$out" || fail "--until 1e300: rc=$rc $out"
# progress on long work: on stderr when it is a terminal (script(1) gives one), with the rate, the
# share and the ETA; nothing when stderr is a pipe or a file, or with PROPSIM_PROGRESS=0
if command -v script >/dev/null; then
  tty_run() { script -qec "$1" /dev/null | tr '\r' '\n'; }
  out=$(tty_run "'$PROPSIM' generate flapping --nodes 5000 --flappers 1000 --period 10 --events 1500000 -o '$work/prog.jsonl.gz'")
  grep -Eq '^.*propsim generate: [0-9.]+[kM]? events, [0-9.]+[kM]?/s, [0-9]+%, ETA [0-9]+ s' <<<"$out" || fail "generate: no progress on a terminal: $out"
  out=$(tty_run "'$PROPSIM' replay '$work/prog.jsonl.gz' --params '$COREDNS' --out '$work/prog' --no-timeline")
  grep -Eq '^.*propsim replay: [0-9.]+[kM]? events, [0-9.]+[kM]?/s, [0-9]+%, ETA [0-9]+ s' <<<"$out" &&
    grep -q '^.*replayed 1500000 events' <<<"$out" || fail "replay: no progress on a terminal: $out"
  out=$(PROPSIM_PROGRESS=0 tty_run "'$PROPSIM' replay '$work/prog.jsonl.gz' --params '$COREDNS' --out '$work/prog' --no-timeline")
  ! grep -q 'events/s\|/s, ' <<<"$out" || fail "PROPSIM_PROGRESS=0 still shows progress: $out"
  awk 'BEGIN { for (i = 0; i < 400000; i++) printf "%d,m%d,%s,4\n", i, i % 5000, (i % 3 ? "up" : "down") }' >"$work/prog.csv"
  out=$(tty_run "'$PROPSIM' import csv '$work/prog.csv' -o '$work/progc.jsonl' --time-col 1 --machine-col 2 --event-col 3 --event-map up=ADDED,down=DELETED --cpu-col 4")
  grep -Eq '^.*propsim import: [0-9.]+[kM]? rows, [0-9.]+[kM]?/s, [0-9]+%, ETA [0-9]+ s' <<<"$out" || fail "import: no progress on a terminal: $(head -c 600 <<<"$out")"
else
  fail "script(1) is missing (util-linux's bsdutils): the progress tests need a terminal"
fi
out=$("$PROPSIM" replay "$work/prog.jsonl.gz" --params "$COREDNS" --out "$work/prog" --no-timeline 2>&1 >/dev/null)
[ -z "$out" ] || fail "replay to a pipe shows progress: $out"
# the chart a person reads without the CSV: one replicas panel per params set on its own axis
# (329 <-> 330 is not a flat line on a 0-based axis next to a 13 -> 1 ladder), sets named
# (NAME=JSON, a --config file's name), --compare-guard's run without the guard in its set's panel,
# the window's end drawn; checked by parsing the SVG
{
  for i in $(seq 1 330); do node 0 "n$i"; done
  echo '{"t":100,"type":"DELETED","object":{"kind":"Node","metadata":{"name":"n1"}}}'
  node 200 n1
  echo '{"t":400,"type":"END"}'
} >"$work/chart.jsonl"
printf 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\ndata:\n  ladder: \x27{"nodesToReplicas":[[1,1],[330,13]]}\x27\n' >"$work/steep.yaml"
"$PROPSIM" replay "$work/chart.jsonl" --params 'per-node={"linear":{"nodesPerReplica":1}}' --config "$work/steep.yaml" \
  --guard=false --out "$work/chart" >/dev/null 2>&1 || fail "chart replay"
"$PROPSIM" replay "$work/chart.jsonl" --params 'per-node={"linear":{"nodesPerReplica":1}}' --config "$work/steep.yaml" \
  --compare-guard --png --out "$work/chart2" >/dev/null 2>&1 || fail "chart replay --compare-guard --png"
out=$(python3 - "$work/chart/chart.svg" "$work/chart2/chart.svg" <<'PYEOF'
import sys, xml.etree.ElementTree as ET
NS = '{http://www.w3.org/2000/svg}'
def panels(path):
    root = ET.parse(path).getroot()
    texts = [(float(t.get('x')), float(t.get('y')), ''.join(t.itertext())) for t in root.iter(NS + 'text')]
    rects = [r for r in root.iter(NS + 'rect') if r.get('fill') == '#fafafa']
    out = []
    for r in rects:
        y0, h = float(r.get('y')), float(r.get('height'))
        title = [t for x, y, t in texts if abs(y - (y0 - 6)) < 0.5 and x == 70]
        ticks = [float(t) for x, y, t in texts if x == 64 and y0 - 1 <= y - 4 <= y0 + h + 1]
        out.append((title[0] if title else '', min(ticks), max(ticks)))
    return root, out
_, p1 = panels(sys.argv[1])
reps = [p for p in p1 if p[0].startswith('Replicas: ')]
assert len(reps) == 2, p1
assert reps[0][0].startswith('Replicas: per-node') and reps[1][0].startswith('Replicas: steep.yaml'), reps
assert reps[0][1] >= 300 and 'axis zoomed' in reps[0][0], reps[0]   # 329..330 on its own axis
assert reps[1][2] <= 20, reps[1]                                     # 13 -> 1 on its own
root2, p2 = panels(sys.argv[2])
reps2 = [p for p in p2 if p[0].startswith('Replicas: ')]
assert len(reps2) == 2, p2                                           # twins share their set's panel
legend = ' '.join(''.join(t.itertext()) for t in root2.iter(NS + 'text'))
assert 'per-node without the guard' in legend and 'steep.yaml without the guard' in legend, legend
assert 'guard held' in legend
ends = [l for l in root2.iter(NS + 'line') if l.get('class') == 'window-end']
assert len(ends) == 4, len(ends)                                     # on every panel
# --png: the same chart as an image, its size the SVG's, the first set's red line in its panel
import struct, zlib
png = open(sys.argv[2][:-4] + '.png', 'rb').read()
assert png[:8] == b'\x89PNG\r\n\x1a\n', png[:8]
w, h, depth, ctype = struct.unpack('>IIBB', png[16:26])
assert (w, h) == (int(root2.get('width')), int(root2.get('height'))), (w, h)
assert depth == 8 and ctype in (2, 6), (depth, ctype)
data, pos = b'', 8
while pos < len(png):
    n, kind = struct.unpack('>I4s', png[pos:pos + 8])
    if kind == b'IDAT':
        data += png[pos + 8:pos + 8 + n]
    pos += 12 + n
raw, bpp = zlib.decompress(data), 3 if ctype == 2 else 4
stride, rows, prev = w * bpp, [], bytearray(w * bpp)
for y in range(h):
    f, line = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
    for i in range(stride):
        a, b, c = line[i - bpp] if i >= bpp else 0, prev[i], prev[i - bpp] if i >= bpp else 0
        p = a + b - c
        pred = [0, a, b, (a + b) // 2, a if abs(p - a) <= abs(p - b) and abs(p - a) <= abs(p - c) else b if abs(p - b) <= abs(p - c) else c][f]
        line[i] = (line[i] + pred) & 255
    rows.append(line)
    prev = line
panel_y = [float(r.get('y')) for r in root2.iter(NS + 'rect') if r.get('fill') == '#fafafa'][2]
red = sum(1 for y in range(int(panel_y), int(panel_y) + 110) for x in range(70, 970)
          if abs(rows[y][x * bpp] - 0xd6) < 40 and rows[y][x * bpp + 1] < 0x70 and rows[y][x * bpp + 2] < 0x70)  # #d62728
assert red > 100, red
print('ok')
PYEOF
)
[ "$out" = ok ] || fail "chart panels: $out"
grep -q '"name":[[:space:]]*"per-node"' "$work/chart/summary.json" && grep -q '"name":[[:space:]]*"steep.yaml without the guard"' "$work/chart2/summary.json" ||
  fail "set names in summary.json"
# errors
"$PROPSIM" replay /nonexistent --params "$COREDNS" --out "$work/x" >/dev/null 2>&1; [ $? = 2 ] || fail "missing trace -> exit 2"
"$PROPSIM" replay "$work/grow.jsonl" --out "$work/x" >/dev/null 2>&1; [ $? = 2 ] || fail "no params -> exit 2"
out=$("$PROPSIM" replay "$work/grow.jsonl" --params '{"linear":{"min":-1}}' --out "$work/x" 2>&1); [ $? = 2 ] &&
  grep -q 'invalid negative value for min: -1' <<<"$out" || fail "bad params -> CPA's message, exit 2"
printf '0,1,0,,0.5,0.5\n600000000,2,0,,0.25,0.5\nbad,row\n700000000,1,1,,,\n' | gzip >"$work/mini.csv.gz"
out=$("$PROPSIM" import google2011 "$work/mini.csv.gz" --cores-per-unit 8 -o "$work/mini.jsonl" 2>&1)
grep -q 'mini.csv.gz:3: not a machine_events row' <<<"$out" && grep -q '1 bad rows skipped' <<<"$out" || fail "import bad rows: $out"
grep -q '"t":0.000000,"type":"ADDED".*"name":"machine-1".*"cpu":"4000m"' "$work/mini.jsonl" || fail "import: t=0 row, cpu scaling"
grep -q '"t":700.000000,"type":"DELETED".*"name":"machine-1"' "$work/mini.jsonl" || fail "import: REMOVE -> DELETED"

# 6b. kubectl --watch --output-watch-events -o json output: pretty-printed events, then one event
#     per line behind a timestamp column
{
  for f in "$DATA"/nodes/ci-ln-3z9y7mt-*.json; do printf '{\n    "type": "ADDED",\n    "object": '; cat "$f"; printf '\n}\n'; done
  printf '{\n    "type": "DELETED",\n    "object": '; cat "$DATA/nodes/ci-ln-3z9y7mt-f76d1-69jcr-worker-d-pbtms.json"; printf '\n}\n'
  echo 'garbage line'
} >"$work/kw.json"
out=$("$PROPSIM" import kubectl-watch "$work/kw.json" --interval 2 -o "$work/kw.jsonl" 2>&1)
grep -q 'imported 7 events' <<<"$out" && grep -q 'kw.json:[0-9]*: not an event or a timestamp' <<<"$out" &&
  grep -q '1 bad entries skipped' <<<"$out" || fail "kubectl-watch import: $out"
"$PROPSIM" replay "$work/kw.jsonl" --params "$COREDNS" --out "$work/kwr" >/dev/null 2>&1
tail -1 "$work/kwr/timeline.csv" | grep -q '^12.000000,5,5,18,18,' || fail "kubectl-watch: 5 nodes at t=12: $(tail -1 "$work/kwr/timeline.csv")"
{
  t=1732442400
  for f in "$DATA"/nodes/ci-ln-3z9y7mt-*.json; do printf '%s {"type":"ADDED","object":%s}\n' "$t" "$(tr -d '\n' <"$f")"; t=$((t + 5)); done
} >"$work/kwts.json"
"$PROPSIM" import kubectl-watch "$work/kwts.json" -o "$work/kwts.jsonl" >/dev/null 2>&1
tail -1 "$work/kwts.jsonl" | grep -q '^{"t":25.000000,"type":"ADDED"' || fail "timestamp column: $(tail -1 "$work/kwts.jsonl" | cut -c1-60)"
sed -e 's/^1732442400 /2024-11-24T10:00:00Z /' -e 's/^1732442405 /2024-11-24T10:00:05.5Z /' "$work/kwts.json" >"$work/kwrfc.json"
"$PROPSIM" import kubectl-watch "$work/kwrfc.json" -o "$work/kwrfc.jsonl" >/dev/null 2>&1
sed -n 2p "$work/kwrfc.jsonl" | grep -q '^{"t":5.500000,' || fail "RFC 3339 timestamps: $(sed -n 2p "$work/kwrfc.jsonl" | cut -c1-40)"
# a timestamp before the previous one: kept at the previous time, named and counted
sed -e 's/^1732442405 /1732442390 /' "$work/kwts.json" >"$work/kwooo.json"
out=$("$PROPSIM" import kubectl-watch "$work/kwooo.json" -o "$work/kwooo.jsonl" 2>&1)
grep -q 'kwooo.json:2: timestamp -10.000 s before the previous event.s 0.000 s; using 0.000' <<<"$out" &&
  grep -q '1 out-of-order timestamps clamped' <<<"$out" && sed -n 2p "$work/kwooo.jsonl" | grep -q '^{"t":0.000000,' ||
  fail "kubectl-watch out-of-order timestamps: $out"
# pretty-printed events stamped as the README's recording recipe does (stamp before each '{')
i=0
while IFS= read -r l; do
  case $l in '{'*) printf '%s %s\n' "$((1732442400 + 7 * i))" "$l"; i=$((i + 1)) ;; *) printf '%s\n' "$l" ;; esac
done <"$work/kw.json" >"$work/kwpretty.json"
out=$("$PROPSIM" import kubectl-watch "$work/kwpretty.json" -o "$work/kwpretty.jsonl" 2>&1)
grep -q 'imported 7 events' <<<"$out" && tail -1 "$work/kwpretty.jsonl" | grep -q '^{"t":42.000000,"type":"DELETED"' ||
  fail "stamped pretty-printed events: $out / $(tail -1 "$work/kwpretty.jsonl" | cut -c1-50)"
# an unknown event type is named with its line and skipped; BOOKMARK is skipped silently
{
  head -2 "$work/kwts.json" | cut -d' ' -f2-
  echo '{"type":"BOOKMARK","object":{"metadata":{"resourceVersion":"9"}}}'
  echo '{"type":"RENAMED","object":{"metadata":{"name":"x"}}}'
} >"$work/kwbad.json"
out=$("$PROPSIM" import kubectl-watch "$work/kwbad.json" -o "$work/kwbad.jsonl" 2>&1)
grep -q 'kwbad.json:4: unknown event type "RENAMED"' <<<"$out" && grep -q 'imported 2 events' <<<"$out" &&
  grep -q '1 bad entries skipped; 0 out-of-order timestamps clamped; last t 1.000 s' <<<"$out" && [ "$(wc -l <"$work/kwbad.jsonl")" = 2 ] || fail "unknown event type: $out"
# streamed in 1 MiB chunks: an 11 MiB recording (stamped, pretty-printed, two junk lines per copy)
# gives every event, and every junk line is named with its true line number, across chunks;
# gzip and stdin give the same trace
for i in $(seq 1 300); do cat "$work/kwpretty.json"; echo "junk $i"; done >"$work/kwbig.json"
out=$("$PROPSIM" import kubectl-watch "$work/kwbig.json" -o "$work/kwbig.jsonl" 2>&1)
grep -q 'imported 2100 events' <<<"$out" && grep -q '600 bad entries skipped' <<<"$out" || fail "kubectl-watch big: $(tail -1 <<<"$out")"
# the first five bad lines are quoted with their numbers, the rest counted in one line
[ "$(grep -c 'kwbig.json:[0-9]*: not an event or a timestamp, line skipped: "\(junk [0-9]*\|garbage line\)"$' <<<"$out")" = 5 ] &&
  grep -q 'kwbig.json: 595 more were not shown (600 in all; PROPSIM_BAD_LINES_SHOWN=all shows every one)' <<<"$out" ||
  fail "kubectl-watch big: first five bad lines quoted, the rest counted: $(head -8 <<<"$out")"
out=$(PROPSIM_BAD_LINES_SHOWN=all "$PROPSIM" import kubectl-watch "$work/kwbig.json" -o "$work/kwbig.jsonl" 2>&1)
[ "$(grep 'not an event' <<<"$out" | grep -o 'kwbig.json:[0-9]*' | cut -d: -f2 | tr '\n' ' ')" = "$(grep -n -e '^junk' -e '^garbage line' "$work/kwbig.json" | cut -d: -f1 | tr '\n' ' ')" ] ||
  fail "kubectl-watch big: junk line numbers across chunks"
gzip -c "$work/kwbig.json" >"$work/kwbig.json.gz"
"$PROPSIM" import kubectl-watch "$work/kwbig.json.gz" -o "$work/kwbig-gz.jsonl" >/dev/null 2>&1
"$PROPSIM" import kubectl-watch - -o "$work/kwbig-in.jsonl" <"$work/kwbig.json" >/dev/null 2>&1
cmp -s "$work/kwbig.jsonl" "$work/kwbig-gz.jsonl" && cmp -s "$work/kwbig.jsonl" "$work/kwbig-in.jsonl" ||
  fail "kubectl-watch: gzip or stdin input gives another trace"

# 6c. KWOK recordings (kwokctl snapshot record): snapshot Nodes, then ResourcePatch documents in
#     both of kwok's shapes; patches are strategic merge patches on the previous node state
A=ci-ln-3z9y7mt-f76d1-69jcr-worker-d-pbtms B=ci-ln-3z9y7mt-f76d1-69jcr-worker-c-h8zcp
{
  for f in "$DATA"/nodes/ci-ln-3z9y7mt-*.json; do echo '---'; cat "$f"; echo; done
  echo '---'
  echo '{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"c","namespace":"default"}}'
  cat <<YAML
---
apiVersion: kwok.x-k8s.io/internal
kind: ResourcePatch
target: {type: {version: v1, resource: nodes}, name: $A}
durationNanosecond: 5000000000
patch:
  \$setElementOrder/conditions: [{type: NetworkUnavailable}, {type: MemoryPressure}, {type: DiskPressure}, {type: PIDPressure}, {type: Ready}]
  status:
    conditions:
    - {type: Ready, status: "False", reason: KubeletStopped}
---
apiVersion: action.kwok.x-k8s.io/v1alpha1
kind: ResourcePatch
resource: {version: v1, resource: nodes}
target: {name: kwok-new}
durationNanosecond: 10000000000
method: create
template:
  apiVersion: v1
  kind: Node
  metadata: {name: kwok-new, labels: {kubernetes.io/hostname: kwok-new}}
  status:
    allocatable: {cpu: "4"}
    conditions: [{type: Ready, status: "True"}]
---
apiVersion: action.kwok.x-k8s.io/v1alpha1
kind: ResourcePatch
resource: {version: v1, resource: nodes}
target: {name: $B}
durationNanosecond: 15000000000
method: delete
---
apiVersion: kwok.x-k8s.io/internal
kind: ResourcePatch
target: {type: {version: v1, resource: pods}, name: p, namespace: default}
durationNanosecond: 16000000000
patch: {status: {phase: Running}}
---
apiVersion: action.kwok.x-k8s.io/v1alpha1
kind: ResourcePatch
resource: {version: v1, resource: nodes}
target: {name: never-created}
durationNanosecond: 17000000000
method: patch
template: {spec: {unschedulable: true}}
---
apiVersion: action.kwok.x-k8s.io/v1alpha1
kind: ResourcePatch
resource: {version: v1, resource: nodes}
target: {name: kwok-new}
durationNanosecond: 18000000000
method: frobnicate
template: {}
---
apiVersion: kwok.x-k8s.io/internal
kind: ResourcePatch
target: {type: {version: v1, resource: nodes}, name: kwok-new}
durationNanosecond: 20000000000
patch: {spec: {unschedulable: true}, metadata: {labels: {kubernetes.io/hostname: null}}}
YAML
} >"$work/kwok.yaml"
out=$("$PROPSIM" import kwok "$work/kwok.yaml" -o "$work/kwok.jsonl" 2>&1)
grep -q 'imported 10 node events' <<<"$out" && grep -q '2 about other resources; 2 bad skipped' <<<"$out" &&
  grep -q 'document 12 (line [0-9]*): patch of a node that was never created' <<<"$out" &&
  grep -q 'document 13 (line [0-9]*): method must be create, patch or delete' <<<"$out" || fail "kwok import: $out"
# the line named is where that document starts (its "---")
l12=$(sed -n 's/.*document 12 (line \([0-9]*\)).*/\1/p' <<<"$out")
[ "$(sed -n "${l12}p" "$work/kwok.yaml")" = '---' ] && sed -n "$((l12 + 4))p" "$work/kwok.yaml" | grep -q 'name: never-created' ||
  fail "kwok import: line $l12 is not document 12's start"
# the Ready patch merged into the five conditions by type (not a replaced list)
sed -n 7p "$work/kwok.jsonl" | grep -q '"t":5.000000,"type":"MODIFIED"' &&
  sed -n 7p "$work/kwok.jsonl" | grep -o '"type":"[A-Za-z]*","status":"[A-Za-z]*"' | tr '\n' ' ' |
  grep -q '"type":"PIDPressure","status":"False" "type":"Ready","status":"False"' ||
  fail "kwok SMP condition merge: $(sed -n 7p "$work/kwok.jsonl" | cut -c1-80)"
tail -1 "$work/kwok.jsonl" | grep -q '"t":20.000000,"type":"MODIFIED".*"unschedulable":true' &&
  ! tail -1 "$work/kwok.jsonl" | grep -q 'kubernetes.io/hostname' || fail "kwok patch null-deletes a label and cordons"
"$PROPSIM" replay "$work/kwok.jsonl" --params '{"linear":{"nodesPerReplica":1}}' --out "$work/kwokr" >/dev/null 2>&1
# t=5: 6 nodes, A NotReady; t=10: 7 (kwok-new); t=15: 6 (B deleted); t=20: kwok-new cordoned
cut -d, -f1-3 "$work/kwokr/timeline.csv" | tr '\n' ' ' >"$work/kwok.tl"
for want in 0.000000,6,6 5.000000,6,5 10.000000,7,6 15.000000,6,5 20.000000,6,4; do
  grep -q " $want " "$work/kwok.tl" || fail "kwok replay: no $want in $(cat "$work/kwok.tl")"
done
grep -q ' 5.000000,6,5 10.000000,7,6 .*15.000000,6,5 20.000000,6,4 $' "$work/kwok.tl" || fail "kwok replay counts: $(cat "$work/kwok.tl")"
# directives: \$patch delete/replace in keyed lists, \$retainKeys, null label, replaced map
"$PROPSIM" import kwok "$(dirname "$0")/../fuzz/corpus/kwok/recording.yaml" -o "$work/kwd.jsonl" >/dev/null 2>&1
sed -n 2p "$work/kwd.jsonl" | grep -q '"conditions":\[{"type":"Ready","status":"False"}\]},"metadata":{"name":"a","labels":{}},"kind":"Node"}' ||
  fail "kwok \$patch delete / \$retainKeys: $(sed -n 2p "$work/kwd.jsonl")"
sed -n 4p "$work/kwd.jsonl" | grep -q '"addresses":\[{"type":"Hostname","address":"b"}\]},"spec":{"unschedulable":true}}' ||
  fail "kwok \$patch replace: $(sed -n 4p "$work/kwd.jsonl")"
out=$("$PROPSIM" import kwok /nonexistent -o "$work/x.jsonl" 2>&1); [ $? = 2 ] || fail "kwok: missing file -> 2: $out"
# streamed: from stdin the same trace; a recording cut mid-document keeps the events before the cut
"$PROPSIM" import kwok - -o "$work/kwok-stdin.jsonl" <"$work/kwok.yaml" >/dev/null 2>&1
cmp -s "$work/kwok.jsonl" "$work/kwok-stdin.jsonl" || fail "kwok import from stdin differs from the file"
head -c "$(($(grep -b -m1 'name: never-created' "$work/kwok.yaml" | cut -d: -f1) + 3))" "$work/kwok.yaml" >"$work/kwok-cut.yaml"
echo '  bad: [unclosed' >>"$work/kwok-cut.yaml"
out=$("$PROPSIM" import kwok "$work/kwok-cut.yaml" -o "$work/kwok-cut.jsonl" 2>&1); rc=$?
[ $rc = 1 ] && grep -q 'YAML error at line' <<<"$out" && grep -q 'the events before it are kept' <<<"$out" &&
  head -9 "$work/kwok.jsonl" | cmp -s - "$work/kwok-cut.jsonl" || fail "kwok cut recording: rc=$rc $out"

# 7. generated scenarios
for sc in growth outage mass-delete upgrade flapping; do
  out=$("$PROPSIM" generate "$sc" --nodes 50 -o "$work/$sc.jsonl.gz" 2>&1) || fail "generate $sc: $out"
  "$PROPSIM" replay "$work/$sc.jsonl.gz" --params "$COREDNS" --out "$work/r-$sc" --no-chart >/dev/null 2>&1 || fail "replay $sc"
done
[ "$(zcat "$work/outage.jsonl.gz" | grep -c '"status":"False"')" = 45 ] || fail "outage: 90% of 50 nodes turn NotReady"
[ "$(zcat "$work/mass-delete.jsonl.gz" | grep -c DELETED)" = 25 ] || fail "mass-delete: half the nodes"
"$PROPSIM" generate flapping --nodes 10 --events 1234 -o "$work/f.jsonl" >/dev/null
[ "$(wc -l <"$work/f.jsonl")" = 1234 ] || fail "flapping --events gives exactly that many events"
"$PROPSIM" generate nonsense -o "$work/n" >/dev/null 2>&1; [ $? = 2 ] || fail "unknown scenario -> 2"

# 8. The guard, offline: an outage never scales CoreDNS down; 60% of the nodes deleted is held,
#    then followed after the settle time; a gradual shrink is followed. It is on by default: a
#    newcomer replaying the outage without flags sees the hold; --guard=false is CPA's timing.
"$PROPSIM" generate outage --nodes 200 -o "$work/outage200.jsonl" >/dev/null
out=$("$PROPSIM" replay "$work/outage200.jsonl" --params "$COREDNS" --out "$work/g-outage")
grep -q 'the guard held [1-9]' <<<"$out" || fail "guard on by default: the report says it held: $out"
awk -F, 'NR > 1 && $7 ~ /->/ { split($7, a, "->"); if (a[2] + 0 < a[1] + 0) bad = 1 } END { exit bad }' "$work/g-outage/timeline.csv" ||
  fail "guard: the outage replay scaled down: $(awk -F, 'NR > 1 && $7 != ""' "$work/g-outage/timeline.csv" | head -5)"
grep -q 'holding 13 replicas (would scale down to' "$work/g-outage/timeline.csv" || fail "guard: the hold's reason is in the timeline"
grep -q '"guard":"holding 13 replicas' "$work/g-outage/timeline.jsonl" || fail "guard: reason in timeline.jsonl"
grep -q '"guardHolds":[[:space:]]*[1-9]' "$work/g-outage/summary.json" || fail "guard: holds counted in the summary"
grep -q 'amber: the guard held' "$work/g-outage/chart.svg" && grep -q 'fill="#ffbf00"' "$work/g-outage/chart.svg" || fail "guard: holds on the chart"
"$PROPSIM" replay "$work/outage200.jsonl" --params "$COREDNS" --guard=false --out "$work/n-outage" | grep -q '23 scaling actions (12 up, 11 down)' ||
  fail "with --guard=false the replay is CPA's (scales down in the outage)"
"$PROPSIM" replay "$work/outage200.jsonl" --params "$COREDNS" --guard=true --out "$work/t-outage" | grep -q 'the guard held [1-9]' ||
  fail "--guard=true: the guard holds"
out=$("$PROPSIM" replay "$work/outage200.jsonl" --params "$COREDNS" --guard=maybe --out "$work/m-outage" 2>&1); rc=$?
[ "$rc" = 2 ] && grep -q -- '--guard=maybe: expected true or false' <<<"$out" || fail "--guard=maybe: exit 2 naming the value: $rc $out"
"$PROPSIM" generate mass-delete --nodes 200 --fraction 0.6 --duration 1800 -o "$work/md.jsonl" >/dev/null
"$PROPSIM" replay "$work/md.jsonl" --params "$COREDNS" --guard --out "$work/g-md" >/dev/null
first_down=$(awk -F, 'NR > 1 && $7 ~ /->/ { split($7, a, "->"); if (a[2] + 0 < a[1] + 0) { print $1; exit } }' "$work/g-md/timeline.csv")
[ -n "$first_down" ] && awk -v t="$first_down" 'BEGIN { exit !(t >= 600 + 60 + 600) }' ||
  fail "guard: 60% deleted is held until the lower count has settled (first scale-down at ${first_down:-never})"
tail -1 "$work/g-md/timeline.csv" | grep -q '^[0-9.]*,80,80,[0-9]*,[0-9]*,5,' || fail "guard: then follows to the new size: $(tail -1 "$work/g-md/timeline.csv")"
# the node-removal webhook's rule offline: of 120 deletions (60% of 200) within 10 minutes, the
# 20 past half of the high-water mark would have been refused
out=$("$PROPSIM" replay "$work/md.jsonl" --params "$COREDNS" --node-guard --out "$work/ng-md")
grep -q '^node guard: 120 node removals, 20 would be refused' <<<"$out" || fail "replay --node-guard: $out"
grep -q '^t,.*,guard,node_guard$' "$work/ng-md/timeline.csv" && [ "$(grep -c '"would refuse 1 removal: refusing to remove node' "$work/ng-md/timeline.csv")" = 20 ] ||
  fail "replay --node-guard: the timeline's node_guard column"
grep -q '"node_guard":"would refuse 1 removal' "$work/ng-md/timeline.jsonl" || fail "replay --node-guard: timeline.jsonl"
grep -q '"wouldRefuse":[[:space:]]*20' "$work/ng-md/summary.json" || fail "replay --node-guard: summary.json's nodeGuard"
grep -q 'red: the node guard would have refused a removal' "$work/ng-md/chart.svg" && grep -q 'fill="#d62728" opacity' "$work/ng-md/chart.svg" ||
  fail "replay --node-guard: red bands on the chart"
"$PROPSIM" replay "$work/md.jsonl" --params "$COREDNS" --out "$work/nong-md" >/dev/null
head -1 "$work/nong-md/timeline.csv" | grep -q 'node_guard' && fail "without --node-guard: no node_guard column"
"$PROPSIM" generate growth --nodes 200 --start-nodes 200 --duration 10 -o "$work/steady.jsonl" >/dev/null
{ cat "$work/steady.jsonl"; for i in $(seq 0 99); do printf '{"t":%d,"type":"DELETED","object":{"kind":"Node","metadata":{"name":"node-%06d"}}}\n' $((100 + i * 60)) "$i"; done; } >"$work/shrink.jsonl"
out=$("$PROPSIM" replay "$work/shrink.jsonl" --params "$COREDNS" --guard --out "$work/g-shrink")
grep -q 'held 0 ' <<<"$out" && tail -1 "$work/g-shrink/timeline.csv" | grep -q '^[0-9.]*,100,100,[0-9]*,[0-9]*,7,' ||
  fail "guard: a gradual shrink (1 node a minute) is followed without holds: $out"

# 9. propsim guard: the rule for runbooks
out=$("$PROPSIM" guard --nodes 100 --remove 60); rc=$?
[ "$rc" = 1 ] && grep -q '^refuse: removing 60 of 100 nodes (60%) exceeds the 50% limit' <<<"$out" || fail "guard refuse: $rc $out"
out=$("$PROPSIM" guard --nodes 100 --remove 50); rc=$?
[ "$rc" = 0 ] && grep -q '^allow:' <<<"$out" || fail "guard allow: $rc $out"
out=$("$PROPSIM" guard --nodes 100 --remove 30 --max-node-loss 20%); [ $? = 1 ] || fail "guard --max-node-loss"
out=$("$PROPSIM" guard --nodelist "$DATA/nodes/eks-nodelist.json" --remove duckboat-01); [ $? = 0 ] || fail "guard --nodelist: $out"
# an outage: 10 real EKS Nodes (copies of duckboat-01), 6 of them NotReady -> even one removal is refused
python3 - "$DATA/nodes/eks-nodelist.json" "$work/down-nodelist.json" <<'PYEOF2'
import copy, json, sys
d = json.load(open(sys.argv[1]))
base = d["items"][0]
d["items"] = []
for i in range(10):
    n = copy.deepcopy(base)
    n["metadata"]["name"] = "duckboat-%02d" % (i + 1)
    if i < 6:
        n["status"]["conditions"] = [{"type": "Ready", "status": "Unknown"}]
    d["items"].append(n)
json.dump(d, open(sys.argv[2], "w"))
PYEOF2
out=$("$PROPSIM" guard --nodelist "$work/down-nodelist.json" --remove duckboat-10); [ $? = 1 ] &&
  grep -q '^refuse: 6 of 10 nodes (60%) are NotReady at once, more than 50%' <<<"$out" || fail "guard --nodelist during an outage refuses: $out"
out=$("$PROPSIM" guard --nodelist "$DATA/nodes/eks-nodelist.json" --remove nope 2>&1); [ $? = 2 ] && grep -q 'not in' <<<"$out" ||
  fail "guard: unknown node name -> 2"

# the top-level help names every import format `propsim import --help` has
top=$("$PROPSIM" --help | sed -n '/^  import/,/^  [a-z]/p' | tr '\n' ' ')
for fmt in $("$PROPSIM" import --help 2>&1 | sed -n 's/^ *\(usage:\)\? *propsim import \([a-z0-9-]*\) .*/\2/p'); do
  grep -q "import .*$fmt" <<<"$top" || fail "propsim --help does not list import $fmt"
done
# 10. --targets-file: every target replayed through the planner with its own rule and node filter.
#     A target's replicas are what the same params give as --params with the same filter flags; the
#     vertical targets' resources, rollouts and pod restarts are held to an independent model
#     (replay_vertical_check.py); a ConfigMap a target names comes from --config FILE.
HERE=$(cd "$(dirname "$0")" && pwd)
"$PROPSIM" generate growth --nodes 150 --start-nodes 3 --duration 300 -o "$work/tg.jsonl" >/dev/null
NANNY='["--cpu=80m","--extra-cpu=0.5m","--memory=140Mi","--extra-memory=4Mi","--threshold=5","--estimator=exponential","--container=heapster"]'
CPVA='[{"name":"ksm","requests":{"cpu":{"base":"100m","step":"10m","nodesPerStep":10},"memory":{"base":"150Mi","step":"30Mi","coresPerStep":64,"max":"1Gi"}}},{"name":"sidecar","limits":{"memory":{"base":"20Mi","step":"1Mi","nodesPerStep":2}}}]'
cat > "$work/targets.json" <<EOF2
{"targets": [
 {"kind": "Deployment", "name": "coredns", "namespace": "kube-system", "replicas": $COREDNS},
 {"kind": "Deployment", "name": "dns-some", "namespace": "kube-system", "replicas": {"linear": {"nodesPerReplica": 4}},
  "nodes": {"labelSelector": "kubernetes.io/hostname notin (node-000,node-001,node-002,node-003)"}},
 {"kind": "StatefulSet", "name": "nginx", "namespace": "default", "replicas": {"configMap": "nginx-autoscaler"}},
 {"kind": "Deployment", "name": "heapster", "namespace": "kube-system", "vertical": {"addonResizer": $NANNY},
  "guard": {"enabled": false}},
 {"kind": "Deployment", "name": "kube-state-metrics", "namespace": "kube-system", "replicas": {"linear": {"nodesPerReplica": 50}},
  "vertical": {"threshold": 10, "cpva": $CPVA}, "guard": {"enabled": false}}
]}
EOF2
"$PROPSIM" replay "$work/tg.jsonl" --targets-file "$work/targets.json" --config "$DATA/manifests/examples__linear.yaml" \
  --out "$work/tg" --initial-replicas 2 >"$work/tg.out" 2>&1 || fail "replay --targets-file: $(cat "$work/tg.out")"
"$PROPSIM" replay "$work/tg.jsonl" --params "$COREDNS" --out "$work/tg-a" >/dev/null 2>&1
"$PROPSIM" replay "$work/tg.jsonl" --params '{"linear":{"nodesPerReplica":4}}' --out "$work/tg-b" \
  --nodelabels 'kubernetes.io/hostname notin (node-000,node-001,node-002,node-003)' >/dev/null 2>&1
"$PROPSIM" replay "$work/tg.jsonl" --config "$DATA/manifests/examples__linear.yaml" --out "$work/tg-c" >/dev/null 2>&1
python3 - "$work" <<'EOF2' || fail "replay --targets-file: horizontal targets differ from --params runs"
import csv, json, sys
w = sys.argv[1]
t = list(csv.DictReader(open(w + '/tg/timeline.csv')))
for k, run in ((1, 'tg-a'), (2, 'tg-b'), (3, 'tg-c')):
    ref = [r['replicas'] for r in csv.DictReader(open('%s/%s/timeline.csv' % (w, run)))]
    got = [r['replicas_%d' % k] for r in t]
    assert got == ref, (k, run, got[:20], ref[:20])
s = json.load(open(w + '/tg/summary.json'))
assert [p['params'] for p in s['params']] == ['Deployment kube-system/coredns', 'Deployment kube-system/dns-some',
    'StatefulSet default/nginx', 'Deployment kube-system/kube-state-metrics'], s['params']
assert max(int(r['total_nodes']) for r in t) == 150
EOF2
python3 "$HERE/replay_vertical_check.py" "$work/tg" "$NANNY" "$CPVA" 10 2 replicas_4 >"$work/tg.check" 2>&1 ||
  { fail "replay --targets-file vertical: $(cat "$work/tg.check")"; }
# pod restarts: a vertical-only target restarts --initial-replicas pods a rollout; one with replicas, its own
python3 - "$work" <<'EOF2' || fail "replay --targets-file: pod restarts"
import json, sys
v = json.load(open(sys.argv[1] + '/tg/summary.json'))['vertical']
assert v[0]['rollouts'] > 3 and v[0]['podRestarts'] == 2 * v[0]['rollouts'], v[0]
assert v[1]['replicasFrom'] == 'its replicas target' and v[1]['podRestarts'] >= v[1]['rollouts'] > 3, v[1]
EOF2
grep -q 'Resources: heapster, m cpu requests of container heapster' "$work/tg/chart.svg" || fail "chart: no vertical panel"
grep -q 'Deployment kube-system/heapster: .* rollouts' "$work/tg.out" || fail "replay --targets-file report: $(cat "$work/tg.out")"
# the guard holds resources, as it holds replicas, on an outage-like drop
"$PROPSIM" generate mass-delete --nodes 100 --at 100 --fraction 0.6 --duration 200 -o "$work/md.jsonl" >/dev/null
printf '{"targets":[{"kind":"Deployment","name":"h","namespace":"x","vertical":{"addonResizer":["--memory=100Mi","--extra-memory=10Mi","--container=h"]}}]}' >"$work/tv.json"
"$PROPSIM" replay "$work/md.jsonl" --targets-file "$work/tv.json" --out "$work/md" >/dev/null 2>&1 || fail "replay mass-delete targets"
python3 - "$work/md" <<'EOF2' || fail "the guard did not hold vertical resources on a 60% node loss"
import json, sys
s = json.load(open(sys.argv[1] + '/summary.json'))['vertical'][0]
assert s['rolloutsDown'] == 0 and s['guardHolds'] >= 1 and 'resources kept as sized for 100 nodes' in s['lastGuardReason'], s
assert s['finalResources'] == 'h: requests memory=1100Mi, limits memory=1100Mi', s
EOF2
# errors: a bad targets file names the target and field; flags that do not apply are refused
printf '{"targets":[{"kind":"Deployment","name":"h","vertical":{"cpva":[{"name":"a","requests":{"cpu":{"bsae":"1"}}}]}}]}' >"$work/bad.json"
out=$("$PROPSIM" replay "$work/tg.jsonl" --targets-file "$work/bad.json" --out "$work/bad" 2>&1)
[ $? = 2 ] && grep -qF 'targets[0] (Deployment default/h): vertical.cpva[0].requests.cpu.bsae: unknown key' <<<"$out" || fail "bad targets file: $out"
out=$("$PROPSIM" replay "$work/tg.jsonl" --targets-file "$work/targets.json" --out "$work/bad" 2>&1)
[ $? = 2 ] && grep -qF 'StatefulSet default/nginx: its params are in ConfigMap nginx-autoscaler' <<<"$out" || fail "missing ConfigMap: $out"
out=$("$PROPSIM" replay "$work/tg.jsonl" --targets-file "$work/tv.json" --params "$COREDNS" --out "$work/bad" 2>&1)
[ $? = 2 ] && grep -qF -- '--params, --nodelabels' <<<"$out" || fail "--targets-file with --params: $out"

echo "test_replay: $fails failure(s)"
[ "$fails" -eq 0 ]
