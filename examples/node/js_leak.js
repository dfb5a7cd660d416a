// js_leak.js: a node program leaking plain JS objects (no Buffers) in one function and in a
// worker thread, next to a function that makes as much garbage and keeps none of it.
//   allocguard run --interval 200ms -- node examples/node/js_leak.js [seconds]
'use strict';
const { Worker, isMainThread, parentPort } = require('worker_threads');

const seconds = Number(process.argv[2] || 3);
const visitors = new Map();

// The leak: a record per visit, kept forever in a module-level Map.
function recordVisit(i) {
  for (let k = 0; k < 400; k++) {
    const id = i * 1000 + k;
    visitors.set(id, { id, path: '/page/' + (id % 97), agent: 'agent-' + id, seen: [id, i, k] });
  }
}

// As much garbage, none kept.
let checksum = 0;
function churnGarbage(i) {
  for (let k = 0; k < 400; k++) {
    const o = { id: i * 1000 + k, path: '/tmp/' + k, agent: 'agent-' + k, seen: [k, i, k] };
    checksum += o.seen.length;
  }
}

if (isMainThread) {
  const w = new Worker(__filename, { argv: [String(seconds)] });
  w.on('error', (e) => { console.error(e); process.exitCode = 1; });
  let i = 0;
  const end = Date.now() + seconds * 1000;
  const timer = setInterval(() => {
    recordVisit(i);
    churnGarbage(i);
    i++;
    if (Date.now() >= end) {
      clearInterval(timer);
      w.postMessage('stop');
      console.log(`main: ${visitors.size} visitors kept, checksum ${checksum}`);
    }
  }, 5);
} else {
  const sessions = [];
  // The worker's leak: session objects pushed onto an array nobody trims.
  function hoardSessions(i) {
    for (let k = 0; k < 300; k++)
      sessions.push({ user: 'u' + i + '-' + k, started: i, tags: ['a' + k, 'b' + i] });
  }
  let i = 0;
  const timer = setInterval(() => hoardSessions(i++), 5);
  parentPort.on('message', () => {
    clearInterval(timer);
    console.log(`worker: ${sessions.length} sessions kept`);
    parentPort.close();
  });
}
