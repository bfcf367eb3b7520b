// Small DOM helpers: element building, keyed list updates that keep focus
// and scroll, icons, and the status pills every view shows.
//
// Pieces that list rows repeat a thousand times (pills, tags, icons) are
// written once as escaped HTML (html``): a list parses all its new rows in
// one go, several times faster than building each node, and the detail
// pages drop the same HTML into h() trees.

// Safe is HTML that html`` built: every interpolated value was escaped.
class Safe {
  constructor(s) { this.s = s; }
}

const ESC = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };
const esc = v => String(v).replace(/[&<>"']/g, c => ESC[c]);
const htmlOf = v => v == null || v === false ? '' : v instanceof Safe ? v.s : Array.isArray(v) ? v.map(htmlOf).join('') : esc(v);

// html is a template tag: values are escaped unless they are html`` too.
export function html(strings, ...vals) {
  let out = strings[0];
  for (let i = 0; i < vals.length; i++) out += htmlOf(vals[i]) + strings[i + 1];
  return new Safe(out);
}

function parse(safe) {
  const t = document.createElement('template');
  t.innerHTML = safe.s;
  return t.content;
}

// h builds an element. props: class, text, on{event: fn}, dataset, any other
// attribute or property (booleans become presence attributes).
export function h(tag, props, ...kids) {
  const el = document.createElement(tag);
  if (props) {
    for (const [k, v] of Object.entries(props)) {
      if (v == null || v === false) continue;
      if (k === 'class') el.className = v;
      else if (k === 'text') el.textContent = v;
      else if (k === 'on') for (const [ev, fn] of Object.entries(v)) el.addEventListener(ev, fn);
      else if (k === 'dataset') Object.assign(el.dataset, v);
      else if (k === 'value' || k === 'checked') el[k] = v;
      else el.setAttribute(k, v === true ? '' : v);
    }
  }
  append(el, kids);
  return el;
}

function append(el, kids) {
  for (const k of kids) {
    if (k == null || k === false) continue;
    if (Array.isArray(k)) append(el, k);
    else if (k instanceof Safe) el.append(parse(k));
    else el.append(k instanceof Node ? k : String(k));
  }
}

// replace swaps el's children for kids.
export function replace(el, ...kids) {
  el.textContent = '';
  append(el, kids);
  return el;
}

// reconcile makes parent's children the rendering of items, in order. Rows
// whose signature did not change are kept as they are, so an update of a
// thousand-row list touches only the rows that changed, and a focused link
// stays focused. render returns an element, or html`` of exactly one
// element: those are parsed together.
export function reconcile(parent, items, keyOf, sigOf, render) {
  const old = parent._rows || new Map();
  const next = new Map();
  const rows = [], pending = [];
  for (const it of items) {
    const key = keyOf(it), sig = sigOf(it);
    let row = old.get(key);
    if (!row || row.sig !== sig) {
      const r = render(it);
      row = { sig, el: r };
      if (r instanceof Safe) pending.push(row);
    }
    next.set(key, row);
    rows.push(row);
  }
  if (pending.length) {
    const els = [...parse(new Safe(pending.map(r => r.el.s).join(''))).children];
    pending.forEach((r, i) => { r.el = els[i]; });
  }
  const want = rows.map(r => r.el);
  let cur = parent.firstChild;
  for (const el of want) {
    if (el === cur) { cur = cur.nextSibling; continue; }
    parent.insertBefore(el, cur);
  }
  while (cur) { const n = cur.nextSibling; cur.remove(); cur = n; }
  parent._rows = next;
  return next;
}

const ICONS = {
  passing: '<path d="M20 6 9 17l-5-5"/>',
  warning: '<path d="M12 9v4M12 17h.01"/><path d="M10.3 3.9 1.8 18a2 2 0 0 0 1.7 3h17a2 2 0 0 0 1.7-3L13.7 3.9a2 2 0 0 0-3.4 0z"/>',
  critical: '<path d="M18 6 6 18M6 6l12 12"/>',
  search: '<circle cx="11" cy="11" r="7"/><path d="m20 20-3.5-3.5"/>',
  folder: '<path d="M3 7a2 2 0 0 1 2-2h4l2 2h8a2 2 0 0 1 2 2v8a2 2 0 0 1-2 2H5a2 2 0 0 1-2-2z"/>',
  file: '<path d="M14 3H7a2 2 0 0 0-2 2v14a2 2 0 0 0 2 2h10a2 2 0 0 0 2-2V8z"/><path d="M14 3v5h5"/>',
  plus: '<path d="M12 5v14M5 12h14"/>',
  trash: '<path d="M3 6h18M8 6V4h8v2M6 6l1 14h10l1-14"/>',
  download: '<path d="M12 4v12M6 10l6 6 6-6M4 20h16"/>',
  upload: '<path d="M12 20V8M6 14l6-6 6 6M4 4h16"/>',
  info: '<circle cx="12" cy="12" r="9"/><path d="M12 11v5M12 8h.01"/>',
  pause: '<path d="M8 5v14M16 5v14"/>',
  edit: '<path d="M4 20h4L19 9l-4-4L4 16z"/>',
};

const SVG = '<svg viewBox="0 0 24 24" fill="none" stroke="currentColor" stroke-width="2" stroke-linecap="round" stroke-linejoin="round" aria-hidden="true">';

// iconHTML is an inline SVG (decorative: hidden from screen readers).
const iconHTML = name => new Safe(SVG + (ICONS[name] || '') + '</svg>');

// icon is the same as an element, parsed once per name and cloned after.
const iconCache = new Map();
export function icon(name) {
  if (!iconCache.has(name)) iconCache.set(name, parse(iconHTML(name)).firstChild);
  return iconCache.get(name).cloneNode(true);
}

export const STATUSES = ['passing', 'warning', 'critical'];

// healthPills renders check counts; zero counts are left out so that the
// eye lands on what is wrong.
export function healthPills(c) {
  const pills = STATUSES.filter(s => c[s] > 0).map(s =>
    html`<span class="pill ${s}" title="${c[s]} ${s} check${c[s] === 1 ? '' : 's'}">${c[s]}<span class="sr-only"> ${s}</span></span>`);
  return html`<span class="pills">${pills.length ? pills : html`<span class="pill none">no checks</span>`}</span>`;
}

// statusDot is a row's overall health at a glance (its text is for screen
// readers; the pills beside it give the counts).
export function statusDot(c) {
  const w = worst(c);
  return html`<span class="sdot ${w}" title="${w}"><span class="sr-only">${w}: </span></span>`;
}

// worst is the status a set of counts rolls up to.
export function worst(c) {
  return c.critical > 0 ? 'critical' : c.warning > 0 ? 'warning' : 'passing';
}

export function countChecks(checks) {
  const c = { passing: 0, warning: 0, critical: 0 };
  for (const ch of checks) {
    if (ch.Status in c) c[ch.Status]++;
    else c.critical++; // maintenance and unknown states are not healthy
  }
  return c;
}

export function statusText(status) {
  const s = STATUSES.includes(status) ? status : 'critical';
  return h('span', { class: 'status-text ' + s }, icon(s), status);
}

export function tagList(tags, max = 8) {
  if (!tags || !tags.length) return null;
  const more = tags.length > max ? html`<span class="tag" title="${tags.slice(max).join(', ')}">+${tags.length - max}</span>` : null;
  return html`<div class="tags">${tags.slice(0, max).map(t => html`<span class="tag">${t}</span>`)}${more}</div>`;
}

export function metaTable(meta) {
  const keys = Object.keys(meta || {}).sort();
  if (!keys.length) return null;
  return h('table', { class: 'meta-table' }, h('tbody', null,
    keys.map(k => h('tr', null, h('td', { text: k }), h('td', { text: meta[k] })))));
}

export function alertBox(kind, ...body) {
  return h('div', { class: 'alert ' + kind, role: kind === 'error' ? 'alert' : 'status' },
    icon(kind === 'error' ? 'critical' : kind === 'ok' ? 'passing' : kind === 'warn' ? 'warning' : 'info'),
    h('div', { class: 'body' }, body));
}

export function pageHead(title, sub, actions) {
  const h1 = h('h1', { tabindex: '-1', text: title });
  return h('div', { class: 'page-head' }, h1, sub ? h('span', { class: 'sub' }, sub) : null,
    actions ? h('div', { class: 'actions' }, actions) : null);
}

export function searchBox(label, value, oninput) {
  const id = 'q-' + Math.random().toString(36).slice(2, 8);
  return h('div', { class: 'search' }, icon('search'),
    h('label', { class: 'sr-only', for: id, text: label }),
    h('input', { class: 'input', id, type: 'search', placeholder: label, value, autocomplete: 'off', 'data-filter': '', on: { input: oninput } }));
}

// segmented renders a radio group (arrow keys move within it, Tab leaves it).
export function segmented(legend, name, options, value, onchange) {
  return h('fieldset', { class: 'seg' }, h('legend', { text: legend }),
    options.map(o => h('label', null,
      h('input', { type: 'radio', name, value: o.value, checked: o.value === value, on: { change: () => onchange(o.value) } }),
      o.label, o.count != null ? h('span', { class: 'n', text: String(o.count) }) : null)));
}

// time formats a moment the page saw happen.
export function clock(ms) {
  return new Date(ms).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: '2-digit' });
}

// confirmDialog asks with a modal <dialog> (focus is trapped inside, Esc
// cancels) and resolves to true when the user confirms.
export function confirmDialog({ title, body, confirm = 'Confirm', danger = false, extra = null }) {
  return new Promise(resolve => {
    const dlg = h('dialog', { 'aria-labelledby': 'dlg-title' });
    const done = v => { dlg.close(); dlg.remove(); resolve(v); };
    dlg.append(h('form', { method: 'dialog', on: { submit: e => { e.preventDefault(); done(true); } } },
      h('h2', { id: 'dlg-title', text: title }),
      h('p', { text: body }),
      extra,
      h('div', { class: 'row-actions' },
        h('button', { type: 'button', class: 'btn', 'data-cancel': '', on: { click: () => done(false) } }, 'Cancel'),
        h('button', { type: 'submit', class: 'btn ' + (danger ? 'danger solid' : 'primary'), 'data-confirm': '' }, confirm))));
    dlg.addEventListener('cancel', e => { e.preventDefault(); done(false); });
    document.body.append(dlg);
    dlg.showModal();
    // A destructive action starts on Cancel, so a stray Enter deletes nothing.
    dlg.querySelector(danger ? '[data-cancel]' : '[data-confirm]').focus();
  });
}
