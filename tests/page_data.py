#!/usr/bin/env python3
"""page_data.py: the data a page of `allocguard plot -o FILE.html` embeds, read back and
compared with what `report --json` and `growth --json` say of the same log (test_page.c).
  page_data.py PAGE.html REPORT.json GROWTH.json
Prints one line per mismatch and exits 1 when there is one; 0 and a summary line otherwise."""
import json
import re
import sys

bad = []


def expect(ok, what):
    if not ok:
        bad.append(what)


def embedded(path):
    html = open(path, encoding='utf-8').read()
    m = re.search(r'<script type="application/json" id="ag-data">(.*?)</script>', html, re.S)
    if not m:
        sys.exit('no embedded data in ' + path)
    return json.loads(m.group(1))


def functions(site):
    return {f.get('function') for f in site.get('frames', [])} | (
        {site['site'].get('function')} if site.get('site') else set())


def where(frame):
    return frame and (frame.get('function'), frame.get('file'), frame.get('line'))


def peak_rows(page, rep):
    """Page sites holding anything at the peak against report's rows there, in order."""
    mine = [s for s in page['sites'] if s['peak'] or s['peak_count']]
    theirs = rep['peak_sites']
    expect(len(mine) == len(theirs), 'peak: %d sites on the page, %d in report' % (len(mine), len(theirs)))
    for i, (a, b) in enumerate(zip(mine, theirs)):
        expect((a['peak'], a['peak_count'], a['kind']) == (b['bytes'], b['count'], b['kind']),
               'peak row %d: page %s %d B %d blocks, report %d B %d blocks' %
               (i, a['label'], a['peak'], a['peak_count'], b['bytes'], b['count']))
        if 'site' in b:
            expect(where(a['site']) == where(b['site']), 'peak row %d: page site %s, report %s' %
                   (i, where(a['site']), where(b['site'])))
            held = sum(1 for k in a['paths'] if page['stacks'][k]['peak'] or page['stacks'][k]['peak_count'])
            expect(held == b.get('stacks', held) or page['other']['peak'],
                   'peak row %d: %d paths hold anything at the peak, report %s' % (i, held, b.get('stacks')))
        elif a.get('site') and a['site'].get('function'):
            expect(a['site']['function'] in functions(b),
                   'peak row %d: page site %s is not in report frames %s' % (i, a['site']['function'], functions(b)))


def end_rows(page, rep):
    """Every site at the end (live, calls, temporary) against report's sites, as sets (the
    page orders by the peak)."""
    tmp = page.get('temporary')
    mine = sorted((s['last'], s['last_count'], s['calls'], s.get('temporary', 0), str(where(s['site'])))
                  for s in page['sites'] if s['last'] or s['last_count'] or s['calls'] or s.get('temporary'))
    theirs = sorted((s['bytes'], s['count'], s.get('allocations', 0), (s.get('temporary') or 0) if tmp else 0,
                     str(where(s.get('site')))) for s in rep['sites'])
    if theirs and 'allocations' not in rep['sites'][0]:   # a report of live sites only
        mine = sorted(m[:2] for m in mine if m[0] or m[1])
        theirs = sorted(t[:2] for t in theirs)
    expect(mine == theirs, 'sites at the end differ:\n  page   %s\n  report %s' % (mine[:6], theirs[:6]))
    if 'allocations' in rep and rep['allocations'].get('calls') is not None:
        calls = sum(s['calls'] for s in page['sites'] if s['kind'] == 'heap')
        expect(calls == rep['allocations']['calls'], 'heap calls %d, report %d' % (calls, rep['allocations']['calls']))


def flame_totals(page, rep):
    for view, rep_key in (('peak', 'peak_sites'), ('last', 'sites')):
        total = sum(s[view] for s in page['stacks']) + page['other'][view]
        want = sum(s['bytes'] for s in rep[rep_key])
        expect(total == want, 'flame %s adds up to %d, report %s to %d' % (view, total, rep_key, want))
    for s in page['sites']:
        for view in ('peak', 'last', 'calls'):
            got = sum(page['stacks'][k][view] for k in s['paths'])
            expect(got == s[view] or page['other'][view],
                   'site %s: paths add up to %d %s, the site %d' % (s['label'], got, view, s[view]))
        if s['series'] is not None:
            expect(len(s['series']) == len(page['series']['t']), 'site %s: series length' % s['label'])
            expect(s['series'][-1] == s['last'], 'site %s: series ends at %d, the site at %d' %
                   (s['label'], s['series'][-1], s['last']))


def growth(page, gr):
    mine = page['growth']['sites']
    theirs = gr['sites']
    expect(len(mine) == min(len(theirs), 500), 'growth: %d rows on the page, %d in growth' % (len(mine), len(theirs)))
    for i, (a, b) in enumerate(zip(mine, theirs)):
        expect(a['verdict'] == b['verdict'] and abs(a['slope_bytes_per_s'] - b['slope_bytes_per_s']) <= 0.1 +
               1e-6 * abs(b['slope_bytes_per_s']) and a['last_bytes'] == b['last_bytes'],
               'growth row %d: page %s %.1f B/s, growth %s %.1f B/s' %
               (i, a['verdict'], a['slope_bytes_per_s'], b['verdict'], b['slope_bytes_per_s']))
        expect(a['row'] is None or 0 <= a['row'] < len(page['sites']), 'growth row %d: no such site' % i)


def main():
    pages = embedded(sys.argv[1])
    rep = json.load(open(sys.argv[2]))
    gr = json.load(open(sys.argv[3]))
    expect(len(pages) == 1, '%d processes on the page' % len(pages))
    page = pages[0]
    expect(page['pid'] == rep['pid'], 'pid %s, report %s' % (page['pid'], rep['pid']))
    expect(page['peak']['bytes'] == rep['peak']['bytes'], 'peak %d, report %d' % (page['peak']['bytes'], rep['peak']['bytes']))
    expect(page['cap']['bytes'] == rep['cap']['bytes'], 'cap')
    expect([(e['kind'], e['bytes']) for e in page['cap']['events']] ==
           [(e['kind'], e['bytes']) for e in rep['cap']['events']], 'cap events differ')
    expect(page['series']['tracked'][-1] == rep['final']['bytes'], 'the tracked series does not end at final')
    expect(max(page['series']['peak']) == rep['peak']['bytes'], 'the peak so far does not reach the peak')
    peak_rows(page, rep)
    end_rows(page, rep)
    flame_totals(page, rep)
    growth(page, gr)
    labels = [s['label'] for s in page['sites']]
    for line in bad:
        print('FAIL ' + line)
    if bad:
        sys.exit(1)
    print('ok: %d sites, %d stacks, %d growth rows; first site %s' %
          (len(page['sites']), len(page['stacks']), len(page['growth']['sites']), labels[0] if labels else '-'))


main()
