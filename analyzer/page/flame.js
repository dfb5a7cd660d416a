/* flame.js: the flame graph of one view (live at the peak, live at the last snapshot,
 * allocation calls, temporary allocations): the kept stacks merged root first, each
 * frame as wide as what its callees hold; a click zooms to a frame, the root zooms out. */
'use strict';
AG.VIEWS = [
  { id: 'peak', label: 'live at the peak', unit: 'bytes' },
  { id: 'last', label: 'live at the last snapshot', unit: 'bytes' },
  { id: 'calls', label: 'allocation calls', unit: 'calls' },
  { id: 'temporary', label: 'temporary allocations', unit: 'calls' },
];

AG.FLAME_MIN = 2;   /* px: narrower frames are not drawn (their callers hold their share) */

/* A view exists when the log carries its figures. */
AG.hasView = function (p, id) {
  return p.stacks.length > 0 && p.stacks.every((s) => typeof s[id] === 'number');
};

AG.flameTree = function (p, view) {
  const root = { name: 'all', value: 0, kids: new Map(), depth: 0 };
  const add = (frames, v) => {
    root.value += v;
    let n = root;
    for (const name of frames) {
      let k = n.kids.get(name);
      if (!k) { k = { name, value: 0, kids: new Map(), depth: n.depth + 1, parent: n }; n.kids.set(name, k); }
      k.value += v;
      n = k;
    }
  };
  for (const s of p.stacks)
    if (s[view] > 0) add(s.f.length ? s.f.map((i) => p.names[i]) : ['(no frames)'], s[view]);
  if (p.other && p.other[view] > 0) add(['(smaller stacks, left out of the page)'], p.other[view]);
  return root;
};

AG.flameColor = function (name) {
  if (name.startsWith('[')) return '#9ab';
  let h = 0;
  for (let i = 0; i < name.length; i++) h = (h * 31 + name.charCodeAt(i)) >>> 0;
  return 'hsl(' + (10 + h % 40) + ',' + (65 + h % 20) + '%,' + (58 + (h >> 8) % 14) + '%)';
};

AG.drawFlame = function (box, info, p, view, focus) {
  const root = AG.flameTree(p, view.id), W = 1200, RH = 18;
  focus = focus && AG.findPath(root, focus) || root;
  let depth = 0;   /* of the frames wide enough to draw */
  const walk = (n) => {
    if (W * n.value / (focus.value || 1) < AG.FLAME_MIN) return;
    depth = Math.max(depth, n.depth);
    n.kids.forEach(walk);
  };
  walk(focus);
  const H = (depth + 1) * RH + 4;
  const svg = AG.svg('svg', { id: 'flame-svg', viewBox: '0 0 ' + W + ' ' + H, width: W, 'data-view': view.id,
    'data-total': root.value });
  const fmt = view.unit === 'bytes' ? AG.bytes : (v) => AG.count(v) + ' ' + view.unit;
  const draw = (n, x, w) => {
    if (w < AG.FLAME_MIN) return;
    const y = H - (n.depth + 1) * RH;
    const tip = n.name + ': ' + fmt(n.value) + ' (' + (100 * n.value / (root.value || 1)).toFixed(1) + '%)';
    const g = AG.svg('g', { class: 'frame', 'data-name': n.name, 'data-value': n.value,
      onclick: () => AG.onFlameZoom(n === focus && n.parent ? n.parent : n),
      onmousemove: (ev) => { AG.tip(ev, tip); info.textContent = tip; }, onmouseleave: (ev) => AG.tip(ev, null) },
    [AG.svg('rect', { x: x.toFixed(2), y, width: w.toFixed(2), height: RH - 1, fill: n === root ? '#ddd' : AG.flameColor(n.name) })]);
    const chars = Math.floor((w - 6) / 6.5);
    if (chars >= 3)
      g.appendChild(AG.svg('text', { x: x + 3, y: y + 12.5, text: n.name.length > chars ? n.name.slice(0, chars - 1) + '…' : n.name }));
    svg.appendChild(g);
    let cx = x;
    const kids = [...n.kids.values()].sort((a, b) => b.value - a.value);
    for (const k of kids) {
      const kw = n.value ? w * k.value / n.value : 0;
      draw(k, cx, kw);
      cx += kw;
    }
  };
  /* the focus's callers span the width above nothing else */
  for (let a = focus.parent; a; a = a.parent) draw({ ...a, kids: new Map() }, 0, W);
  draw(focus, 0, W);
  AG.clear(box).appendChild(svg);
  info.textContent = root.value ? (focus === root ? 'all: ' : focus.name + ': ') + fmt(focus.value) : 'nothing to show in this view';
};

/* The node at the same path of names (focus is a node of an older tree). */
AG.findPath = function (root, node) {
  const names = [];
  for (let n = node; n && n.parent; n = n.parent) names.unshift(n.name);
  let n = root;
  for (const name of names) { n = n.kids.get(name); if (!n) return null; }
  return n;
};
