// router_leak.js: an HTTP service in the style of an express app (a router with middleware
// and several paths) whose session handler leaks: every login's session record is kept in
// a module-level Map that nothing trims.  The other handlers make garbage only.  The script
// is its own load generator: it starts the server on 127.0.0.1 (a free port), sends
// REQUESTS requests over 8 connections to every path in turn, then exits 0.
//   allocguard run --interval 200ms -- node examples/node/router_leak.js
// Usage: node router_leak.js [REQUESTS] (default 8000).
'use strict';
const http = require('http');

const requests = Number(process.argv[2] || 8000);
const sessions = new Map();

// A router: middleware run in order, then the handler of the path (through the same
// dispatch for every route, as express's Layer.handle does).
function createApp() {
  const stack = [];
  const routes = new Map();
  const app = (req, res) => {
    let i = 0;
    const next = () => {
      const mw = stack[i++];
      if (mw) return mw(req, res, next);
      const handler = routes.get(req.url.split('?')[0]) || notFound;
      return dispatch(handler, req, res);
    };
    next();
  };
  app.use = (fn) => stack.push(fn);
  app.get = (path, fn) => routes.set(path, fn);
  return app;
}

function dispatch(handler, req, res) { return handler(req, res); }
function notFound(req, res) { res.statusCode = 404; res.end('not found\n'); }

function parseQuery(req, res, next) {
  const q = {};
  for (const kv of (req.url.split('?')[1] || '').split('&')) {
    const [k, v] = kv.split('=');
    if (k) q[k] = decodeURIComponent(v || '');
  }
  req.query = q;
  next();
}

function stamp(req, res, next) { req.started = Date.now(); next(); }

// The leak.
function hoardSessionHandler(req, res) {
  const id = `${req.query.user}-${sessions.size}`;
  const history = [];
  for (let k = 0; k < 60; k++) history.push({ page: `/p/${k}/${id}`, t: req.started + k });
  sessions.set(id, { id, user: req.query.user, agent: String(req.headers['user-agent']) + id,
                     note: 'remember me '.repeat(250) + id, history, at: req.started });
  res.end(`session ${id}\n`);
}

function catalogHandler(req, res) {
  const items = [];
  for (let k = 0; k < 200; k++) items.push({ sku: `sku-${k}`, price: k * 3, tags: ['x', 'y'] });
  res.end(JSON.stringify(items.slice(0, 3)));
}

function healthHandler(req, res) { res.end('ok\n'); }

const app = createApp();
app.use(stamp);
app.use(parseQuery);
app.get('/login', hoardSessionHandler);
app.get('/catalog', catalogHandler);
app.get('/health', healthHandler);

const paths = ['/login?user=ann', '/catalog', '/login?user=bob', '/health', '/login?user=cy'];
const agent = new http.Agent({ keepAlive: true, maxSockets: 8 });

function get(port, path) {
  return new Promise((resolve, reject) => {
    http.get({ host: '127.0.0.1', port, path, agent,
               headers: { 'user-agent': 'loadgen/1.0 (a longer user agent string, as browsers send)' } },
             (res) => { res.resume(); res.on('end', resolve); }).on('error', reject);
  });
}

async function main() {
  const server = http.createServer(app);
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = server.address().port;
  let sent = 0;
  const worker = async () => {
    while (sent < requests) await get(port, paths[sent++ % paths.length]);
  };
  await Promise.all(Array.from({ length: 8 }, worker));
  console.log(`served ${sent} requests, ${sessions.size} sessions kept`);
  agent.destroy();
  server.close();
}

main().catch((e) => { console.error(e); process.exit(1); });
