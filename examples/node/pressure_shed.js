// pressure_shed.js: a service that caches rendered pages (plain JS objects and strings) and
// sheds half of its cache whenever allocguard says memory is getting tight.  Under the guard
// it listens to process.allocguard's pressure events; bare (no process.allocguard) it keeps
// the cache under a fixed number of entries instead.  Prints what it did and exits 0.
//   allocguard run --cap 128M -- node examples/node/pressure_shed.js
//   node examples/node/pressure_shed.js
// Usage: node pressure_shed.js [TICKS] (default 400; 1500 entries added every 5 ms tick).
'use strict';
const ticks = Number(process.argv[2] || 400);
const BARE_LIMIT = 150000;
const cache = new Map();
let next = 0, sheds = 0, lastLevel = 'ok';

function render(id) {
  return { id, title: `page ${id}`, body: `<p>${'lorem ipsum '.repeat(8)}${id}</p>`,
           links: [id - 1, id + 1] };
}

function fill() {
  for (let k = 0; k < 1500; k++, next++) cache.set(next, render(next));
}

// The oldest half goes (a Map iterates in insertion order).
function shedHalf(why) {
  let drop = cache.size >> 1;
  for (const key of cache.keys()) {
    if (drop-- <= 0) break;
    cache.delete(key);
  }
  sheds++;
  if (why) console.log(`shed to ${cache.size} entries (${why})`);
}

const guard = process.allocguard;
if (guard) {
  process.on('allocguard', (ev) => {
    lastLevel = ev.level;
    if (ev.level !== 'ok') shedHalf(`${ev.level} at ${(ev.tracked / 1048576).toFixed(1)} MiB`);
  });
}

let i = 0;
const timer = setInterval(() => {
  fill();
  if (!guard && cache.size > BARE_LIMIT) shedHalf('');
  if (++i < ticks) return;
  clearInterval(timer);
  const u = guard ? guard.usage() : null;
  console.log(`ticks=${i} entries=${cache.size} sheds=${sheds} guard=${guard ? 'yes' : 'no'}` +
              (u ? ` level=${u.level} peak=${(u.peak / 1048576).toFixed(1)}MiB` : ''));
}, 5);
