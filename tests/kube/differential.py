#!/usr/bin/env python3
"""The emulator held to a real kube-apiserver, request by request.

    differential.py --real URL TOKEN CA --emulator URL TOKEN CA --known FILE [--report FILE]

One scripted sequence of requests -- the ones propscaler, kubectl and the Python client make,
and the error cases clients meet -- goes to both servers. Each answer is reduced to what a client
acts on (status code; for a Status: reason, details.kind/name/group; for an object or list: kind,
apiVersion and the fields the step names), with uids, timestamps and resourceVersions left out,
and the two are compared. Steps whose difference is known are listed in FILE (one step name per
line, then a reason); the run fails on a difference not listed there, and on a listed one that
no longer differs (the list stays exact). Standard library only.
"""
import argparse
import json
import ssl
import sys
import urllib.error
import urllib.request

JSON = "application/json"
MERGE = "application/merge-patch+json"
STRATEGIC = "application/strategic-merge-patch+json"
JSONPATCH = "application/json-patch+json"
TABLE = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json"


class Server:
    def __init__(self, name, url, token, ca):
        self.name, self.url, self.token = name, url.rstrip("/"), token
        self.ctx = ssl.create_default_context(cafile=ca) if url.startswith("https") else None

    def call(self, method, path, body=None, ctype=JSON, auth="Bearer", stream_s=None, accept=JSON):
        data = None
        if body is not None:
            data = body if isinstance(body, bytes) else json.dumps(body).encode()
        req = urllib.request.Request(self.url + path, data=data, method=method)
        if self.token and auth:
            req.add_header("Authorization", f"{auth} {self.token}")
        if data is not None:
            req.add_header("Content-Type", ctype)
        req.add_header("Accept", accept)
        try:
            with urllib.request.urlopen(req, context=self.ctx, timeout=stream_s or 20) as r:
                return r.status, r.headers.get("Content-Type", ""), r.read()
        except urllib.error.HTTPError as e:
            return e.code, e.headers.get("Content-Type", ""), e.read()
        except TimeoutError:  # a watch that stayed open for stream_s
            return 200, "stream", b""


def dig(obj, path):
    for part in path.split("."):
        if isinstance(obj, list):
            obj = obj[int(part)] if part.isdigit() and int(part) < len(obj) else None
        elif isinstance(obj, dict):
            obj = obj.get(part)
        else:
            return None
    return obj


def reduce(status, ctype, body, fields):
    """What a client acts on."""
    out = {"code": status}
    text = body.decode("utf-8", "replace")
    try:
        doc = json.loads(text) if text.strip() and not text.lstrip().startswith("{\"type\"") else None
    except ValueError:
        doc = None
    if text.lstrip().startswith("{\"type\""):  # a watch stream: the event types in order
        out["events"] = [json.loads(line).get("type") for line in text.splitlines() if line.strip()][:3]
        return out
    if doc is None:
        out["body"] = "not JSON" if text.strip() else "empty"
        return out
    out["kind"] = doc.get("kind")
    if doc.get("kind") == "Status":
        out["reason"] = doc.get("reason")
        details = doc.get("details") or {}
        out["details"] = {k: details.get(k) for k in ("kind", "name", "group") if details.get(k) is not None}
        if status < 300:
            out["status"] = doc.get("status")
    else:
        out["apiVersion"] = doc.get("apiVersion")
    for f in fields:
        out[f] = dig(doc, f)
    return out


NODE = {"apiVersion": "v1", "kind": "Node",
        "metadata": {"name": "diff-node", "labels": {"kubernetes.io/hostname": "diff-node"}},
        "status": {"allocatable": {"cpu": "4"}, "capacity": {"cpu": "4"},
                   "conditions": [{"type": "Ready", "status": "True"}]}}
CM = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "diff-cm", "namespace": "kube-system"},
      "data": {"linear": '{"nodesPerReplica":2}'}}
DEPLOY = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "diff-dep", "namespace": "kube-system"},
          "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "diff"}},
                   "template": {"metadata": {"labels": {"app": "diff"}},
                                "spec": {"containers": [{"name": "c", "image": "c"}]}}}}
LEASE = {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
         "metadata": {"name": "diff-lease", "namespace": "kube-system"},
         "spec": {"holderIdentity": "a", "leaseDurationSeconds": 15,
                  "acquireTime": "2026-01-01T00:00:00.000000Z", "renewTime": "2026-01-01T00:00:00.000000Z"}}
EVENT = {"apiVersion": "v1", "kind": "Event", "metadata": {"name": "diff-ev.1", "namespace": "kube-system"},
         "involvedObject": {"kind": "Deployment", "name": "diff-dep", "namespace": "kube-system", "apiVersion": "apps/v1"},
         "reason": "ScaledUp", "message": "m", "type": "Normal", "source": {"component": "propscaler"},
         "firstTimestamp": "2026-01-01T00:00:00Z", "lastTimestamp": "2026-01-01T00:00:00Z", "count": 1}

EVENT_V1 = {"apiVersion": "events.k8s.io/v1", "kind": "Event",
            "metadata": {"name": "diff-ev1.1", "namespace": "kube-system"},
            "eventTime": "2026-01-01T00:00:00.000000Z", "reportingController": "propscaler.io/propscaler",
            "reportingInstance": "propscaler-0", "action": "Scale", "reason": "ScaledUp",
            "regarding": {"kind": "Deployment", "name": "diff-dep", "namespace": "kube-system", "apiVersion": "apps/v1"},
            "note": "up", "type": "Normal"}
EVENTS_V1 = "/apis/events.k8s.io/v1/namespaces/kube-system/events"
# an events table's cells, minus the two ages (Last Seen, First Seen) that move with the clock
EVENT_CELLS = [f"rows.0.cells.{i}" for i in (1, 2, 3, 4, 5, 6, 8, 9)] + [f"columnDefinitions.{i}.{k}" for i in range(10)
                                                                        for k in ("name", "type", "priority", "format")]


def with_(obj, path, value):
    o = json.loads(json.dumps(obj))
    cur = o
    parts = path.split(".")
    for p in parts[:-1]:
        cur = cur.setdefault(p, {})
    cur[parts[-1]] = value
    return o


SCALE_PATH = "/apis/apps/v1/namespaces/kube-system/deployments/diff-dep/scale"
# (name, method, path, body, content type, fields compared, options)
STEPS = [
    ("version", "GET", "/version", None, JSON, ["major"], {}),
    ("core group", "GET", "/api", None, JSON, ["versions"], {}),
    ("node list", "GET", "/api/v1/nodes?limit=500", None, JSON, [], {}),
    ("node create", "POST", "/api/v1/nodes", NODE, JSON, ["metadata.name", "spec.unschedulable"], {}),
    ("node create again", "POST", "/api/v1/nodes", NODE, JSON, [], {}),
    ("node get missing", "GET", "/api/v1/nodes/no-such-node", None, JSON, [], {}),
    ("node cordon (strategic)", "PATCH", "/api/v1/nodes/diff-node", {"spec": {"unschedulable": True}}, STRATEGIC,
     ["spec.unschedulable"], {}),
    ("node status NotReady", "PATCH", "/api/v1/nodes/diff-node/status",
     {"status": {"conditions": [{"type": "Ready", "status": "False"}]}}, STRATEGIC, ["status.conditions.0.status"], {}),
    ("node status via PUT of the node is ignored", "PATCH", "/api/v1/nodes/diff-node",
     {"status": {"allocatable": {"cpu": "64"}}}, MERGE, ["status.allocatable.cpu"], {}),
    # rv_kept: whether the answer's resourceVersion is the one a GET of that path saw just before
    # (an update that changes nothing is not written: no new resourceVersion, no watch event)
    ("node patch that changes nothing keeps its resourceVersion", "PATCH", "/api/v1/nodes/diff-node",
     {"status": {"allocatable": {"cpu": "64"}}}, MERGE, [], {"rv_kept": "/api/v1/nodes/diff-node"}),
    ("node label patch gets a new resourceVersion", "PATCH", "/api/v1/nodes/diff-node",
     {"metadata": {"labels": {"diff": "x"}}}, MERGE, ["metadata.labels.diff"], {"rv_kept": "/api/v1/nodes/diff-node"}),
    ("node label patch repeated keeps its resourceVersion", "PATCH", "/api/v1/nodes/diff-node",
     {"metadata": {"labels": {"diff": "x"}}}, STRATEGIC, ["metadata.labels.diff"], {"rv_kept": "/api/v1/nodes/diff-node"}),
    ("node status patch repeated keeps its resourceVersion", "PATCH", "/api/v1/nodes/diff-node/status",
     {"status": {"conditions": [{"type": "Ready", "status": "False"}]}}, STRATEGIC, ["status.conditions.0.status"],
     {"rv_kept": "/api/v1/nodes/diff-node"}),
    ("node wrong kind in body", "POST", "/api/v1/nodes", with_(NODE, "kind", "ConfigMap"), JSON, [], {}),
    ("node list as a Table (kubectl get nodes)", "GET", "/api/v1/nodes?limit=500", None, JSON,
     [f"columnDefinitions.{i}.name" for i in range(10)] + ["rows.0.cells.0", "rows.0.cells.4", "rows.0.object.kind"],
     {"accept": TABLE}),
    ("node list by field spec.unschedulable", "GET", "/api/v1/nodes?fieldSelector=spec.unschedulable%3Dtrue", None,
     JSON, ["items.0.metadata.name"], {}),
    ("node list by unsupported field", "GET", "/api/v1/nodes?fieldSelector=status.phase%3DRunning", None, JSON, [], {}),
    ("node list with a bad label selector", "GET", "/api/v1/nodes?labelSelector=a%20in%20(", None, JSON, [], {}),
    ("rvMatch without rv", "GET", "/api/v1/nodes?resourceVersionMatch=NotOlderThan", None, JSON, [], {}),
    ("list at a resourceVersion not reached yet (a client of a restored etcd)", "GET",
     "/api/v1/namespaces?resourceVersion=999999999", None, JSON, ["details.causes.0.reason", "details.retryAfterSeconds"], {}),
    ("list with an unsupported resourceVersionMatch", "GET", "/api/v1/namespaces?resourceVersion=1&resourceVersionMatch=Bogus",
     None, JSON, [], {}),
    ("list Exact at resourceVersion 0", "GET", "/api/v1/namespaces?resourceVersion=0&resourceVersionMatch=Exact", None, JSON,
     [], {}),
    ("list Exact at an old resourceVersion", "GET", "/api/v1/namespaces?resourceVersion=2&resourceVersionMatch=Exact", None,
     JSON, [], {}),
    ("node watch (Python client spelling watch=True)", "GET", "/api/v1/nodes?watch=True&timeoutSeconds=1", None, JSON, [],
     {"stream": 3}),
    ("configmap create", "POST", "/api/v1/namespaces/kube-system/configmaps", CM, JSON, ["data.linear"], {}),
    ("configmap in a missing namespace", "POST", "/api/v1/namespaces/no-such-ns/configmaps",
     with_(CM, "metadata.namespace", "no-such-ns"), JSON, [], {}),
    ("configmap invalid key", "POST", "/api/v1/namespaces/kube-system/configmaps",
     with_(with_(CM, "metadata.name", "diff-bad-key"), "data", {"a b": "x"}), JSON, [], {}),
    ("configmap merge patch", "PATCH", "/api/v1/namespaces/kube-system/configmaps/diff-cm",
     {"data": {"ladder": "{}"}}, MERGE, ["data.ladder"], {}),
    ("configmap as a Table", "GET", "/api/v1/namespaces/kube-system/configmaps/diff-cm", None, JSON,
     [f"columnDefinitions.{i}.name" for i in range(3)] + ["rows.0.cells.0", "rows.0.cells.1"], {"accept": TABLE}),
    ("configmap json patch", "PATCH", "/api/v1/namespaces/kube-system/configmaps/diff-cm",
     [{"op": "remove", "path": "/data/ladder"}], JSONPATCH, ["data.ladder"], {}),
    ("configmap protobuf body", "POST", "/api/v1/namespaces/kube-system/configmaps", b"k8s\x00\x0a\x02v1",
     "application/vnd.kubernetes.protobuf", [], {}),
    ("configmap delete", "DELETE", "/api/v1/namespaces/kube-system/configmaps/diff-cm", None, JSON, [], {}),
    ("configmap delete again", "DELETE", "/api/v1/namespaces/kube-system/configmaps/diff-cm", None, JSON, [], {}),
    ("deployment create", "POST", "/apis/apps/v1/namespaces/kube-system/deployments", DEPLOY, JSON, ["spec.replicas"], {}),
    ("scale get", "GET", SCALE_PATH, None, JSON, ["spec.replicas", "metadata.name"], {}),
    ("scale put", "PUT", SCALE_PATH, {"apiVersion": "autoscaling/v1", "kind": "Scale",
                                      "metadata": {"name": "diff-dep", "namespace": "kube-system"},
                                      "spec": {"replicas": 3}}, JSON, ["spec.replicas"], {}),
    ("scale put stale resourceVersion", "PUT", SCALE_PATH,
     {"apiVersion": "autoscaling/v1", "kind": "Scale",
      "metadata": {"name": "diff-dep", "namespace": "kube-system", "resourceVersion": "1"},
      "spec": {"replicas": 4}}, JSON, [], {}),
    ("scale put with another name", "PUT", SCALE_PATH, {"apiVersion": "autoscaling/v1", "kind": "Scale",
                                                         "metadata": {"name": "other", "namespace": "kube-system"},
                                                         "spec": {"replicas": 4}}, JSON, [], {}),
    ("scale put negative", "PUT", SCALE_PATH, {"apiVersion": "autoscaling/v1", "kind": "Scale",
                                               "metadata": {"name": "diff-dep", "namespace": "kube-system"},
                                               "spec": {"replicas": -1}}, JSON, [], {}),
    ("deployment json patch", "PATCH", "/apis/apps/v1/namespaces/kube-system/deployments/diff-dep",
     [{"op": "add", "path": "/spec/template/spec/containers/0/args", "value": ["-conf", "/etc/coredns"]},
      {"op": "add", "path": "/spec/template/spec/containers/0/args/1", "value": "-dns.port"},
      {"op": "test", "path": "/spec/replicas", "value": 3}], JSONPATCH,
     ["spec.template.spec.containers.0.args", "spec.replicas"], {}),
    ("deployment json patch with a failing test", "PATCH", "/apis/apps/v1/namespaces/kube-system/deployments/diff-dep",
     [{"op": "test", "path": "/spec/replicas", "value": 99}, {"op": "remove", "path": "/spec/template"}], JSONPATCH, [], {}),
    ("deployment strategic patch of one container's resources", "PATCH",
     "/apis/apps/v1/namespaces/kube-system/deployments/diff-dep",
     {"spec": {"template": {"spec": {"containers": [{"name": "c", "resources": {
         "requests": {"cpu": "100m", "memory": "64Mi"}, "limits": {"memory": "128Mi"}}}]}}}}, STRATEGIC,
     ["spec.template.spec.containers.0.resources", "spec.template.spec.containers.0.args"], {}),
    ("deployment patch with a stale resourceVersion (a precondition)", "PATCH",
     "/apis/apps/v1/namespaces/kube-system/deployments/diff-dep",
     {"metadata": {"resourceVersion": "1"}, "spec": {"template": {"spec": {"containers": [
         {"name": "c", "resources": {"requests": {"cpu": "200m"}}}]}}}}, STRATEGIC, ["message"], {}),
    ("deployment requests above limits", "PATCH", "/apis/apps/v1/namespaces/kube-system/deployments/diff-dep",
     {"spec": {"template": {"spec": {"containers": [{"name": "c", "resources": {"requests": {"memory": "256Mi"}}}]}}}},
     STRATEGIC, ["message", "details.causes"], {}),
    ("scale of a missing deployment", "GET", "/apis/apps/v1/namespaces/kube-system/deployments/nope/scale", None, JSON,
     [], {}),
    ("lease create", "POST", "/apis/coordination.k8s.io/v1/namespaces/kube-system/leases", LEASE, JSON,
     ["spec.holderIdentity"], {}),
    ("lease renewTime without microseconds", "POST", "/apis/coordination.k8s.io/v1/namespaces/kube-system/leases",
     with_(with_(LEASE, "metadata.name", "diff-lease2"), "spec.renewTime", "2026-01-01T00:00:00Z"), JSON, [], {}),
    ("lease duration 0", "POST", "/apis/coordination.k8s.io/v1/namespaces/kube-system/leases",
     with_(with_(LEASE, "metadata.name", "diff-lease3"), "spec.leaseDurationSeconds", 0), JSON, [], {}),
    ("event create", "POST", "/api/v1/namespaces/kube-system/events", EVENT, JSON, ["reason"], {}),
    ("event in another namespace than its object", "POST", "/api/v1/namespaces/kube-system/events",
     with_(with_(EVENT, "metadata.name", "diff-ev.2"), "involvedObject.namespace", "default"), JSON, [], {}),
    ("events by involvedObject and reason", "GET",
     "/api/v1/namespaces/kube-system/events?fieldSelector=involvedObject.name%3Ddiff-dep,reason%3DScaledUp", None, JSON,
     ["items.0.reason"], {}),
    ("events as a Table (kubectl get events)", "GET",
     "/api/v1/namespaces/kube-system/events?fieldSelector=metadata.name%3Ddiff-ev.1", None, JSON, EVENT_CELLS,
     {"accept": TABLE}),
    ("core event with an eventTime and no reporting fields", "POST", "/api/v1/namespaces/kube-system/events",
     with_(with_(EVENT, "metadata.name", "diff-ev.3"), "eventTime", "2026-01-01T00:00:00.000000Z"), JSON, ["message"], {}),
    ("core event about a cluster-scoped object outside default", "POST", "/api/v1/namespaces/kube-system/events",
     with_(with_(EVENT, "metadata.name", "diff-ev.4"), "involvedObject", {"kind": "Node", "name": "diff-node"}), JSON,
     ["message"], {}),
    ("core event with a time without microseconds", "POST", "/api/v1/namespaces/kube-system/events",
     with_(with_(EVENT, "metadata.name", "diff-ev.5"), "eventTime", "2026-01-01T00:00:00Z"), JSON, [], {}),
    ("events.k8s.io discovery", "GET", "/apis/events.k8s.io/v1", None, JSON,
     ["groupVersion", "resources.0.name", "resources.0.kind", "resources.0.namespaced", "resources.0.shortNames"], {}),
    ("events.k8s.io create", "POST", EVENTS_V1, EVENT_V1, JSON,
     ["eventTime", "reportingController", "reportingInstance", "action", "reason", "regarding", "note", "type",
      "deprecatedSource", "deprecatedFirstTimestamp", "deprecatedLastTimestamp", "deprecatedCount", "series"], {}),
    ("events.k8s.io event read as a core Event", "GET", "/api/v1/namespaces/kube-system/events/diff-ev1.1", None, JSON,
     ["involvedObject", "reason", "message", "source", "firstTimestamp", "lastTimestamp", "count", "type", "eventTime",
      "action", "reportingComponent", "reportingInstance"], {}),
    ("core event read as events.k8s.io", "GET", EVENTS_V1 + "/diff-ev.1", None, JSON,
     ["eventTime", "reportingController", "regarding", "note", "type", "deprecatedSource", "deprecatedFirstTimestamp",
      "deprecatedLastTimestamp", "deprecatedCount"], {}),
    ("events.k8s.io list by regarding and reportingController", "GET",
     EVENTS_V1 + "?fieldSelector=regarding.name%3Ddiff-dep,reportingController%3Dpropscaler.io/propscaler", None, JSON,
     ["items.0.metadata.name", "items.1.metadata.name"], {}),
    ("events.k8s.io list by a core field name", "GET", EVENTS_V1 + "?fieldSelector=involvedObject.name%3Ddiff-dep", None,
     JSON, [], {}),
    ("events.k8s.io watch", "GET", EVENTS_V1 + "?watch=1&timeoutSeconds=1&fieldSelector=metadata.name%3Ddiff-ev1.1", None,
     JSON, [], {"stream": 3}),
    ("events.k8s.io as a Table", "GET", EVENTS_V1 + "?fieldSelector=metadata.name%3Ddiff-ev1.1", None, JSON, EVENT_CELLS,
     {"accept": TABLE}),
    ("events.k8s.io merge patch", "PATCH", EVENTS_V1 + "/diff-ev1.1",
     {"note": "patched", "series": {"count": 2, "lastObservedTime": "2026-01-01T00:00:05.000000Z"}}, MERGE,
     ["note", "series", "reason"], {}),
    ("events.k8s.io create without eventTime or type", "POST", EVENTS_V1,
     {"metadata": {"name": "diff-ev1.2"}, "regarding": {"kind": "Deployment", "name": "diff-dep"}}, JSON, ["message"], {}),
    ("events.k8s.io create with the reporting fields missing", "POST", EVENTS_V1,
     {"metadata": {"name": "diff-ev1.3"}, "eventTime": "2026-01-01T00:00:00.000000Z", "type": "Normal"}, JSON, ["message"], {}),
    ("events.k8s.io create with deprecated fields set", "POST", EVENTS_V1,
     with_(with_(with_(EVENT_V1, "metadata.name", "diff-ev1.4"), "deprecatedCount", 3), "deprecatedSource",
           {"component": "x"}), JSON, ["message"], {}),
    ("events.k8s.io create with a short series", "POST", EVENTS_V1,
     with_(with_(EVENT_V1, "metadata.name", "diff-ev1.5"), "series", {"count": 1}), JSON, ["message"], {}),
    ("events.k8s.io create with a core apiVersion", "POST", EVENTS_V1,
     with_(with_(EVENT_V1, "metadata.name", "diff-ev1.6"), "apiVersion", "v1"), JSON, [], {}),
    ("events.k8s.io create with an invalid reportingController", "POST", EVENTS_V1,
     with_(with_(EVENT_V1, "metadata.name", "diff-ev1.7"), "reportingController", "Not A Name!"), JSON, ["message"], {}),
    ("events.k8s.io create in a missing namespace", "POST", "/apis/events.k8s.io/v1/namespaces/no-such-ns/events",
     {"metadata": {"name": "diff-ev1.8"}}, JSON, [], {}),
    ("events.k8s.io delete", "DELETE", EVENTS_V1 + "/diff-ev1.1", None, JSON, [], {}),
    ("events.k8s.io get after delete", "GET", EVENTS_V1 + "/diff-ev1.1", None, JSON, [], {}),
    ("configmap naming another namespace", "POST", "/api/v1/namespaces/kube-system/configmaps",
     with_(with_(CM, "metadata.name", "diff-cm-ns"), "metadata.namespace", "default"), JSON, [], {}),
    ("configmap with another apiVersion", "POST", "/api/v1/namespaces/kube-system/configmaps",
     with_(with_(CM, "metadata.name", "diff-cm-av"), "apiVersion", "apps/v1"), JSON, [], {}),
    ("lowercase bearer", "GET", "/api/v1/namespaces/kube-system/configmaps?limit=1", None, JSON, [], {"auth": "bearer"}),
    ("no token", "GET", "/api/v1/nodes?limit=1", None, JSON, [], {"auth": None}),
    ("node delete", "DELETE", "/api/v1/nodes/diff-node", None, JSON, ["metadata.name"], {}),
]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--real", nargs=3, required=True, metavar=("URL", "TOKEN", "CA"))
    ap.add_argument("--emulator", nargs=3, required=True, metavar=("URL", "TOKEN", "CA"))
    ap.add_argument("--known", required=True)
    ap.add_argument("--report")
    a = ap.parse_args()
    real, emu = Server("real", *a.real), Server("propsim", *a.emulator)
    known = {}
    with open(a.known) as f:
        for line in f:
            line = line.rstrip("\n")
            if line and not line.startswith("#"):
                name, _, why = line.partition("\t")
                known[name] = why
    names = {s[0] for s in STEPS}
    unknown_names = [n for n in known if n not in names]
    rows, new, fixed = [], [], []
    for name, method, path, body, ctype, fields, opt in STEPS:
        answers = []
        for srv in (real, emu):
            before = None
            if opt.get("rv_kept"):
                _, _, got = srv.call("GET", opt["rv_kept"])
                before = dig(json.loads(got), "metadata.resourceVersion")
            st, ct, data = srv.call(method, path, body, ctype, auth=opt.get("auth", "Bearer"), stream_s=opt.get("stream"),
                                    accept=opt.get("accept", JSON))
            answers.append(reduce(st, ct, data, fields))
            if before is not None:
                answers[-1]["resourceVersion kept"] = dig(json.loads(data), "metadata.resourceVersion") == before
        same = answers[0] == answers[1]
        rows.append((name, same, answers))
        if not same and name not in known:
            new.append(name)
        if same and name in known:
            fixed.append(name)
    width = max(len(r[0]) for r in rows)
    lines = []
    for name, same, (r, e) in rows:
        mark = "same " if same else ("known" if name in known else "NEW  ")
        lines.append(f"{mark} {name:<{width}}  real {json.dumps(r, sort_keys=True)}")
        if not same:
            lines.append(f"      {'':<{width}}  emul {json.dumps(e, sort_keys=True)}")
    text = "\n".join(lines)
    print(text)
    if a.report:
        with open(a.report, "w") as f:
            f.write(text + "\n")
    same_n = sum(1 for r in rows if r[1])
    print(f"differential: {same_n} of {len(rows)} steps answered alike, {len(rows) - same_n - len(new)} known differences, "
          f"{len(new)} new")
    ok = True
    for n in new:
        print(f"FAIL: a new difference: {n}")
        ok = False
    for n in fixed:
        print(f"FAIL: '{n}' is listed as a known difference but both servers now agree: remove it from {a.known}")
        ok = False
    for n in unknown_names:
        print(f"FAIL: {a.known} names a step that does not exist: {n}")
        ok = False
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
