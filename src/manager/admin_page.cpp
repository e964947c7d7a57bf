// The admin console served at GET /workers: static HTML, inline CSS and JS, no external assets.
// The script polls the JSON API and writes every value from workers or the database with
// textContent (never innerHTML), so worker output cannot inject markup or script.
#include "manager/admin_page.h"

namespace socialai::manager {
namespace {

// Test hooks (tests/system/admin_console_test.cpp): one <tbody data-worker="NAME"> per worker
// holding .state, .pid, .restarts, .log and buttons [data-action=restart|stop|start].
constexpr std::string_view kPage = R"html(<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" href="data:,">
<title>socialai · workers</title>
<style>
:root { --bg: #f4f5f7; --panel: #fff; --text: #1f2937; --muted: #6b7280; --line: #e5e7eb;
  --green: #16a34a; --amber: #d97706; --red: #dc2626; --grey: #9ca3af; --accent: #2563eb;
  font: 14px/1.45 "Segoe UI", Roboto, "Helvetica Neue", Arial, system-ui, sans-serif; }
* { box-sizing: border-box; }
body { margin: 0; background: var(--bg); color: var(--text); }
header { display: flex; align-items: center; gap: 24px; padding: 12px 28px; background: #111827; color: #f9fafb; }
header h1 { margin: 0; font-size: 17px; font-weight: 600; letter-spacing: .2px; }
header h1 span { color: #9ca3af; font-weight: 400; }
#summary { display: flex; gap: 14px; color: #d1d5db; font-size: 13px; }
#summary b { color: #fff; }
#updated { margin-left: auto; font-size: 12px; color: #9ca3af; }
#updated.bad { color: #fca5a5; }
#token { width: 190px; padding: 6px 10px; border: 1px solid #374151; border-radius: 6px; background: #1f2937; color: #f9fafb; font: inherit; font-size: 13px; }
#token.invalid { border-color: var(--red); }
main { padding: 22px 28px; max-width: 1500px; margin: 0 auto; }
#notice { margin: 0 0 14px; padding: 9px 14px; border-radius: 6px; background: #ecfdf5; color: #065f46; border: 1px solid #a7f3d0; }
#notice.bad { background: #fef2f2; color: #991b1b; border-color: #fecaca; }
#dbdown { margin: 0 0 14px; padding: 11px 14px; border-radius: 6px; background: #fef2f2; color: #991b1b; border: 1px solid #fca5a5; font-weight: 600; }
#dbdown span { font-weight: 400; }
#manager { margin-top: 22px; }
#manager h3 { margin: 0 0 6px; font-size: 11px; text-transform: uppercase; letter-spacing: .5px; color: var(--muted); }
#manager .log { max-height: 220px; }
tbody.c-red td { background: #fef6f6; }
table { width: 100%; border-collapse: collapse; background: var(--panel); border: 1px solid var(--line); border-radius: 8px; box-shadow: 0 1px 2px rgba(0,0,0,.04); overflow: hidden; }
th { text-align: left; font-size: 11px; font-weight: 600; text-transform: uppercase; letter-spacing: .5px; color: var(--muted); background: #f9fafb; padding: 9px 12px; border-bottom: 1px solid var(--line); white-space: nowrap; }
td { padding: 10px 12px; border-top: 1px solid var(--line); vertical-align: middle; white-space: nowrap; }
.num { text-align: right; font-variant-numeric: tabular-nums; }
td.pid, td.uptime, td.success { font-variant-numeric: tabular-nums; color: #374151; }
tbody.worker:hover td, tbody.open td { background: #fafbfc; }
.toggle { display: flex; align-items: center; gap: 9px; border: 0; background: none; padding: 0; font: inherit; font-weight: 600; color: var(--text); cursor: pointer; }
.caret { color: var(--muted); font-size: 10px; width: 10px; transition: transform .15s; }
tbody.open .caret { transform: rotate(90deg); }
.dot { width: 10px; height: 10px; border-radius: 50%; background: var(--c); box-shadow: 0 0 0 3px color-mix(in srgb, var(--c) 22%, transparent); }
.c-green { --c: var(--green); } .c-amber { --c: var(--amber); } .c-red { --c: var(--red); } .c-grey { --c: var(--grey); }
.state { display: inline-block; padding: 1px 9px; border-radius: 999px; font-size: 12px; font-weight: 600; color: color-mix(in srgb, var(--c) 75%, #000); background: color-mix(in srgb, var(--c) 14%, #fff); }
.note { margin-left: 6px; font-size: 12px; color: var(--amber); }
td.error { max-width: 320px; overflow: hidden; text-overflow: ellipsis; color: #b91c1c; font-size: 13px; }
.actions { text-align: right; }
.actions button { margin-left: 4px; padding: 4px 11px; border: 1px solid #d1d5db; border-radius: 6px; background: #fff; color: #374151; font: inherit; font-size: 12px; cursor: pointer; }
.actions button:hover:not(:disabled) { border-color: var(--accent); color: var(--accent); }
.actions button[data-action=stop]:hover:not(:disabled) { border-color: var(--red); color: var(--red); }
.actions button:disabled { opacity: .4; cursor: default; }
tr.detail td { padding: 0 12px 14px 40px; border-top: 0; white-space: normal; }
.panels { display: grid; grid-template-columns: 1fr 2fr; gap: 16px; }
.panels h3 { margin: 4px 0 6px; font-size: 11px; text-transform: uppercase; letter-spacing: .5px; color: var(--muted); }
.errors { margin: 0; padding: 0; list-style: none; font-size: 13px; }
.errors li { padding: 3px 0; border-bottom: 1px dashed var(--line); word-break: break-word; }
.errors time, .errors .ref { color: var(--muted); margin-right: 6px; }
.meta { margin-top: 10px; font-size: 12px; color: var(--muted); }
.log { margin: 0; max-height: 390px; overflow: auto; padding: 10px 12px; background: #0f172a; color: #e2e8f0; border-radius: 6px; font: 12px/1.5 ui-monospace, Menlo, Consolas, "DejaVu Sans Mono", monospace; white-space: pre-wrap; word-break: break-all; }
.muted { color: var(--muted); }
body.stale table { opacity: .55; }  /* the API stopped answering: what is shown is old */
#empty { padding: 30px; text-align: center; color: var(--muted); }
</style>
</head>
<body>
<header>
  <h1>socialai <span>workers</span></h1>
  <div id="summary"></div>
  <span id="updated">connecting…</span>
  <form id="auth"><input id="token" type="password" placeholder="Admin token (optional)"
    autocomplete="off" aria-label="Admin token"></form>
</header>
<main>
  <div id="dbdown" role="alert" hidden></div>
  <div id="notice" role="status" hidden></div>
  <table id="workers">
    <thead><tr><th>Worker</th><th>State</th><th>PID</th><th>Uptime</th><th>Last success</th>
      <th class="num">Restarts</th><th class="num">Error rate</th><th class="num">Items/min</th>
      <th>Latest error</th><th></th></tr></thead>
  </table>
  <div id="empty">Loading workers…</div>
  <section id="manager"><h3>Manager log (last 15 lines)</h3><pre class="log" id="managerlog">loading…</pre></section>
</main>
<script>
'use strict';
const POLL_MS = 2000, LOG_LINES = 20, ACTIONS = ['restart', 'stop', 'start'];
const table = document.getElementById('workers');
const tokenInput = document.getElementById('token');
const rows = new Map();  // worker name -> { body, cells…, open }
let timer = 0, noticeTimer = 0;

tokenInput.value = sessionStorage.getItem('socialai.adminToken') || '';
document.getElementById('auth').addEventListener('submit', (e) => e.preventDefault());
tokenInput.addEventListener('input', () => {
  sessionStorage.setItem('socialai.adminToken', tokenInput.value.trim());
  tokenInput.classList.remove('invalid');
});

const api = (name, tail) => '/api/workers/' + encodeURIComponent(name) + '/' + tail;
function el(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
}
// Writes only on change, so a refresh does not reset a text selection or a scroll position.
function set(node, text, title) {
  text = String(text);
  if (node.textContent !== text) node.textContent = text;
  if (title !== undefined && node.title !== title) node.title = title;
}
// red: fatal, or running but unhealthy (failing cycles, no database, stale heartbeat);
// amber: on its way (starting, backoff) or its last cycle failed; green: healthy, no error.
function colour(w) {
  if (w.state === 'fatal' || (w.state === 'running' && !w.healthy)) return 'red';
  if (!w.enabled || ['stopped', 'disabled', 'standby'].includes(w.state)) return 'grey';
  return w.state === 'running' && !w.error ? 'green' : 'amber';
}
// 42s, 5m 3s, 2h 10m, 3d 4h; `coarse` drops the seconds once there are minutes.
function duration(sec, coarse) {
  const s = Math.floor(sec), d = Math.floor(s / 86400), h = Math.floor(s % 86400 / 3600),
        m = Math.floor(s % 3600 / 60);
  if (d) return d + 'd ' + h + 'h';
  if (h) return h + 'h ' + m + 'm';
  if (m) return coarse ? m + 'm' : m + 'm ' + (s % 60) + 's';
  return s + 's';
}
function ago(iso) {
  const t = Date.parse(iso || '');
  if (isNaN(t)) return iso || 'never';
  return duration(Math.max(0, (Date.now() - t) / 1000), true) + ' ago';
}
function latestError(w) {
  if (w.error) return w.error;  // the last cycle's, the database's, an exec failure
  const e = (w.recentErrors || [])[0];
  if (e) return e.error ?? '';
  return ['backoff', 'fatal'].includes(w.state) && w.lastExit ? w.lastExit : '';
}

function addWorker(name) {
  const r = { name, open: false, body: el('tbody', 'worker') };
  r.body.dataset.worker = name;
  const main = el('tr', 'main'), cell = (cls) => main.appendChild(el('td', cls));
  r.toggle = el('button', 'toggle');
  r.toggle.type = 'button';
  r.toggle.setAttribute('aria-expanded', 'false');
  r.toggle.append(el('span', 'caret', '▶'), el('span', 'dot'), el('span', 'name', name));
  r.toggle.addEventListener('click', () => toggle(r));
  cell('').append(r.toggle);
  const st = cell('');
  r.state = st.appendChild(el('span', 'state'));
  r.note = st.appendChild(el('span', 'note'));
  for (const k of ['pid', 'uptime', 'success']) r[k] = cell(k);
  for (const k of ['restarts', 'rate', 'ipm']) r[k] = cell(k + ' num');
  r.error = cell('error');
  const act = cell('actions');
  r.buttons = ACTIONS.map((a) => {
    const b = act.appendChild(el('button', '', a[0].toUpperCase() + a.slice(1)));
    b.type = 'button';
    b.dataset.action = a;
    b.addEventListener('click', () => control(r, a));
    return b;
  });
  r.detail = el('tr', 'detail');
  r.detail.hidden = true;
  const td = r.detail.appendChild(el('td'));
  td.colSpan = 10;
  const panels = td.appendChild(el('div', 'panels')), left = panels.appendChild(el('div'));
  const right = panels.appendChild(el('div'));
  left.append(el('h3', '', 'Recent errors'));
  r.errors = left.appendChild(el('ul', 'errors'));
  r.meta = left.appendChild(el('div', 'meta'));
  right.append(el('h3', '', 'Log tail (last ' + LOG_LINES + ' lines)'));
  r.log = right.appendChild(el('pre', 'log', 'loading…'));
  r.body.append(main, r.detail);
  return r;
}

function update(r, w) {
  const c = 'worker c-' + colour(w) + (r.open ? ' open' : '');
  if (r.body.className !== c) r.body.className = c;
  set(r.state, w.state);
  set(r.note, [w.state === 'running' && !w.healthy ? 'unhealthy' : '', w.note || '']
    .filter(Boolean).join(' · '));
  set(r.pid, w.pid ?? '—');
  set(r.uptime, w.pid ? duration(w.uptimeSeconds) : '—');
  set(r.success, w.lastSuccess ? ago(w.lastSuccess) : 'never', w.lastSuccess || '');
  set(r.restarts, w.restartCount, 'consecutive; ' + w.totalRestarts + ' in total');
  set(r.rate, w.errorRate == null ? '—' : (w.errorRate * 100).toFixed(1) + '%');
  set(r.ipm, w.itemsPerMinute == null ? '—' : w.itemsPerMinute.toFixed(1));
  const err = latestError(w);
  set(r.error, err, err);
  r.buttons[0].disabled = false;
  r.buttons[1].disabled = ['stopped', 'fatal', 'disabled'].includes(w.state);
  r.buttons[2].disabled = ['running', 'starting', 'stopping', 'standby'].includes(w.state);
  if (!r.open) return;
  const errors = (w.recentErrors || []).map((e) => [ago(e.at), e.at, e.itemRef ?? 'cycle', e.error]);
  const key = JSON.stringify(errors);  // rebuilt only when something visible changed
  if (r.errorsKey !== key) {
    r.errorsKey = key;
    r.errors.replaceChildren(...errors.map(([when, at, ref, text]) => {
      const li = el('li');
      li.appendChild(el('time', '', when)).title = at || '';
      if (ref) li.append(el('span', 'ref', ref));
      li.append(document.createTextNode(text ?? ''));
      return li;
    }));
    if (!errors.length) r.errors.append(el('li', 'muted', 'none in the last day'));
  }
  const meta = ['last run ' + ago(w.lastRun), w.totalRestarts + ' restarts in total'];
  if (w.lastExit) meta.push('last exit: ' + w.lastExit);
  if (w.cpuSeconds != null) meta.push('CPU ' + w.cpuSeconds.toFixed(1) + ' s');
  if (w.rssBytes != null) meta.push('RSS ' + (w.rssBytes / 1048576).toFixed(1) + ' MiB');
  if (w.heartbeatState) meta.push('heartbeat ' + w.heartbeatState);
  if (w.partitions) meta.push('partitions ' + w.partitions);
  set(r.meta, meta.join(' · '));
  loadLog(r);
}

async function loadLog(r) {
  try {
    const res = await fetch(api(r.name, 'logs?lines=' + LOG_LINES), { cache: 'no-store' });
    const body = await res.json();
    const text = res.ok ? (body.lines.length ? body.lines.join('\n') : '(no output yet)')
                        : (body.error || 'HTTP ' + res.status);
    const atEnd = r.log.scrollTop + r.log.clientHeight >= r.log.scrollHeight - 4;
    set(r.log, text);
    if (atEnd) r.log.scrollTop = r.log.scrollHeight;
  } catch (e) {
    set(r.log, 'log unavailable: ' + e.message);
  }
}

function setOpen(r, open) {
  r.open = open;
  r.detail.hidden = !open;
  r.body.classList.toggle('open', open);
  r.toggle.setAttribute('aria-expanded', String(open));
  r.errorsKey = undefined;
}
function toggle(r) {
  setOpen(r, !r.open);
  if (r.open) update(r, r.last);
}

function render(list) {
  const seen = new Set();
  list.forEach((w, i) => {
    seen.add(w.name);
    let r = rows.get(w.name);
    if (!r) {
      rows.set(w.name, r = addWorker(w.name));
      setOpen(r, colour(w) === 'red');  // a fatal worker opens with its errors and log tail
    }
    if (table.tBodies[i] !== r.body) table.insertBefore(r.body, table.tBodies[i] || null);
    r.last = w;
    update(r, w);
  });
  for (const [name, r] of rows) {
    if (!seen.has(name)) { r.body.remove(); rows.delete(name); }
  }
  document.getElementById('empty').hidden = list.length > 0;
  set(document.getElementById('empty'), 'No workers configured.');
  const count = (c) => list.filter((w) => colour(w) === c).length;
  const summary = document.getElementById('summary');
  summary.replaceChildren();
  for (const [n, label] of [[list.length, 'workers'], [count('green'), 'healthy'],
                            [count('amber'), 'attention'], [count('red'), 'failing']]) {
    const s = summary.appendChild(el('span'));
    s.append(el('b', '', n), ' ' + label);
  }
  const down = list.find((w) => w.database === 'down');
  const banner = document.getElementById('dbdown');
  banner.hidden = !down;
  if (down) {
    if (!banner.firstChild) banner.append('Database unreachable: ', el('span'));
    set(banner.lastChild, (down.databaseError || 'no answer') +
      ' — figures below are the last known; workers cannot record their cycles.');
  }
}

async function loadManagerLog() {
  const pre = document.getElementById('managerlog');
  try {
    const res = await fetch('/api/manager/logs?lines=15', { cache: 'no-store' });
    const body = await res.json();
    set(pre, res.ok ? (body.lines.length ? body.lines.join('\n') : '(nothing yet)')
                    : (body.error || 'HTTP ' + res.status));
  } catch (e) {
    set(pre, 'log unavailable: ' + e.message);
  }
}

function notify(text, bad) {
  const n = document.getElementById('notice');
  n.textContent = text;
  n.className = bad ? 'bad' : '';
  n.hidden = false;
  clearTimeout(noticeTimer);
  noticeTimer = setTimeout(() => { n.hidden = true; }, bad ? 10000 : 4000);
}

async function control(r, action) {
  r.buttons.forEach((b) => { b.disabled = true; });
  const headers = {}, token = tokenInput.value.trim();
  if (token) headers.Authorization = 'Bearer ' + token;
  try {
    const res = await fetch(api(r.name, action), { method: 'POST', headers });
    if (res.ok) {
      notify(action + ' requested for ' + r.name, false);
    } else {
      let msg = 'HTTP ' + res.status;
      try { msg = (await res.json()).error || msg; } catch (e) { /* not JSON */ }
      notify(action + ' ' + r.name + ' refused (' + res.status + '): ' + msg, true);
      if (res.status === 401 || res.status === 403) tokenInput.classList.add('invalid');
    }
  } catch (e) {
    notify(action + ' ' + r.name + ' failed: ' + e.message, true);
  }
  refresh();
}

async function refresh() {
  const updated = document.getElementById('updated');
  try {
    const res = await fetch('/api/workers/status', { cache: 'no-store' });
    if (!res.ok) throw new Error('HTTP ' + res.status);
    render(await res.json());
    loadManagerLog();
    set(updated, 'updated ' + new Date().toLocaleTimeString());
    updated.className = '';
    document.body.classList.remove('stale');
  } catch (e) {
    set(updated, 'API unreachable (' + e.message + ') · retrying');
    updated.className = 'bad';
    document.body.classList.add('stale');
  }
  clearTimeout(timer);  // one polling chain even when an action refreshes early
  timer = setTimeout(refresh, POLL_MS);
}
refresh();
</script>
</body>
</html>
)html";

}  // namespace

std::string_view admin_page_html() { return kPage; }

}  // namespace socialai::manager
