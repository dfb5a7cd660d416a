// js_leak.js: a node program leaking plain JS objects (no Buffers) in one function and in a
// worker thread, next to a function that makes as much garbage and keeps none of it.
//   allocguard run --interval 200ms -- node examples/node/js_leak.js [TICKS]
// Once the worker runs, the main thread runs TICKS ticks (default 300, one every 5 ms), then
// exits; the worker leaks on every tick of its own until then.
'use strict';
const { Worker, isMainThread } = require('worker_threads');

const ticks = Number(process.argv[2] || 300);
// A user-agent string per record: each record holds its own copy (a concatenation).
const AGENT = 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) ' +
  'Chrome/120.0 Safari/537.36 visitor-';

const visitors = new Map();

// The leak: a record per visit, kept forever in a module-level Map.
function recordVisit(i) {
  for (let k = 0; k < 1000; k++) {
    const id = i * 1000 + k;
    visitors.set(id, { id, path: '/page/' + (id % 97), agent: AGENT + id, seen: [id, i, k] });
  }
}

// As much garbage, none kept.
let checksum = 0;
function churnGarbage(i) {
  for (let k = 0; k < 1000; k++) {
    const o = { id: i * 1000 + k, path: '/tmp/' + k, agent: AGENT + k, seen: [k, i, k] };
    checksum += o.seen.length + (o.agent.length & 1);
  }
}

if (isMainThread) {
  const w = new Worker(__filename);
  w.on('error', (e) => { console.error(e); process.exitCode = 1; });
  let i = 0;
  // The ticks start once the worker runs (a worker starts slowly under a profiler), so
  // that it leaks for as long as the main thread does.
  w.once('online', () => {
    const timer = setInterval(() => {
      recordVisit(i);
      churnGarbage(i);
      if (++i < ticks) return;
      clearInterval(timer);
      console.log(`main: ${visitors.size} visitors kept, checksum ${checksum}`);
      process.exit(0);   // the worker, still leaking, ends with the process
    }, 5);
  });
} else {
  const sessions = [];
  // The worker's leak: session objects pushed onto an array nobody trims.
  function hoardSessions(i) {
    for (let k = 0; k < 400; k++)
      sessions.push({ user: AGENT + i + '-' + k, started: i, tags: ['a' + k, 'b' + i] });
  }
  let i = 0;
  setInterval(() => hoardSessions(i++), 5);
}
