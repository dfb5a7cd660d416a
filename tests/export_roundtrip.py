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

    # replay the delta-encoded snapshots into per-site state
    state = {}
    for s in snaps:
        for c in s["changes"]:
            state[c["site"]] = (c["live_bytes"], c["live_count"])
    live = [(b, n, i) for i, (b, n) in state.items() if b or n]
    live.sort(key=lambda e: (-e[0], e[2]))
    r = {
        "pid": proc["pid"],
        "ppid": proc["ppid"],
        "command": proc["command"],
        "exe": proc["exe"],
        "snapshots": len(snaps),
        "duration_s": round(last["t_ns"] / 1e9, 3),
        "peak": {
            "bytes": max(s["peak_tracked"] for s in snaps),
            "heap_bytes": max(s["peak_heap"] for s in snaps),
            "mapped_bytes": max(s["peak_mapped"] for s in snaps),
        },
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
        "sites": [{"bytes": b, "count": n, "kind": x["sites"][i]["kind"],
                   "frames": [{k: f[k] for k in ("function", "file", "line", "module",
                                                 "address")}
                              for f in x["sites"][i]["frames"]]}
                  for b, n, i in live],
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
