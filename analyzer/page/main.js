/* main.js: reads the embedded data (one entry per process), keeps what the reader chose
 * (process, site, flame graph view and zoom, sort, opened rows) and draws each part. */
'use strict';
AG.data = JSON.parse(document.getElementById('ag-data').textContent);
AG.st = { proc: 0, sel: -1, view: 'peak', focus: null, sort: 'rank', open: new Set(), all: false };

AG.proc = function () { return AG.data[AG.st.proc]; };

/* A log of one snapshot holds its figures from the start to that snapshot: two points. */
AG.widen = function (p) {
  const s = p.series;
  if (s.t.length !== 1) return;
  for (const k in s) s[k] = k === 't' ? [0, Math.max(s.t[0], 1e-3)] : [s[k][0], s[k][0]];
  for (const site of p.sites) if (site.series) site.series = [site.series[0], site.series[0]];
};
AG.data.forEach(AG.widen);

/* A site chosen (a band, a growth row) or, from its own row, chosen or let go (toggle). */
AG.pick = function (i, toggle) {
  AG.st.sel = toggle && AG.st.sel === i ? -1 : i;
  AG.drawAll();
  const note = document.getElementById('sites-note'), s = AG.proc().sites[AG.st.sel];
  if (s && !s.series) note.textContent = 'this site is past the first sites that carry a series: its figures are in the table only';
};

AG.onFlameZoom = function (node) {
  AG.st.focus = node;
  AG.drawFlameView();
};

AG.drawHeader = function (p) {
  document.getElementById('title').textContent = 'allocguard: ' + p.command + ' (pid ' + p.pid + ')';
  const parts = ['peak ' + AG.bytes(p.peak.bytes) + ' tracked', 'final ' + AG.bytes(p.final.bytes) + ' (' + p.final.reason + ')',
    p.snapshots + ' snapshot' + (p.snapshots === 1 ? '' : 's') + ' over ' + p.duration_s.toFixed(3) + ' s',
    p.cap.bytes ? 'cap ' + AG.bytes(p.cap.bytes) + ', ' + p.cap.events.length + ' event' + (p.cap.events.length === 1 ? '' : 's') : 'no cap'];
  if (p.sampled) parts.push('sampled: site figures are estimates');
  document.getElementById('subtitle').textContent = parts.join(' · ') + ' — from ' + p.log;
  document.querySelectorAll('section.texts').forEach((s) => { s.hidden = Number(s.dataset.pid) !== p.pid; });
};

AG.drawFlameView = function () {
  const p = AG.proc(), box = document.getElementById('views');
  AG.clear(box);
  for (const v of AG.VIEWS) {
    const ok = AG.hasView(p, v.id);
    box.appendChild(AG.el('button', { role: 'tab', 'data-view': v.id, 'aria-selected': String(AG.st.view === v.id),
      disabled: ok ? null : 'disabled', title: ok ? null : 'this log does not record ' + v.label,
      text: v.id === 'peak' && !p.peak_exact ? 'live at the snapshot holding the most' : v.label,
      onclick: () => { AG.st.view = v.id; AG.st.focus = null; AG.drawFlameView(); } }));
  }
  const view = AG.VIEWS.find((v) => v.id === AG.st.view);
  document.getElementById('flame-note').textContent = view.id === 'calls'
    ? 'allocation calls: how often each path allocated (who hammers the allocator, not who holds memory)'
    : view.id === 'temporary' ? 'allocations freed by the same thread before its next allocation'
      : p.sampled ? 'sampled: bytes are estimates' : '';
  AG.drawFlame(document.getElementById('flame-graph'), document.getElementById('flame-info'), p, view, AG.st.focus);
};

AG.drawAll = function () {
  const p = AG.proc(), names = AG.names(p.sites);
  AG.drawHeader(p);
  AG.drawTracked(document.getElementById('chart'), p, AG.st.sel, names);
  AG.drawBands(document.getElementById('bands'), p, AG.st.sel, names, AG.pick);
  AG.drawSites(document.getElementById('site-table'), p, AG.st, AG.pick);
  AG.drawGrowth(document.getElementById('growth-table'), document.getElementById('growth-note'), p, AG.st, AG.pick);
  const note = document.getElementById('sites-note');
  note.textContent = p.sites.length + ' sites' + (p.other.peak || p.other.last || p.other.calls
    ? '; the smallest stacks are left out of the page and summed in the flame graphs' : '');
  document.body.dataset.selected = AG.st.sel;
};

AG.start = function () {
  const sel = document.getElementById('proc');
  if (AG.data.length > 1) {
    /* the process that held the most first */
    AG.data.forEach((p, i) => { if (p.peak.bytes > AG.data[AG.st.proc].peak.bytes) AG.st.proc = i; });
    document.getElementById('proc-pick').hidden = false;
    AG.data.forEach((p, i) => sel.appendChild(AG.el('option', { value: i, text: p.command + ' (pid ' + p.pid + ')' })));
    sel.value = AG.st.proc;
    sel.addEventListener('change', () => {
      Object.assign(AG.st, { proc: Number(sel.value), sel: -1, focus: null, open: new Set(), all: false });
      AG.drawAll();
      AG.drawFlameView();
    });
  }
  AG.drawAll();
  AG.drawFlameView();
  document.body.dataset.ready = '1';
};

AG.start();
