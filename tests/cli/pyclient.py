#!/usr/bin/python3
"""The official Kubernetes Python client (Debian's python3-kubernetes) against an API server:
the typed calls an operator's script makes, each answer read through the client's models (which
refuse objects missing required fields).

    pyclient.py KUBECONFIG

Prints one line per check; exits 1 when any failed.
"""
import datetime
import sys
import threading
import time

from kubernetes import client, config, watch
from kubernetes.client.rest import ApiException

fails = 0


def check(what, fn):
    global fails
    try:
        detail = fn()
        print(f"ok: {what}{': ' + str(detail) if detail not in (None, '') else ''}")
    except Exception as e:  # every failure is a finding: report it and go on
        fails += 1
        print(f"FAIL: {what}: {type(e).__name__}: {str(e)[:300]}")


def main():
    config.load_kube_config(config_file=sys.argv[1])
    core, apps, coord = client.CoreV1Api(), client.AppsV1Api(), client.CoordinationV1Api()
    ns = "kube-system"

    def node(name, ready="True"):
        return client.V1Node(
            metadata=client.V1ObjectMeta(name=name, labels={"kubernetes.io/hostname": name}),
            status=client.V1NodeStatus(
                allocatable={"cpu": "4", "memory": "16Gi"}, capacity={"cpu": "4", "memory": "16Gi"},
                conditions=[client.V1NodeCondition(type="Ready", status=ready)]))

    check("create Nodes (typed)", lambda: [core.create_node(node(f"py{i}")).metadata.name for i in range(3)])
    check("list Nodes: every one read by the typed model",
          lambda: sorted(n.metadata.name for n in core.list_node(limit=500).items if n.metadata.name.startswith("py")))
    check("list Nodes by label", lambda: [n.metadata.name for n in core.list_node(label_selector="kubernetes.io/hostname=py1").items])
    check("list Nodes in pages", lambda: paged(core))
    check("cordon (strategic merge patch)", lambda: core.patch_node("py0", {"spec": {"unschedulable": True}}).spec.unschedulable)
    check("NotReady through the status subresource",
          lambda: core.patch_node_status("py1", {"status": {"conditions": [{"type": "Ready", "status": "False"}]}})
          .status.conditions[0].status)
    check("watch Nodes (watch=True, as this client sends it) sees a new one", lambda: watch_sees(core))

    cm = client.V1ConfigMap(metadata=client.V1ObjectMeta(name="py-params", namespace=ns),
                            data={"linear": '{"nodesPerReplica":2}'})
    check("create a ConfigMap", lambda: core.create_namespaced_config_map(ns, cm).metadata.name)
    check("a second create is 409 AlreadyExists", lambda: expect_status(409, lambda: core.create_namespaced_config_map(ns, cm)))
    check("patch the ConfigMap (merge)", lambda: core.patch_namespaced_config_map("py-params", ns, {"data": {"ladder": "{}"}}).data)
    check("read a missing ConfigMap is 404", lambda: expect_status(404, lambda: core.read_namespaced_config_map("nope", ns)))

    dep = client.V1Deployment(
        metadata=client.V1ObjectMeta(name="py-dep", namespace=ns),
        spec=client.V1DeploymentSpec(
            replicas=1, selector=client.V1LabelSelector(match_labels={"app": "py"}),
            template=client.V1PodTemplateSpec(metadata=client.V1ObjectMeta(labels={"app": "py"}),
                                              spec=client.V1PodSpec(containers=[client.V1Container(name="c", image="c")]))))
    check("create a Deployment", lambda: apps.create_namespaced_deployment(ns, dep).spec.replicas)
    check("read its Scale", lambda: apps.read_namespaced_deployment_scale("py-dep", ns).spec.replicas)
    check("patch its Scale", lambda: apps.patch_namespaced_deployment_scale("py-dep", ns, {"spec": {"replicas": 3}}).spec.replicas)
    check("replace its Scale with a stale resourceVersion is 409", lambda: stale_scale(apps, ns))

    lease = client.V1Lease(metadata=client.V1ObjectMeta(name="py-lease", namespace=ns),
                           spec=client.V1LeaseSpec(holder_identity="py", lease_duration_seconds=15))
    check("create a Lease", lambda: coord.create_namespaced_lease(ns, lease).spec.holder_identity)
    check("list Events (typed)", lambda: len(core.list_namespaced_event(ns).items) >= 0)
    events = client.EventsV1Api()
    ev = client.EventsV1Event(
        metadata=client.V1ObjectMeta(name="py-dep.ev1", namespace=ns),
        event_time=datetime.datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=datetime.timezone.utc),
        reporting_controller="propscaler.io/py", reporting_instance="py-0", action="Scale", reason="ScaledUp",
        regarding=client.V1ObjectReference(kind="Deployment", name="py-dep", namespace=ns, api_version="apps/v1"),
        note="1 -> 3", type="Normal")
    check("create an events.k8s.io/v1 Event (typed)", lambda: events.create_namespaced_event(ns, ev).reporting_controller)
    check("list events.k8s.io/v1 Events by regarding.name",
          lambda: [e.note for e in events.list_namespaced_event(ns, field_selector="regarding.name=py-dep").items])
    check("the same Event read as a core Event", lambda: same_event(core, ns))
    check("an events.k8s.io/v1 Event without eventTime is 422",
          lambda: expect_status(422, lambda: events.create_namespaced_event(
              ns, {"metadata": {"name": "py-dep.ev2"}, "type": "Normal",  # (the typed model refuses it client-side)
                   "regarding": {"kind": "Deployment", "name": "py-dep", "namespace": ns}})))
    check("delete it through events.k8s.io/v1", lambda: events.delete_namespaced_event("py-dep.ev1", ns).status)
    check("delete the Nodes", lambda: [core.delete_node(f"py{i}").status for i in range(3)])
    return 1 if fails else 0


def paged(core):
    names, token = [], None
    while True:
        page = core.list_node(limit=2, _continue=token)
        names += [n.metadata.name for n in page.items]
        token = page.metadata._continue
        if not token:
            return f"{len(names)} nodes"


def watch_sees(core):
    seen = []
    w = watch.Watch()
    rv = core.list_node().metadata.resource_version

    def later():
        time.sleep(0.5)
        core.create_node(client.V1Node(metadata=client.V1ObjectMeta(name="py-watched"),
                                       status=client.V1NodeStatus(allocatable={"cpu": "1"})))
    threading.Thread(target=later).start()
    for ev in w.stream(core.list_node, resource_version=rv, timeout_seconds=5):
        seen.append((ev["type"], ev["object"].metadata.name))
        if ev["object"].metadata.name == "py-watched":
            w.stop()
    core.delete_node("py-watched")
    if ("ADDED", "py-watched") not in seen:
        raise AssertionError(f"events seen: {seen}")
    return seen[-1]


def same_event(core, ns):
    e = core.read_namespaced_event("py-dep.ev1", ns)
    got = (e.involved_object.name, e.message, e.reporting_component, e.action, e.event_time.microsecond)
    if got != ("py-dep", "1 -> 3", "propscaler.io/py", "Scale", 678901):
        raise AssertionError(f"core view: {got}")
    return got


def expect_status(code, fn):
    try:
        fn()
    except ApiException as e:
        if e.status == code:
            return e.reason
        raise
    raise AssertionError(f"no error, want {code}")


def stale_scale(apps, ns):
    s = apps.read_namespaced_deployment_scale("py-dep", ns)
    s.metadata.resource_version = "1"
    s.spec.replicas = 5
    return expect_status(409, lambda: apps.replace_namespaced_deployment_scale("py-dep", ns, s))


if __name__ == "__main__":
    sys.exit(main())
