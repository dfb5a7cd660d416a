// node_work.js: real V8 heap work with a deterministic result, for comparing output and
// peak memory with and without the guard: objects, strings, arrays, Maps, JSON round trips
// and sorting, peaking at a few hundred MiB of JS heap.  Prints one line per phase.
'use strict';
function rng(seed) {
  let s = seed >>> 0;
  return () => { s = (Math.imul(s, 1664525) + 1013904223) >>> 0; return s; };
}
const r = rng(42);
function hash(str) {
  let h = 2166136261;
  for (let i = 0; i < str.length; i++) h = Math.imul(h ^ str.charCodeAt(i), 16777619) >>> 0;
  return h;
}

// Phase 1: many small objects with strings and nested arrays.
const items = [];
for (let i = 0; i < 1200000; i++) {
  items.push({ id: i, name: 'item-' + (r() % 100000), score: r() % 1000, tags: [r() % 7, r() % 11] });
}
let s1 = 0;
for (const it of items) s1 = (s1 + it.score * (it.tags[0] + 1) + it.name.length) >>> 0;
console.log('objects', items.length, s1);

// Phase 2: Map grouping.
const groups = new Map();
for (const it of items) {
  const g = groups.get(it.name);
  if (g) g.push(it.id); else groups.set(it.name, [it.id]);
}
let s2 = 0;
for (const [k, v] of groups) s2 = (s2 + hash(k) + v.length) >>> 0;
console.log('groups', groups.size, s2);

// Phase 3: JSON round trip of a big slice.
const json = JSON.stringify(items.slice(0, 400000));
const back = JSON.parse(json);
console.log('json', json.length, hash(json.slice(0, 100000)), back.length, back[399999].name);

// Phase 4: sort and string building.
const sorted = items.slice().sort((a, b) => a.score - b.score || a.id - b.id);
const parts = [];
for (let i = 0; i < sorted.length; i += 1000) parts.push(sorted[i].name + ':' + sorted[i].score);
const joined = parts.join(',');
console.log('sorted', sorted[0].id, sorted[sorted.length - 1].id, joined.length, hash(joined));

// Phase 5: typed arrays (off-heap backing stores) and a numeric reduction.
const fa = new Float64Array(4 * 1024 * 1024);
for (let i = 0; i < fa.length; i++) fa[i] = (i % 1000) / 8;
let s5 = 0;
for (let i = 0; i < fa.length; i += 3) s5 += fa[i];
console.log('typed', fa.length, s5);
