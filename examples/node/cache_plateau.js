// cache_plateau.js: a bounded cache: entries (16 KiB Buffers) are added until it holds
// LIMIT of them, then the oldest is evicted for each new one, so memory grows and then
// levels off; `allocguard growth` calls the cache's site a plateau, not a leak.  It asks the
// collector to run between batches so evicted entries are released on a steady schedule.
// Usage: node cache_plateau.js [ROUNDS] [LIMIT] (default 6000 and 1500).
'use strict';
const v8 = require('v8');
const vm = require('vm');
v8.setFlagsFromString('--expose-gc');
const collect = vm.runInNewContext('gc');
const rounds = Number(process.argv[2] || 6000);
const limit = Number(process.argv[3] || 1500);
const cache = new Map();

function cacheFill(key) {
  if (cache.size >= limit)
    cache.delete(cache.keys().next().value);   // evict the oldest
  cache.set(key, Buffer.alloc(16 * 1024, key & 0xff));
}

function sleep(ms) { return new Promise((r) => setTimeout(r, ms)); }

async function main() {
  for (let i = 0; i < rounds; i++) {
    cacheFill(i);
    if (i % 100 === 0) {
      collect();
      await sleep(20);   // spread over time so periodic snapshots see the shape
    }
  }
  console.log(`rounds=${rounds} cached=${cache.size}`);
}

main();
