#!/usr/bin/env python3
"""`propsim replay --targets-file`'s vertical targets, held to an independent model: from the
timeline's own node and core counts, the resources each tool's formula gives (vertical_model.py)
and addon-resizer's acceptance rule (nanny_lib.go checkResource: q = actual / expected rounded down
to 2 decimals, rewritten when q < (100 - t)/100 or q > (100 + t)/100), decision point by decision
point: the resources column, the rollout column, and the rollouts and pod restarts in summary.json.
The workload starts as the policy sizes it at the first decision point (not a rollout).

usage: replay_vertical_check.py OUT_DIR NANNY_FLAGS_JSON CPVA_JSON CPVA_THRESHOLD REPLICAS_1 REPLICAS_KEY_2
(the addon-resizer target restarts REPLICAS_1 pods a rollout; the CPVA target the replicas of its
replicas target after the decision: the timeline column REPLICAS_KEY_2)
(the guard must be off for these targets: it holds resources on outage-like drops, a separate test)
"""
import json
import os
import sys
from decimal import Decimal, ROUND_FLOOR

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import vertical_model as vm  # noqa: E402


def outside(have, want, threshold):
    if want == 0:
        return have != 0
    q = (Decimal(have) / Decimal(want)).quantize(Decimal('0.01'), rounding=ROUND_FLOOR)
    return q < Decimal(100 - threshold) / 100 or q > Decimal(100 + threshold) / 100


def text_of(name, res):
    parts = []
    for kind in ('requests', 'limits'):
        if res.get(kind):
            parts.append(kind + ''.join(' %s=%s' % (r, v) for r, v in res[kind].items()))
    return '%s: %s' % (name, ', '.join(parts))


def order(res):
    """cpu, memory, ephemeral-storage: the order propscaler prints them in"""
    rank = {'cpu': 0, 'memory': 1, 'ephemeral-storage': 2}
    return {k: dict(sorted(v.items(), key=lambda kv: rank[kv[0]])) for k, v in res.items()}


def needs_rewrite(have, want, threshold):
    for kind in want:
        for r, v in want[kind].items():
            if r not in have.get(kind, {}) or outside(vm.qty(have[kind][r]), vm.qty(v), threshold):
                return True
    return False


def main():
    out, nanny_flags, cpva, cpva_threshold = sys.argv[1], json.loads(sys.argv[2]), json.loads(sys.argv[3]), int(sys.argv[4])
    replicas1, replicas_key2 = int(sys.argv[5]), sys.argv[6]
    f = dict(a[2:].split('=', 1) for a in nanny_flags)
    nanny_threshold = int(f.get('threshold', 0))
    rows = [json.loads(line) for line in open(os.path.join(out, 'timeline.jsonl'))]
    summary = json.load(open(os.path.join(out, 'summary.json')))
    fails = 0
    # target 1: addon-resizer; target 2: CPVA (both count every node)
    have1 = have2 = None
    rollouts, restarts = [0, 0], [0, 0]
    for i, row in enumerate(rows):
        n, c = row['total_nodes'], row['total_cores']
        want1, _ = vm.nanny_expect(nanny_flags, n)
        want1 = order(want1)
        want2 = [{'name': x['name'], 'resources': order(x['resources'])} for x in vm.cpva_expect(cpva, n, c)]
        rolled1 = rolled2 = False
        if have1 is None:
            have1, have2 = want1, want2
        else:
            if needs_rewrite(have1, want1, nanny_threshold):
                have1, rolled1 = want1, True
                rollouts[0] += 1
                restarts[0] += replicas1
            if any(needs_rewrite(h['resources'], w['resources'], cpva_threshold) for h, w in zip(have2, want2)):
                have2, rolled2 = want2, True
                rollouts[1] += 1
                restarts[1] += row[replicas_key2]
        name1 = f['container']
        got1, got2 = row['resources_1'], row['resources_2']
        exp1 = text_of(name1, have1)
        exp2 = '; '.join(text_of(x['name'], x['resources']) for x in have2)
        if got1 != exp1 or row['rollout_1'] != rolled1 or got2 != exp2 or row['rollout_2'] != rolled2:
            print('FAIL row %d (t=%s, %d nodes, %d cores):\n  got  %r %s | %r %s\n  want %r %s | %r %s' % (
                i, row['t'], n, c, got1, row['rollout_1'], got2, row['rollout_2'], exp1, rolled1, exp2, rolled2))
            fails += 1
            if fails > 5:
                break
    v = summary['vertical']
    for k in range(2):
        if v[k]['rollouts'] != rollouts[k] or v[k]['podRestarts'] != restarts[k]:
            print('FAIL summary %s: %d rollouts, %d pod restarts; the model: %d and %d' % (
                v[k]['target'], v[k]['rollouts'], v[k]['podRestarts'], rollouts[k], restarts[k]))
            fails += 1
    print('replay_vertical_check: %d rows, rollouts %s, %d failure(s)' % (len(rows), rollouts, fails))
    return 1 if fails else 0


if __name__ == '__main__':
    sys.exit(main())
