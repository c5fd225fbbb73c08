#!/usr/bin/env python3
"""An exec-protocol client (docs/clients.md) that does nothing: ready to the hello, ok to every
invocation. bench/exec_bench.sh measures what the protocol itself costs per op."""
import sys

sys.stdin.readline()  # the hello
sys.stdout.write('{"type":"ready"}\n')
sys.stdout.flush()
for _ in sys.stdin:
    sys.stdout.write('{"type":"ok"}\n')
    sys.stdout.flush()
