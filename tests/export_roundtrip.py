#!/usr/bin/env python3
"""export_roundtrip.py EXPORT.json REPORT.json: recompute every figure of `allocguard report
--json` from `allocguard export --format json` alone and compare.  Prints each mismatch;
exit 0 when all agree, 1 otherwise.  Used by tests/test_export.c."""
import json
import sys


def recompute(x):
    snaps = x["snapshots"]
    last = snaps[-1]
    opts = x["options"]
    proc = x["process"]

    def opt(name, default):
        v = opts.get(name)
        return int(v) if v not in (None, "") and v.isdigit() else default

    # replay the delta-encoded snapshots into per-site state, now and at the peak
    state, at_peak = {}, {}
    for s in snaps:
        for c in s["changes"]:
            state[c["site"]] = (c["live_bytes"], c["live_count"])
        for c in s["at_peak"]:
            at_peak[c["site"]] = (c["bytes"], c["count"])

    def merged(per_site):
        """Sites summed by fold group, as report merges them: the group shows its largest
        site (the first of equals), largest group first."""
        groups = {}
        for i in range(len(x["sites"])):
            b, n = per_site.get(i, (0, 0))
            if not b and not n:
                continue
            g = groups.setdefault(x["sites"][i]["group"], [0, 0, i, b, 0])
            if g[4] and b > g[3]:
                g[2], g[3] = i, b
            g[0] += b
            g[1] += n
            g[4] += 1
        out = [(b, n, i, k) for b, n, i, top, k in groups.values()]
        out.sort(key=lambda e: (-e[0], e[2]))
        return out

    def site_json(b, n, i, k):
        return {"bytes": b, "count": n, "kind": x["sites"][i]["kind"], "stacks": k,
                "frames": [{k2: f[k2] for k2 in ("function", "file", "line", "module",
                                                 "address")}
                           for f in x["sites"][i]["frames"]]}

    peak = {
        "bytes": max(s["peak_tracked"] for s in snaps),
        "heap_bytes": max(s["peak_heap"] for s in snaps),
        "mapped_bytes": max(s["peak_mapped"] for s in snaps),
        "swapped_bytes": max(s["swapped"] for s in snaps),
    }
    k = last["peak"]
    if k and k["tracked"] == peak["bytes"]:   # the K line splits the peak itself
        peak.update(heap_bytes=k["heap"], mapped_bytes=k["mapped"], swapped_bytes=k["swapped"])
    r = {
        "pid": proc["pid"],
        "ppid": proc["ppid"],
        "command": proc["command"],
        "exe": proc["exe"],
        "snapshots": len(snaps),
        "duration_s": round(last["t_ns"] / 1e9, 3),
        "peak": peak,
        "peak_sites": [site_json(*e) for e in merged(at_peak)],
        "final": {
            "bytes": last["tracked"],
            "heap_bytes": last["heap"],
            "mapped_bytes": last["mapped"],
            "swapped_bytes": last["swapped"],
            "reason": last["reason"],
        },
        "cap": {
            "bytes": opt("cap", 0),
            "warn_pct": opt("warn", 80),
            "critical_pct": opt("critical", 90),
            "on_cap": opts.get("on_cap"),
            "events": [{"kind": e["kind"], "t_s": round(e["t_ns"] / 1e9, 3), "bytes": e["bytes"]}
                       for e in x["events"]],
        },
        "swapped": [{"path": w["path"], "bytes": w["bytes"], "mode": w["mode"],
                     "t_s": round(w["t_ns"] / 1e9, 3)} for w in x["swapped"]],
        "estimated": x["sampled"],
        "sites": [site_json(*e) for e in merged(state)],
    }
    return r


def compare(path, want, got, bad):
    if isinstance(want, dict):
        for k, v in want.items():
            if isinstance(got, dict) and k in got:
                compare(path + "." + k, v, got[k], bad)
        return
    if isinstance(want, list):
        if not isinstance(got, list) or len(got) != len(want):
            bad.append("%s: length %s from the export, %s in report" %
                       (path, len(want), len(got) if isinstance(got, list) else got))
            return
        for i, (a, b) in enumerate(zip(want, got)):
            compare("%s[%d]" % (path, i), a, b, bad)
        return
    if isinstance(want, float) or isinstance(got, float):
        if abs(float(want) - float(got)) > 0.0015:
            bad.append("%s: %r from the export, %r in report" % (path, want, got))
    elif want != got:
        bad.append("%s: %r from the export, %r in report" % (path, want, got))


def main():
    with open(sys.argv[1]) as f:
        x = json.load(f)
    with open(sys.argv[2]) as f:
        rep = json.load(f)
    mine = recompute(x)
    bad = []
    compare("", mine, rep, bad)
    # every figure report shows must be one the export can give
    for k in rep:
        if k not in mine:
            bad.append("report's %r is not recomputed from the export" % k)
    for b in bad:
        print(b)
    print("compared %d top-level fields, %d sites; %d mismatches" %
          (len(mine), len(mine["sites"]), len(bad)))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
