// swarm fleet page: swaps in the fragments the server renders (from /api/fleet/events, or
// /api/fleet/page every second with ?poll), keeps the host table sorted and filtered as the
// operator chose (or the address said: ?filter=, ?sort=), and draws the throughput chart
// as inline SVG.
'use strict';

const $ = (selector) => document.querySelector(selector);
const SVG = 'http://www.w3.org/2000/svg';
const targets = { rollout: '#rollout', hosts: '#host-rows', matrix: '#matrix', history: '#history' };
let sort = { key: 'name', numeric: false, descending: false };

// ---- host table: sort and filter, re-applied after every swap ----

function sortValue(row, key, numeric) {
  const value = row.dataset[key] ?? '';
  return numeric ? Number(value) || 0 : value.toLowerCase();
}

function applyTable() {
  const body = $('#host-rows');
  const rows = Array.from(body.querySelectorAll('tr[data-name]'));
  const { key, numeric, descending } = sort;
  rows.sort((a, b) => {
    const x = sortValue(a, key, numeric);
    const y = sortValue(b, key, numeric);
    const order = x < y ? -1 : x > y ? 1 : a.dataset.name.localeCompare(b.dataset.name);
    return descending ? -order : order;
  });
  const words = $('#filter').value.trim().toLowerCase().split(/\s+/).filter(Boolean);
  let shown = 0;
  for (const row of rows) {
    const text = (row.dataset.search ?? '').toLowerCase();
    const match = words.every((w) => text.includes(w));
    row.hidden = !match;
    if (match) shown += 1;
    body.appendChild(row);
  }
  for (const th of document.querySelectorAll('#hosts th[data-key]')) {
    th.classList.toggle('sorted', th.dataset.key === key);
    th.classList.toggle('descending', th.dataset.key === key && descending);
  }
  $('#shown').textContent = rows.length ? `${shown} of ${rows.length} hosts shown` : '';
}

function onHeaderClick(event) {
  const th = event.target.closest('th[data-key]');
  if (!th) return;
  const key = th.dataset.key;
  const numeric = th.hasAttribute('data-numeric');
  // Numbers sort largest first on the first click: the slowest or stuck hosts come last.
  sort = sort.key === key
    ? { key, numeric, descending: !sort.descending }
    : { key, numeric, descending: numeric };
  applyTable();
}

// ---- the chart ----

function niceStep(range, count) {
  const raw = range / Math.max(1, count);
  const power = 10 ** Math.floor(Math.log10(raw || 1));
  const step = [1, 2, 5, 10].map((m) => m * power).find((s) => s >= raw) ?? 10 * power;
  return step;
}

function rateLabel(bps) {
  const units = ['B/s', 'KiB/s', 'MiB/s', 'GiB/s'];
  let i = 0;
  while (bps >= 1024 && i + 1 < units.length) { bps /= 1024; i += 1; }
  return `${bps >= 10 || i === 0 ? bps.toFixed(0) : bps.toFixed(1)} ${units[i]}`;
}

function timeLabel(s) {
  if (s < 120) return `${Math.round(s)} s`;
  if (s < 7200) return `${Math.round(s / 60)} min`;
  return `${(s / 3600).toFixed(1)} h`;
}

function el(name, attrs, text) {
  const node = document.createElementNS(SVG, name);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  if (text !== undefined) node.textContent = text;
  return node;
}

// Binary-unit ticks on the rate axis: steps of 1, 2 or 5 × a power of 1024.
function rateTicks(max) {
  let unit = 1;
  while (max / unit >= 1024 && unit < 1024 ** 3) unit *= 1024;
  const step = niceStep(max / unit, 4) * unit;
  const ticks = [];
  for (let v = 0; v <= max + step / 2; v += step) ticks.push(v);
  return ticks;
}

function drawChart(chart) {
  const svg = $('#chart');
  if (!svg || !chart) return;
  svg.replaceChildren();
  const [W, H, left, right, top, bottom] = [900, 260, 70, 20, 14, 30];
  const points = chart.points ?? [];
  if (points.length === 0) {
    svg.appendChild(el('text', { x: W / 2, y: H / 2, 'text-anchor': 'middle', class: 'empty' },
      'no figures yet: the chart fills in while the rollout runs'));
    return;
  }
  const tMax = Math.max(10, points[points.length - 1][0]);
  const yData = Math.max(1, chart.bound_bps ?? 0, ...points.map((p) => Math.max(p[1], p[2])));
  const ticks = rateTicks(yData * 1.1);
  const yMax = ticks[ticks.length - 1];
  const x = (t) => left + (t / tMax) * (W - left - right);
  const y = (v) => H - bottom - (v / yMax) * (H - top - bottom);
  // Rate ticks: at most 6 labels, 40 px apart at least, so they never collide.
  for (const v of ticks) {
    svg.appendChild(el('line', { x1: left, x2: W - right, y1: y(v), y2: y(v), class: 'grid' }));
    svg.appendChild(el('text', { x: left - 6, y: y(v) + 4, 'text-anchor': 'end' }, rateLabel(v)));
  }
  // Time ticks: about one per 110 px.
  const tStep = niceStep(tMax, Math.floor((W - left - right) / 110));
  for (let t = 0; t <= tMax + 1e-9; t += tStep) {
    svg.appendChild(el('line', { x1: x(t), x2: x(t), y1: H - bottom, y2: H - bottom + 4, class: 'axis' }));
    svg.appendChild(el('text', { x: x(t), y: H - bottom + 16, 'text-anchor': 'middle' }, timeLabel(t)));
  }
  svg.appendChild(el('line', { x1: left, x2: W - right, y1: H - bottom, y2: H - bottom, class: 'axis' }));
  if (chart.bound_bps) {
    svg.appendChild(el('line', {
      x1: left, x2: W - right, y1: y(chart.bound_bps), y2: y(chart.bound_bps), class: 'bound',
    }));
  }
  for (const [index, name] of [[2, 'origin'], [1, 'swarm']]) {
    const d = points.map((p, i) => `${i ? 'L' : 'M'}${x(p[0]).toFixed(1)},${y(p[index]).toFixed(1)}`);
    svg.appendChild(el('path', { d: d.join(' '), class: `line ${name}` }));
  }
}

function readSeries() {
  try { return JSON.parse($('#series').textContent); } catch (_) { return null; }
}

// ---- live updates ----

function apply(name, data) {
  if (name === 'series') {
    try { drawChart(JSON.parse(data)); } catch (_) { /* keep the last chart */ }
    return;
  }
  const target = $(targets[name]);
  if (!target) return;
  target.innerHTML = data;
  if (name === 'hosts') applyTable();
}

function follow() {
  if (document.body.dataset.live !== 'true') return;
  if (new URLSearchParams(location.search).has('poll') || !window.EventSource) {
    const poll = async () => {
      try {
        const response = await fetch('/api/fleet/page');
        if (response.ok) {
          const parts = await response.json();
          for (const name of ['rollout', 'hosts', 'matrix', 'history', 'series']) apply(name, parts[name]);
        }
      } catch (_) { /* the next poll tries again */ }
      setTimeout(poll, 1000);
    };
    setTimeout(poll, 1000);
    return;
  }
  const source = new EventSource('/api/fleet/events');
  for (const name of ['rollout', 'hosts', 'matrix', 'history', 'series']) {
    source.addEventListener(name, (event) => apply(name, event.data));
  }
}

// ?filter=WORDS and ?sort=KEY (or -KEY, descending) set the table's first state, so a
// link can point at "the failed hosts, slowest first".
function fromAddress() {
  const params = new URLSearchParams(location.search);
  if (params.has('filter')) $('#filter').value = params.get('filter');
  const wanted = params.get('sort');
  if (!wanted) return;
  const key = wanted.replace(/^-/, '');
  const th = document.querySelector(`#hosts th[data-key="${CSS.escape(key)}"]`);
  if (th) sort = { key, numeric: th.hasAttribute('data-numeric'), descending: wanted.startsWith('-') };
}

fromAddress();
$('#hosts thead').addEventListener('click', onHeaderClick);
$('#filter').addEventListener('input', applyTable);
applyTable();
drawChart(readSeries());
follow();
