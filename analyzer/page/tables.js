/* tables.js: the site table (report's rows and order, each row's call paths beneath it on
 * demand, sortable by any column) and the growth verdicts; a click on a row picks its site. */
'use strict';
AG.ROWS = 200;        /* rows drawn before "show all" */
AG.PATHS = 50;        /* call paths drawn under an opened row */
AG.GROWTH_PATHS = 5;  /* paths judged shown under a growth row, steepest first */

AG.siteColumns = function (p) {
  const cols = [
    { key: 'rank', label: '#', get: (s, i) => i + 1, fmt: String, asc: true },
    { key: 'label', label: 'site', cls: 'label' },
    { key: 'kind', label: 'kind', get: (s) => s.kind, fmt: String },
    { key: 'peak', label: p.peak_exact ? 'at the peak' : 'at the most', fmt: AG.bytes },
    { key: 'peak_count', label: 'blocks', fmt: AG.count },
    { key: 'last', label: 'at the end', fmt: AG.bytes },
    { key: 'last_count', label: 'blocks', fmt: AG.count },
    { key: 'most', label: 'most live', fmt: AG.bytes },
    { key: 'calls', label: 'allocations', fmt: AG.count },
  ];
  if (AG.hasView(p, 'temporary')) cols.push({ key: 'temporary', label: 'temporary', fmt: AG.count });
  cols.push({ key: 'verdict', label: 'growth', get: (s, i) => AG.verdictOf(p, i) || '', fmt: String });
  return cols;
};

/* The site's verdict; "path growing" when a path of it grows though the site does not. */
AG.verdictOf = function (p, row) {
  const g = p.growth.sites.find((x) => x.row === row);
  return g ? (g.hidden ? 'path growing' : g.verdict) : null;
};

/* A path's own verdict (growth judges each path of a site of several). */
AG.pathVerdict = function (p, stack) {
  for (const g of p.growth.sites)
    for (const t of g.paths) if (t.stack === stack) return t.verdict;
  return null;
};

AG.drawSites = function (table, p, st, pick) {
  const cols = AG.siteColumns(p), col = cols.find((c) => c.key === st.sort) || cols[0];
  const val = (i) => (col.get ? col.get(p.sites[i], i) : p.sites[i][col.key]);
  const order = p.sites.map((s, i) => i);
  if (col.key !== 'rank')
    order.sort((a, b) => (typeof val(a) === 'number' ? val(b) - val(a) : String(val(a)).localeCompare(String(val(b)))) || a - b);
  st.bands = AG.bandSites(p);
  AG.clear(table);
  table.appendChild(AG.el('thead', {}, [AG.el('tr', {}, [AG.el('th', {}),
    ...cols.map((c) => AG.el('th', { class: (c.cls || '') + (c === col ? ' sorted' : ''), 'data-key': c.key, text: c.label,
      onclick: () => { st.sort = c.key; AG.drawSites(table, p, st, pick); } }))])]));
  const body = AG.el('tbody');
  const n = st.all ? order.length : Math.min(order.length, AG.ROWS);
  for (const i of order.slice(0, n)) {
    body.appendChild(AG.siteRow(p, i, cols, st, pick, () => AG.drawSites(table, p, st, pick)));
    if (st.open.has(i)) AG.pathRows(body, p, i, cols);
  }
  if (n < order.length)
    body.appendChild(AG.el('tr', {}, [AG.el('td', { colspan: cols.length + 1, class: 'label' }, [AG.el('button', {
      text: 'show all ' + order.length + ' sites', onclick: () => { st.all = true; AG.drawSites(table, p, st, pick); } })])]));
  table.appendChild(body);
};

AG.siteRow = function (p, i, cols, st, pick, redraw) {
  const s = p.sites[i], open = st.open.has(i);
  const toggle = AG.el('button', { class: 'toggle', 'aria-expanded': open, title: s.paths.length + ' call path(s)',
    text: s.paths.length ? (open ? '▾' : '▸') : '', onclick: (ev) => {
      ev.stopPropagation();
      if (open) st.open.delete(i); else st.open.add(i);
      redraw();
    } });
  const cells = cols.map((c) => {
    if (c.key === 'label') {
      const kids = [AG.el('span', { class: 'swatch', style: 'background:' + (st.bands.includes(i) ? AG.siteColor(i) : 'transparent') }),
        AG.el('span', { class: 'name', text: s.label })];
      if (s.npaths > 1)
        kids.push(AG.el('div', { class: 'from', text: s.npaths + ' call paths (▸ shows them)' }));
      else
        for (const from of (s.shown || []).slice(1)) kids.push(AG.el('div', { class: 'from', text: 'from ' + from }));
      return AG.el('td', { class: 'label' }, kids);
    }
    const v = c.get ? c.get(s, i) : s[c.key];
    if (c.key === 'verdict')
      return AG.el('td', {}, v ? [AG.el('span', { class: 'verdict ' + v.split(' ').pop(), text: v })] : []);
    return AG.el('td', { text: c.fmt(v) });
  });
  return AG.el('tr', { class: 'site' + (st.sel === i ? ' sel' : ''), 'data-site': i, onclick: () => pick(i, true) },
    [AG.el('td', {}, [toggle]), ...cells]);
};

/* An opened site's requested sizes: one bar per bucket, as wide as its share of the calls. */
AG.sizeRow = function (p, i, cols) {
  const z = p.sites[i].sizes, total = (z || []).reduce((a, b) => a + b[1], 0);
  if (!total) return null;
  const bars = z.map(([k, n]) => AG.el('div', { class: 'bar', 'data-bucket': k }, [
    AG.el('span', { class: 'range', text: AG.bucket(k) }),
    AG.el('span', { class: 'fill', style: 'width:' + Math.max(1, Math.round(200 * n / total)) + 'px' }),
    AG.el('span', { class: 'n', text: AG.count(n) + ' (' + (100 * n / total).toFixed(n < total / 100 ? 1 : 0) + '%)' })]));
  return AG.el('tr', { class: 'sizes', 'data-site': i }, [AG.el('td'), AG.el('td', { colspan: cols.length, class: 'label' }, [
    AG.el('div', { class: 'from', text: 'requested sizes' + (p.sampled ? ' (estimated)' : '') }), ...bars])]);
};

/* The call paths of site i: each stack that reaches it, innermost frame first. */
AG.pathRows = function (body, p, i, cols) {
  const paths = p.sites[i].paths, sizes = AG.sizeRow(p, i, cols);
  if (sizes) body.appendChild(sizes);
  paths.slice(0, AG.PATHS).forEach((k, n) => {
    const s = p.stacks[k], frames = s.f.map((x) => p.names[x]).reverse();
    const cells = cols.map((c) => {
      if (c.key === 'rank') return AG.el('td', { text: 'path ' + (n + 1) });
      if (c.key === 'label') return AG.el('td', { class: 'label' }, [AG.el('ol', {}, frames.map((f) => AG.el('li', { text: f })))]);
      if (c.key === 'verdict') {
        const v = AG.pathVerdict(p, k);
        return AG.el('td', {}, v ? [AG.el('span', { class: 'verdict ' + v, text: v })] : []);
      }
      if (c.key === 'kind') return AG.el('td');
      return AG.el('td', { text: c.fmt(s[c.key]) });
    });
    body.appendChild(AG.el('tr', { class: 'path', 'data-site': i, 'data-stack': k }, [AG.el('td'), ...cells]));
  });
  if (paths.length > AG.PATHS)
    body.appendChild(AG.el('tr', { class: 'path' }, [AG.el('td'), AG.el('td', { colspan: cols.length, class: 'label',
      text: '… and ' + (paths.length - AG.PATHS) + ' more paths' })]));
};

AG.drawGrowth = function (table, note, p, st, pick) {
  const g = p.growth;
  note.textContent = g.sites.length ? 'judged on ' + g.snapshots + ' snapshots over ' + g.duration_s.toFixed(3) +
    ' s; steepest first' : 'no site held memory at the snapshots read';
  AG.clear(table);
  if (!g.sites.length) return;
  const head = ['verdict', 'slope', 'first', 'last', 'most', 'site'];
  table.appendChild(AG.el('thead', {}, [AG.el('tr', {}, head.map((h) => AG.el('th', { text: h, class: h === 'site' ? 'label' : '' })))]));
  const body = AG.el('tbody');
  for (const s of g.sites) {
    const label = s.row !== null ? p.sites[s.row].label : s.label;
    body.appendChild(AG.el('tr', { class: 'site growth-row' + (s.row !== null && s.row === st.sel ? ' sel' : ''),
      'data-site': s.row === null ? -1 : s.row, onclick: () => s.row !== null && pick(s.row) },
    AG.trendCells(s, [AG.el('span', { text: label }),
      s.hidden ? AG.el('div', { class: 'from', text: 'a path of it grows, though the site as a whole does not' }) : null])));
    if (s.paths.length > 1)
      s.paths.slice(0, AG.GROWTH_PATHS).forEach((t, k) => body.appendChild(AG.el('tr', { class: 'path growth-path' },
        AG.trendCells(t, [AG.el('span', { class: 'from', text: 'path ' + (k + 1) + ': ' +
          (t.stack === null ? '(left out of the page)' : p.stacks[t.stack].f.map((x) => p.names[x]).reverse().join(' ← ')) })]))));
    if (s.paths.length > AG.GROWTH_PATHS)
      body.appendChild(AG.el('tr', { class: 'path growth-path' }, [AG.el('td', { colspan: 6, class: 'label from',
        text: '… and ' + (s.paths.length - AG.GROWTH_PATHS) + ' more paths, each judged (the site\'s row in the table shows them)' })]));
  }
  table.appendChild(body);
};

/* A judged series as table cells: verdict, slope, first, last, most, then what it is. */
AG.trendCells = function (t, what) {
  return [AG.el('td', {}, [AG.el('span', { class: 'verdict ' + t.verdict, text: t.verdict })]),
    AG.el('td', { text: AG.rate(t.slope_bytes_per_s) }), AG.el('td', { text: AG.bytes(t.first_bytes) }),
    AG.el('td', { text: AG.bytes(t.last_bytes) }), AG.el('td', { text: AG.bytes(t.peak_bytes) }),
    AG.el('td', { class: 'label' }, what)];
};
