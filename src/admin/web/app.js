// redis-service console: plain JS over the /v1 API; no framework, no network beyond this server.
'use strict';

const $ = (sel, root = document) => root.querySelector(sel);
const $$ = (sel, root = document) => Array.from(root.querySelectorAll(sel));
const esc = (s) => String(s ?? '').replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }[c]));
const COLORS = ['#2f74c0', '#2e9d4b', '#d08a00', '#8e44ad', '#16a085', '#c0392b', '#7f8c8d', '#d35400', '#27ae60', '#2c3e50'];

const tokenInput = $('#token');
tokenInput.value = localStorage.getItem('rs-token') || '';
tokenInput.addEventListener('change', () => localStorage.setItem('rs-token', tokenInput.value));

async function api(path, opts = {}) {
  const headers = Object.assign({}, opts.headers || {});
  if (tokenInput.value) headers.Authorization = 'Bearer ' + tokenInput.value;
  if (opts.body) headers['Content-Type'] = 'application/json';
  const res = await fetch(path, Object.assign({}, opts, { headers }));
  let body = null;
  try { body = await res.json(); } catch (e) { body = null; }
  if (!res.ok) throw new Error((body && body.error) || ('HTTP ' + res.status));
  return body;
}

function fmtBytes(n) {
  if (n == null) return '';
  const u = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  while (n >= 1024 && i < u.length - 1) { n /= 1024; i++; }
  return n.toFixed(i ? 1 : 0) + ' ' + u[i];
}

function parseRanges(text) {
  if (!text) return [];
  return text.split(',').map((p) => {
    const [a, b] = p.split('-').map(Number);
    return [a, b === undefined ? a : b];
  });
}

// ---- Overview ----
let lastTopology = null;
async function renderOverview() {
  const [cluster, topo, nodes] = await Promise.all([api('/v1/cluster'), api('/v1/topology'), api('/v1/nodes')]);
  lastTopology = topo;
  const st = $('#cluster-state');
  st.textContent = cluster.state;
  st.className = 'pill ' + cluster.state;
  const health = Object.entries(cluster.health).map(([k, v]) => v + ' ' + k).join(', ');
  $('#cluster-summary').textContent = `epoch ${cluster.epoch} · ${cluster.members} members · nodes ${health || 'not probed yet'}` +
    (cluster.paused ? ' · automation PAUSED' : '') + (cluster.plan ? ` · plan ${cluster.plan} running` : '') +
    (cluster.discovery && !cluster.discovery.reachable ?
      ((cluster.discovery.source || '').startsWith('file:') ?
        ` · members file UNUSABLE since ${cluster.discovery.since}: ${cluster.discovery.reason}` :
        ` · lainlet UNREACHABLE since ${cluster.discovery.since}: ${cluster.discovery.reason}`) : '');
  // The last plan's failure says what is wrong and what to set (a node that cannot join, ...).
  const f = cluster.last_failure;
  $('#last-failure').textContent = f ? `plan ${f.plan} (${f.reason}) failed: ${f.detail}` : '';
  const masters = topo.shards.length;
  let covered = 0;
  topo.shards.forEach((s) => s.slots.forEach(([a, b]) => { covered += b - a + 1; }));
  const cov = $('#coverage');
  cov.textContent = `${covered} of 16384 slots covered by ${masters} masters` + (cluster.open_slots ? ' · open slots' : '');
  cov.dataset.covered = covered;
  cov.dataset.masters = masters;
  drawSlotMap(topo, nodes.nodes);
  const byAddr = Object.fromEntries(nodes.nodes.map((n) => [n.address, n]));
  $('#shards tbody').innerHTML = topo.shards.map((s, i) => {
    const count = s.slots.reduce((t, [a, b]) => t + b - a + 1, 0);
    const ranges = s.slots.map(([a, b]) => (a === b ? a : a + '-' + b)).join(',');
    const hosts = [s.master, ...s.replicas].map((r) => (byAddr[r.address] || {}).host || '?').join(' / ');
    return `<tr><td><i style="display:inline-block;width:.8em;height:.8em;background:${COLORS[i % COLORS.length]}"></i> ${esc(s.master.address)} ${healthPill(byAddr[s.master.address])}</td>` +
      `<td>${count} (${esc(ranges)})</td><td>${s.replicas.map((r) => esc(r.address) + ' ' + healthPill(byAddr[r.address])).join('<br>') || '<em>none</em>'}</td><td>${esc(hosts)}</td></tr>`;
  }).join('');
  const hosts = {};
  nodes.nodes.forEach((n) => { (hosts[n.host] = hosts[n.host] || []).push(n.address + ' (' + n.role + ')'); });
  $('#hosts tbody').innerHTML = Object.entries(hosts).map(([h, ns]) => `<tr><td>${esc(h)}</td><td>${esc(ns.join(', '))}</td></tr>`).join('');
}

function healthPill(n) {
  const h = n ? n.health : 'unknown';
  return `<span class="pill h-${esc(h)}" title="${esc(n ? n.reason + ' ' + n.detail : '')}">${esc(h)}</span>`;
}

function drawSlotMap(topo, nodes) {
  const c = $('#slot-map');
  const ctx = c.getContext('2d');
  ctx.fillStyle = '#ddd';
  ctx.fillRect(0, 0, c.width, c.height);
  const scale = c.width / 16384;
  const legend = [];
  topo.shards.forEach((s, i) => {
    ctx.fillStyle = COLORS[i % COLORS.length];
    s.slots.forEach(([a, b]) => ctx.fillRect(a * scale, 0, Math.max(1, (b - a + 1) * scale), c.height));
    legend.push(`<span><i style="background:${COLORS[i % COLORS.length]}"></i>${esc(s.master.address)}</span>`);
  });
  // Open (migrating/importing) slots: a red tick over the bar, from the nodes' own views.
  // Each open slot once, whether its source, its destination or both report it.
  const openSlots = new Set();
  nodes.forEach((n) => (n.open_slot_list || []).forEach((o) => openSlots.add(o.slot)));
  ctx.fillStyle = '#c6322b';
  openSlots.forEach((slot) => ctx.fillRect(slot * scale - 1, 0, 3, c.height / 3));
  const open = openSlots.size;
  legend.push('<span><i style="background:#ddd"></i>uncovered</span>');
  if (open) legend.push(`<span><i style="background:#c6322b"></i>${open} open slot(s)</span>`);
  $('#slot-legend').innerHTML = legend.join('');
}

// ---- Nodes ----
async function renderNodes() {
  const { nodes } = await api('/v1/nodes');
  $('#nodes-table tbody').innerHTML = nodes.map((n) =>
    `<tr><td>${esc(n.address)}${n.muted ? ' 🔕' : ''}${n.retired ? ' <span class="tag">retired</span>' : ''}</td><td>${esc(n.host)}</td><td>${esc(n.role)}</td><td>${esc(n.master || '')}</td>` +
    `<td>${n.slot_count || ''}</td><td>${healthPill(n)} ${n.reason !== 'none' ? esc(n.reason) : ''}</td>` +
    `<td>${fmtBytes(n.used_memory)}</td><td>${n.ops_per_sec == null ? '' : n.ops_per_sec.toFixed(0)}</td><td>${n.keys ?? ''}</td>` +
    `<td><canvas class="spark" width="120" height="28" data-node="${esc(n.address)}" data-metric="ops"></canvas></td>` +
    `<td><canvas class="spark" width="120" height="28" data-node="${esc(n.address)}" data-metric="memory"></canvas></td></tr>`).join('');
  await Promise.all($$('canvas.spark').map(async (c) => {
    try {
      const s = await api(`/v1/metrics/series?node=${encodeURIComponent(c.dataset.node)}&metric=${c.dataset.metric}&range=3600`);
      spark(c, s.points);
    } catch (e) { /* node without samples */ }
  }));
}

function spark(c, points) {
  const ctx = c.getContext('2d');
  ctx.clearRect(0, 0, c.width, c.height);
  if (points.length < 2) return;
  const t0 = points[0][0], t1 = points[points.length - 1][0];
  const max = Math.max(...points.map((p) => p[1]), 1e-9);
  ctx.strokeStyle = '#2f74c0';
  ctx.beginPath();
  points.forEach(([t, v], i) => {
    const x = ((t - t0) / Math.max(1, t1 - t0)) * (c.width - 2) + 1;
    const y = c.height - 2 - (v / max) * (c.height - 4);
    if (i) ctx.lineTo(x, y); else ctx.moveTo(x, y);
  });
  ctx.stroke();
}

// ---- Timeline ----
function timelineQuery() {
  const f = new FormData($('#timeline-filter'));
  const q = new URLSearchParams({ limit: '200' });
  for (const [k, v] of f.entries()) if (v) q.set(k, v);
  return q;
}

async function renderTimeline() {
  const { events } = await api('/v1/events?' + timelineQuery());
  $('#events tbody').innerHTML = events.map((e) =>
    `<tr id="ev-${e.seq}" data-kind="${esc(e.kind)}"><td>${e.seq}</td><td>${esc(e.time.replace('T', ' ').replace('Z', ''))}</td><td>${esc(e.kind)}</td>` +
    `<td>${esc(e.source)}</td><td>${esc(e.summary)}</td>` +
    `<td>${e.cause_of ? `<a href="#timeline" class="cause" data-seq="${e.seq}">#${e.cause_of}</a>` : ''}</td></tr>`).join('');
}

async function eventAt(seq) {
  const { events } = await api(`/v1/events?after=${seq - 1}&limit=1`);
  return events[0];
}

// The cause chain of an event: follows cause_of back to the first event.
async function showChain(seq) {
  const chain = [];
  for (let s = seq; s && chain.length < 20;) {
    const e = await eventAt(s);
    if (!e) break;
    chain.push(e);
    s = e.cause_of;
  }
  $('#chain').innerHTML = `<h3>Cause chain of #${seq}</h3><ol class="cause-chain">` +
    chain.map((e) => `<li data-kind="${esc(e.kind)}">#${e.seq} <strong>${esc(e.kind)}</strong> ${esc(e.summary)}</li>`).join('') + '</ol>';
}

$('#timeline-filter').addEventListener('submit', (ev) => { ev.preventDefault(); refresh(); });
$('#events').addEventListener('click', (ev) => {
  const a = ev.target.closest('a.cause');
  if (!a) return;
  ev.preventDefault();
  showChain(Number(a.dataset.seq));
});

// ---- Plans ----
function progressBar(p, id) {
  const pct = Math.round((p || 0) * 100);
  return `<span class="progress" ${id ? `id="${id}"` : ''} data-progress="${pct}"><div style="width:${pct}%"></div></span> <span class="pct">${pct}%</span>`;
}

function stepsTable(steps) {
  return '<table class="steps"><thead><tr><th>#</th><th>step</th><th>status</th><th>progress</th></tr></thead><tbody>' +
    steps.map((s, i) => `<tr><td>${i + 1}</td><td>${esc(s.text)}</td><td class="step-${esc(s.status || '')}">${esc(s.status || '')}</td>` +
      `<td>${s.slots_total && s.status ? progressBar((s.slots_done || 0) / s.slots_total) + ` ${s.slots_done}/${s.slots_total} slots, ${s.keys_moved} keys` : ''}</td></tr>`).join('') +
    '</tbody></table>';
}

function hashParam(name) {
  const q = (location.hash.split('?')[1] || '');
  return new URLSearchParams(q).get(name);
}

// The plan answering a request this console submitted (#plans?request=ID), followed to its end
// even when it finished before the page looked.
async function renderFollowed() {
  const box = $('#followed');
  const id = hashParam('request');
  if (!id) { box.innerHTML = ''; return; }
  const op = await api('/v1/operations/' + id);
  if (op.state === 'pending') {
    box.innerHTML = `<h2>Request ${esc(id)}</h2><p>waiting for the planner…</p>`;
  } else if (op.state === 'rejected') {
    box.innerHTML = `<h2>Request ${esc(id)}</h2><p class="error">rejected: ${esc(op.reason)}</p>`;
  } else if (op.state === 'planned') {
    const p = await api('/v1/plans/' + op.plan_id);
    box.innerHTML = `<h2>Request ${esc(id)} → plan ${p.id}</h2><p>${esc(p.reason)} ${progressBar(p.progress, 'plan-progress')} ` +
      `<strong class="outcome">${esc(p.state)}</strong> ${esc(p.detail || p.error || '')}</p>` + stepsTable(p.steps || []);
  } else {
    box.innerHTML = `<h2>Request ${esc(id)}</h2><p>done (no plan needed)</p>`;
  }
}

async function renderPlans() {
  const p = await api('/v1/plans');
  await renderFollowed();
  const cur = $('#current-plan');
  if (p.current) {
    cur.innerHTML = `<p>plan <strong>${p.current.id}</strong>: ${esc(p.current.reason)} ${progressBar(p.current.progress)}` +
      ` <button type="button" id="abort" data-plan="${p.current.id}">Abort at next safe point</button></p>` +
      (p.current.abort_requested ? '<p class="error">abort requested</p>' : '') + stepsTable(p.current.steps);
  } else {
    cur.innerHTML = '<p>none</p>';
  }
  $('#pending').innerHTML = p.pending_requests.map((r) => `<li>request ${r.id}: ${esc(r.kind)} by ${esc(r.who)}</li>`).join('') || '<li>none</li>';
  $('#history tbody').innerHTML = p.history.map((h) =>
    `<tr><td><a href="#plans" class="plan-link" data-plan="${h.id}">${h.id}</a></td><td>${esc(h.reason)}</td><td>${esc(h.state)}</td><td>${esc(h.detail)}</td>` +
    `<td><a href="#timeline" class="plan-events" data-plan="${h.id}">events</a></td></tr>`).join('');
}

$('#page-plans').addEventListener('click', async (ev) => {
  const t = ev.target;
  if (t.id === 'abort') {
    try {
      await api('/v1/plans/' + t.dataset.plan, { method: 'DELETE' });
    } catch (e) { alert(e.message); }
    refresh();
  } else if (t.classList.contains('plan-link')) {
    ev.preventDefault();
    const d = await api('/v1/plans/' + t.dataset.plan);
    $('#plan-detail').innerHTML = `<h3>Plan ${d.id}: ${esc(d.reason)} (${esc(d.state)})</h3>` + stepsTable(d.steps || []);
  } else if (t.classList.contains('plan-events')) {
    $('#timeline-filter [name=plan]').value = t.dataset.plan;
  }
});

// ---- Actions ----
const form = $('#action-form');
async function fillNodeLists() {
  const { nodes } = await api('/v1/nodes');
  const masters = nodes.filter((n) => n.role === 'master');
  const opt = (n) => `<option value="${esc(n.address)}">${esc(n.address)} (${esc(n.role)}${n.slot_count ? ', ' + n.slot_count + ' slots' : ''})</option>`;
  $$('select.masters').forEach((s, i) => {
    const keep = s.value;
    s.innerHTML = masters.map(opt).join('');
    s.value = keep || (masters[i] ? masters[i].address : '');
  });
  $$('select.all-nodes').forEach((s) => { const keep = s.value; s.innerHTML = nodes.map(opt).join(''); if (keep) s.value = keep; });
}

function showFields() {
  const kind = $('#action-kind').value;
  $$('.field').forEach((f) => { f.hidden = !f.dataset.for.split(' ').includes(kind); });
  const mode = form.elements.mode.value;
  $('#data-loss').hidden = !(kind === 'failover' && mode !== 'default');
  $('#submit').disabled = true;
  $('#preview-out').innerHTML = '';
}
form.addEventListener('change', (ev) => { if (ev.target.name === 'kind' || ev.target.name === 'mode') showFields(); else $('#submit').disabled = true; });

function operationBody() {
  const e = form.elements;
  const kind = e.kind.value;
  const body = { kind };
  if (kind === 'migrate') {
    body.from = e.from.value;
    body.to = e.to.value;
    if (e.slots.value) body.slots = e.slots.value; else if (e.count.value) body.count = Number(e.count.value);
  } else if (kind === 'rebalance') {
    if (e.weights.value) {
      body.weights = {};
      e.weights.value.split(',').forEach((kv) => { const [k, v] = kv.split('='); if (k && v) body.weights[k.trim()] = Number(v); });
    }
    if (e.threshold.value) body.threshold = Number(e.threshold.value);
  } else if (kind === 'failover') {
    body.node = e['node-failover'].value;
    body.mode = e.mode.value;
    if (body.mode !== 'default') body.confirm = e.confirm.value;
  } else if (kind === 'add-node') {
    body.node = e['node-add'].value;
  } else if (['remove-node', 'mute', 'unmute'].includes(kind)) {
    body.node = e['node-pick'].value;
  }
  return body;
}

$('#preview').addEventListener('click', async () => {
  const out = $('#preview-out');
  const body = operationBody();
  if (body.kind === 'mute' || body.kind === 'unmute') {
    out.innerHTML = `<p>${esc(body.kind)} alerts for ${esc(body.node)} (recorded as an event).</p>`;
    $('#submit').disabled = false;
    return;
  }
  try {
    const r = await api('/v1/operations?dry_run=1', { method: 'POST', body: JSON.stringify(body) });
    if (r.decision === 'plan') {
      out.innerHTML = `<h3>The planner would run: ${esc(r.reason)}</h3>` + stepsTable(r.steps.map((s) => Object.assign({}, s, { status: '' })));
      $('#submit').disabled = false;
    } else if (r.decision === 'reject') {
      out.innerHTML = `<p class="error">The planner would reject it: ${esc(r.reason)}</p>`;
    } else {
      out.innerHTML = `<p>${esc(r.reason)}</p>`;
      $('#submit').disabled = false;
    }
  } catch (e) {
    out.innerHTML = `<p class="error">${esc(e.message)}</p>`;
  }
});

$('#submit').addEventListener('click', async () => {
  const body = operationBody();
  if (body.kind === 'failover' && body.mode !== 'default' &&
      !confirm(`A ${body.mode.toUpperCase()} failover may lose acknowledged writes. Go ahead?`)) return;
  try {
    const r = await api('/v1/operations', { method: 'POST', body: JSON.stringify(body) });
    $('#action-result').innerHTML = `<p id="request-recorded">recorded${r.id ? ' as request ' + r.id : ''} (event #${r.seq}).</p>`;
    $('#submit').disabled = true;
    if (r.id) location.hash = '#plans?request=' + r.id;
  } catch (e) {
    $('#action-result').innerHTML = `<p class="error">${esc(e.message)}</p>`;
  }
});

// ---- Router and refresh ----
const renderers = { overview: renderOverview, nodes: renderNodes, timeline: renderTimeline, plans: renderPlans, actions: fillNodeLists };
function page() { return (location.hash || '#overview').slice(1).split('?')[0] || 'overview'; }

let refreshing = false;
let again = false;
async function refresh() {
  // The page switches at once, even while a refresh is under way (which then runs again).
  const p = renderers[page()] ? page() : 'overview';
  $$('.page').forEach((s) => s.classList.toggle('active', s.id === 'page-' + p));
  $$('nav a').forEach((a) => a.classList.toggle('active', a.dataset.page === p));
  if (refreshing) {
    again = true;
    return;
  }
  refreshing = true;
  try {
    const c = await api('/v1/cluster');
    const pill = $('#status-pill');
    pill.textContent = c.state + (c.paused ? ' · paused' : '');
    pill.className = 'pill ' + c.state;
    await renderers[p]();
  } catch (e) {
    $('#status-pill').textContent = 'error: ' + e.message;
  } finally {
    refreshing = false;
    if (again) {
      again = false;
      refresh();
    }
  }
}

window.addEventListener('hashchange', () => { if (page() === 'actions') showFields(); refresh(); });
showFields();
refresh();
// Plans refresh fast so migrations show live progress; other pages are calmer.
setInterval(() => { if (page() === 'plans' || page() === 'overview') refresh(); }, 1000);
setInterval(() => { if (page() === 'nodes') refresh(); }, 10000);
