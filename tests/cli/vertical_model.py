#!/usr/bin/env python3
"""An independent model of the two vertical sizing tools propscaler accepts, written from their
documentation and source (not from propscaler's code), and `propsim eval --targets-file` held to
it over a grid of cluster sizes.

  addon-resizer (kubernetes/autoscaler addon-resizer/nanny): estimator.go "LinearEstimator
  estimates the amount of resources as r = base + extra*nodes" (the same value for requests and
  limits); ExponentialEstimator: n = minClusterSize, then n = uint64(float64(n)*1.5 + 0.01) while
  n < nodes. pod_nanny.go: --cpu/--memory/--storage name the managed resources.
  CPVA (kubernetes-sigs/cluster-proportional-vertical-autoscaler README): "The core and node counts
  are rounded up to the next whole step ... by-cores: base + step * ceil(cores / coresPerStep),
  by-nodes likewise; the larger ... bounded by the max value".
Rounding (propscaler's, documented in docs/VERTICAL.md): CPU up to a millicore, bytes up to a byte.

usage: vertical_model.py PROPSIM MANIFEST_WITH_NANNY
"""
import json
import math
import re
import subprocess
import sys
import tempfile
from decimal import Decimal, ROUND_CEILING

SUFFIX = {'': 1, 'n': Decimal('1e-9'), 'u': Decimal('1e-6'), 'm': Decimal('1e-3'), 'k': 1000, 'M': 10**6,
          'G': 10**9, 'T': 10**12, 'Ki': 2**10, 'Mi': 2**20, 'Gi': 2**30, 'Ti': 2**40}


def qty(text):
    m = re.fullmatch(r'([0-9.]+)([a-zA-Z]*)', str(text))
    return Decimal(m.group(1)) * Decimal(SUFFIX[m.group(2)])


def rounded(resource, value):
    unit = Decimal('0.001') if resource == 'cpu' else Decimal(1)
    return (value / unit).to_integral_value(rounding=ROUND_CEILING) * unit


def canonical(resource, value):
    if resource == 'cpu':
        milli = int(value * 1000)
        return str(milli // 1000) if milli % 1000 == 0 else '%dm' % milli
    b = int(value)
    for suf, p in (('Ti', 40), ('Gi', 30), ('Mi', 20), ('Ki', 10)):
        if b and b % (1 << p) == 0:
            return '%d%s' % (b >> p, suf)
    return str(b)


def nanny_nodes(estimator, min_size, nodes):
    if estimator != 'exponential':
        return nodes
    n = min_size
    while n < nodes:
        n = int(float(n) * 1.5 + 0.01)
    return n


def nanny_expect(flags, nodes):
    f = dict(a[2:].split('=', 1) for a in flags)
    n = nanny_nodes(f.get('estimator', 'linear'), int(f.get('minClusterSize', 16)), nodes)
    out = {}
    for res, base, extra, default in (('cpu', 'cpu', 'extra-cpu', '0'), ('memory', 'memory', 'extra-memory', '0Mi'),
                                      ('ephemeral-storage', 'storage', 'extra-storage', '0Gi')):
        if base in f:
            v = canonical(res, rounded(res, qty(f[base]) + qty(f.get(extra, default)) * n))
            out[res] = v
    return {'requests': out, 'limits': dict(out)}, n


def cpva_expect(config, nodes, cores):
    result = []
    for c in config:
        res = {}
        for kind in ('requests', 'limits'):
            if kind not in c:
                continue
            res[kind] = {}
            for r, rule in c[kind].items():
                base, step = qty(rule.get('base', '0')), qty(rule.get('step', '0'))
                by = [base]
                for per, count in ((rule.get('nodesPerStep', 0), nodes), (rule.get('coresPerStep', 0), cores)):
                    if per:
                        by.append(base + step * math.ceil(count / per))
                v = max(by)
                if 'max' in rule and qty(rule['max']) > 0:
                    v = min(v, qty(rule['max']))
                res[kind][r] = canonical(r, rounded(r, v))
        result.append({'name': c['name'], 'resources': res})
    return result


def nanny_flags_from_manifest(path):
    """The real metrics-server addon manifest's pod_nanny command, its template holes filled with
    the values cluster/gce/gci/configure-helper.sh uses (40m, 40Mi, 4Mi per node, 16 nodes)."""
    text = open(path).read()
    fill = {'base_metrics_server_cpu': '40m', 'base_metrics_server_memory': '40Mi',
            'metrics_server_memory_per_node': '4', 'metrics_server_min_cluster_size': '16'}
    for k, v in fill.items():
        text = text.replace('{{ %s }}' % k, v)
    cmd = text[text.index('- /pod_nanny'):]
    flags = []
    for line in cmd.splitlines()[1:]:
        line = line.strip()
        if line.startswith('#'):
            continue
        if not line.startswith('- --'):
            break
        flags.append(line[2:])
    return flags


def main():
    propsim, manifest = sys.argv[1], sys.argv[2]
    nanny_real = nanny_flags_from_manifest(manifest)
    assert '--container=metrics-server' in nanny_real and '--estimator=exponential' in nanny_real, nanny_real
    nanny_linear = ['--cpu=80m', '--extra-cpu=0.5m', '--memory=140Mi', '--extra-memory=4Mi', '--storage=1Gi',
                    '--extra-storage=0.5Mi', '--threshold=5', '--container=heapster']
    cpva = [{'name': 'a', 'requests': {'cpu': {'base': '10m', 'max': '100m', 'step': '2m', 'coresPerStep': 4,
                                               'nodesPerStep': 2},
                                       'memory': {'base': '8Mi', 'step': '1Mi', 'coresPerStep': 1}}},
            {'name': 'b', 'requests': {'cpu': {'base': '250m', 'step': '100m', 'coresPerStep': 10}},
             'limits': {'memory': {'base': '1Gi', 'step': '256Mi', 'nodesPerStep': 100, 'max': '4Gi'}}}]
    targets = {'targets': [
        {'kind': 'Deployment', 'name': 'metrics-server-v0.5.2', 'namespace': 'kube-system',
         'vertical': {'addonResizer': nanny_real}},
        {'kind': 'Deployment', 'name': 'heapster', 'namespace': 'kube-system', 'vertical': {'addonResizer': nanny_linear}},
        {'kind': 'Deployment', 'name': 'thing', 'namespace': 'kube-system', 'vertical': {'cpva': cpva}},
    ]}
    fails = 0
    with tempfile.NamedTemporaryFile('w', suffix='.json') as f:
        json.dump(targets, f)
        f.flush()
        sizes = [(0, 0), (1, 1), (3, 3), (4, 64), (15, 60), (16, 64), (17, 68), (100, 400), (121, 484),
                 (122, 1000), (999, 3996), (5000, 20000), (15000, 120000)]
        for nodes, cores in sizes:
            got = json.loads(subprocess.run([propsim, 'eval', '--targets-file', f.name, '--nodes', str(nodes),
                                             '--cores', str(cores), '--output', 'json'], check=True,
                                            capture_output=True, text=True).stdout)['targets']
            for t, flags in ((got[0], nanny_real), (got[1], nanny_linear)):
                want, n = nanny_expect(flags, nodes)
                have = t['vertical']['containers'][0]['resources']
                if have != want or t['vertical']['nodes'] != n:
                    print('FAIL %s at %d nodes: got %s (for %s nodes), want %s (for %d)' % (
                        t['target'], nodes, have, t['vertical']['nodes'], want, n))
                    fails += 1
            want = cpva_expect(cpva, nodes, cores)
            have = [{'name': c['name'], 'resources': c['resources']} for c in got[2]['vertical']['containers']]
            if have != want:
                print('FAIL cpva at %d nodes %d cores: got %s, want %s' % (nodes, cores, have, want))
                fails += 1
    print('vertical_model: %d sizes, %d failure(s)' % (len(sizes), fails))
    return 1 if fails else 0


if __name__ == '__main__':
    sys.exit(main())
