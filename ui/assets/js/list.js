// The list pages' frame (services and nodes): heading, filter box, health
// filter with counts, error area, and a table kept current by one blocking
// query whose rows are updated in place.

import { Poll } from './api.js';
import { h, replace, reconcile, pageHead, alertBox, searchBox, segmented, worst } from './dom.js';
import { query, setQuery } from './router.js';

const HEALTH = [
  { value: 'all', label: 'All' }, { value: 'passing', label: 'Passing' },
  { value: 'warning', label: 'Warning' }, { value: 'critical', label: 'Critical' },
];

function listPage(main, { title, noun, columns, filterLabel }) {
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

// listView mounts a list page. cfg: title, noun, filterLabel, columns,
// url (its blocking query), toRow (answer item -> row), keyOf, haystack
// (the texts the filter searches), renderRow (html`` of one <tr>), sigOf
// (what a row's rendering depends on), empty (the text with no rows at
// all), onRender(rows) for extras; app.listeners re-render it (the header's
// leader and servers).
export function listView(main, app, cfg) {
  document.title = `${cfg.title} · minconsul`;
  const page = listPage(main, cfg);
  let data = null, rows = [];
  const filter = () => {
    const shown = page.applyFilter(rows, cfg.keyOf, cfg.haystack);
    page.empty.hidden = shown > 0 || !data;
    replace(page.empty, rows.length ? `No ${cfg.noun.replace(/s$/, '')} matches the filter.` : cfg.empty);
  };
  page.onFilter = filter;
  const render = frameScheduler(() => {
    if (!data) return;
    rows = data.map(cfg.toRow);
    reconcile(page.tbody, rows, cfg.keyOf, cfg.sigOf, cfg.renderRow);
    filter();
    cfg.onRender?.(rows, page);
    if (main.dataset.state !== 'ready') {
      main.dataset.state = 'ready';
      // Marked once the frame with the list has been painted (the task
      // after the next animation frame), for the render benchmark.
      requestAnimationFrame(() => setTimeout(() => performance.mark(`minconsul:${cfg.noun}-ready`)));
    }
  });
  const poll = new Poll(cfg.url, d => { data = d || []; page.clearError(); render(); },
    { onError: e => page.showError(e) }).start();
  app.listeners.add(render);
  return { unmount: () => { poll.stop(); render.cancel(); app.listeners.delete(render); } };
}
