// cap_recover.js: loads "documents" (1 MiB Buffers) until the allocation is refused under
// an allocguard cap, catches the RangeError, sheds half of them and goes on loading: the
// process survives the cap.  Prints "loaded=N refused=yes|no kept=M" and exits 0.
//   allocguard run --cap 64M -- node examples/node/cap_recover.js
// Usage: node cap_recover.js [MAX_MIB] (default 512).
'use strict';
const v8 = require('v8');
const vm = require('vm');
// The collector frees dropped Buffers only when it runs (and releases their memory on a
// background thread): a service that sheds load asks it to run now, then gives it a moment.
v8.setFlagsFromString('--expose-gc');
const collect = vm.runInNewContext('gc');
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

const max = Number(process.argv[2] || 512);
let docs = [];

function loadDocument(i) {
  const b = Buffer.alloc(1 << 20);
  b[0] = i & 0xff;
  docs.push(b);
}

async function main() {
  let loaded = 0, refused = false;
  try {
    while (loaded < max) {
      loadDocument(loaded);
      loaded++;
    }
  } catch (e) {
    if (!(e instanceof RangeError))
      throw e;
    refused = true;
    docs = docs.slice(0, docs.length >> 1);   // shed load
    collect();
  }
  // carry on: a few more documents fit again once the shed ones are released
  for (let i = 0, tries = 0; i < 4; ) {
    try {
      loadDocument(loaded + i);
      i++;
    } catch (e) {
      if (!(e instanceof RangeError) || ++tries > 50)
        throw e;
      await sleep(20);
    }
  }
  console.log(`loaded=${loaded} refused=${refused ? 'yes' : 'no'} kept=${docs.length}`);
}

main();
