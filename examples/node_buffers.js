// node_buffers.js: allocates 1 MiB Buffers (kept alive) until allocation fails, which under
// an allocguard cap must surface as a catchable RangeError.  Prints
// "got_mib=N error=NAME" and exits 0.  Usage: node node_buffers.js [MAX_MIB] (default 4096;
// reaching it prints error=none).
'use strict';
const max = Number(process.argv[2] || 4096);
let bufs = [];
let got = 0;
let error = 'none';
try {
  while (got < max) {
    const b = Buffer.alloc(1 << 20);
    b[0] = got & 0xff;
    bufs.push(b);
    got++;
  }
} catch (e) {
  error = e instanceof RangeError ? 'RangeError' : (e && e.name) || String(e);
}
bufs = null;
console.log(`got_mib=${got} error=${error}`);
process.exitCode = 0;
