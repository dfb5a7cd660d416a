// leaky_server.js: an HTTP service whose request handler leaks: every request's body copy
// is pushed onto a module-level list and never dropped.  The script is its own client: it
// starts the server on 127.0.0.1 (a free port), sends REQUESTS requests one after another,
// then closes and exits 0.  Usage: node leaky_server.js [REQUESTS] (default 400).
//   allocguard run --interval 100ms -- node examples/node/leaky_server.js
//   allocguard growth allocguard.node.PID.log      # names handleRequest first
'use strict';
const http = require('http');

const requests = Number(process.argv[2] || 400);
const seen = [];   // the leak: grows by one 64 KiB Buffer per request, never trimmed

function handleRequest(req, res) {
  const copy = Buffer.alloc(64 * 1024, req.url.length & 0xff);
  seen.push(copy);
  res.end(`ok ${seen.length}\n`);
}

function get(port, path) {
  return new Promise((resolve, reject) => {
    http.get({ host: '127.0.0.1', port, path, agent: false }, (res) => {
      res.resume();
      res.on('end', resolve);
    }).on('error', reject);
  });
}

async function main() {
  const server = http.createServer(handleRequest);
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = server.address().port;
  for (let i = 0; i < requests; i++)
    await get(port, `/item/${i}`);
  console.log(`requests=${requests} kept_kib=${seen.length * 64}`);
  server.close();
}

main().catch((e) => { console.error(e); process.exitCode = 1; });
