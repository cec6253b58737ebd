#!/usr/bin/env python3
"""The load side of tests/bench/bench_controller.sh: drives `propsim serve` over one kept-alive
HTTPS connection (the kubeconfig's CA and token) and reads the server's --audit-log, whose lines
are stamped by the server's own clock when a request arrives (REQ) or a write is done (NODES,
WRITE), so a latency is measured where the API server sees it.

  apidriver.py KUBECONFIG AUDIT bursts N_BURSTS NODES_NOW REPLICAS_NOW NODES_PER_REPLICA
      adds NODES_PER_REPLICA realistic nodes per burst (a copy of a served node, renamed); the
      count is first padded to 1 (mod NODES_PER_REPLICA) so that exactly the burst's last node
      moves the answer. Prints one latency per burst (ms): the server's write of that last node
      (its NODES line) -> the arrival of propscaler's scale write (its REQ line).
  apidriver.py KUBECONFIG AUDIT churn SECONDS RATE
      patches RATE node heartbeats per second through the status subresource, as kubelets do (the
      5 conditions, new lastHeartbeatTime: nothing counting reads changes) for SECONDS; prints the
      API requests propscaler made meanwhile (AUDIT "-": a real kube-apiserver, none counted: "-").
  apidriver.py KUBECONFIG - create N TEMPLATE
      creates N Nodes named bench-node-I, copies of the Node in the JSON file TEMPLATE (a real one
      from tests/data/nodes), over 8 connections: a real kube-apiserver's cluster for the benches.
"""
import base64
import copy
import http.client
import json
import ssl
import sys
import threading
import time

import yaml


class Api:
    def __init__(self, kubeconfig):
        cfg = yaml.safe_load(open(kubeconfig))
        cluster = cfg["clusters"][0]["cluster"]
        self.headers = {"Authorization": "Bearer " + cfg["users"][0]["user"]["token"]}
        host, port = cluster["server"].split("//", 1)[1].rsplit(":", 1)
        if "certificate-authority-data" in cluster:
            ctx = ssl.create_default_context(cadata=base64.b64decode(cluster["certificate-authority-data"]).decode())
        else:
            ctx = ssl.create_default_context(cafile=cluster["certificate-authority"])
        self.conn = http.client.HTTPSConnection(host, int(port), context=ctx)

    def call(self, method, path, body=None, ctype="application/json"):
        headers = dict(self.headers)
        if body is not None:
            headers["Content-Type"] = ctype
        self.conn.request(method, path, body=json.dumps(body) if body is not None else None, headers=headers)
        r = self.conn.getresponse()
        data = r.read()
        if r.status >= 300:
            sys.exit("apidriver: %s %s: HTTP %d: %s" % (method, path, r.status, data[:300]))
        return json.loads(data) if data else None


class Audit:
    """The audit log read as it grows: (stamp, kind, rest) per line."""

    def __init__(self, path):
        self.f = open(path, "rb")
        self.partial = b""

    def new_lines(self):
        data = self.partial + self.f.read()
        lines = data.split(b"\n")
        self.partial = lines.pop()
        out = []
        for line in lines:
            parts = line.decode("utf-8", "replace").split(" ", 2)
            if len(parts) == 3:
                out.append((float(parts[0]), parts[1], parts[2]))
        return out


def template_node(api):
    node = api.call("GET", "/api/v1/nodes?limit=1")["items"][0]
    for k in ("resourceVersion", "uid", "creationTimestamp", "managedFields"):
        node["metadata"].pop(k, None)
    return node


def named(template, name):
    node = copy.deepcopy(template)
    node["metadata"]["name"] = name
    node["metadata"]["labels"]["kubernetes.io/hostname"] = name
    return node


def bursts(api, audit, n_bursts, nodes, replicas, per):
    template = template_node(api)
    audit.new_lines()
    pad = (1 - nodes) % per
    for i in range(pad):
        api.call("POST", "/api/v1/nodes", named(template, "pad-%d" % i))
    nodes += pad
    want = -(-nodes // per)
    wait_write(audit, want, time.time() + 60)
    for b in range(n_bursts):
        for i in range(per):
            api.call("POST", "/api/v1/nodes", named(template, "burst-%d-%d" % (b, i)))
        nodes += per
        want += 1
        last_node = put = None
        deadline = time.time() + 30
        seen = []
        while put is None or last_node is None:
            if time.time() > deadline:
                sys.exit("apidriver: no scale write to %d within 30 s of burst %d" % (want, b))
            for stamp, kind, rest in audit.new_lines():
                seen.append((stamp, kind, rest))
                if kind == "NODES" and rest.strip() == str(nodes):
                    last_node = stamp
                elif kind == "WRITE" and rest.split()[1] == str(want):
                    # the scale write's arrival: the last propscaler write request before it
                    for s2, k2, r2 in reversed(seen):
                        if k2 == "REQ" and "/scale" in r2.split()[1] and r2.split()[0] in ("PUT", "PATCH"):
                            put = s2
                            break
            time.sleep(0.002)
        print("%.3f" % ((put - last_node) * 1000), flush=True)


def wait_write(audit, want, deadline):
    while time.time() < deadline:
        for _, kind, rest in audit.new_lines():
            if kind == "WRITE" and rest.split()[1] == str(want):
                return
        time.sleep(0.01)


def churn(api, audit, seconds, rate):
    names = [n["metadata"]["name"] for n in api.call("GET", "/api/v1/nodes?limit=200")["items"]]
    conds = api.call("GET", "/api/v1/nodes/" + names[0])["status"]["conditions"]
    if audit is not None:
        audit.new_lines()
    start = time.time()
    k = 0
    while time.time() < start + seconds:
        stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        beat = [dict(c, lastHeartbeatTime=stamp) for c in conds]
        api.call("PATCH", "/api/v1/nodes/" + names[k % len(names)] + "/status", {"status": {"conditions": beat}},
                 "application/merge-patch+json")
        k += 1
        time.sleep(max(0.0, start + k / rate - time.time()))
    time.sleep(0.5)
    if audit is None:
        print("-")
        return
    # (REQ lines end with the User-Agent, "propscaler/VERSION (HOST)": its product token names it)
    requests = sum(1 for _, kind, rest in audit.new_lines() if kind == "REQ" and " propscaler/" in rest)
    print(requests)


def create(kubeconfig, n, template_file):
    template = json.load(open(template_file))
    for k in ("resourceVersion", "uid", "creationTimestamp", "managedFields", "selfLink"):
        template["metadata"].pop(k, None)
    template.pop("spec", None)  # providerID, podCIDR: one node's own

    def part(first):
        api = Api(kubeconfig)
        for i in range(first, n, 8):
            api.call("POST", "/api/v1/nodes", named(template, "bench-node-%d" % i))

    threads = [threading.Thread(target=part, args=(t,)) for t in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


def main():
    if sys.argv[3] == "create":
        create(sys.argv[1], int(sys.argv[4]), sys.argv[5])
        return
    api, audit = Api(sys.argv[1]), (Audit(sys.argv[2]) if sys.argv[2] != "-" else None)
    if sys.argv[3] == "bursts":
        bursts(api, audit, int(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6]), int(sys.argv[7]))
    else:
        churn(api, audit, float(sys.argv[4]), float(sys.argv[5]))


if __name__ == "__main__":
    main()
