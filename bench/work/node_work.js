// node JSON and Buffers (bench/suite.sh "node"): deterministic, about a second bare.
'use strict';
const rows = [];
for (let i = 0; i < 150000; i++)
  rows.push({ id: i, name: 'user-' + i, tags: [i % 7, i % 11], score: i / 4 });
const text = JSON.stringify(rows);
const back = JSON.parse(text);
const bufs = [];
let total = 0;
for (let i = 0; i < 40000; i++) {
  const b = Buffer.alloc(256 + (i % 4096));
  b.fill(i & 255);
  total += b.length;
  if (i % 4 === 0) bufs.push(b);
}
const joined = Buffer.concat(bufs);
console.log(text.length, back.length, total, joined.length);
