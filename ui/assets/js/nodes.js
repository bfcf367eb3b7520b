// Nodes: the list (address, health, service count, servers and leader
// marked) and one node's page (its services and checks).

import { Poll, enc } from './api.js';
import { h, html, replace, healthPills, tagList, pageHead, alertBox, metaTable, countChecks, worst, statusDot } from './dom.js';
import { links } from './router.js';
import { nodeRow, roleBadges } from './catalog.js';
import { checkList } from './checks.js';
import { listView } from './list.js';

export function nodesView(main, r, app) {
  return listView(main, app, {
    title: 'Nodes', noun: 'nodes', filterLabel: 'Filter by name or address',
    columns: [['Node', ''], ['Address', 'w-addr'], ['Health', 'w-health'], ['Services', 'num']],
    url: '/v1/internal/ui/nodes',
    toRow: nodeRow,
    keyOf: n => n.name,
    haystack: n => [n.name, n.address, ...Object.values(n.meta)],
    // A row shows the server and leader badges too.
    sigOf: n => JSON.stringify(n) + JSON.stringify(app.raft?.Servers || null),
    renderRow: n => html`<tr role="row"><td role="cell" class="name">${statusDot(n)}<a href="${links.node(r.dc, n.name)}">${n.name}</a> ${
      roleBadges(app, n.name)}</td><td role="cell" class="mono" data-label="Address">${n.address}</td><td role="cell" class="w-health" data-label="Health">${
      healthPills(n)}</td><td role="cell" class="num" data-label="Services">${n.services}</td></tr>`,
    empty: 'No nodes are registered.',
  });
}

export function nodeView(main, r, app) {
  document.title = `${r.name} · Nodes · minconsul`;
  const errors = h('div');
  const head = h('div');
  const facts = h('div');
  const services = h('div', { class: 'card' });
  const checks = h('div', { class: 'card card-pad' });
  const nSvc = h('span', { class: 'n' }), nChk = h('span', { class: 'n' });
  main.append(
    h('nav', { class: 'crumbs', 'aria-label': 'Breadcrumb' }, h('a', { href: links.nodes(r.dc), text: 'Nodes' }), h('span', { 'aria-hidden': 'true', text: '/' })),
    head, errors, facts,
    h('section', { class: 'section', 'aria-label': 'Services' }, h('h2', null, 'Services ', nSvc), services),
    h('section', { class: 'section', 'aria-label': 'Health checks' }, h('h2', null, 'Health checks ', nChk), checks));
  const seen = new Map();
  let node; // undefined: not read yet; null: no such node
  const headTitle = pageHead(r.name);
  head.append(headTitle);
  const badges = h('span');
  headTitle.querySelector('h1').after(badges);

  const render = () => {
    replace(badges, roleBadges(app, r.name));
    if (node === undefined) return;
    main.dataset.state = 'ready';
    if (node === null) {
      replace(facts, alertBox('info', h('p', null, `There is no node named "${r.name}" in the catalog. This page updates if it registers.`)));
      replace(services); replace(checks); nSvc.textContent = nChk.textContent = '';
      return;
    }
    const n = node, checkData = node.Checks;
    const all = countChecks(checkData);
    replace(facts, h('div', { class: 'card card-pad' }, h('dl', { class: 'facts' },
      h('dt', { text: 'Health' }), h('dd', null, h('span', { class: 'status-text ' + worst(all), text: worst(all) }), ' ', healthPills(all)),
      h('dt', { text: 'Address' }), h('dd', { class: 'mono', text: n.Address }),
      n.Datacenter ? [h('dt', { text: 'Datacenter' }), h('dd', { text: n.Datacenter })] : null,
      n.ID ? [h('dt', { text: 'Node ID' }), h('dd', { class: 'mono', text: n.ID })] : null,
      Object.keys(n.Meta || {}).length ? [h('dt', { text: 'Meta' }), h('dd', null, metaTable(n.Meta))] : null)));
    const svcs = [...node.Services].sort((a, b) => a.Service.localeCompare(b.Service) || a.ID.localeCompare(b.ID));
    nSvc.textContent = `(${svcs.length})`;
    nChk.textContent = `(${checkData.length})`;
    if (!svcs.length) replace(services, h('div', { class: 'empty', text: 'No services on this node.' }));
    else {
      const tbody = h('tbody', null, svcs.map(s => h('tr', null,
        h('td', { class: 'name' }, h('a', { href: links.service(r.dc, s.Service), text: s.Service })),
        h('td', { class: 'mono', 'data-label': 'ID', text: s.ID }),
        h('td', { class: 'mono', 'data-label': 'Address', text: s.Port ? `${s.Address || n.Address}:${s.Port}` : (s.Address || n.Address) }),
        h('td', { class: 'w-health', 'data-label': 'Health' }, healthPills(countChecks(checkData.filter(c => c.ServiceID === s.ID || !c.ServiceID)))),
        h('td', { 'data-label': 'Tags' }, tagList(s.Tags)))));
      replace(services, h('table', { class: 'table cards' }, h('thead', null, h('tr', null,
        ['Service', 'ID', 'Address', 'Health', 'Tags'].map(t => h('th', { scope: 'col', text: t })))), tbody));
    }
    replace(checks, checkList(checkData, seen, true));
  };
  const onError = e => replace(errors, alertBox('error', h('p', { text: e.message })));
  const poll = new Poll('/v1/internal/ui/node/' + enc(r.name), d => { node = d; replace(errors); render(); },
    { ok404: true, onError }).start();
  app.listeners.add(render);
  return { unmount: () => { poll.stop(); app.listeners.delete(render); } };
}
