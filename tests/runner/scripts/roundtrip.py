"""Times report() + should_prune() round trips through the controller."""

import statistics
import sys
import time

from hpsweep import client

times = []
for step in range(int(sys.argv[1])):
    started = time.perf_counter()
    client.report(0.5, step)
    client.should_prune()
    times.append(time.perf_counter() - started)
client.report_final({"median_ms": statistics.median(times) * 1e3, "max_ms": max(times) * 1e3})
