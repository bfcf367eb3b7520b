// A list of health checks: status, name, output, and the last change.
// Consul's checks carry no timestamp, only a ModifyIndex, so "last change"
// is the index, plus the time this page saw it move when it did.

import { h, statusText, clock } from './dom.js';

const rank = { critical: 0, warning: 1, passing: 2 };

// checkList renders checks worst first. seen (check key -> {idx, at}) is
// the page's memory of when each check last changed. withService names the
// service of service checks (on a node's page).
export function checkList(checks, seen, withService = false) {
  if (!checks.length) return h('p', { class: 'muted', text: 'No health checks.' });
  const sorted = [...checks].sort((a, b) => (rank[a.Status] ?? -1) - (rank[b.Status] ?? -1) || a.Name.localeCompare(b.Name));
  return h('ul', { class: 'checks', 'aria-label': 'Health checks' }, sorted.map(c => {
    const key = c.Node + '\u0000' + c.CheckID;
    let s = seen.get(key);
    if (!s) seen.set(key, s = { idx: c.ModifyIndex, at: null });
    else if (s.idx !== c.ModifyIndex) { s.idx = c.ModifyIndex; s.at = Date.now(); }
    const kind = [c.Type || null, c.ServiceID ? (withService ? 'service ' + c.ServiceName : null) : 'node check'].filter(Boolean).join(' · ');
    return h('li', { class: 'check ' + (rank[c.Status] == null ? 'critical' : c.Status), 'data-check': c.CheckID, 'data-status': c.Status },
      h('div', { class: 'check-head' }, statusText(c.Status),
        h('span', { class: 'cname', text: c.Name || c.CheckID }),
        h('span', { class: 'muted mono', title: 'check ID', text: c.CheckID }),
        kind ? h('span', { class: 'muted', text: kind }) : null,
        h('span', { class: 'when', title: `ModifyIndex ${c.ModifyIndex}` },
          s.at ? `changed ${clock(s.at)} · index ${c.ModifyIndex}` : `last change: index ${c.ModifyIndex}`)),
      c.Notes ? h('div', { class: 'muted', text: c.Notes }) : null,
      c.Output ? h('pre', { class: 'output', text: c.Output }) : null);
  }));
}
