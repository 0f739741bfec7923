// swarm manager: live tables and the load chart, fed by /api/events (server-sent events).
'use strict';

const $ = (selector) => document.querySelector(selector);
let selected = location.hash.length > 1 ? location.hash.slice(1) : null;
let source = null;

function bytes(n) {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  while (n >= 1024 && i + 1 < units.length) { n /= 1024; i += 1; }
  return i === 0 ? `${n} B` : `${n.toFixed(1)} ${units[i]}`;
}

const rate = (bps) => `${bytes(bps)}/s`;

function cell(row, text, className) {
  const td = document.createElement('td');
  td.textContent = text;
  if (className) td.className = className;
  row.appendChild(td);
  return td;
}

// The origin's in-process seed: its state, and a button to start or stop it.
function seedText(s) {
  if (s.state === 'failed') return `failed: ${s.error ?? ''}`;
  return s.port == null || s.state === 'stopped' ? s.state : `${s.state} on port ${s.port}`;
}

function seedCell(row, t) {
  const td = cell(row, '');
  if (!t.seeding) return;
  const s = t.seeding;
  td.append(seedText(s));
  if (s.state === 'failed') td.className = 'seed-failed';
  const running = s.state === 'checking' || s.state === 'seeding';
  const button = document.createElement('button');
  button.type = 'button';
  button.dataset.seed = t.info_hash;
  button.dataset.action = running ? 'stop' : 'start';
  button.textContent = running ? 'Stop seeding' : 'Start seeding';
  td.appendChild(button);
}

async function toggleSeed(button) {
  button.disabled = true;
  const stop = button.dataset.action === 'stop';
  button.textContent = stop ? 'Stopping…' : 'Starting…';
  const response = await fetch(`/api/torrents/${button.dataset.seed}/seed`, {
    method: stop ? 'DELETE' : 'POST',
    headers: { 'content-type': 'application/json' },
    body: stop ? undefined : '{}',
  });
  if (!response.ok) {
    let text = `HTTP ${response.status}`;
    try { text = (await response.json()).error; } catch (_) { /* keep the status */ }
    showResult(`Seeding: ${text}`);
  }
  if (polling) poll();
}

function renderList(torrents) {
  const body = $('#torrents tbody');
  body.replaceChildren();
  if (torrents.length === 0) {
    const row = document.createElement('tr');
    cell(row, 'No torrents yet.', 'muted').colSpan = 9;
    body.appendChild(row);
    return;
  }
  for (const t of torrents) {
    const row = document.createElement('tr');
    row.dataset.hash = t.info_hash;
    if (t.info_hash === selected) row.className = 'selected';
    cell(row, t.name ?? '(unregistered)');
    const code = document.createElement('code');
    code.textContent = t.info_hash;
    cell(row, '').appendChild(code);
    cell(row, t.size_bytes == null ? '?' : bytes(t.size_bytes));
    cell(row, t.seeds);
    cell(row, t.leechers);
    cell(row, t.completed);
    cell(row, t.origin_upload_copies == null ? '?' : t.origin_upload_copies.toFixed(2));
    seedCell(row, t);
    const link = cell(row, '');
    if (t.torrent_url) {
      const a = document.createElement('a');
      a.href = t.torrent_url;
      a.textContent = '.torrent';
      link.appendChild(a);
    }
    body.appendChild(row);
  }
}

function renderDetail(t) {
  $('#detail').hidden = false;
  $('#detail-title').textContent = t.name ?? t.info_hash;
  const copies = t.origin_upload_copies == null ? '?' : t.origin_upload_copies.toFixed(2);
  $('#detail-summary').textContent =
    `${t.seeds} seeds, ${t.leechers} leechers, ${t.completed} completed; ` +
    `origin uploaded ${bytes(t.origin_uploaded_bytes)} (${copies} copies); ` +
    `all peers uploaded ${bytes(t.uploaded_bytes)}`;
  const body = $('#peers tbody');
  body.replaceChildren();
  for (const p of t.peers) {
    const row = document.createElement('tr');
    cell(row, (p.initial_seed ? 'origin ' : '') + p.peer_id);
    cell(row, p.addr);
    const progress = cell(row, '');
    const bar = document.createElement('span');
    bar.className = 'bar';
    const fill = document.createElement('span');
    fill.style.width = `${Math.round((p.progress ?? 0) * 100)}%`;
    bar.appendChild(fill);
    progress.appendChild(bar);
    progress.append(p.progress == null ? ' ?' : ` ${(p.progress * 100).toFixed(1)} %`);
    cell(row, bytes(p.uploaded_bytes));
    cell(row, bytes(p.downloaded_bytes));
    cell(row, rate(p.upload_bps));
    cell(row, rate(p.download_bps));
    cell(row, `${p.last_seen_s_ago.toFixed(0)} s ago`);
    body.appendChild(row);
  }
  drawChart(t);
}

// One bar per peer: its reported upload. The dashed line marks one copy of the file.
function drawChart(t) {
  const svg = $('#chart');
  const ns = 'http://www.w3.org/2000/svg';
  const width = 800, height = 240, top = 16, bottom = 34;
  svg.setAttribute('viewBox', `0 0 ${width} ${height}`);
  svg.replaceChildren();
  const peers = t.peers;
  const max = Math.max(1, t.size_bytes ?? 0, ...peers.map((p) => p.uploaded_bytes));
  const scale = (v) => (v / max) * (height - top - bottom);
  const slot = width / Math.max(1, peers.length);
  peers.forEach((p, i) => {
    const h = scale(p.uploaded_bytes);
    const rect = document.createElementNS(ns, 'rect');
    rect.setAttribute('x', i * slot + slot * 0.1);
    rect.setAttribute('width', slot * 0.8);
    rect.setAttribute('y', height - bottom - h);
    rect.setAttribute('height', h);
    rect.setAttribute('class', p.initial_seed ? 'origin' : 'peer');
    const title = document.createElementNS(ns, 'title');
    title.textContent = `${p.addr}: ${bytes(p.uploaded_bytes)}`;
    rect.appendChild(title);
    svg.appendChild(rect);
    const label = document.createElementNS(ns, 'text');
    label.setAttribute('x', i * slot + slot / 2);
    label.setAttribute('y', height - bottom + 14);
    label.setAttribute('text-anchor', 'middle');
    label.textContent = peers.length <= 24 ? p.addr : String(i + 1);
    svg.appendChild(label);
  });
  if (t.size_bytes) {
    const y = height - bottom - scale(t.size_bytes);
    const line = document.createElementNS(ns, 'line');
    line.setAttribute('x1', 0); line.setAttribute('x2', width);
    line.setAttribute('y1', y); line.setAttribute('y2', y);
    line.setAttribute('class', 'copy');
    svg.appendChild(line);
    const label = document.createElementNS(ns, 'text');
    label.setAttribute('x', 4); label.setAttribute('y', y - 3);
    label.textContent = '1 copy';
    svg.appendChild(label);
  }
}

// `?poll` (or a browser without EventSource, or a proxy that buffers event streams):
// fetch the same JSON every 2 s instead.
const polling = new URLSearchParams(location.search).has('poll') || !window.EventSource;
let pollTimer = null;

async function poll() {
  clearTimeout(pollTimer);
  try {
    renderList(await (await fetch('/api/torrents')).json());
    if (selected) {
      const response = await fetch(`/api/torrents/${selected}`);
      if (response.ok) renderDetail(await response.json());
    }
  } finally {
    pollTimer = setTimeout(poll, 2000);
  }
}

function connect() {
  if (polling) return poll();
  if (source) source.close();
  source = new EventSource('/api/events' + (selected ? `?info_hash=${selected}` : ''));
  source.addEventListener('torrents', (e) => renderList(JSON.parse(e.data)));
  source.addEventListener('torrent', (e) => renderDetail(JSON.parse(e.data)));
}

$('#torrents tbody').addEventListener('click', (e) => {
  const button = e.target.closest('button[data-seed]');
  if (button) { toggleSeed(button); return; }
  const row = e.target.closest('tr[data-hash]');
  if (!row || e.target.closest('a')) return;
  selected = row.dataset.hash;
  location.hash = selected;
  connect();
});

function showResult(text) { $('#register-result').textContent = text; }

function reportRegistration(status, text) {
  try {
    const body = JSON.parse(text);
    if (status >= 400) return showResult(`Failed: ${body.error}`);
    showResult(`${body.existing ? 'Already registered' : 'Registered'} ${body.name}: ${body.info_hash} — ${body.torrent_url}`);
  } catch (_) {
    showResult(`Failed: HTTP ${status}`);
  }
}

$('#upload-form').addEventListener('submit', (e) => {
  e.preventDefault();
  const form = e.target;
  const progress = $('#upload-progress');
  const request = new XMLHttpRequest();
  request.open('POST', '/api/torrents');
  request.upload.onprogress = (p) => { if (p.lengthComputable) progress.value = p.loaded / p.total; };
  request.onload = () => { progress.hidden = true; reportRegistration(request.status, request.responseText); };
  request.onerror = () => { progress.hidden = true; showResult('Upload failed.'); };
  progress.hidden = false;
  progress.value = 0;
  showResult('Uploading and hashing…');
  request.send(new FormData(form));
});

const pathForm = $('#path-form');
if (pathForm) {
  pathForm.addEventListener('submit', async (e) => {
    e.preventDefault();
    showResult('Hashing…');
    const response = await fetch('/api/torrents', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ path: new FormData(pathForm).get('path') }),
    });
    reportRegistration(response.status, await response.text());
  });
}

connect();
