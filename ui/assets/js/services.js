// Services: the list (health summary, instances, tags, Docker origin,
// filters) and one service's page (every instance with its checks).

import { Poll, enc } from './api.js';
import { h, html, replace, reconcile, healthPills, tagList, pageHead, alertBox, metaTable, countChecks, worst, statusDot } from './dom.js';
import { links } from './router.js';
import { listView } from './list.js';
import { serviceRow, roleBadges, dockerLine, dockerOf } from './catalog.js';
import { checkList } from './checks.js';

export function servicesView(main, r, app) {
  return listView(main, app, {
    title: 'Services', noun: 'services', filterLabel: 'Filter by name, tag or image',
    columns: [['Service', ''], ['Health', 'w-health'], ['Instances', 'num'], ['Tags', 'w-tags']],
    url: '/v1/internal/ui/services',
    toRow: serviceRow,
    keyOf: s => s.name,
    haystack: s => [s.name, ...s.tags, ...s.images, ...s.containers],
    sigOf: s => JSON.stringify(s),
    renderRow: s => html`<tr role="row"><td role="cell" class="name">${statusDot(s)}<a href="${links.service(r.dc, s.name)}">${s.name}</a>${
      s.images.length || s.containers.length ? dockerLine(s.images, s.containers) : null}</td><td role="cell" class="w-health" data-label="Health">${
      healthPills(s)}</td><td role="cell" class="num" data-label="Instances">${s.instances}</td><td role="cell" data-label="Tags">${tagList(s.tags)}</td></tr>`,
    empty: h('span', null, 'No services are registered yet. Register one with ',
      h('code', { text: 'curl -X PUT -d \'{"Name":"web","Port":80}\' localhost:8500/v1/agent/service/register' })),
    onRender: (rows, page) => {
      const n = rows.reduce((sum, s) => sum + s.instances, 0);
      page.sub.textContent = `${n} instance${n === 1 ? '' : 's'}`;
    },
  });
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
