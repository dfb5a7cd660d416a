// cap_recover.js: loads "documents" (1 MiB Buffers) until the allocation is refused under
// an allocguard cap, catches the RangeError, drops half of them and goes on: the process
// survives the cap.  Prints "loaded=N refused=yes|no kept=M" and exits 0.
//   allocguard run --cap 64M -- node examples/node/cap_recover.js
// Usage: node cap_recover.js [MAX_MIB] (default 512).
'use strict';
const max = Number(process.argv[2] || 512);
let docs = [];
let refused = false;

function loadDocument(i) {
  const b = Buffer.alloc(1 << 20);
  b[0] = i & 0xff;
  docs.push(b);
}

let loaded = 0;
try {
  while (loaded < max) {
    loadDocument(loaded);
    loaded++;
  }
} catch (e) {
  if (!(e instanceof RangeError))
    throw e;
  refused = true;
  docs = docs.slice(0, docs.length >> 1);   // shed load and carry on
}
const extra = Buffer.alloc(1 << 20);   // fits again after shedding
docs.push(extra);
console.log(`loaded=${loaded} refused=${refused ? 'yes' : 'no'} kept=${docs.length}`);
