#!/usr/bin/env python3
"""An exec-protocol client (docs/clients.md) for faultline's tests: a register per key, stored in
one JSON file that every client process shares under an flock, so that a run with many clients is
linearizable. Seeded bugs: --stale returns a key's previous value to one read in ten;
--lost-writes acknowledges one write in five without storing it; --crash-every N exits (with a
line on stderr) after N invocations."""
import argparse
import fcntl
import json
import os
import random
import sys

parser = argparse.ArgumentParser()
parser.add_argument("--store", required=True)
parser.add_argument("--stale", action="store_true")
parser.add_argument("--lost-writes", action="store_true")
parser.add_argument("--crash-every", type=int, default=0)
arguments = parser.parse_args()


def answer(message):
    sys.stdout.write(json.dumps(message) + "\n")
    sys.stdout.flush()


def locked_store(update):
    with open(arguments.store, "a+") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        handle.seek(0)
        text = handle.read()
        store = json.loads(text) if text else {}
        result = update(store)
        handle.seek(0)
        handle.truncate()
        handle.write(json.dumps(store))
        return result


hello = json.loads(sys.stdin.readline())
if hello.get("protocol") != 1:
    answer({"type": "error", "error": "protocol 1 only"})
    sys.exit(1)
answer({"type": "ready"})
random.seed(hello["process"])
handled = 0
for line in sys.stdin:
    op = json.loads(line)
    handled += 1
    if arguments.crash_every and handled % arguments.crash_every == 0:
        print("crashing on purpose after %d ops" % handled, file=sys.stderr, flush=True)
        os._exit(3)
    key, value = op["value"]
    name = str(key)

    def apply(store):
        current, previous = store.get(name, [None, None])
        if op["f"] == "read":
            stale = arguments.stale and random.random() < 0.1
            return {"type": "ok", "value": [key, previous if stale else current]}
        if op["f"] == "write":
            if not (arguments.lost_writes and random.random() < 0.2):
                store[name] = [value, current]
            return {"type": "ok"}
        if current != value[0]:
            return {"type": "fail", "error": "compare failed"}
        store[name] = [value[1], current]
        return {"type": "ok"}

    answer(locked_store(apply))
