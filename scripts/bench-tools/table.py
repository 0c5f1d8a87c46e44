"""Medians of the benchmark runs as a markdown table (auths/s and latency per server and
connection count, ratios to Dovecot and to the no-op ceiling)."""
import platform
import re
import statistics
import sys
import time

path, devices, cold, rss = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
rows = {}
for line in open(path):
    fields = dict(re.findall(r"(\S+?)=(\S+)", line))
    target = fields["target"] if fields["wrong"] == "0" else f'{fields["target"]} ({fields["wrong"]}% wrong)'
    key = (int(fields["connections"]), target)
    rows.setdefault(key, []).append(fields)


def median(key, name):
    values = [float(r[name].rstrip("us%")) for r in rows[key]]
    return statistics.median(values)


cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), platform.machine())
print(f"\n{time.strftime('%Y-%m-%d')}, {cpu}, {len(open('/proc/cpuinfo').read().split('processor')) - 1} cores; "
      f"{devices} device passwords; medians of {len(next(iter(rows.values())))} runs\n")
print("| connections | server | auths/s | p50 | p99 | p99.9 | vs Dovecot | vs no-op | load generator CPU |")
print("|---:|---|---:|---:|---:|---:|---:|---:|---:|")
for c in sorted({k[0] for k in rows}):
    dovecot = median((c, "dovecot"), "auths/s") if (c, "dovecot") in rows else None
    noop = median((c, "noop"), "auths/s") if (c, "noop") in rows else None
    for target in sorted({k[1] for k in rows if k[0] == c}, key=lambda t: ("dovecot" in t, "noop" in t, t)):
        rate = median((c, target), "auths/s")
        print(f"| {c} | {target} | {rate:,.0f} | {median((c, target), 'p50'):.0f} µs | {median((c, target), 'p99'):.0f} µs | "
              f"{median((c, target), 'p99.9'):.0f} µs | {rate / dovecot:.2f}× | {rate / noop:.2f}× | "
              f"{median((c, target), 'loadgen_cpu'):.0f} % |")
print(f"\nposternd cold start with {devices} device passwords: {cold} ms; RSS after start: {rss} MB")
