// Routes on Consul's UI paths, so bookmarks made with Consul keep working:
//   /ui/<dc>/services[/<name>]   /ui/<dc>/nodes[/<node>]
//   /ui/<dc>/kv/<folder>/   /ui/<dc>/kv/<key>/edit   /ui/<dc>/kv/<folder>/create
// Paths carry each name or key segment percent-encoded on its own.

import { enc, encPath } from './api.js';

function dec(s) {
  try { return decodeURIComponent(s); } catch { return s; }
}

export function parse(pathname) {
  const segs = pathname.replace(/^\/ui\/?/, '').split('/');
  if (!segs[0]) return { view: 'root' };
  const dc = dec(segs[0]);
  const section = segs[1] || 'services';
  const rest = segs.slice(2);
  switch (section) {
    case 'services':
      return rest[0] ? { dc, view: 'service', name: dec(rest[0]) } : { dc, view: 'services' };
    case 'nodes':
      return rest[0] ? { dc, view: 'node', name: dec(rest[0]) } : { dc, view: 'nodes' };
    case 'kv':
      return kvRoute(dc, rest.map(dec).join('/'));
    default:
      return { dc, view: 'notfound' };
  }
}

// kvRoute reads the key path: "a/b/" is a folder, "a/b/edit" the key
// "a/b", "a/create" the new-key form in "a/". A key named "edit" or
// "create" stays reachable: its page is ".../edit/edit".
function kvRoute(dc, p) {
  if (p === '' || p.endsWith('/')) return { dc, view: 'kv', folder: p };
  if (p === 'create') return { dc, view: 'kv-create', folder: '' };
  if (p.endsWith('/create')) return { dc, view: 'kv-create', folder: p.slice(0, -'create'.length) };
  if (p.endsWith('/edit')) return { dc, view: 'kv-key', key: p.slice(0, -'/edit'.length) };
  return { dc, view: 'kv-key', key: p };
}

export const links = {
  services: dc => `/ui/${enc(dc)}/services`,
  service: (dc, name) => `/ui/${enc(dc)}/services/${enc(name)}`,
  nodes: dc => `/ui/${enc(dc)}/nodes`,
  node: (dc, name) => `/ui/${enc(dc)}/nodes/${enc(name)}`,
  kv: (dc, folder = '') => `/ui/${enc(dc)}/kv/${encPath(folder)}`,
  kvKey: (dc, key) => `/ui/${enc(dc)}/kv/${encPath(key)}/edit`,
  kvCreate: (dc, folder = '') => `/ui/${enc(dc)}/kv/${encPath(folder)}create`,
};

// parentFolder of "a/b/c" and of "a/b/c/" is "a/b/".
export function parentFolder(key) {
  const k = key.endsWith('/') ? key.slice(0, -1) : key;
  const i = k.lastIndexOf('/');
  return i < 0 ? '' : k.slice(0, i + 1);
}

// baseName of "a/b/c" is "c", of "a/b/" is "b/".
export function baseName(key) {
  return key.slice(parentFolder(key).length);
}

let onRoute = () => {};

// start installs link and history handling; the caller renders the first route.
export function start(render) {
  onRoute = render;
  // Same-document links are handled here; modified clicks (new tab) and
  // downloads keep the browser's behaviour.
  document.addEventListener('click', e => {
    if (e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
    const a = e.target.closest('a[href]');
    if (!a || a.target || a.hasAttribute('download')) return;
    const url = new URL(a.href, location.href);
    if (url.origin !== location.origin || !url.pathname.startsWith('/ui/')) return;
    e.preventDefault();
    if (url.pathname === location.pathname && url.search === location.search) return;
    navigate(url.pathname + url.search);
  });
  addEventListener('popstate', () => onRoute());
}

export function navigate(url, { replace = false } = {}) {
  if (replace) history.replaceState(null, '', url);
  else history.pushState(null, '', url);
  onRoute();
}

// setQuery keeps a view's filters in the address, so they survive a reload
// and can be shared, without adding history entries.
export function setQuery(params) {
  const u = new URL(location.href);
  for (const [k, v] of Object.entries(params)) {
    if (v) u.searchParams.set(k, v); else u.searchParams.delete(k);
  }
  history.replaceState(null, '', u.pathname + u.search);
}

export const query = name => new URLSearchParams(location.search).get(name) || '';
