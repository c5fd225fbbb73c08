#!/usr/bin/env python3
"""An exec-protocol client (docs/clients.md) for every workload faultline has, for its tests: one
JSON file that every client process shares under an flock holds the whole database, and each
operation (a whole transaction too) runs under that lock, so a correct run is valid under any
checker. The workload comes from the hello. Seeded bugs (--bug), each hitting one op in five:
  duplicate-appends   list-append, session: an append is applied twice
  lost-adds           counter, set, set-full: an add is acknowledged and not applied
  duplicate-dequeues  queue, total-queue: a dequeue hands its element out and keeps it queued
"""
import argparse
import fcntl
import json
import random
import sys

parser = argparse.ArgumentParser()
parser.add_argument("--store", required=True)
parser.add_argument("--bug", default="none")
arguments = parser.parse_args()

BANK_ACCOUNTS = 8  # workloads.md: accounts 0..7, 10 each
BANK_BALANCE = 10


def answer(message):
    sys.stdout.write(json.dumps(message) + "\n")
    sys.stdout.flush()


def bug(name):
    return arguments.bug == name and random.random() < 0.2


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


def ok(value=None):
    return {"type": "ok", "value": value} if value is not None else {"type": "ok"}


def register(store, op):
    key, value = op["value"]
    registers = store.setdefault("registers", {})
    current = registers.get(str(key))
    if op["f"] == "read":
        return ok([key, current])
    if op["f"] == "write":
        registers[str(key)] = value
        return ok()
    if current != value[0]:
        return {"type": "fail", "error": "compare failed"}
    registers[str(key)] = value[1]
    return ok()


def transaction(store, op):
    keys = store.setdefault("keys", {})
    done = []
    for kind, key, value in op["value"]:
        name = str(key)
        if kind == "r":
            current = keys.get(name)
            done.append([kind, key, list(current) if isinstance(current, list) else current])
        elif kind == "append":
            keys.setdefault(name, []).append(value)
            if bug("duplicate-appends"):
                keys[name].append(value)
            done.append([kind, key, value])
        else:  # "w"
            keys[name] = value
            done.append([kind, key, value])
    return ok(done)


def counter(store, op):
    if op["f"] == "read":
        return ok(store.get("counter", 0))
    if not bug("lost-adds"):
        store["counter"] = store.get("counter", 0) + op["value"]
    return ok()


def element_set(store, op):
    elements = store.setdefault("set", [])
    if op["f"] == "read":
        return ok(list(elements))
    if not bug("lost-adds"):
        elements.append(op["value"])
    return ok()


def unique_ids(store, op):
    store["next_id"] = store.get("next_id", 0) + 1
    return ok(store["next_id"])


def bank(store, op):
    balances = store.setdefault("bank", {str(a): BANK_BALANCE for a in range(BANK_ACCOUNTS)})
    if op["f"] == "read":
        return ok(dict(balances))
    transfer = op["value"]
    source, destination = str(transfer["from"]), str(transfer["to"])
    if balances[source] < transfer["amount"]:
        return {"type": "fail", "error": "insufficient funds"}
    balances[source] -= transfer["amount"]
    balances[destination] += transfer["amount"]
    return ok()


def queue(store, op):
    elements = store.setdefault("queue", [])
    if op["f"] == "enqueue":
        elements.append(op["value"])
        return ok()
    if op["f"] == "drain":
        drained = list(elements)
        elements.clear()
        return ok(drained)
    if not elements:
        return ok(None)
    return ok(elements[0] if bug("duplicate-dequeues") else elements.pop(0))


HANDLERS = {"register": register, "list-append": transaction, "rw-register": transaction,
            "session": transaction, "counter": counter, "set": element_set,
            "set-full": element_set, "unique-ids": unique_ids, "bank": bank, "queue": queue,
            "total-queue": queue}

hello = json.loads(sys.stdin.readline())
workload = hello["test"]["workload"]
if hello.get("protocol") != 1 or workload not in HANDLERS:
    answer({"type": "error", "error": "protocol 1 and a known workload only, not %r" % workload})
    sys.exit(1)
answer({"type": "ready"})
random.seed(hello["process"])
handler = HANDLERS[workload]
for line in sys.stdin:
    op = json.loads(line)
    answer(locked_store(lambda store: handler(store, op)))
