"""Medians of scripts/bench's runs as markdown tables: per protocol, connection count and server,
auths/s, latency, ratios to the reference server and to the ceiling, server and load-generator
CPU; then cold start and RSS per size, and control-plane rates.

    table.py RESULTS DEVICES
"""
import platform
import re
import statistics
import sys
import time

path, devices = sys.argv[1], int(sys.argv[2])
lines = [dict(re.findall(r"(\S+?)=(\S+)", line)) for line in open(path)]


def median(rows, name):
    return statistics.median(float(r[name].rstrip("us%")) for r in rows)


cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), platform.machine())
cores = open("/proc/cpuinfo").read().count("processor\t:")
auth = [l for l in lines if l.get("kind") == "auth"]
runs = len({l["run"] for l in auth})
print(f"\n{time.strftime('%Y-%m-%d')}, {cpu}, {cores} cores shared by servers and load generator; "
      f"{devices:,} device passwords; medians of {runs} runs\n")

# protocol: (title, reference server, ceiling or None)
protocols = {
    "dovecot": ("Dovecot auth protocol", "dovecot", "noop"),
    "saslauthd": ("saslauthd protocol (one connection per request)", "saslauthd", None),
}
for proto, (title, reference, ceiling) in protocols.items():
    rows = {}
    for l in auth:
        if l["proto"] != proto:
            continue
        target = l["target"] if l["wrong"] == "0" else f'{l["target"]} ({l["wrong"]}% wrong)'
        rows.setdefault((int(l["connections"]), target), []).append(l)
    if not rows:
        continue
    print(f"**{title}**\n")
    head = f"| connections | server | auths/s | p50 | p99 | p99.9 | vs {reference} |"
    rule = "|---:|---|---:|---:|---:|---:|---:|"
    if ceiling:
        head += " vs no-op |"
        rule += "---:|"
    print(head + " server CPU | load generator CPU |")
    print(rule + "---:|---:|")
    for c in sorted({k[0] for k in rows}):
        ref = median(rows[(c, reference)], "auths/s") if (c, reference) in rows else None
        top = median(rows[(c, ceiling)], "auths/s") if ceiling and (c, ceiling) in rows else None
        # posternd's rows, then the reference server's, then the ceiling
        rank = lambda t: (2 if ceiling and t.startswith(ceiling) else 1 if t.startswith(reference) else 0, t)
        order = sorted({k[1] for k in rows if k[0] == c}, key=rank)
        for target in order:
            r = rows[(c, target)]
            rate = median(r, "auths/s")
            cells = [f"{c}", target, f"{rate:,.0f}", f"{median(r, 'p50'):.0f} µs", f"{median(r, 'p99'):.0f} µs",
                     f"{median(r, 'p99.9'):.0f} µs", f"{rate / ref:.2f}×" if ref else "–"]
            if ceiling:
                cells.append(f"{rate / top:.2f}×" if top else "–")
            cells += [f"{median(r, 'server_cpu'):.0f} %", f"{median(r, 'loadgen_cpu'):.0f} %"]
            print("| " + " | ".join(cells) + " |")
    print()

starts = {}
for l in lines:
    if l.get("kind") == "start":
        starts.setdefault(int(l["devices"]), []).append(l)
if starts:
    print("| device passwords | posternd cold start | RSS after start |")
    print("|---:|---:|---:|")
    for n in sorted(starts):
        print(f"| {n:,} | {median(starts[n], 'cold_ms'):.0f} ms | {median(starts[n], 'rss_mb'):.0f} MB |")
    print()

hot = [l for l in lines if l.get("kind") == "hotpath"]
if hot:
    ns = median(hot, "ns_per_check")
    print(f"posternd's own code per check, without sockets (decode, digest, lookup, last use, answer; "
          f"{devices:,} devices): {ns:,.0f} ns, {1e9 / ns:,.0f} checks per core-second\n")

control = [l for l in lines if l.get("kind") == "control"]
if control:
    print("| control plane | " + " | ".join(f"{c} client{'s' if c != '1' else ''}" for c in sorted({l['clients'] for l in control})) + " |")
    print("|---|" + "---:|" * len({l['clients'] for l in control}))
    for op in ("create", "rotate", "disconnect"):
        cells = [f"{int(l['per_second']):,}/s" for l in sorted((l for l in control if l["operation"] == op), key=lambda l: l["clients"])]
        print(f"| device {op} | " + " | ".join(cells) + " |")
    print("\n(each write committed with fsync and in the password index before its answer)")

imports = [l for l in lines if l.get("kind") == "import"]
if imports:
    print("| passwd-file import | size | lines | took | lines/s | imported | errors | posternd peak RSS | RSS after |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for l in imports:
        ms = int(l["ms"])
        print(f"| {'good lines' if l['file'] == 'users.passwd' else 'random bytes'} | {int(l['bytes']) / (1 << 20):.0f} MB | {int(l['lines']):,} "
              f"| {ms / 1000:.1f} s | {int(l['lines']) * 1000 / max(ms, 1):,.0f} | {l['imported']} | {l['errors']} "
              f"| {l['peak_rss_mb']} MB | {l['rss_after_mb']} MB |")
    print()

maps = [l for l in lines if l.get("kind") == "socketmap"]
if maps:
    print("**Postfix socketmap lookups** (mailboxes, virtual and senders hits, 10% virtual misses; one request in flight per connection, as Postfix)\n")
    print("| mailboxes + aliases | connections | lookups/s | p50 | p99 | p99.9 | server CPU | load generator CPU | posternd RSS | cold start |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    groups = {}
    for l in maps:
        groups.setdefault((int(l["entries"]), int(l["connections"])), []).append(l)
    for (entries, c), r in sorted(groups.items(), key=lambda kv: (kv[0][0] != 300000, kv[0])):
        print(f"| {entries:,} | {c} | {median(r, 'auths/s'):,.0f} | {median(r, 'p50'):.0f} µs | {median(r, 'p99'):.0f} µs | "
              f"{median(r, 'p99.9'):.0f} µs | {median(r, 'server_cpu'):.0f} % | {median(r, 'loadgen_cpu'):.0f} % | "
              f"{median(r, 'rss_mb'):.0f} MB | {median(r, 'cold_ms'):.0f} ms |")
    print()
postmaps = [l for l in lines if l.get("kind") == "postmap"]
if postmaps:
    print("**The same aliases through Postfix's postmap -q - (one client, batch mode)**\n")
    print("| table | lookups | lookups/s |")
    print("|---|---:|---:|")
    for l in postmaps:
        print(f"| {l['table']} | {int(l['lookups']):,} | {float(l['lookups/s']):,.0f} |")
    print()

nodes = [l for l in lines if l.get("kind") == "nodes"]
if nodes:
    copy = next((l for l in lines if l.get("kind") == "copy"), None)
    print("**Several nodes: two posternd on one PostgreSQL beside one on SQLite** (Dovecot auth protocol, no wrong passwords)\n")
    print("| setup | connections | auths/s | p50 | p99 |")
    print("|---|---:|---:|---:|---:|")
    for target in dict.fromkeys(l["target"] for l in nodes):
        r = [l for l in nodes if l["target"] == target]
        lat = lambda k: f"{median(r, k):.0f} µs" if k in r[0] else "–"  # noqa: E731
        print(f"| {target.replace('-', ' ')} | {r[0]['connections']} | {median(r, 'auths/s'):,.0f} | {lat('p50')} | {lat('p99')} |")
    if copy:
        print(f"\n(the {int(copy['devices']):,}-device SQLite database copied to PostgreSQL by `postern database copy` in {int(copy['ms']) / 1000:.1f} s; "
              "the two PostgreSQL nodes share the machine's two cores with their load generators)")
    print()
propagation = [l for l in lines if l.get("kind") == "propagation"]
if propagation:
    print(f"**Revocation across nodes**: {int(propagation[0]['rotations']):,} rotations through node 1's control API; how long after the API "
          "answered node 2's auth socket refused the old password:\n")
    print("| machine | busy processes | load average (1 min) | p50 | p99 | max |")
    print("|---|---:|---:|---:|---:|---:|")
    for l in propagation:
        busy = int(l.get("busy", 0))
        print(f"| {'busy' if busy else 'idle'} | {busy} | {l.get('load', '–')} | {l['p50_ms']} ms | {l['p99_ms']} ms | {l['max_ms']} ms |")
    print()
engine_imports = [l for l in lines if l.get("kind") == "engine-import"]
if engine_imports:
    print("| passwd-file import into | lines | took | lines/s |")
    print("|---|---:|---:|---:|")
    for l in engine_imports:
        ms = int(l["ms"])
        print(f"| {'SQLite' if l['engine'] == 'sqlite' else 'PostgreSQL'} | {int(l['lines']):,} | {ms / 1000:.1f} s | {int(l['lines']) * 1000 / max(ms, 1):,.0f} |")
    print()
