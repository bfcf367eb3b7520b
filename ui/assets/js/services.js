// Services: the list (health summary, instances, tags, Docker origin,
// filters) and one service's page (every instance with its checks).

import { Poll, enc } from './api.js';
import { h, html, replace, reconcile, healthPills, tagList, pageHead, alertBox, searchBox, segmented, metaTable, countChecks, worst, statusDot } from './dom.js';
import { links, query, setQuery } from './router.js';
import { serviceRow, roleBadges, dockerLine, dockerOf } from './catalog.js';
import { checkList } from './checks.js';

const HEALTH = [
  { value: 'all', label: 'All' }, { value: 'passing', label: 'Passing' },
  { value: 'warning', label: 'Warning' }, { value: 'critical', label: 'Critical' },
];

// listPage is the frame both list pages share: heading, filter box, health
// filter, counts, error area, and a table whose rows are updated in place.
export function listPage(main, { title, noun, columns, filterLabel }) {
  const state = { q: query('filter'), health: query('status') || 'all' };
  const errors = h('div');
  const count = h('span', { class: 'count', 'aria-live': 'polite' });
  const tbody = h('tbody', { role: 'rowgroup' });
  const empty = h('div', { class: 'empty', hidden: true });
  const sub = h('span');
  const page = { state, errors, count, tbody, empty, sub, onFilter: () => {} };
  const seg = segmented('Filter by health', 'health-' + noun, HEALTH, state.health, v => {
    state.health = v;
    setQuery({ status: v === 'all' ? '' : v });
    page.onFilter();
  });
  const search = searchBox(filterLabel, state.q, e => {
    state.q = e.target.value;
    setQuery({ filter: state.q });
    page.onFilter();
  });
  page.seg = seg;
  main.append(pageHead(title, sub), h('div', { class: 'toolbar' }, search, seg, count), errors,
    h('div', { class: 'card' },
      h('table', { class: 'table cards list ' + noun, role: 'table', 'aria-label': title }, h('thead', { role: 'rowgroup' }, h('tr', { role: 'row' },
        columns.map(([label, cls]) => h('th', { scope: 'col', role: 'columnheader', class: cls, text: label })))), tbody),
      empty));
  // applyFilter hides rows rather than rebuilding the table, so typing in
  // the filter stays instant with thousands of rows.
  page.applyFilter = (items, keyOf, haystack) => {
    const q = state.q.trim().toLowerCase();
    const per = { all: 0, passing: 0, warning: 0, critical: 0 };
    let shown = 0;
    for (const it of items) {
      const textOK = !q || haystack(it).some(s => s.toLowerCase().includes(q));
      const w = worst(it);
      if (textOK) { per.all++; per[w]++; }
      const ok = textOK && (state.health === 'all' || state.health === w);
      const row = tbody._rows.get(keyOf(it));
      if (row) row.el.hidden = !ok;
      if (ok) shown++;
    }
    seg.querySelectorAll('label').forEach((l, i) => {
      let n = l.querySelector('.n');
      if (!n) { n = h('span', { class: 'n' }); l.append(n); }
      n.textContent = String(per[HEALTH[i].value]);
    });
    count.textContent = shown === items.length ? `${items.length} ${noun}` : `${shown} of ${items.length} ${noun}`;
    return shown;
  };
  page.showError = e => replace(errors, alertBox('error', h('p', { text: e.message })));
  page.clearError = () => replace(errors);
  return page;
}

// frameScheduler runs fn at most once per animation frame: a burst of poll
// answers becomes one render. cancel() drops a pending run (the view was
// left: it must not touch the next view's page).
export function frameScheduler(fn) {
  let queued = false, cancelled = false;
  const schedule = () => {
    if (queued || cancelled) return;
    queued = true;
    requestAnimationFrame(() => { queued = false; if (!cancelled) fn(); });
  };
  schedule.cancel = () => { cancelled = true; };
  return schedule;
}

export function servicesView(main, r, app) {
  document.title = 'Services · minconsul';
  const page = listPage(main, {
    title: 'Services', noun: 'services', filterLabel: 'Filter by name, tag or image',
    columns: [['Service', ''], ['Health', 'w-health'], ['Instances', 'num'], ['Tags', 'w-tags']],
  });
  let rows = [];
  const keyOf = s => s.name;
  const haystack = s => [s.name, ...s.tags, ...s.images, ...s.containers];
  const renderRow = s => html`<tr role="row"><td role="cell" class="name">${statusDot(s)}<a href="${links.service(r.dc, s.name)}">${s.name}</a>${
    s.images.length || s.containers.length ? dockerLine(s.images, s.containers) : null}</td><td role="cell" class="w-health" data-label="Health">${
    healthPills(s)}</td><td role="cell" class="num" data-label="Instances">${s.instances}</td><td role="cell" data-label="Tags">${tagList(s.tags)}</td></tr>`;

  let data = null;
  const filter = () => {
    const shown = page.applyFilter(rows, keyOf, haystack);
    page.empty.hidden = shown > 0 || !data;
    replace(page.empty, rows.length
      ? 'No service matches the filter.'
      : h('span', null, 'No services are registered yet. Register one with ',
        h('code', { text: 'curl -X PUT -d \'{"Name":"web","Port":80}\' localhost:8500/v1/agent/service/register' })));
  };
  page.onFilter = filter;
  const render = frameScheduler(() => {
    rows = data.map(serviceRow);
    reconcile(page.tbody, rows, keyOf, s => JSON.stringify(s), renderRow);
    filter();
    const inst = rows.reduce((n, s) => n + s.instances, 0);
    page.sub.textContent = `${inst} instance${inst === 1 ? '' : 's'}`;
    if (main.dataset.state !== 'ready') {
      main.dataset.state = 'ready';
      // Marked once the frame with the list has been painted (the task
      // after the next animation frame), for the render benchmark.
      requestAnimationFrame(() => setTimeout(() => performance.mark('minconsul:services-ready')));
    }
  });
  const poll = new Poll('/v1/internal/ui/services', d => { data = d || []; page.clearError(); render(); },
    { onError: e => page.showError(e) }).start();
  return { unmount: () => { poll.stop(); render.cancel(); } };
}

export function serviceView(main, r, app) {
  document.title = `${r.name} · Services · minconsul`;
  const errors = h('div');
  const summary = h('div');
  const list = h('div');
  const count = h('span', { class: 'n' });
  main.append(
    h('nav', { class: 'crumbs', 'aria-label': 'Breadcrumb' }, h('a', { href: links.services(r.dc), text: 'Services' }), h('span', { 'aria-hidden': 'true', text: '/' })),
    pageHead(r.name), errors, summary,
    h('section', { class: 'section', 'aria-label': 'Instances' }, h('h2', null, 'Instances ', count), h('div', { class: 'card' }, list)));
  const seen = new Map(); // check key -> { idx, at }: when this page saw a check change
  let data = null;

  const render = () => {
    if (!data) return;
    const all = data.flatMap(x => x.Checks || []);
    const total = countChecks(all);
    const tags = [...new Set(data.flatMap(x => x.Service.Tags || []))].sort();
    const images = [...new Set(data.map(x => dockerOf(x.Service.Meta)?.image).filter(Boolean))];
    count.textContent = `(${data.length})`;
    replace(summary, data.length === 0
      ? alertBox('info', h('p', null, `No instance of "${r.name}" is registered. This page updates as soon as one is.`))
      : h('div', { class: 'card card-pad' }, h('dl', { class: 'facts' },
        h('dt', { text: 'Health' }), h('dd', null, h('span', { class: 'status-text ' + worst(total), text: worst(total) }), ' ', healthPills(total)),
        h('dt', { text: 'Instances' }), h('dd', { text: String(data.length) }),
        tags.length ? [h('dt', { text: 'Tags' }), h('dd', null, tagList(tags, 50))] : null,
        images.length ? [h('dt', { text: 'Source' }), h('dd', null, dockerLine(images, []))] : null)));
    const rows = data.map(x => ({ key: x.Node.Node + '\u0000' + x.Service.ID, x }));
    reconcile(list, rows, i => i.key, i => JSON.stringify([i.x, app.raft, [...seen]]), ({ x }) => instanceBlock(x));
  };

  const instanceBlock = x => {
    const s = x.Service, addr = s.Address || x.Node.Address;
    const d = dockerOf(s.Meta);
    return h('article', { class: 'instance', 'aria-label': `Instance ${s.ID} on ${x.Node.Node}` },
      h('div', { class: 'instance-head' },
        h('a', { class: 'name', href: links.node(r.dc, x.Node.Node), text: x.Node.Node }), roleBadges(app, x.Node.Node),
        h('span', { class: 'mono', title: 'address:port', text: s.Port ? `${addr}:${s.Port}` : addr }),
        h('span', { class: 'muted' }, 'ID ', h('span', { class: 'mono', text: s.ID }))),
      d ? dockerLine(d.image ? [d.image] : [], d.name ? [d.name] : [], d.id) : null,
      tagList(s.Tags, 50),
      metaTable(s.Meta),
      checkList(x.Checks || [], seen));
  };

  const poll = new Poll('/v1/health/service/' + enc(r.name), d => {
    data = d;
    replace(errors);
    render();
    main.dataset.state = 'ready';
  }, { onError: e => replace(errors, alertBox('error', h('p', { text: e.message }))) }).start();
  app.listeners.add(render);
  return { unmount: () => { poll.stop(); app.listeners.delete(render); } };
}
