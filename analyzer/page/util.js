/* util.js: what the page's scripts share: numbers as people read them, building DOM and
 * SVG nodes (text always as text, never as markup), the tooltip, and site labels made
 * unique so no legend repeats one. */
'use strict';
const AG = {};

AG.bytes = function (v) {
  const u = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  v = Number(v) || 0;
  while (Math.abs(v) >= 1024 && i < u.length - 1) { v /= 1024; i++; }
  return (i ? v.toFixed(1) : String(Math.round(v))) + ' ' + u[i];
};

/* Bucket k of a size histogram holds [2^(k-1), 2^k - 1] (bucket 0: size 0), named as
 * report names it: "32-63 B", "4-8 KiB" (from the first figure to under the second). */
AG.bucket = function (k) {
  const u = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB', 'EiB'];
  if (k <= 1) return k + ' B';
  if (k <= 10) return 2 ** (k - 1) + '-' + (2 ** k - 1) + ' B';
  const ul = Math.floor((k - 1) / 10), uh = Math.min(6, Math.floor(k / 10));
  const lo = 2 ** (k - 1 - 10 * ul), hi = 2 ** (k - 10 * uh);
  return ul === uh ? lo + '-' + hi + ' ' + u[uh] : lo + ' ' + u[ul] + '-' + hi + ' ' + u[uh];
};

AG.count = function (v) {
  return (Number(v) || 0).toLocaleString('en-US');
};

AG.rate = function (v) {
  return (v < 0 ? '-' : '') + AG.bytes(Math.abs(v)) + '/s';
};

AG.el = function (tag, attrs, kids) {
  const e = document.createElement(tag);
  AG.fill(e, attrs, kids);
  return e;
};

AG.svg = function (tag, attrs, kids) {
  const e = document.createElementNS('http://www.w3.org/2000/svg', tag);
  AG.fill(e, attrs, kids);
  return e;
};

AG.fill = function (e, attrs, kids) {
  for (const k in attrs || {}) {
    if (attrs[k] === undefined || attrs[k] === null) continue;
    if (k === 'text') e.textContent = attrs[k];
    else if (k.startsWith('on')) e.addEventListener(k.slice(2), attrs[k]);
    else e.setAttribute(k, attrs[k]);
  }
  for (const c of kids || []) if (c) e.appendChild(typeof c === 'string' ? document.createTextNode(c) : c);
};

AG.clear = function (e) {
  while (e.firstChild) e.removeChild(e.firstChild);
  return e;
};

AG.tip = function (ev, text) {
  let t = document.getElementById('tip');
  if (!t) { t = AG.el('div', { id: 'tip' }); document.body.appendChild(t); }
  if (!text) { t.style.display = 'none'; return; }
  t.textContent = text;
  t.style.display = 'block';
  t.style.left = Math.min(ev.clientX + 12, window.innerWidth - 620) + 'px';
  t.style.top = (ev.clientY + 14) + 'px';
};

/* A round axis step near span/5: 1, 2 or 5 times a power of ten of the unit. */
AG.step = function (span, unit) {
  const raw = span / unit / 5 || 1, mag = Math.pow(10, Math.floor(Math.log10(raw)));
  const f = raw / mag;
  return (f < 1.5 ? 1 : f < 3.5 ? 2 : f < 7.5 ? 5 : 10) * mag * unit;
};

AG.byteUnit = function (max) {
  return max >= 2 * 1024 ** 3 ? [1024 ** 3, 'GiB'] : max >= 2 * 1024 ** 2 ? [1024 ** 2, 'MiB']
    : max >= 2048 ? [1024, 'KiB'] : [1, 'B'];
};

/* Each site's name for legends and rows: its label, and when another site reads the same,
 * the first of its shown frames that tells them apart ("from caller (x.c:12)"). */
AG.names = function (sites) {
  const by = new Map();
  sites.forEach((s, i) => {
    const k = s.label;
    if (!by.has(k)) by.set(k, []);
    by.get(k).push(i);
  });
  const out = sites.map((s) => s.label);
  for (const idx of by.values()) {
    if (idx.length < 2) continue;
    for (const i of idx) {
      const shown = sites[i].shown || [];
      let j = 1;
      for (; j < shown.length; j++)
        if (idx.some((o) => o !== i && (sites[o].shown || [])[j] !== shown[j])) break;
      out[i] = j < shown.length ? sites[i].label + ' from ' + shown[j] : out[i];
    }
    const seen = new Map();   /* still equal (the same shown frames): numbered */
    for (const i of idx) {
      const n = (seen.get(out[i]) || 0) + 1;
      seen.set(out[i], n);
      if (n > 1) out[i] += ' #' + n;
    }
  }
  return out;
};

AG.palette = ['#d62728', '#1f77b4', '#2ca02c', '#9467bd', '#ff7f0e', '#8c564b', '#e377c2',
  '#17becf'];
