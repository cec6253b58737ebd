#!/usr/bin/env python3
"""A scripted node autoscaler for the node-guard tests: it removes nodes one by one the way
cluster-autoscaler does (mark with the ToBeDeletedByClusterAutoscaler taint, then delete), or the
way Karpenter does (karpenter.sh/disrupted), asking the admission webhook before each step with
the AdmissionReview kube-apiserver would send, built from the real Node object, and carrying out
what it admits on the API server.

usage: autoscaler.py API WEBHOOK_URL CAFILE COUNT [--karpenter] [--delete-only] [--skip N]
                     [--annotate-override NAME] [--dry-run]
Prints one line per node: "admitted NAME", "warned NAME: TEXT" or "refused NAME: MESSAGE", then
"removed K of COUNT". Exit 0 (refusals are results, not errors); 2 when the webhook answers
something that is not an AdmissionReview."""
import json
import ssl
import sys
import urllib.request
import uuid

args = sys.argv[1:]
api, hook, cafile, count = args[0], args[1], args[2], int(args[3])
karpenter = "--karpenter" in args
delete_only = "--delete-only" in args
dry_run = "--dry-run" in args
skip = int(args[args.index("--skip") + 1]) if "--skip" in args else 0
override = args[args.index("--annotate-override") + 1] if "--annotate-override" in args else None
ctx = ssl.create_default_context(cafile=cafile)
USER = "system:serviceaccount:kube-system:" + ("karpenter" if karpenter else "cluster-autoscaler")
MARK = "karpenter.sh/disrupted" if karpenter else "ToBeDeletedByClusterAutoscaler"


def call(method, url, body=None, ctype="application/json", context=None):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method=method, headers={"Content-Type": ctype})
    with urllib.request.urlopen(req, context=context, timeout=10) as r:
        return json.loads(r.read() or b"null")


def review(op, name, obj, old):
    req = {"uid": str(uuid.uuid4()), "kind": {"group": "", "version": "v1", "kind": "Node"},
           "resource": {"group": "", "version": "v1", "resource": "nodes"}, "name": name, "operation": op,
           "userInfo": {"username": USER}, "object": obj, "oldObject": old, "dryRun": dry_run}
    ans = call("POST", hook + "/validate-node-removal",
               {"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "request": req}, context=ctx)
    resp = ans.get("response") if isinstance(ans, dict) else None
    if not isinstance(resp, dict) or resp.get("uid") != req["uid"]:
        print("not an AdmissionReview answer: %r" % (ans,))
        sys.exit(2)
    return resp


nodes = sorted(n["metadata"]["name"] for n in call("GET", api + "/api/v1/nodes")["items"])
removed = 0
for name in nodes[skip:skip + count]:
    node = call("GET", api + "/api/v1/nodes/" + name)
    if override == name:
        node = call("PATCH", api + "/api/v1/nodes/" + name,
                    {"metadata": {"annotations": {"propscaler.io/allow-removal": "test: one deliberate removal"}}},
                    "application/merge-patch+json")
    warned = []
    ok = True
    steps = ["DELETE"] if delete_only else ["UPDATE", "DELETE"]
    for op in steps:
        if op == "UPDATE":
            marked = json.loads(json.dumps(node))
            taints = marked["spec"].get("taints") or []
            taints.append({"key": MARK, "value": "1733400000", "effect": "NoSchedule"})
            marked["spec"]["taints"] = taints
            resp = review("UPDATE", name, marked, node)
        else:
            resp = review("DELETE", name, None, node)
        warned += resp.get("warnings") or []
        if not resp.get("allowed"):
            print("refused %s: %s" % (name, (resp.get("status") or {}).get("message", "")))
            ok = False
            break
        if dry_run:
            continue
        if op == "UPDATE":
            node = call("PATCH", api + "/api/v1/nodes/" + name, {"spec": {"taints": marked["spec"]["taints"]}},
                        "application/merge-patch+json")
        else:
            call("DELETE", api + "/api/v1/nodes/" + name)
    if ok:
        removed += 1
        if warned:
            print("warned %s: %s" % (name, warned[0]))
        else:
            print("admitted %s" % name)
    sys.stdout.flush()
print("removed %d of %d" % (removed, count))
