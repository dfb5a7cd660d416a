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


def rows(page, rep, key, count_key, rep_key):
    """Page sites holding anything at the peak (or the end) against report's rows."""
    mine = [s for s in page['sites'] if s[key] or s[count_key]]
    theirs = rep[rep_key]
    expect(len(mine) == len(theirs), '%s: %d sites on the page, %d in report' % (rep_key, len(mine), len(theirs)))
    if key == 'last':   # report breaks ties of the end by another order: compare as sets
        mine = sorted(mine, key=lambda s: (-s['last'], -s['last_count'], s['label']))
        expect(sorted((s['last'], s['last_count']) for s in mine) ==
               sorted((s['bytes'], s['count']) for s in theirs), 'sites at the end differ')
        return
    for i, (a, b) in enumerate(zip(mine, theirs)):
        expect((a[key], a[count_key], a['kind']) == (b['bytes'], b['count'], b['kind']),
               '%s row %d: page %s %d B %d blocks, report %d B %d blocks' %
               (rep_key, i, a['label'], a[key], a[count_key], b['bytes'], b['count']))
        if a.get('site') and a['site'].get('function'):
            expect(a['site']['function'] in functions(b),
                   '%s row %d: page site %s is not in report frames %s' % (rep_key, i, a['site']['function'], functions(b)))


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
    rows(page, rep, 'peak', 'peak_count', 'peak_sites')
    rows(page, rep, 'last', 'last_count', 'sites')
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
