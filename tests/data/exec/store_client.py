#!/usr/bin/env python3
"""An exec-protocol client (docs/clients.md) for every workload faultline has, for its tests: one
JSON file that every client process shares under an flock holds the whole database, and each
operation (a whole transaction too) runs under that lock, so a correct run is valid under any
checker. The workload comes from the hello. Seeded bugs (--bug):
  stale-reads         register: one read in ten returns the key's previous value
  lost-writes         register: one write in five is acknowledged and not applied
  duplicate-appends   list-append, session: one append in five is applied twice
  lost-adds           counter, set, set-full: one add in five is acknowledged and not applied
  duplicate-dequeues  queue, total-queue: one dequeue in five hands its element out and keeps it
                      queued
--crash-every N exits (status 3, with a line on stderr) on its Nth invocation, and every Nth after;
--garbage-every N prints a line that is not a completion instead; --hang-every N never answers.
"""
import argparse
import fcntl
import json
import os
import random
import sys
import time

parser = argparse.ArgumentParser()
parser.add_argument("--store", required=True)
parser.add_argument("--bug", default="none")
parser.add_argument("--crash-every", type=int, default=0)
parser.add_argument("--garbage-every", type=int, default=0)
parser.add_argument("--hang-every", type=int, default=0)
arguments = parser.parse_args()

BANK_ACCOUNTS = 8  # workloads.md: accounts 0..7, 10 each
BANK_BALANCE = 10


def answer(message):
    sys.stdout.write(json.dumps(message) + "\n")
    sys.stdout.flush()


def bug(name, chance=0.2):
    return arguments.bug == name and random.random() < chance


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
    registers = store.setdefault("registers", {})  # key -> [current, previous]
    current, previous = registers.get(str(key), [None, None])
    if op["f"] == "read":
        return ok([key, previous if bug("stale-reads", 0.1) else current])
    if op["f"] == "write":
        if not bug("lost-writes"):
            registers[str(key)] = [value, current]
        return ok()
    if current != value[0]:
        return {"type": "fail", "error": "compare failed"}
    registers[str(key)] = [value[1], current]
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
for handled, line in enumerate(sys.stdin, start=1):
    op = json.loads(line)
    if arguments.crash_every and handled % arguments.crash_every == 0:
        print("crashing on purpose after %d ops" % handled, file=sys.stderr, flush=True)
        os._exit(3)
    if arguments.garbage_every and handled % arguments.garbage_every == 0:
        sys.stdout.write("Traceback (most recent call last): not a completion\n")
        sys.stdout.flush()
        continue
    if arguments.hang_every and handled % arguments.hang_every == 0:
        time.sleep(3600)
    answer(locked_store(lambda store: handler(store, op)))
