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

    # replay the delta-encoded snapshots into per-stack state, now and at the peak:
    # (bytes, blocks, allocation calls, temporary allocations)
    state, at_peak = {}, {}
    for s in snaps:
        for c in s["changes"]:
            state[c["site"]] = (c["live_bytes"], c["live_count"], c["total_count"],
                                c.get("temporary", 0))
        for c in s["at_peak"]:
            at_peak[c["site"]] = (c["bytes"], c["count"], 0, 0)

    def merged(per_stack):
        """Stacks summed by site ("group": the site's first stack), as report's model
        does: sites by bytes, then blocks, then site; a site's frames are those of its
        first path with the most bytes (paths by bytes, blocks, stack)."""
        groups = {}
        for i in range(len(x["sites"])):
            f = per_stack.get(i, (0, 0, 0, 0))
            if not any(f):
                continue
            groups.setdefault(x["sites"][i]["group"], []).append((f, i))
        out = []
        for gid, paths in groups.items():
            paths.sort(key=lambda p: (-p[0][0], -p[0][1], p[1]))
            rep = paths[0][1]
            for f, i in paths:
                if f[0] > per_stack[rep][0]:
                    rep = i
            tot = [sum(p[0][k] for p in paths) for k in range(4)]
            out.append((tot, gid, rep, len(paths)))
        out.sort(key=lambda e: (-e[0][0], -e[0][1], e[1]))
        return out

    def site_sizes(gid, per_stack):
        """A site's requested sizes: its stacks' histograms added bucket by bucket."""
        if x["sites"][gid].get("sizes") is None:
            return None
        merged_sizes = {}
        for i, st in enumerate(x["sites"]):
            if st["group"] != gid or not any(per_stack.get(i, (0, 0, 0, 0))):
                continue
            for b in st["sizes"]:
                key = (b["min"], b["max"])
                merged_sizes[key] = merged_sizes.get(key, 0) + b["count"]
        return [{"min": lo, "max": hi, "count": n}
                for (lo, hi), n in sorted(merged_sizes.items())]

    def site_json(tot, gid, i, k, allocs=False, per_stack=None):
        e = {"bytes": tot[0], "count": tot[1], "kind": x["sites"][i]["kind"], "stacks": k,
             "frames": [{k2: f[k2] for k2 in ("function", "file", "line", "module",
                                              "address")}
                        for f in x["sites"][i]["frames"]]}
        if allocs:
            e.update(allocations=tot[2], temporary=tot[3])
        if per_stack is not None:
            e["sizes"] = site_sizes(gid, per_stack)
        return e

    heap = [i for i in range(len(x["sites"])) if x["sites"][i]["kind"] == "heap"]
    calls = sum(state.get(i, (0, 0, 0, 0))[2] for i in heap)
    temp = sum(state.get(i, (0, 0, 0, 0))[3] for i in heap)
    sized = [s["sizes"] for s in snaps if s.get("sizes")]
    sizes = []
    if sized:
        for k, n in enumerate(sized[-1]):
            if n:
                lo = 1 << (k - 1) if k else 0
                hi = 0 if k == 0 else (1 << 64) - 1 if k == 64 else (1 << k) - 1
                sizes.append({"min": lo, "max": hi, "count": n})
    v2 = x.get("log_version", 1) >= 2

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
        "peak_sites": [site_json(*e, per_stack=at_peak) for e in merged(at_peak)],
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
            "events": [{"kind": e["kind"], "t_s": round(e["t_ns"] / 1e9, 3), "bytes": e["bytes"],
                        "request": e.get("request") if v2 else None}
                       for e in x["events"]],
        },
        "swapped": [{"path": w["path"], "bytes": w["bytes"], "mode": w["mode"],
                     "t_s": round(w["t_ns"] / 1e9, 3)} for w in x["swapped"]],
        "estimated": x["sampled"],
        "allocations": {"calls": calls, "temporary": temp if v2 else None},
        "sizes": sizes,
        "sites": [site_json(*e, allocs=True, per_stack=state) for e in merged(state)],
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
