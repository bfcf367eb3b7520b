// The application shell: header (datacenter, leader, live state), routing
// to one view at a time, and keyboard shortcuts.

import { get, live } from './api.js';
import { h, replace, alertBox, pageHead } from './dom.js';
import { parse, start, navigate, links } from './router.js';
import { servicesView, serviceView } from './services.js';
import { nodesView, nodeView } from './nodes.js';
import { kvFolderView } from './kv.js';
import { kvKeyView, kvCreateView } from './kveditor.js';

const main = document.getElementById('main');
const app = {
  dc: '',           // the agent's datacenter
  node: '',         // the agent's node name
  raft: null,       // /v1/operator/raft/configuration, for servers and the leader
  listeners: new Set(),
};

const views = {
  services: servicesView, service: serviceView, nodes: nodesView, node: nodeView,
  kv: kvFolderView, 'kv-key': kvKeyView, 'kv-create': kvCreateView,
};

let current = null; // the mounted view: { unmount }

function route() {
  const r = parse(location.pathname);
  if (r.view === 'root') {
    if (!app.dc) return; // boot() routes again once the datacenter is known
    navigate(links.services(app.dc) + location.search, { replace: true });
    return;
  }
  current?.unmount?.();
  current = null;
  main.dataset.state = 'loading';
  replace(main);
  setNav(r);
  const view = views[r.view];
  if (!view) {
    document.title = 'Not found · minconsul';
    main.append(pageHead('Page not found'), alertBox('info', h('p', null, 'There is nothing at this address. Try ',
      h('a', { href: links.services(r.dc), text: 'services' }), ', ', h('a', { href: links.nodes(r.dc), text: 'nodes' }),
      ' or ', h('a', { href: links.kv(r.dc), text: 'key/value' }), '.')));
    main.dataset.state = 'ready';
    return;
  }
  current = view(main, r, app);
  // Focus moves to the new page's heading, so keyboard and screen reader
  // users continue from the content, not from wherever the link was.
  if (routed) main.querySelector('h1')?.focus({ preventScroll: true });
  routed = true;
  scrollTo(0, 0);
}
let routed = false;

function setNav(r) {
  const dc = r.dc || app.dc;
  const section = r.view.startsWith('kv') ? 'kv' : r.view.startsWith('node') ? 'nodes' : 'services';
  for (const [id, href] of [['services', links.services(dc)], ['nodes', links.nodes(dc)], ['kv', links.kv(dc)]]) {
    const a = document.getElementById('nav-' + id);
    a.href = href;
    if (id === section) a.setAttribute('aria-current', 'page'); else a.removeAttribute('aria-current');
  }
}

// Header: the live indicator doubles as the pause / resume / retry button.
const liveBtn = document.getElementById('hdr-live');
let tick = null;
function renderLive() {
  const s = live.state();
  liveBtn.dataset.state = s;
  const f = live.failing();
  const txt = {
    live: 'Live', connecting: 'Connecting…', paused: 'Paused',
    disconnected: f ? `Disconnected · retry in ${Math.max(0, Math.ceil((f.retryAt - Date.now()) / 1000))} s` : 'Disconnected',
  }[s];
  liveBtn.querySelector('.txt').textContent = txt;
  liveBtn.title = {
    live: 'Updates arrive as they happen. Click to pause.',
    connecting: 'Loading…',
    paused: 'Live updates are paused. Click to resume.',
    disconnected: (f ? f.error.message + '. ' : '') + 'Click to retry now.',
  }[s];
  liveBtn.setAttribute('aria-label', `Live updates: ${txt}. ${s === 'paused' ? 'Resume' : s === 'disconnected' ? 'Retry now' : 'Pause'}`);
  // The countdown needs a clock only while something is failing.
  if (s === 'disconnected' && !tick) tick = setInterval(renderLive, 1000);
  if (s !== 'disconnected' && tick) { clearInterval(tick); tick = null; }
}
liveBtn.addEventListener('click', () => {
  const s = live.state();
  if (s === 'paused') live.resume();
  else if (s === 'disconnected') live.retryNow();
  else live.pause();
});

// The leader and the servers come from the Raft configuration. It has no
// blocking query, so it is read again when something else changed (a
// leader change shows up in the catalog as a failing node) or when the
// API fails, at most every two seconds.
let raftTimer = null, raftLast = 0;
function refreshRaft() {
  if (raftTimer) return;
  raftTimer = setTimeout(async () => {
    raftLast = Date.now();
    try {
      app.raft = await get('/v1/operator/raft/configuration');
    } catch (e) {
      app.raft = { error: e };
    }
    raftTimer = null;
    renderLeader();
    for (const fn of app.listeners) fn();
  }, Math.max(0, 2000 - (Date.now() - raftLast)));
}

function renderLeader() {
  const el = document.getElementById('hdr-leader');
  const leader = app.raft?.Servers?.find(s => s.Leader);
  const name = leader ? leader.Node : app.raft?.error ? 'unknown' : 'none';
  el.classList.toggle('bad', !leader);
  replace(el, 'leader ', h('b', { text: name }));
  el.title = leader ? `Raft leader: ${leader.Node} (${leader.Address})` : app.raft?.error ? app.raft.error.message : 'No Raft leader';
}

live.listeners.add(kind => {
  renderLive();
  if (kind === 'data' || live.state() === 'disconnected') refreshRaft();
});

// "/" jumps to the page's filter, as on most list UIs. The focus moves on
// keyup: keydown only claims the key (no quick-find), so the "/" itself is
// never typed into the filter.
let slash = false;
document.addEventListener('keydown', e => {
  slash = false;
  if (e.key !== '/' || e.ctrlKey || e.metaKey || e.altKey) return;
  if (e.target.closest('input, textarea, select, [contenteditable]') || !main.querySelector('[data-filter]')) return;
  e.preventDefault();
  slash = true;
});
document.addEventListener('keyup', e => {
  if (e.key !== '/' || !slash) return;
  slash = false;
  main.querySelector('[data-filter]')?.focus();
});

// Leaving the page must end its blocking queries: a browser may keep a
// page (and its parked requests, each holding one of the ~6 connections
// allowed per host) alive in its back/forward cache.
addEventListener('pagehide', () => { for (const p of live.polls) p.interrupt(); live.paused = true; });
addEventListener('pageshow', e => { if (e.persisted) live.resume(); });

async function boot() {
  // The modules loaded: boot.js's reload-on-failure stands down.
  document.documentElement.dataset.booted = '';
  sessionStorage.removeItem('minconsul-ui-reloads');
  renderLive();
  start(route);
  const r = parse(location.pathname);
  // A deep link renders at once; only the bare /ui/ waits for the agent
  // to say which datacenter it is in.
  if (r.view !== 'root') {
    app.dc = r.dc;
    route();
  }
  try {
    const self = await get('/v1/agent/self');
    app.dc = self.Config.Datacenter;
    app.node = self.Config.NodeName;
    document.getElementById('hdr-dc').textContent = app.dc;
  } catch (e) {
    app.dc = app.dc || 'dc1';
    main.prepend(alertBox('error', h('p', { text: 'Cannot read the agent: ' + e.message })));
  }
  if (r.view === 'root') route();
  refreshRaft();
}

boot();
