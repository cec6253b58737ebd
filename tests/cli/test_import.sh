#!/usr/bin/env bash
# propsim import of machine-event histories (alibaba2017, alibaba2018, csv) on fixtures written
# from each table's published schema (tests/data/SOURCES.md): the node counts and cores a replay
# sees at every event time are computed here independently (a Python model of the documented
# rules, not the importer), and replaying the same history written directly as Node events by that
# model gives the same decisions. Plus the flags' errors and the loud failures.
set -u
PROPSIM=$1
DATA=$2
RUN=(${PROPSIM_WRAPPER:-} "$PROPSIM")
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
PARAMS='{"linear":{"nodesPerReplica":1,"coresPerReplica":32}}'

# model FORMAT CSV RECOVER [MAPS...]: the history by the documented rules; prints, per event time,
# "t total schedulable cores schedulable_cores", and writes the Node events to $work/direct.jsonl
model() {
  python3 - "$@" "$work/direct.jsonl" <<'EOF'
import csv, math, re, sys, json
fmt, path, recover = sys.argv[1], sys.argv[2], float(sys.argv[3])
extra, direct = sys.argv[4:-1], sys.argv[-1]
rows = []
with open(path, newline='') as f:
    for n, r in enumerate(csv.reader(f, delimiter='\t' if fmt == 'tsv' else ','), 1):
        rows.append((n, r))
if fmt == 'alibaba2017':
    # timestamp, machine id, event type, detail, cpus, memory, disk
    amap = {'add': 'ADDED', 'remove': 'DELETED', 'softerror': 'NotReady', 'harderror': 'NotReady'}
    get = lambda r: (float(r[0]), r[1], r[2], r[4], {})
    origin = 0
elif fmt == 'alibaba2018':
    # machine_id, time_stamp, failure_domain_1, failure_domain_2, cpu_num, mem_size, status
    amap = {'USING': 'Ready', 'IDLE': 'Ready'}
    get = lambda r: (float(r[1]), r[0], r[6], r[4], {'topology.kubernetes.io/zone': r[2], 'propsim.io/failure-domain-2': r[3]})
    origin = 0
else:  # the generic fixture: time_ms, host, event, cores (header first)
    amap = {}
    rows = rows[1:]
    get = lambda r: (float(r[0]) / 1000, r[1], r[2], r[3], {})
    origin = None
for m in extra:
    for item in m.split(','):
        k, v = item.rsplit('=', 1)
        amap[k] = v
ev = []
for n, r in rows:
    t, mid, e, cpu, labels = get(r)
    if e not in amap:
        continue
    ev.append([t, n, 0, mid, amap[e], cpu, labels])
if origin is None:
    origin = min(e[0] for e in ev)
if recover > 0:  # an error with no later row for its machine within `recover` seconds recovers then
    extra_ev = []
    for e in ev:
        if e[4] in ('NotReady', 'cordon'):
            later = [x for x in ev if x[3] == e[3] and (x[0], x[1]) > (e[0], e[1])]
            if not later or min(x[0] for x in later) > e[0] + recover:
                extra_ev.append([e[0] + recover, e[1], 1, e[3], 'RECOVER', '', {}])
    ev += extra_ev
ev.sort(key=lambda e: (e[0], e[1], e[2]))
def label(v):  # leading non-alphanumerics dropped, others '-', 63 at most, ending alphanumeric
    v = re.sub(r'[^A-Za-z0-9._-]', '-', re.sub(r'^[^A-Za-z0-9]+', '', v))[:63]
    return re.sub(r'[^A-Za-z0-9]+$', '', v)
def name(mid):
    return re.sub(r'[^a-z0-9.-]', '-', ('machine-' + mid).lower())
state, out, at = {}, open(direct, 'w'), {}
for t, n, _, mid, a, cpu, labels in ev:
    t = max(t - origin, 0)
    s = state.get(mid)
    old = dict(s) if s else None
    if s is None:
        s = state[mid] = {'present': False, 'ready': False, 'cordoned': False, 'cpu': None, 'labels': {}}
    for k, v in labels.items():
        if v:
            s['labels'][k] = label(v)
    if cpu:
        s['cpu'] = round(float(cpu) * 1000)
    was = s['present']
    if a == 'DELETED':
        if not was:
            continue
        s['present'] = False
        typ = 'DELETED'
    elif a == 'RECOVER':
        if not was:
            continue
        s['ready'], s['cordoned'] = True, False
        typ = 'MODIFIED'
    else:
        if a == 'ignore':
            continue
        if not was:
            s['present'], s['ready'], s['cordoned'] = True, a != 'NotReady', a == 'cordon'
            typ = 'ADDED'
        else:
            if a == 'ADDED': s['ready'], s['cordoned'] = True, False
            if a == 'Ready': s['ready'] = True
            if a == 'NotReady': s['ready'] = False
            if a == 'cordon': s['cordoned'] = True
            if a == 'uncordon': s['cordoned'] = False
            typ = 'MODIFIED'
    node = {'kind': 'Node', 'metadata': {'name': name(mid), 'labels': dict(s['labels'])},
            'spec': {'unschedulable': True} if s['cordoned'] else {},
            'status': {'conditions': [{'type': 'Ready', 'status': 'True' if s['ready'] else 'False'}]}}
    if s['cpu'] is not None:
        node['status']['allocatable'] = {'cpu': '%dm' % s['cpu']}
    out.write(json.dumps({'t': t, 'type': typ, 'object': node}) + '\n')
    live = [x for x in state.values() if x['present']]
    sched = [x for x in live if x['ready'] and not x['cordoned']]
    cores = lambda xs: math.ceil(sum(x['cpu'] or 0 for x in xs) / 1000)
    at[t] = (len(live), len(sched), cores(live), cores(sched))
for t in sorted(at):
    print('%.6f %d %d %d %d' % ((t,) + at[t]))
EOF
}

# compare NAME: the replay's timeline at every time the model has, and the direct trace's replay
compare() {
  local name=$1 expected=$2
  "${RUN[@]}" replay "$work/$name.jsonl" --params "$PARAMS" --guard=false --out "$work/r-$name" >/dev/null 2>&1 ||
    { fail "$name: replay failed"; return; }
  local got
  got=$(awk -F, 'NR > 1 { printf "%s %s %s %s %s\n", $1, $2, $3, $4, $5 }' "$work/r-$name/timeline.csv")
  while read -r t tot sch cor scor; do
    grep -q "^$t $tot $sch $cor $scor\$" <<<"$got" ||
      fail "$name at t=$t: expected nodes $tot schedulable $sch cores $cor/$scor, replay has: $(grep "^$t " <<<"$got" | tail -1)"
  done <<<"$expected"
  [ -n "$expected" ] || fail "$name: the model found no events"
  "${RUN[@]}" replay "$work/direct.jsonl" --params "$PARAMS" --guard=false --out "$work/d-$name" >/dev/null 2>&1 ||
    { fail "$name: replay of the direct trace failed"; return; }
  for k in actions minReplicas maxReplicas finalReplicas meanReplicas; do
    a=$(grep -o "\"$k\":[[:space:]]*[0-9.e+-]*" "$work/r-$name/summary.json")
    b=$(grep -o "\"$k\":[[:space:]]*[0-9.e+-]*" "$work/d-$name/summary.json")
    [ "$a" = "$b" ] || fail "$name: import -> replay and the history written directly differ in $k: $a vs $b"
  done
}

# 1. alibaba2017: out-of-order rows, softerror/harderror NotReady, an error on a machine never
#    added, a remove, times below 0; with and without --recover-after
F17="$DATA/traces/alibaba2017-server_event-fixture.csv"
out=$("${RUN[@]}" import alibaba2017 "$F17" -o "$work/a17.jsonl" 2>&1) || fail "alibaba2017: $out"
grep -q 'imported 12 lines .*(alibaba2017): 12 rows, 12 Node events, 0 ignored, 0 bad rows' <<<"$out" || fail "alibaba2017 report: $out"
compare a17 "$(model alibaba2017 "$F17" 0)"
"${RUN[@]}" import alibaba2017 "$F17" -o "$work/a17r.jsonl" --recover-after 3000 >/dev/null 2>&1 || fail "alibaba2017 --recover-after"
compare a17r "$(model alibaba2017 "$F17" 3000)"
grep -q '"t":4800.000000,"type":"MODIFIED".*"name":"machine-2".*"Ready","status":"True"' "$work/a17r.jsonl" ||
  fail "alibaba2017: machine 2's softerror at 1800 recovers at 4800 (its next row is at 5400)"
"${RUN[@]}" import alibaba2017 "$F17" -o "$work/a17c.jsonl" --softerror cordon --harderror cordon >/dev/null 2>&1 ||
  fail "alibaba2017 --softerror cordon"
compare a17c "$(model alibaba2017 "$F17" 0 softerror=cordon,harderror=cordon)"
grep -q '"t":1800.000000,"type":"MODIFIED".*"name":"machine-2".*"unschedulable":true.*"Ready","status":"True"' "$work/a17c.jsonl" ||
  fail "alibaba2017 --softerror cordon: machine 2 cordoned, still Ready"

# 2. alibaba2018: statuses, failure domains as topology labels; an unknown status is named until
#    mapped
F18="$DATA/traces/alibaba2018-machine_meta-fixture.csv"
out=$("${RUN[@]}" import alibaba2018 "$F18" -o "$work/a18.jsonl" 2>&1) || fail "alibaba2018: $out"
grep -q 'machine_meta-fixture.csv:5: column 7 (event) "OFFLINE" is not in the event map (--event-map VALUE=ACTION adds it), skipped: "m_2,7200,1,b,96,100,OFFLINE"' <<<"$out" ||
  fail "alibaba2018: the unknown status named: $out"
compare a18 "$(model alibaba2018 "$F18" 0)"
"${RUN[@]}" import alibaba2018 "$F18" -o "$work/a18m.jsonl" --event-map OFFLINE=NotReady >/dev/null 2>&1 || fail "alibaba2018 --event-map"
compare a18m "$(model alibaba2018 "$F18" 0 OFFLINE=NotReady)"
grep -q '"name":"machine-m-5","labels":{"kubernetes.io/hostname":"machine-m-5","topology.kubernetes.io/zone":"3","propsim.io/failure-domain-2":"e_f-g"}' "$work/a18.jsonl" ||
  fail "alibaba2018: failure domains as labels: $(grep m-5 "$work/a18.jsonl")"

# 3. a generic CSV: header, epoch milliseconds, a name that needs cleaning, cordon/uncordon, an
#    ignored value; TSV gives the same trace
FC="$DATA/traces/machine-events-fixture.csv"
MAP='up=ADDED,down=DELETED,drain=cordon,undrain=uncordon,ping=ignore'
CSVARGS=(--time-col 1 --time-unit ms --machine-col 2 --event-col 3 --event-map "$MAP" --cpu-col 4 --cpu-unit cores)
out=$("${RUN[@]}" import csv "$FC" -o "$work/gc.jsonl" "${CSVARGS[@]}" 2>&1) || fail "csv: $out"
grep -q '8 rows, 7 Node events, 1 ignored, 0 bad rows' <<<"$out" || fail "csv report: $out"
compare gc "$(model csv "$FC" 0 "$MAP")"
grep -q '"t":60.000000,"type":"ADDED".*"name":"machine-web-3"' "$work/gc.jsonl" || fail "csv: time origin and name"
tr ',' '\t' <"$FC" >"$work/fc.tsv"
"${RUN[@]}" import csv "$work/fc.tsv" -o "$work/gt.jsonl" "${CSVARGS[@]}" --separator tab >/dev/null 2>&1 &&
  cmp -s "$work/gc.jsonl" "$work/gt.jsonl" || fail "csv: the TSV gives another trace"
gzip -c "$FC" >"$work/fc.csv.gz"
"${RUN[@]}" import csv "$work/fc.csv.gz" -o "$work/gz.jsonl" "${CSVARGS[@]}" >/dev/null 2>&1 &&
  cmp -s "$work/gc.jsonl" "$work/gz.jsonl" || fail "csv: gzip input gives another trace"

# 4. wrong flags and wrong input: named, exit 2
for bad in "--time-col 0" "--time-unit h" "--cpu-unit kb" "--event-map up=UP" "--separator ab" "--time-origin x"; do
  out=$("${RUN[@]}" import csv "$FC" -o "$work/x.jsonl" "${CSVARGS[@]}" $bad 2>&1); rc=$?
  [ $rc = 2 ] && grep -q -- "--$(cut -d' ' -f1 <<<"${bad#--}")" <<<"$out" || fail "flag $bad: rc=$rc $out"
done
out=$("${RUN[@]}" import csv "$FC" -o "$work/x.jsonl" --time-col 1 2>&1); rc=$?
[ $rc = 2 ] && grep -q 'csv needs --time-col, --machine-col and --event-col' <<<"$out" || fail "csv without columns: rc=$rc $out"
out=$("${RUN[@]}" import kwok "$FC" -o "$work/x.jsonl" --time-col 1 2>&1); rc=$?
[ $rc = 2 ] && grep -q 'are for alibaba2017, alibaba2018 and csv, not kwok' <<<"$out" || fail "csv flags on kwok: rc=$rc $out"
out=$("${RUN[@]}" import alibaba2017 "$F18" -o "$work/x.jsonl" 2>&1); rc=$?
[ $rc = 2 ] && grep -q "nothing valid in .*machine_meta-fixture.csv" <<<"$out" && grep -q 'server_event' <<<"$out" &&
  [ ! -e "$work/x.jsonl" ] || fail "alibaba2017 on a v2018 table: rc=$rc $out"
out=$("${RUN[@]}" import alibaba2018 /nonexistent -o "$work/x.jsonl" 2>&1); rc=$?
[ $rc = 2 ] && grep -q 'cannot open /nonexistent' <<<"$out" || fail "alibaba2018 missing file: rc=$rc $out"

echo "test_import: $fails failure(s)"
[ "$fails" = 0 ]
