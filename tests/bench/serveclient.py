#!/usr/bin/env python3
"""The client side of bench_serve.sh: what a reflector and a crowd of watchers do to an API server.

    serveclient.py list URL [--gzip]
        a full paged LIST of nodes (limit=500, continue tokens, one keep-alive connection, as
        client-go pages; gzip inflated, as a client must): prints "pages items bytes-on-the-wire
        seconds". The pages are not decoded (a client's cost, not the server's).
    serveclient.py watch URL WATCHERS UPDATES SERVER_PID
        WATCHERS watches of nodes from the current resourceVersion (one socket each, all open at
        once), then UPDATES node patches; prints "threads parked seconds-until-every-watcher-has-every-update"
        (threads: the server's, with every watcher open)

Standard library only. Not a test: nothing here asserts a time.
"""
import gzip
import http.client
import json
import re
import selectors
import socket
import sys
import time
import urllib.parse


def conn(url):
    u = urllib.parse.urlsplit(url)
    return http.client.HTTPConnection(u.hostname, u.port, timeout=60), u


def list_nodes(url, use_gzip):
    c, _ = conn(url)
    headers = {"Accept": "application/json"}
    if use_gzip:
        headers["Accept-Encoding"] = "gzip"
    t0 = time.time()
    token, pages, items, wire = "", 0, 0, 0
    while True:
        path = "/api/v1/nodes?limit=500" + ("&continue=" + urllib.parse.quote(token) if token else "")
        c.request("GET", path, headers=headers)
        r = c.getresponse()
        body = r.read()
        wire += len(body)
        if r.getheader("Content-Encoding") == "gzip":
            body = gzip.decompress(body)
        # the server's work, not this client's: the list's metadata (continue token) comes before
        # its items, so only the head is parsed; items are counted, not decoded
        pages += 1
        items += body.count(b'{"kind":"Node"')
        m = re.search(rb'"continue":"([^"]*)"', body[:4096])
        token = m.group(1).decode() if m else ""
        if not token:
            break
    print(pages, items, wire, "%.3f" % (time.time() - t0))


def watch_crowd(url, watchers, updates, pid):
    c, u = conn(url)
    c.request("GET", "/api/v1/nodes?limit=%d" % updates)
    first = json.loads(c.getresponse().read())
    rv = first["metadata"]["resourceVersion"]
    names = [n["metadata"]["name"] for n in first["items"]]
    socks = []
    for _ in range(watchers):
        s = socket.create_connection((u.hostname, u.port))
        s.sendall(("GET /api/v1/nodes?watch=1&resourceVersion=%s&allowWatchBookmarks=true&timeoutSeconds=120 "
                   "HTTP/1.1\r\nHost: bench\r\n\r\n" % rv).encode())
        socks.append(s)
    time.sleep(1.0)
    threads = int([line for line in open("/proc/%s/status" % pid) if line.startswith("Threads:")][0].split()[1])
    c.request("GET", "/propsim/stats")
    parked = json.loads(c.getresponse().read()).get("parkedConnections", "-")
    sel = selectors.DefaultSelector()
    seen = {}
    for s in socks:
        s.setblocking(False)
        sel.register(s, selectors.EVENT_READ)
        seen[s] = 0
    t0 = time.time()
    for name in names:
        c.request("PATCH", "/api/v1/nodes/" + name, body=b'{"spec":{"unschedulable":true}}',
                  headers={"Content-Type": "application/merge-patch+json"})
        c.getresponse().read()
        for key, _ in sel.select(timeout=0):
            drain(key.fileobj, seen, sel, updates)
    done = sum(1 for v in seen.values() if v >= updates)
    while done < watchers and time.time() - t0 < 60:
        for key, _ in sel.select(timeout=1):
            drain(key.fileobj, seen, sel, updates)
        done = sum(1 for v in seen.values() if v >= updates)
    print(threads, parked, "%.3f" % (time.time() - t0) if done == watchers else "incomplete(%d)" % done)


TAIL = {}  # the last bytes of each stream: an event type cut between two reads still counts


def drain(s, seen, sel, updates):
    try:
        data = s.recv(1 << 20)
    except BlockingIOError:
        return
    text = TAIL.get(s, b"") + data
    seen[s] += text.count(b'"type":"MODIFIED"')
    TAIL[s] = text[-16:]  # shorter than the marker: never counted twice
    if seen[s] >= updates or not data:
        sel.unregister(s)


if __name__ == "__main__":
    if sys.argv[1] == "list":
        list_nodes(sys.argv[2], "--gzip" in sys.argv[3:])
    else:
        watch_crowd(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5])
