/* chart.js: the tracked bytes over time (with heap, mapped, swapped, the peak so far, the
 * warn, critical and cap lines and the cap events), the chosen site's own series on it, and
 * below, the live bytes of the top sites stacked: one band per row of the site table
 * (report's rows, in its order) and the rest as "other sites". */
'use strict';
AG.BANDS = 8;
AG.CAP_ZOOM = 4;   /* a cap this many times above the peak would flatten the curve */

AG.frame = function (w, h, pad) {
  return { w, h, l: pad.l, r: pad.r, t: pad.t, b: pad.b, iw: w - pad.l - pad.r, ih: h - pad.t - pad.b };
};

/* Axes of a panel: bytes up to ymax, time up to tmax. */
AG.axes = function (g, f, ymax, tmax, title) {
  const [unit, uname] = AG.byteUnit(ymax), ys = AG.step(ymax, unit);
  for (let v = 0; v <= ymax * 1.0001; v += ys) {
    const y = f.t + f.ih - v / ymax * f.ih;
    g.appendChild(AG.svg('line', { class: 'grid', x1: f.l, x2: f.l + f.iw, y1: y, y2: y }));
    g.appendChild(AG.svg('text', { x: f.l - 6, y: y + 4, 'text-anchor': 'end',
      text: v ? +(v / unit).toFixed(2) + ' ' + uname : '0' }));
  }
  const tu = tmax < 2 ? 0.001 : 1, ts = AG.step(tmax, tu);
  for (let t = 0; t <= tmax * 1.0001; t += ts)
    g.appendChild(AG.svg('text', { x: f.l + t / tmax * f.iw, y: f.t + f.ih + 15, 'text-anchor': 'middle',
      text: +(t / tu).toFixed(3) + (tu < 1 ? ' ms' : ' s') }));
  g.appendChild(AG.svg('line', { class: 'axis-line', x1: f.l, x2: f.l + f.iw, y1: f.t + f.ih, y2: f.t + f.ih }));
  g.appendChild(AG.svg('text', { x: f.l, y: f.t - 8, 'font-weight': 'bold', text: title }));
};

AG.path = function (f, t, y, tmax, ymax) {
  let d = '';
  for (let i = 0; i < t.length; i++)
    d += (i ? 'L' : 'M') + (f.l + t[i] / tmax * f.iw).toFixed(1) + ' ' + (f.t + f.ih - y[i] / ymax * f.ih).toFixed(1);
  return d;
};

/* Legend rows at the right of a panel; a label is never written twice.  A long label is
 * cut at " from " onto a second line, so what tells two sites apart stays in sight. */
AG.legend = function (g, f, items) {
  const seen = new Set(), cut = (t) => (t.length > 40 ? t.slice(0, 39) + '…' : t);
  let y = f.t + 8;
  for (const it of items) {
    if (seen.has(it.label)) continue;
    seen.add(it.label);
    const x = f.l + f.iw + 16, at = it.label.indexOf(' from ');
    const lines = at > 0 && it.label.length > 40 ? [it.label.slice(0, at), it.label.slice(at + 1)] : [it.label];
    const li = AG.svg('g', { class: 'legend-item', 'data-label': it.label }, [AG.svg('title', { text: it.label })]);
    if (it.dot) li.appendChild(AG.svg('circle', { cx: x + 9, cy: y - 4, r: 4.5, fill: it.color }));
    else li.appendChild(AG.svg('line', { x1: x, x2: x + 18, y1: y - 4, y2: y - 4, stroke: it.color,
      'stroke-width': it.width || 2, 'stroke-dasharray': it.dash }));
    lines.forEach((t, k) => li.appendChild(AG.svg('text', { x: x + 24 + (k ? 8 : 0), y: y + k * 13, text: cut(t) })));
    g.appendChild(li);
    y += 18 + (lines.length - 1) * 13;
  }
};

AG.thresholds = function (p) {
  const c = p.cap, peak = p.peak.bytes || 1;
  if (!c.bytes || c.bytes > AG.CAP_ZOOM * peak) return [];
  return [
    { id: 'warn', label: 'warn ' + c.warn_pct + '%', bytes: Math.floor(c.bytes / 100) * c.warn_pct, color: '#c9a400', dash: '6 4' },
    { id: 'critical', label: 'critical ' + c.critical_pct + '%', bytes: Math.floor(c.bytes / 100) * c.critical_pct, color: '#e07000', dash: '6 4' },
    { id: 'cap', label: 'cap', bytes: c.bytes, color: '#c00000' },
  ];
};

AG.EVENT_COLOR = { warn: '#c9a400', critical: '#e07000', cap: '#c00000' };

AG.drawTracked = function (box, p, sel, names) {
  const s = p.series, f = AG.frame(1200, 330, { l: 80, r: 250, t: 26, b: 24 });
  const tmax = Math.max(1e-3, s.t[s.t.length - 1] || 0, ...p.cap.events.map((e) => e.t_s));
  const th = AG.thresholds(p), site = sel >= 0 ? p.sites[sel] : null;
  let ymax = Math.max(p.peak.bytes, ...s.tracked, ...th.map((x) => x.bytes), ...(site && site.series ? site.series : [0]));
  ymax = ymax > 0 ? ymax * 1.08 : 1024;
  const svg = AG.svg('svg', { id: 'chart-tracked', viewBox: '0 0 ' + f.w + ' ' + f.h, width: f.w, 'data-peak': p.peak.bytes });
  AG.axes(svg, f, ymax, tmax, 'tracked bytes at each snapshot');
  const items = [];
  for (const x of th) {
    const y = f.t + f.ih - x.bytes / ymax * f.ih;
    svg.appendChild(AG.svg('line', { id: 'line-' + x.id, class: 'threshold', 'data-bytes': x.bytes, x1: f.l, x2: f.l + f.iw,
      y1: y, y2: y, stroke: x.color, 'stroke-width': 1.5, 'stroke-dasharray': x.dash }));
    items.push({ label: x.label + ' ' + AG.bytes(x.bytes), color: x.color, dash: x.dash, width: 1.5 });
  }
  const lines = [
    { id: 'tracked', label: 'tracked (total)', y: s.tracked, color: '#222', width: 2.5 },
    { id: 'heap', label: 'heap', y: s.heap, color: '#1f77b4', width: 1 },
    { id: 'mapped', label: 'mapped', y: s.mapped, color: '#ff7f0e', width: 1 },
    { id: 'swapped', label: 'swapped files', y: s.swapped, color: '#2ca02c', width: 1 },
    { id: 'peak', label: 'peak so far', y: s.peak, color: '#888', width: 1, dash: '3 3' },
  ].filter((l, i) => i === 0 || l.y.some((v) => v > 0));
  if (site && site.series)
    lines.push({ id: 'site', label: names[sel], y: site.series, color: AG.siteColor(sel), width: 2.5, site: sel });
  for (const l of lines) {
    svg.appendChild(AG.svg('path', { id: 'series-' + l.id, class: 'series', fill: 'none', stroke: l.color,
      'stroke-width': l.width, 'stroke-dasharray': l.dash, 'data-site': l.site, d: AG.path(f, s.t, l.y, tmax, ymax) }));
    items.push(l);
  }
  AG.events(svg, f, p, tmax, ymax, items);
  AG.legend(svg, f, items);
  AG.clear(box).appendChild(svg);
};

AG.events = function (svg, f, p, tmax, ymax, items) {
  const n = {};
  for (const e of p.cap.events) {
    const x = f.l + e.t_s / tmax * f.iw, y = f.t + f.ih - e.bytes / ymax * f.ih, c = AG.EVENT_COLOR[e.kind] || '#c00000';
    const tip = e.kind + ' at ' + e.t_s.toFixed(3) + ' s: ' + AG.bytes(e.bytes) + ' tracked';
    svg.appendChild(AG.svg('g', { class: 'event', 'data-kind': e.kind, 'data-t': e.t_s, 'data-bytes': e.bytes,
      onmousemove: (ev) => AG.tip(ev, tip), onmouseleave: (ev) => AG.tip(ev, null) }, [
      AG.svg('line', { x1: x, x2: x, y1: f.t, y2: f.t + f.ih, stroke: c, 'stroke-dasharray': '2 3' }),
      AG.svg('circle', { cx: x, cy: y, r: 5, fill: c }),
    ]));
    n[e.kind] = (n[e.kind] || 0) + 1;
  }
  for (const k of ['warn', 'critical', 'cap'])
    if (n[k]) items.push({ label: k + ' event' + (n[k] > 1 ? 's' : '') + ' (' + n[k] + ')', color: AG.EVENT_COLOR[k], dot: true });
};

/* The sites drawn as bands: the first rows that hold anything over time. */
AG.bandSites = function (p) {
  const top = [];
  for (let i = 0; i < p.sites.length && top.length < AG.BANDS; i++)
    if (p.sites[i].series && p.sites[i].series.some((v) => v > 0)) top.push(i);
  return top;
};

AG.siteColor = function (i) {
  return i < AG.palette.length ? AG.palette[i] : '#555';
};

/* The top sites stacked: the first rows of the table that hold anything over time. */
AG.drawBands = function (box, p, sel, names, pick) {
  const s = p.series, f = AG.frame(1200, 250, { l: 80, r: 250, t: 26, b: 24 });
  const tmax = Math.max(1e-3, s.t[s.t.length - 1] || 0, ...p.cap.events.map((e) => e.t_s));
  const top = AG.bandSites(p);
  const base = s.t.map(() => 0), bands = [];
  for (const i of top) bands.push({ site: i, label: names[i], y: p.sites[i].series, color: AG.siteColor(i) });
  const other = s.live.map((v, k) => Math.max(0, v - top.reduce((a, i) => a + p.sites[i].series[k], 0)));
  if (other.some((v) => v > 0)) bands.push({ site: -1, label: 'other sites', y: other, color: '#bbb' });
  const ymax = Math.max(1024, ...s.live) * 1.08;
  const svg = AG.svg('svg', { id: 'chart-bands', viewBox: '0 0 ' + f.w + ' ' + f.h, width: f.w });
  AG.axes(svg, f, ymax, tmax, 'live bytes of the top sites (stacked, as the rows of the site table)');
  for (const b of bands) {
    const up = b.y.map((v, k) => base[k] + v);
    const d = AG.path(f, s.t, up, tmax, ymax) + AG.path(f, s.t.slice().reverse(), base.slice().reverse(), tmax, ymax).replace(/^M/, 'L') + 'Z';
    const tip = b.label + ': ' + AG.bytes(Math.max(...b.y)) + ' at most';
    svg.appendChild(AG.svg('path', { class: 'band' + (b.site === sel && sel >= 0 ? ' sel' : ''), 'data-site': b.site,
      'data-label': b.label, fill: b.color, 'fill-opacity': 0.8, d, onclick: () => b.site >= 0 && pick(b.site),
      onmousemove: (ev) => AG.tip(ev, tip), onmouseleave: (ev) => AG.tip(ev, null) }));
    up.forEach((v, k) => { base[k] = v; });
  }
  AG.legend(svg, f, bands.map((b) => ({ label: b.label, color: b.color, width: 8 })));
  svg.querySelectorAll('.legend-item').forEach((li, k) => {
    if (bands[k].site >= 0) li.addEventListener('click', () => pick(bands[k].site));
  });
  AG.clear(box).appendChild(svg);
};
