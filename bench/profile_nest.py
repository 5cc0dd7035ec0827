#!/usr/bin/python3
"""Compares two chrome traces of one NEST update (bench/ref_nest.py --profile and
build/bin/bench_nest --profile): self time per operator name (time inside the op minus the ops it
calls), summed over the update, largest first, with the difference trellis - reference.
  /usr/bin/python3 bench/profile_nest.py ref.json trellis.json [--top 25]"""
import argparse
import collections
import json


def self_times(path):
    with open(path) as f:
        data = json.load(f)
    events = data["traceEvents"] if isinstance(data, dict) else data
    by_tid = collections.defaultdict(list)
    for e in events:
        if e.get("ph") == "X" and "dur" in e:
            by_tid[e.get("tid")].append((float(e["ts"]), float(e["dur"]), e["name"]))
    out, counts = collections.Counter(), collections.Counter()
    for evs in by_tid.values():
        evs.sort(key=lambda x: (x[0], -x[1]))
        stack = []  # [end, name, child time]
        def close(item):
            out[item[1]] += item[3] - item[2]
        for ts, dur, name in evs:
            while stack and stack[-1][0] <= ts:
                close(stack.pop())
            if stack:
                stack[-1][2] += dur
            stack.append([ts + dur, name, 0.0, dur])
            counts[name] += 1
        while stack:
            close(stack.pop())
    return out, counts


def main():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("ref")
    p.add_argument("ours")
    p.add_argument("--top", type=int, default=25)
    a = p.parse_args()
    (r, rc), (o, oc) = self_times(a.ref), self_times(a.ours)
    print(f"total self time: reference {sum(r.values()) / 1e3:.0f} ms, trellis {sum(o.values()) / 1e3:.0f} ms")
    print(f"{'operator':46s} {'ref ms':>8s} {'calls':>6s} {'trellis ms':>10s} {'calls':>6s} {'diff ms':>8s}")
    names = sorted(set(r) | set(o), key=lambda n: -max(r[n], o[n]))
    for n in names[: a.top]:
        print(f"{n[:46]:46s} {r[n] / 1e3:8.1f} {rc[n]:6d} {o[n] / 1e3:10.1f} {oc[n]:6d} "
              f"{(o[n] - r[n]) / 1e3:+8.1f}")


if __name__ == "__main__":
    main()
