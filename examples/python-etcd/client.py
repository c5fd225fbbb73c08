#!/usr/bin/env python3
"""An exec-protocol client (docs/clients.md) in Python, standard library only, for etcd's v3 HTTP
gateway: the register workload (read, write, compare-and-set per key) against the etcd that
faultline installs on each node.

    faultline test --db etcd --client-command 'python3 examples/python-etcd/client.py' \\
        --workload register --nemesis partition,kill

Each client process talks to its own node (the hello's "node", at its address, port 2379). Values
are stored as JSON text; a key never written reads as null. What is ok, fail or info:
- a read that fails or times out changed nothing: fail;
- a write or cas whose request may have reached etcd (a timeout, a lost connection, a 5xx)
  may still take effect: info;
- a request refused before it was sent (connection refused: the node is down): fail;
- a cas whose compare did not match: fail.
"""
import base64
import json
import socket
import sys
import urllib.error
import urllib.request

PORT = 2379


def answer(message):
    sys.stdout.write(json.dumps(message) + "\n")
    sys.stdout.flush()


def b64(text):
    return base64.b64encode(text.encode()).decode()


class Etcd:
    def __init__(self, address, timeout_s, prefix):
        self.url = "http://%s:%d" % (address, PORT)
        self.timeout_s = timeout_s
        self.prefix = prefix

    def key(self, key):
        return b64(self.prefix + json.dumps(key))

    def post(self, path, body):
        request = urllib.request.Request(self.url + path, data=json.dumps(body).encode(),
                                         headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=self.timeout_s) as response:
            return json.loads(response.read())

    def read(self, key):
        reply = self.post("/v3/kv/range", {"key": self.key(key)})
        kvs = reply.get("kvs", [])
        return json.loads(base64.b64decode(kvs[0].get("value", "")).decode()) if kvs else None

    def write(self, key, value):
        self.post("/v3/kv/put", {"key": self.key(key), "value": b64(json.dumps(value))})

    def cas(self, key, old, new):
        compare = {"key": self.key(key), "result": "EQUAL", "target": "VALUE",
                   "value": b64(json.dumps(old))}
        put = {"requestPut": {"key": self.key(key), "value": b64(json.dumps(new))}}
        return self.post("/v3/kv/txn", {"compare": [compare], "success": [put]}).get(
            "succeeded", False)


def refused(error):
    """Whether the request certainly never reached etcd."""
    reason = getattr(error, "reason", error)
    return isinstance(reason, ConnectionRefusedError)


def run(etcd, op):
    key, value = op["value"]
    f = op["f"]
    try:
        if f == "read":
            return {"type": "ok", "value": [key, etcd.read(key)]}
        if f == "write":
            etcd.write(key, value)
            return {"type": "ok"}
        if f == "cas":
            if etcd.cas(key, value[0], value[1]):
                return {"type": "ok"}
            return {"type": "fail", "error": "compare failed"}
        return {"type": "fail", "error": "unknown f %s" % f}
    except (urllib.error.URLError, socket.timeout, ConnectionError, OSError) as error:
        definite = f == "read" or refused(error)
        return {"type": "fail" if definite else "info", "error": str(error)}


def main():
    hello = json.loads(sys.stdin.readline())
    if hello.get("protocol") != 1:
        answer({"type": "error", "error": "this client speaks protocol 1"})
        return
    test = hello["test"]
    address = test.get("node_addresses", {}).get(hello["node"], hello["node"])
    etcd = Etcd(address, test.get("operation_timeout_s", 5),
                "faultline-py/%s/%s/" % (test.get("name", "test"), test.get("seed", 0)))
    print("python-etcd client for %s at %s" % (hello["node"], etcd.url), file=sys.stderr,
          flush=True)  # run.log shows it: "client on n1: python-etcd client ..."
    answer({"type": "ready"})
    for line in sys.stdin:
        answer(run(etcd, json.loads(line)))


if __name__ == "__main__":
    main()
