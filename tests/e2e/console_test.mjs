// Browser test of redis-ctl's web console: real redis-server nodes (6, on 127.0.0.1-3), a real
// redis-ctl with a file discovery source, and Debian's chromium driven by playwright-core
// (headless, loopback only). Screenshots go to $RS_E2E_ARTIFACTS.
//
// Checks: the overview shows 16384 slots covered by 3 masters; a migration submitted from the
// Actions form shows a plan whose progress bar reaches 100%; the timeline shows the operator
// request and the cause chain from the plan back to it.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';

const CTL = process.env.RS_REDIS_CTL;
const ARTIFACTS = process.env.RS_E2E_ARTIFACTS || path.join(os.tmpdir(), 'rs-e2e-artifacts');
const CHROMIUM = process.env.RS_CHROMIUM || '/usr/bin/chromium';
const TOKEN = 'e2e-secret';

const children = [];
let tmp = null;

function log(...a) { console.log(new Date().toISOString().slice(11, 23), ...a); }

function portFree(host, port) {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.on('error', () => resolve(false));
    s.listen(port, host, () => s.close(() => resolve(true)));
  });
}

// A free port; for Redis Cluster nodes, one whose bus port (+10000) is free and valid too.
async function freePort(host, bus = false) {
  for (;;) {
    const port = 20000 + Math.floor(Math.random() * 30000);
    if (await portFree(host, port) && (!bus || await portFree(host, port + 10000))) return port;
  }
}

function start(cmd, args, logFile) {
  const out = fs.openSync(logFile, 'a');
  const child = spawn(cmd, args, { stdio: ['ignore', out, out] });
  children.push(child);
  return child;
}

function stopAll() {
  // Only the processes this test started, by pid.
  for (const c of children) {
    if (c.exitCode === null && c.signalCode === null) {
      try { process.kill(c.pid, 'SIGKILL'); } catch (e) { /* already gone */ }
    }
  }
}
process.on('exit', stopAll);
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => { stopAll(); process.exit(1); });

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function waitFor(what, ms, pred) {
  const until = Date.now() + ms;
  let last = null;
  while (Date.now() < until) {
    try { if (await pred()) return; } catch (e) { last = e; }
    await sleep(200);
  }
  throw new Error(`timed out waiting for ${what}${last ? ': ' + last.message : ''}`);
}

async function main() {
  if (!CTL) throw new Error('RS_REDIS_CTL must name the redis-ctl binary');
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'rs-e2e-'));
  log('temp dir', tmp);

  // Six nodes over three loopback addresses, so anti-affinity has hosts to spread over.
  const hosts = ['127.0.0.1', '127.0.0.2', '127.0.0.3'];
  const nodes = [];
  for (let i = 0; i < 6; i++) {
    const host = hosts[i % 3];
    const port = await freePort(host, true);
    const dir = path.join(tmp, `node-${i}`);
    fs.mkdirSync(dir);
    // bind-source-addr and cluster-announce-ip make each address behave like its own host.
    start('redis-server', ['--bind', host, '--bind-source-addr', host, '--cluster-announce-ip', host,
      '--port', String(port), '--dir', dir,
      '--cluster-enabled', 'yes', '--cluster-config-file', 'nodes.conf',
      '--cluster-node-timeout', '5000', '--appendonly', 'no', '--save', '',
      '--repl-diskless-sync-delay', '0', '--protected-mode', 'no', '--daemonize', 'no'],
    path.join(dir, 'redis.log'));
    nodes.push(`${host}:${port}`);
  }
  const members = path.join(tmp, 'members.txt');
  fs.writeFileSync(members, nodes.map((a) => `${a} host-${a.split(':')[0]}`).join('\n') + '\n');

  const adminPort = await freePort('127.0.0.1');
  const base = `http://127.0.0.1:${adminPort}`;
  start(CTL, ['--data-dir', path.join(tmp, 'data'), '--discovery', `file:${members}`,
    '--listen', `127.0.0.1:${adminPort}`, '--admin-token', `e2e:${TOKEN}`,
    '--probe-interval-ms', '200', '--probe-timeout-ms', '500'], path.join(tmp, 'redis-ctl.log'));

  const getJson = async (p) => { const r = await fetch(base + p); if (!r.ok) throw new Error(`${p}: ${r.status}`); return r.json(); };
  await waitFor('the cluster to form', 40000, async () => {
    const c = await getJson('/v1/cluster');
    return c.state === 'ok' && c.slots_covered === 16384 && c.masters === 3;
  });
  log('cluster formed');

  // A fresh profile per run (playwright passes it as --user-data-dir).
  const browser = await chromium.launchPersistentContext(path.join(tmp, 'chromium-profile'), {
    executablePath: CHROMIUM,
    headless: true,
    viewport: { width: 1280, height: 900 },
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  try {
    const page = await browser.newPage();
    // Loopback only: anything else the page asks for fails the test.
    const outside = [];
    await page.route('**/*', (route) => {
      const u = new URL(route.request().url());
      if (u.hostname === '127.0.0.1') return route.continue();
      outside.push(u.href);
      return route.abort();
    });
    const pageErrors = [];
    page.on('pageerror', (e) => pageErrors.push(e.message));

    // Overview.
    await page.goto(base + '/#overview');
    await page.waitForFunction(() => document.querySelector('#coverage')?.dataset.covered === '16384');
    const coverage = await page.textContent('#coverage');
    log('overview:', coverage);
    if (!/16384 of 16384 slots covered by 3 masters/.test(coverage)) throw new Error('overview says: ' + coverage);
    const shardRows = await page.locator('#shards tbody tr').count();
    if (shardRows !== 3) throw new Error(`expected 3 shards in the table, got ${shardRows}`);
    // The slot map is drawn: sample the canvas at three places, each coloured (not the grey of uncovered).
    const colours = await page.evaluate(() => {
      const c = document.querySelector('#slot-map');
      const ctx = c.getContext('2d');
      return [0.1, 0.5, 0.9].map((f) => Array.from(ctx.getImageData(Math.floor(c.width * f), 20, 1, 1).data.slice(0, 3)).join(','));
    });
    if (new Set(colours).size !== 3 || colours.includes('221,221,221')) throw new Error('slot map colours: ' + colours);
    await page.screenshot({ path: path.join(ARTIFACTS, '1-overview.png'), fullPage: true });

    // Actions: a migration of 200 slots between the first two masters, previewed then run.
    await page.fill('#token', TOKEN);
    await page.dispatchEvent('#token', 'change');
    await page.goto(base + '/#actions');
    await page.waitForFunction(() => document.querySelectorAll('select[name=from] option').length === 3);
    await page.selectOption('#action-kind', 'migrate');
    const from = await page.$eval('select[name=from]', (s) => s.options[0].value);
    const to = await page.$eval('select[name=to]', (s) => s.options[1].value);
    await page.selectOption('select[name=from]', from);
    await page.selectOption('select[name=to]', to);
    await page.fill('input[name=count]', '200');
    // Right after forming, the planner may still have a plan of its own to run first (the
    // preview then says so): preview again until it shows the migration's steps.
    for (let i = 0; ; i++) {
      await page.click('#preview');
      try {
        await page.waitForSelector('#preview-out table.steps', { timeout: 1000 });
        break;
      } catch (e) {
        if (i >= 20) throw new Error('preview: ' + await page.textContent('#preview-out'));
      }
    }
    const previewText = await page.textContent('#preview-out');
    if (!/migrate/.test(previewText)) throw new Error('preview shows no migrate step: ' + previewText);
    const before = await getJson('/v1/events?kind=operator-request');
    if (before.events.length !== 0) throw new Error('the preview recorded a request');
    await page.screenshot({ path: path.join(ARTIFACTS, '2-preview.png'), fullPage: true });
    await page.click('#submit');
    // The console follows the request to its plan on the Plans page.
    await page.waitForFunction(() => location.hash.startsWith('#plans?request='));
    await page.waitForSelector('#plan-progress', { timeout: 20000 });
    await page.waitForFunction(() => {
      const p = document.querySelector('#plan-progress');
      const outcome = document.querySelector('#followed .outcome');
      return p && p.dataset.progress === '100' && outcome && outcome.textContent === 'completed';
    }, null, { timeout: 60000 });
    const planText = await page.textContent('#followed');
    log('plan:', planText.replace(/\s+/g, ' ').slice(0, 160));
    await page.screenshot({ path: path.join(ARTIFACTS, '3-plan-done.png'), fullPage: true });
    const c = await getJson('/v1/cluster');
    if (c.slots_covered !== 16384) throw new Error('slots uncovered after the migration');

    // Timeline: the operator request, and the chain from the plan's proposal back to it.
    await page.goto(base + '/#timeline');
    await page.fill('#timeline-filter input[name=kind]', 'operator-request,plan-proposed');
    await page.click('#timeline-filter button');
    await page.waitForSelector('#events tr[data-kind="operator-request"]');
    const reqText = await page.textContent('#events tr[data-kind="operator-request"]');
    if (!/migrate/.test(reqText) || !/e2e/.test(reqText)) throw new Error('request row: ' + reqText);
    // The migration's proposal (the planner may rebalance back right after, with a proposal of
    // its own); its cause link leads to the request.
    await page.locator('#events tr[data-kind="plan-proposed"]', { hasText: 'operator e2e' })
      .locator('a.cause').click();
    await page.waitForSelector('#chain ol.cause-chain li[data-kind="operator-request"]');
    const chain = await page.$$eval('#chain li', (lis) => lis.map((li) => li.dataset.kind));
    log('cause chain:', chain.join(' <- '));
    if (chain[0] !== 'plan-proposed' || chain[chain.length - 1] !== 'operator-request') {
      throw new Error('cause chain: ' + chain.join(','));
    }
    await page.screenshot({ path: path.join(ARTIFACTS, '4-timeline.png'), fullPage: true });

    // Nodes page renders six rows.
    await page.goto(base + '/#nodes');
    await page.waitForFunction(() => document.querySelectorAll('#nodes-table tbody tr').length === 6);
    await page.screenshot({ path: path.join(ARTIFACTS, '5-nodes.png'), fullPage: true });

    if (outside.length) throw new Error('the console asked for non-loopback URLs: ' + outside.join(', '));
    if (pageErrors.length) throw new Error('page errors: ' + pageErrors.join('; '));
  } finally {
    await browser.close();
  }
}

main().then(() => {
  log('PASS; screenshots in', ARTIFACTS);
  stopAll();
  fs.rmSync(tmp, { recursive: true, force: true });
  process.exit(0);
}, (e) => {
  log('FAIL:', e.message);
  if (tmp) {
    const ctlLog = path.join(tmp, 'redis-ctl.log');
    if (fs.existsSync(ctlLog)) console.log(fs.readFileSync(ctlLog, 'utf8').split('\n').slice(-40).join('\n'));
    log('kept', tmp);
  }
  stopAll();
  process.exit(1);
});
