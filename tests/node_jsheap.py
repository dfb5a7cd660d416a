#!/usr/bin/env python3
"""node_jsheap.py: checks on the analyzer's JSON for node's JS heap (test_node_jsheap.c).
usage: node_jsheap.py ALLOCGUARD LOG CHECK [NAME]
  steepest NAME     growth: the first growing site names NAME
  growing NAME      growth: a growing site names NAME
  not-growing NAME  growth: the site NAME names is not growing
  first-peak NAME   report: the first peak site names NAME
  js-site NAME      report: a site of kind js names NAME (at the peak or at the end)
  named-top5        report: none of the five largest peak sites is unnamed frames only
Exit 0 when the check holds, 1 with a line saying why not."""
import json
import subprocess
import sys


def names(entry):
    """The function a site is named by: its site frame, else its first frame with a source
    (the analyzer before one site per function: frames innermost first, builtins without
    a file)."""
    if isinstance(entry.get('site'), dict):
        return entry['site'].get('function')
    for f in entry.get('frames', []):
        if f.get('file'):
            return f.get('function')
    fr = entry.get('frames') or [{}]
    return fr[0].get('function')


def run(ag, what, log):
    out = subprocess.run([ag, what, '--json', log], capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


def main():
    ag, log, check = sys.argv[1:4]
    name = sys.argv[4] if len(sys.argv) > 4 else None
    if check in ('steepest', 'growing', 'not-growing'):
        sites = run(ag, 'growth', log)['sites']
        growing = [s for s in sites if s['verdict'] == 'growing']
        shown = ', '.join(f"{names(s)} {s['verdict']} {s['slope_bytes_per_s']:.0f} B/s"
                          for s in sites[:6])
        if check == 'steepest':
            ok = bool(growing) and names(growing[0]) == name
        elif check == 'growing':
            ok = any(names(s) == name for s in growing)
        else:
            # the function's site (before one site per function: its largest stack)
            mine = [s for s in sites if names(s) == name]
            top = max(mine, key=lambda s: s['peak_bytes']) if mine else None
            ok = not top or top['verdict'] != 'growing'
        why = f'growth: {shown}'
    else:
        rep = run(ag, 'report', log)
        peak = rep.get('peak_sites', [])
        shown = ', '.join(f"{names(s)} {s.get('kind')} {s['bytes']}" for s in peak[:6])
        if check == 'first-peak':
            ok = bool(peak) and names(peak[0]) == name
        elif check == 'js-site':
            ok = any(s.get('kind') == 'js' and names(s) == name
                     for s in peak + rep.get('sites', []))
        else:
            ok = all(any(f.get('function') for f in s.get('frames', [])) for s in peak[:5])
        why = f'peak_sites: {shown}'
    if not ok:
        print(f'{check} {name or ""}: no; {why}')
    return 0 if ok else 1


if __name__ == '__main__':
    sys.exit(main())
