#!/usr/bin/env python3
"""sitesizes_check.py REPORT_JSON PROGRAM_STDOUT MODE: compare report --json's per-site
histograms of requested sizes with the counts size_sites printed itself ("SITE K:N ...").

MODE exact: every bucket of each site equals the program's count, in `sites` and in each
site's single path, and the site's buckets add up to its allocation calls.
MODE sampled: estimates: each site's total within 35% of the program's calls, and its
dominant bucket (by the program's counts) holds most of its estimate.
Prints one line naming what differs and exits 1; exits 0 when all agrees."""
import json
import sys


def buckets(sizes):
    """{bucket: count} from [{"min", "max", "count"}]; bucket k holds [2^(k-1), 2^k - 1]."""
    out = {}
    for b in sizes:
        k = 0 if b["min"] == 0 else b["min"].bit_length()
        if b["max"] != (0 if k == 0 else (1 << k) - 1):
            sys.exit(f"bucket {b} is not a power-of-two bucket")
        out[k] = b["count"]
    return out


def main():
    report = json.load(open(sys.argv[1]))
    want = {}
    for line in open(sys.argv[2]):
        name, *bins = line.split()
        want[name] = {int(k): int(n) for k, n in (b.split(":") for b in bins)}
    mode = sys.argv[3]
    sites = {s["site"]["function"]: s for s in report["sites"] if s["site"].get("function")}
    bad = []
    for name, counts in want.items():
        s = sites.get(name)
        if s is None:
            bad.append(f"no site {name}")
            continue
        got = buckets(s["sizes"])
        calls = sum(counts.values())
        if mode == "exact":
            if got != counts:
                bad.append(f"{name}: report {got}, program {counts}")
            if sum(got.values()) != s["allocations"]:
                bad.append(f"{name}: buckets add to {sum(got.values())}, calls {s['allocations']}")
            paths = [buckets(p["sizes"]) for p in s["paths"]]
            if len(paths) != 1 or paths[0] != counts:
                bad.append(f"{name}: paths {paths}, program {counts}")
        else:
            est = sum(got.values())
            top = max(counts, key=counts.get)
            if abs(est - calls) > 0.35 * calls:
                bad.append(f"{name}: estimated {est} calls, program {calls}")
            share = counts[top] / calls
            if got.get(top, 0) < 0.5 * share * est:
                bad.append(f"{name}: bucket {top} holds {got.get(top, 0)} of {est}, "
                           f"program {counts[top]} of {calls}")
    for name in want:
        for s in report["peak_sites"]:
            if s["site"].get("function") == name and "sizes" not in s:
                bad.append(f"peak site {name} has no sizes")
    if bad:
        print("; ".join(bad))
        sys.exit(1)


main()
