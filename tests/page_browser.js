// page_browser.js: the page of `allocguard plot -o FILE.html` used as a reader uses it, in
// headless Chromium driven by puppeteer-core (test_page.c runs it).
//   node page_browser.js MODULES PAGE OUTDIR
// MODULES holds node_modules/puppeteer-core.  Prints one line per check ("ok NAME: ..." or
// "FAIL NAME: ...") and writes screenshots to OUTDIR (page.png, chart.png, flame.png,
// sites.png); exits 0 when every check passed, 1 when one failed, 77 when it could not
// start the browser.
'use strict';
const fs = require('fs');
const os = require('os');
const path = require('path');
const { createRequire } = require('module');

const [modules, pagePath, outDir] = process.argv.slice(2);
const puppeteer = createRequire(path.join(path.resolve(modules), 'x.js'))('puppeteer-core');
let failed = 0;

function check(name, ok, detail) {
  console.log((ok ? 'ok ' : 'FAIL ') + name + ': ' + detail);
  if (!ok) failed++;
}

async function launch() {
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'ag-page-'));
  const browser = await puppeteer.launch({
    executablePath: process.env.AG_CHROMIUM || '/usr/bin/chromium',
    headless: true,
    userDataDir: profile,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic'],
  });
  return { browser, profile };
}

// Every request the page makes besides itself is a failure: it must be self-contained.
async function open(browser, url, requests, errors) {
  const page = await browser.newPage();
  await page.setViewport({ width: 1300, height: 900 });
  await page.setRequestInterception(true);
  page.on('request', (r) => {
    if (r.url() === url || r.url().startsWith('data:')) return r.continue();
    requests.push(r.url());
    return r.abort();
  });
  page.on('pageerror', (e) => errors.push(String(e)));
  page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
  await page.goto(url, { waitUntil: 'load' });
  await page.waitForSelector('body[data-ready="1"]', { timeout: 30000 });
  return page;
}

async function shot(page, sel, name) {
  const el = await page.$(sel);
  await el.screenshot({ path: path.join(outDir, name) });
}

// Legends never repeat a label; the bands are the first rows of the site table, in order.
async function checkLegends(page) {
  const r = await page.evaluate(() => {
    const out = {};
    for (const svg of document.querySelectorAll('#tracked svg')) {
      const labels = [...svg.querySelectorAll('.legend-item')].map((x) => x.dataset.label);
      out[svg.id] = { labels, unique: new Set(labels).size === labels.length };
    }
    const bands = [...document.querySelectorAll('.band')].map((b) => Number(b.dataset.site)).filter((i) => i >= 0);
    const p = AG.proc(), names = AG.names(p.sites);
    const bandLabels = [...document.querySelectorAll('.band')].map((b) => b.dataset.label);
    const rows = [...document.querySelectorAll('#site-table tr.site')].map((tr) => Number(tr.dataset.site));
    return { out, bands, bandLabels, rows, names: bands.map((i) => names[i]), n: p.sites.length };
  });
  for (const id in r.out)
    check('legend ' + id, r.out[id].unique, r.out[id].labels.join(' | '));
  const inOrder = r.bands.every((b, k) => k === 0 || b > r.bands[k - 1]);
  const named = r.bands.every((b, k) => r.bandLabels[k] === r.names[k]);
  check('bands match rows', inOrder && named && r.rows.length === Math.min(r.n, 200),
    'bands ' + r.bands.join(',') + ' of ' + r.rows.length + ' rows');
  return r.bands;
}

// A click on a site (a row, then a band) shows its own series on the tracked chart.
async function checkSeries(page, bands) {
  const pickSite = async (sel, site, how) => {
    // a band is a wedge: click a point of it that shows (its box's centre may be another's)
    const at = await page.evaluate((q) => {
      const e = document.querySelector(q), r = e.getBoundingClientRect();
      for (let fy = 0.5; fy < 1; fy += 0.02)
        for (let fx = 0.95; fx > 0.05; fx -= 0.05) {
          const x = r.left + r.width * fx, y = r.top + r.height * fy;
          if (document.elementFromPoint(x, y) === e) return { x, y };
        }
      return null;
    }, sel);
    if (at) await page.mouse.click(at.x, at.y);
    else await page.click(sel);
    const got = await page.evaluate((i) => {
      const p = AG.proc(), path = document.querySelector('#series-site');
      const legend = [...document.querySelectorAll('#chart-tracked .legend-item')].map((x) => x.dataset.label);
      return { sel: document.body.dataset.selected, site: path && Number(path.dataset.site),
        points: path ? (path.getAttribute('d').match(/[ML]/g) || []).length : 0, want: (p.sites[i].series || []).length,
        named: legend.includes(AG.names(p.sites)[i]), row: !!document.querySelector('#site-table tr.site.sel[data-site="' + i + '"]') };
    }, site);
    check('series by ' + how, got.site === site && got.points === got.want && got.named && got.row,
      'site ' + site + ': drawn for ' + got.site + ', ' + got.points + ' of ' + got.want + ' points, in legend ' + got.named);
  };
  const a = bands[1] !== undefined ? bands[1] : 0;
  await pickSite('#site-table tr.site[data-site="' + a + '"] td.label', a, 'row');
  await shot(page, '#tracked', 'chart.png');
  if (bands.length) await pickSite('.band[data-site="' + bands[0] + '"]', bands[0], 'band');
}

// Each flame graph view draws what its figures add up to; a click zooms.
async function checkFlame(page) {
  for (const view of ['last', 'calls', 'temporary', 'peak']) {
    const btn = await page.$('#views button[data-view="' + view + '"]');
    const disabled = await page.evaluate((b) => b.disabled, btn);
    const has = await page.evaluate((v) => AG.hasView(AG.proc(), v), view);
    if (disabled) {
      check('flame view ' + view, !has, 'switch disabled: the log has no ' + view + ' figures');
      continue;
    }
    await btn.click();
    const r = await page.evaluate((v) => {
      const p = AG.proc(), svg = document.querySelector('#flame-svg');
      const want = p.stacks.reduce((a, s) => a + s[v], 0) + (p.other[v] || 0);
      return { view: svg.dataset.view, total: Number(svg.dataset.total), want, frames: svg.querySelectorAll('.frame').length,
        pressed: document.querySelector('#views button[data-view="' + v + '"]').getAttribute('aria-selected') };
    }, view);
    check('flame view ' + view, r.view === view && r.total === r.want && r.pressed === 'true' && (r.want === 0 || r.frames > 1),
      r.frames + ' frames, total ' + r.total + ' (stacks add up to ' + r.want + ')');
  }
  await shot(page, '#flame', 'flame.png');
  const z = await page.evaluate(() => {
    const fr = [...document.querySelectorAll('#flame-svg .frame')].filter((g) => g.dataset.name !== 'all');
    fr.sort((a, b) => b.querySelector('rect').getAttribute('width') - a.querySelector('rect').getAttribute('width'));
    const small = fr.find((g) => Number(g.querySelector('rect').getAttribute('width')) < 1100);
    if (!small) return null;
    small.dispatchEvent(new MouseEvent('click', { bubbles: true }));
    const now = [...document.querySelectorAll('#flame-svg .frame')].find((g) => g.dataset.name === small.dataset.name);
    return { name: small.dataset.name, width: now ? Number(now.querySelector('rect').getAttribute('width')) : 0 };
  });
  if (z) check('flame zoom', z.width > 1190, z.name + ' spans ' + z.width + ' px once clicked');
  if (z) await page.click('#flame-svg .frame[data-name="all"]');
}

// The first row's call paths open beneath it, each with its frames, innermost first.
async function checkPaths(page) {
  await page.click('#site-table tr.site[data-site="0"] .toggle');
  const r = await page.evaluate(() => {
    const p = AG.proc(), rows = [...document.querySelectorAll('#site-table tr.path[data-site="0"]')];
    const first = rows[0] ? [...rows[0].querySelectorAll('li')].map((li) => li.textContent) : [];
    const s = p.stacks[p.sites[0].paths[0]];
    const want = s ? s.f.map((i) => p.names[i]).reverse() : [];
    return { rows: rows.length, paths: p.sites[0].paths.length, same: JSON.stringify(first) === JSON.stringify(want), first };
  });
  check('call paths', r.rows === Math.min(r.paths, 50) && r.rows > 0 && r.same,
    r.rows + ' of ' + r.paths + ' paths shown; the first: ' + r.first.join(' <- '));
  // and its requested sizes, one bar per bucket the data has, in its order
  const z = await page.evaluate(() => {
    const p = AG.proc(), want = (p.sites[0].sizes || []).map(([k]) => k);
    const bars = [...document.querySelectorAll('#site-table tr.sizes[data-site="0"] .bar')];
    return { want, got: bars.map((b) => Number(b.dataset.bucket)), label: bars[0] ? bars[0].textContent : '' };
  });
  check('site sizes', JSON.stringify(z.want) === JSON.stringify(z.got) && z.want.length > 0,
    'buckets ' + z.got.join(',') + ' of ' + z.want.join(',') + '; ' + z.label);
  await shot(page, '#sites', 'sites.png');
}

// A header click sorts the rows by that column, largest first; '#' gives report's order back.
async function checkSort(page) {
  await page.click('#site-table th[data-key="calls"]');
  const r = await page.evaluate(() => {
    const p = AG.proc(), first = Number(document.querySelector('#site-table tr.site').dataset.site);
    const most = Math.max(...p.sites.map((s) => s.calls));
    return { first, calls: p.sites[first].calls, most };
  });
  await page.click('#site-table th[data-key="rank"]');
  const back = await page.evaluate(() => Number(document.querySelector('#site-table tr.site').dataset.site));
  check('sort', r.calls === r.most && back === 0, 'by calls: first row ' + r.first + ' with ' + r.calls + ' of at most ' + r.most +
    '; by rank: ' + back);
}

async function checkGrowth(page) {
  const r = await page.evaluate(() => {
    const p = AG.proc(), rows = document.querySelectorAll('#growth-table tr.growth-row');
    const verdicts = p.growth.sites.slice(0, 12).map((g) => g.verdict + (g.hidden ? ' (a path grows)' : ''));
    return { rows: rows.length, want: p.growth.sites.length, verdicts };
  });
  check('growth', r.rows === r.want, r.rows + ' rows: ' + r.verdicts.join(', '));
  const row = await page.$('#growth-table tr.growth-row:not([data-site="-1"])');
  if (row) {
    const site = Number(await page.evaluate((x) => x.dataset.site, row));
    await row.click();
    const sel = Number(await page.evaluate(() => document.body.dataset.selected));
    check('growth picks its site', sel === site, 'row for site ' + site + ', selected ' + sel);
  }
}

// A page of several processes: choosing another one shows its figures and its text.
async function checkProcesses(page) {
  const n = await page.evaluate(() => AG.data.length);
  if (n < 2) return;
  await page.select('#proc', '1');
  const r = await page.evaluate(() => {
    const p = AG.data[1], shown = [...document.querySelectorAll('section.texts')].filter((x) => !x.hidden);
    return { title: document.getElementById('title').textContent, pid: p.pid, rows: document.querySelectorAll('#site-table tr.site').length,
      sites: Math.min(p.sites.length, 200), texts: shown.map((x) => Number(x.dataset.pid)) };
  });
  check('processes', r.title.includes('(pid ' + r.pid + ')') && r.rows === r.sites && r.texts.length === 1 && r.texts[0] === r.pid,
    n + ' processes; the second: ' + r.title + ', ' + r.rows + ' rows, text of ' + r.texts.join(','));
}

async function main() {
  let b;
  try {
    b = await launch();
  } catch (e) {
    console.log('SKIP the browser did not start: ' + e.message);
    process.exit(77);
  }
  const url = 'file://' + path.resolve(pagePath), requests = [], errors = [];
  try {
    const page = await open(b.browser, url, requests, errors);
    await page.screenshot({ path: path.join(outDir, 'page.png'), fullPage: true });
    const bands = await checkLegends(page);
    await checkSeries(page, bands);
    await checkFlame(page);
    await checkPaths(page);
    await checkSort(page);
    await checkGrowth(page);
    await checkProcesses(page);
    const ev = await page.evaluate(() => ({ drawn: document.querySelectorAll('#chart-tracked .event').length,
      want: AG.proc().cap.events.length, lines: [...document.querySelectorAll('#chart-tracked .threshold')].map((l) => l.id) }));
    check('cap events', ev.drawn === ev.want, ev.drawn + ' of ' + ev.want + ' drawn; lines: ' + ev.lines.join(','));
  } catch (e) {
    check('page', false, e.stack);
  }
  check('no network', requests.length === 0, requests.length ? requests.join(' ') : 'no request besides the page');
  check('no script errors', errors.length === 0, errors.length ? errors.join(' | ') : 'none');
  await b.browser.close();
  fs.rmSync(b.profile, { recursive: true, force: true });
  process.exit(failed ? 1 : 0);
}

main();
