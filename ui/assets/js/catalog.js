// The catalog as the list pages see it, composed from Consul's public
// endpoints (no UI-only endpoint, so any Consul-compatible agent serves it):
//   /v1/catalog/services    blocking: which services exist, with their tags
//   /v1/health/state/any    blocking: every check, with its node and service
//   /v1/catalog/nodes       blocking on the nodes page, else read on demand
//   /v1/catalog/node-services/<node>  per node, re-read (all nodes, a few at
//     a time) whenever the services or nodes answer moves: the only public
//     way to see every instance's Meta (Docker origin) and count instances.

import { Poll, get, enc, limit } from './api.js';
import { countChecks, h, icon } from './dom.js';

export const DOCKER_META = {
  source: 'external-source',
  image: 'docker-image',
  name: 'docker-container-name',
  id: 'docker-container-id',
};

export function dockerOf(meta) {
  if (!meta || meta[DOCKER_META.source] !== 'docker') return null;
  return { image: meta[DOCKER_META.image] || '', name: meta[DOCKER_META.name] || '', id: meta[DOCKER_META.id] || '' };
}

export class CatalogModel {
  // want: { nodes: poll /v1/catalog/nodes too }. onChange runs after any
  // part changed; onError with an ApiError from any part.
  constructor({ nodes = false, onChange, onError }) {
    this.onChange = onChange;
    this.onError = onError;
    this.services = null;  // name -> tags
    this.checks = null;    // every check
    this.nodes = null;     // catalog nodes
    this.instances = null; // node name -> NodeService[]
    this.refreshing = false;
    this.again = false;
    this.stopped = false;
    const onErr = e => this.onError(e);
    this.polls = [
      new Poll('/v1/catalog/services', d => { this.services = d; this.refresh(); this.onChange(); }, { onError: onErr }),
      new Poll('/v1/health/state/any', d => { this.checks = d; this.onChange(); }, { onError: onErr }),
    ];
    if (nodes) {
      this.polls.push(new Poll('/v1/catalog/nodes', d => { this.nodes = d; this.refresh(); this.onChange(); }, { onError: onErr }));
    }
    this.pollNodes = nodes;
  }

  start() { this.polls.forEach(p => p.start()); return this; }

  stop() {
    this.stopped = true;
    this.polls.forEach(p => p.stop());
  }

  // refresh re-reads every node's services. At most one runs at a time;
  // triggers that arrive meanwhile fold into one more run.
  async refresh() {
    if (this.pollNodes && !this.nodes) return; // the nodes poll's first answer triggers it
    if (this.refreshing) { this.again = true; return; }
    this.refreshing = true;
    try {
      do {
        this.again = false;
        const nodes = this.pollNodes && this.nodes ? this.nodes : await get('/v1/catalog/nodes');
        if (!this.pollNodes) this.nodes = nodes;
        const lists = await limit(6, nodes.map(n => () =>
          get('/v1/catalog/node-services/' + enc(n.Node)).then(r => [n.Node, (r && r.Services) || []])));
        if (this.stopped) return;
        this.instances = new Map(lists);
        this.onChange();
      } while (this.again && !this.stopped);
    } catch (e) {
      if (!this.stopped) this.onError(e);
    } finally {
      this.refreshing = false;
    }
  }

  get complete() { return this.services !== null && this.checks !== null && this.instances !== null; }

  checkIndex() {
    const byNode = new Map(), byInstance = new Map();
    for (const c of this.checks || []) {
      if (!c.ServiceID) push(byNode, c.Node, c);
      else push(byInstance, c.Node + '\u0000' + c.ServiceID, c);
    }
    return { byNode, byInstance };
  }

  // serviceRows: one row per service with its instance count, the counts of
  // its instances' checks (node checks included, as Consul counts them) and
  // its Docker origin.
  serviceRows() {
    if (!this.services) return [];
    const rows = new Map();
    for (const [name, tags] of Object.entries(this.services)) {
      rows.set(name, { name, tags: tags || [], instances: null, passing: 0, warning: 0, critical: 0, images: [], containers: [] });
    }
    const { byNode, byInstance } = this.checkIndex();
    if (this.instances) {
      for (const row of rows.values()) row.instances = 0;
      for (const [node, list] of this.instances) {
        for (const svc of list) {
          const row = rows.get(svc.Service);
          if (!row) continue; // registered after the services answer; the next one brings it
          row.instances++;
          add(row, countChecks(byNode.get(node) || []));
          add(row, countChecks(byInstance.get(node + '\u0000' + svc.ID) || []));
          const d = dockerOf(svc.Meta);
          if (d) {
            if (d.image && !row.images.includes(d.image)) row.images.push(d.image);
            if (d.name) row.containers.push(d.name);
          }
        }
      }
    } else {
      // Until the instances arrive, the service checks alone give a first
      // health picture.
      for (const c of this.checks || []) {
        const row = c.ServiceName && rows.get(c.ServiceName);
        if (row) add(row, countChecks([c]));
      }
    }
    return [...rows.values()].sort((a, b) => a.name.localeCompare(b.name));
  }

  // nodeRows: one row per node with its address, service count and the
  // counts of all its checks (node and service checks).
  nodeRows() {
    if (!this.nodes) return [];
    const checks = new Map();
    for (const c of this.checks || []) push(checks, c.Node, c);
    return this.nodes.map(n => ({
      name: n.Node, address: n.Address, meta: n.Meta || {},
      services: this.instances ? (this.instances.get(n.Node) || []).length : null,
      ...countChecks(checks.get(n.Node) || []),
    })).sort((a, b) => a.name.localeCompare(b.name));
  }
}

function push(map, k, v) {
  const l = map.get(k);
  if (l) l.push(v); else map.set(k, [v]);
}

function add(row, c) {
  row.passing += c.passing;
  row.warning += c.warning;
  row.critical += c.critical;
}

// roleBadges marks a node that is a Raft server, and the leader.
export function roleBadges(app, node) {
  const s = app.raft?.Servers?.find(x => x.Node === node);
  if (!s) return [];
  const out = [h('span', { class: 'badge server', title: `Raft server at ${s.Address}` }, icon('server'), 'server')];
  if (s.Leader) out.push(h('span', { class: 'badge leader', title: 'Raft leader' }, icon('star'), 'leader'));
  return out;
}

// dockerLine shows where a registration came from: the Docker badge, the
// image and the container name(s).
export function dockerLine(images, containers, id) {
  const kids = [h('span', { class: 'badge docker', title: 'Registered from a Docker container' }, icon('docker'), 'Docker')];
  if (images.length) kids.push(h('span', { class: 'mono', title: 'image', text: images.join(', ') }));
  if (containers.length === 1) kids.push(h('span', { title: 'container', text: containers[0] }));
  else if (containers.length > 1) kids.push(h('span', { title: containers.join('\n'), text: `${containers.length} containers` }));
  if (id) kids.push(h('span', { class: 'mono muted', title: id, text: id.slice(0, 12) }));
  return h('div', { class: 'cell-sub' }, kids);
}
