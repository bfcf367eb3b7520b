// The list pages read Consul's UI endpoints: one blocking query each
// (/v1/internal/ui/services, /v1/internal/ui/nodes) answers a whole page,
// where the public endpoints would need a request per node and a re-read
// of every node on each change.

import { countChecks, html } from './dom.js';

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

// serviceRow is what the services list shows of one service summary.
export function serviceRow(s) {
  const images = [], containers = [];
  for (const inst of s.Instances || []) {
    const d = dockerOf(inst.Meta);
    if (!d) continue;
    if (d.image && !images.includes(d.image)) images.push(d.image);
    if (d.name) containers.push(d.name);
  }
  return {
    name: s.Name, tags: s.Tags || [], instances: s.InstanceCount,
    passing: s.ChecksPassing, warning: s.ChecksWarning, critical: s.ChecksCritical, images, containers,
  };
}

// nodeRow is what the nodes list shows of one node: every check on it
// (node and service checks) counts toward its health.
export function nodeRow(n) {
  return { name: n.Node, address: n.Address, meta: n.Meta || {}, services: (n.Services || []).length, ...countChecks(n.Checks || []) };
}

// roleBadges marks a node that is a Raft server, and the leader.
export function roleBadges(app, node) {
  const s = app.raft?.Servers?.find(x => x.Node === node);
  if (!s) return null;
  return html`<span class="badge server" title="Raft server at ${s.Address}">server</span>${
    s.Leader ? html` <span class="badge leader" title="Raft leader">leader</span>` : null}`;
}

// dockerLine shows where a registration came from: the Docker badge, the
// image and the container name(s).
export function dockerLine(images, containers, id) {
  const names = containers.length === 1 ? html`<span title="container">${containers[0]}</span>`
    : containers.length > 1 ? html`<span title="${containers.join('\n')}">${containers.length} containers</span>` : null;
  return html`<div class="cell-sub"><span class="badge docker" title="Registered from a Docker container">Docker</span>${
    images.length ? html`<span class="mono" title="image">${images.join(', ')}</span>` : null}${names}${
    id ? html`<span class="mono muted" title="${id}">${id.slice(0, 12)}</span>` : null}</div>`;
}
