// loader.js (installed as allocguard-node.js beside liballocguard.so): run by node in every
// isolate through NODE_OPTIONS=--require, which the guard adds.  It loads the companion
// addon and starts the JS heap sampling; where V8's profiler cannot be started directly it
// falls back to the inspector, paced so its forced collections stay a small part of the
// run.  It never throws into the program and never stops node: anything that fails is one
// line on stderr (from the main thread) and the program runs as it would.
'use strict';
(function allocguardLoader() {
  const KEY = Symbol.for('allocguard.loader');
  if (globalThis[KEY]) return;
  globalThis[KEY] = true;
  let isMain = true;
  try { isMain = require('worker_threads').isMainThread; } catch (e) { /* old node */ }
  const say = (msg) => {
    if (!isMain) return;
    try { require('fs').writeSync(2, `allocguard: node: ${msg}\n`); } catch (e) { /* closed */ }
  };
  const addonPath = require('path').join(__dirname, 'allocguard-node.node');
  const addon = { exports: {} };
  try {
    process.dlopen(addon, addonPath);
  } catch (e) {
    say(`cannot load ${addonPath} (${e.code || e.message}); the JS heap is not attributed ` +
        '(native memory still is)');
    return;
  }
  const ag = addon.exports;
  let mode;
  try { mode = ag.start(); } catch (e) { mode = `off: ${e.message}`; }
  if (isMain && !mode.startsWith('off')) {
    process.on('exit', () => { try { ag.exiting(); } catch (e) { /* exiting anyway */ } });
  }
  if (mode === 'direct') {
    process.on('exit', () => { try { ag.read(); } catch (e) { /* exiting anyway */ } });
  } else if (mode.startsWith('inspector:')) {
    startInspector(ag, mode.slice(10).trim(), say);
  } else if (!/^off: (off|the guard is not loaded)$/.test(mode)) {
    say(`${mode.slice(4)}; the JS heap is not attributed (native memory still is)`);
  }
  if (typeof ag.install === 'function') ag.install(process);

  // The inspector path: every read forces a full GC in V8, so reads are spaced to at least
  // PACE times the time the last one took (and never more often than the snapshots).
  function startInspector(ag, why, say) {
    const PACE = 20;
    let session;
    try {
      const inspector = require('inspector');
      session = new inspector.Session();
      session.connect();
      session.post('HeapProfiler.startSampling', { samplingInterval: 512 * 1024 });
    } catch (e) {
      say(`${why}, and the inspector is not available (${e.code || e.message}); ` +
          'the JS heap is not attributed (native memory still is)');
      return;
    }
    say(`${why}: the JS heap is read through the inspector, paced`);
    const interval = Math.max(ag.intervalMs ? ag.intervalMs() : 1000, 100);
    let next = 0;
    const read = (force) => {
      const t0 = Date.now();
      if (!force && t0 < next) return;
      session.post('HeapProfiler.getSamplingProfile', (err, res) => {
        if (err || !res || !res.profile) return;
        try { ag.put(flatten(res.profile)); } catch (e) { /* a profile we cannot read */ }
      });
      next = Date.now() + Math.max(interval, PACE * (Date.now() - t0));
    };
    const timer = setInterval(read, interval);
    if (timer.unref) timer.unref();
    process.on('exit', () => { try { read(true); } catch (e) { /* exiting anyway */ } });
  }

  // The profile's tree as stacks: [bytes, count, name, script, line, col, ...] innermost
  // first, for every node holding sampled bytes.
  function flatten(profile) {
    const counts = new Map();
    for (const s of profile.samples || []) counts.set(s.nodeId, (counts.get(s.nodeId) || 0) + 1);
    const out = [];
    const path = [];
    const walk = (node, depth) => {
      if (depth >= 0) {
        const cf = node.callFrame;
        path[depth] = [cf.functionName, cf.url, cf.lineNumber + 1, cf.columnNumber + 1];
        if (node.selfSize > 0) {
          const st = [node.selfSize, counts.get(node.id) || 1];
          for (let i = depth; i >= 0; i--) st.push(...path[i]);
          out.push(st);
        }
      }
      for (const c of node.children || []) if (depth < 255) walk(c, depth + 1);
    };
    walk(profile.head, -1);
    return out;
  }
})();
