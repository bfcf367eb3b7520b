// Key/Value folders: browse (?keys&separator=/, live), create in the folder
// being viewed, delete a folder (after saying how many keys go), and export
// or import a folder in `consul kv export` format.

import { Poll, call, kvURL, limit } from './api.js';
import { h, icon, replace, reconcile, alertBox, pageHead, searchBox, confirmDialog } from './dom.js';
import { links, parentFolder, baseName, query, setQuery, navigate } from './router.js';
import { exportJSON, parseImport, b64ToBytes } from './kvcodec.js';

// crumbs links every folder above key (a folder or a key).
export function kvCrumbs(dc, key) {
  const kids = [h('a', { href: links.kv(dc), text: 'Key/Value' })];
  let acc = '';
  const parts = key.split('/');
  parts.pop(); // the last part is the page itself ("" for a folder)
  if (key.endsWith('/')) parts.pop();
  for (const p of parts) {
    acc += p + '/';
    kids.push(h('span', { 'aria-hidden': 'true', text: '/' }), h('a', { href: links.kv(dc, acc), text: p }));
  }
  kids.push(h('span', { 'aria-hidden': 'true', text: '/' }));
  return h('nav', { class: 'crumbs', 'aria-label': 'Breadcrumb' }, kids);
}

export function kvFolderView(main, r, app) {
  const folder = r.folder;
  const title = folder ? baseName(folder).replace(/\/$/, "") : "Key/Value";
  document.title = `${folder || 'Key/Value'} · minconsul`;
  const notice = h('div');
  const errors = h('div');
  const list = h('tbody');
  const empty = h('div', { class: 'empty', hidden: true });
  const count = h('span', { class: 'count', 'aria-live': 'polite' });
  let q = query('filter');
  let keys = null;

  const fileInput = h('input', { type: 'file', accept: '.json,application/json', class: 'sr-only', tabindex: '-1', id: 'kv-import-file', on: { change: () => importFile(fileInput.files[0]) } });
  const actions = [
    h('a', { class: 'btn primary', href: links.kvCreate(r.dc, folder) }, icon('plus'), 'Create'),
    h('button', { type: 'button', class: 'btn', on: { click: exportFolder } }, icon('download'), 'Export'),
    h('button', { type: 'button', class: 'btn', on: { click: () => fileInput.click() } }, icon('upload'), 'Import'),
    fileInput,
    folder ? h('button', { type: 'button', class: 'btn danger', on: { click: deleteFolder } }, icon('trash'), 'Delete folder') : null,
  ];
  main.append(folder ? kvCrumbs(r.dc, folder) : null, pageHead(title, folder ? h('span', { class: 'mono', text: folder }) : null, actions),
    notice, errors,
    h('div', { class: 'toolbar' }, searchBox('Filter this folder', q, e => { q = e.target.value; setQuery({ filter: q }); render(); }), count),
    h('div', { class: 'card' }, h('table', { class: 'table kv-list', 'aria-label': 'Keys in ' + (folder || 'the root folder') }, list), empty));

  function render() {
    if (keys === null) return;
    // The folder's own key ("app/" in "app/") is the folder, not a child.
    const items = keys.filter(k => k !== folder).map(k => ({ key: k, name: k.slice(folder.length), dir: k.endsWith('/') }))
      .sort((a, b) => (b.dir - a.dir) || a.name.localeCompare(b.name));
    reconcile(list, items, i => i.key, i => i.key, i => h('tr', null, h('td', { class: i.dir ? 'folder' : 'key' },
      h('a', { href: i.dir ? links.kv(r.dc, i.key) : links.kvKey(r.dc, i.key) }, icon(i.dir ? 'folder' : 'file'), h('span', { text: i.name })))));
    const needle = q.trim().toLowerCase();
    let shown = 0;
    for (const it of items) {
      const ok = !needle || it.name.toLowerCase().includes(needle);
      list._rows.get(it.key).el.hidden = !ok;
      if (ok) shown++;
    }
    const dirs = items.filter(i => i.dir).length;
    count.textContent = `${items.length - dirs} key${items.length - dirs === 1 ? '' : 's'}, ${dirs} folder${dirs === 1 ? '' : 's'}`;
    empty.hidden = shown > 0;
    replace(empty, items.length ? 'Nothing matches the filter.' :
      h('span', null, folder ? 'This folder is empty. ' : 'There are no keys yet. ', h('a', { href: links.kvCreate(r.dc, folder), text: 'Create a key' }), '.'));
    main.dataset.state = 'ready';
  }

  async function exportFolder() {
    try {
      const r2 = await call('GET', kvURL(folder, 'recurse'), { ok404: true });
      const blob = new Blob([exportJSON(r2.data)], { type: 'application/json' });
      const a = h('a', { href: URL.createObjectURL(blob), download: (folder.replace(/\/$/, '').replace(/[^\w.-]+/g, '_') || 'kv') + '-export.json' });
      document.body.append(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(a.href), 10000);
      replace(notice, alertBox('ok', h('p', { text: `Exported ${(r2.data || []).length} keys from ${folder || 'the root'}.` })));
    } catch (e) {
      replace(notice, alertBox('error', h('p', { text: 'Export failed: ' + e.message })));
    }
  }

  async function importFile(file) {
    fileInput.value = '';
    if (!file) return;
    let entries;
    try {
      entries = parseImport(await file.text());
    } catch (e) {
      replace(notice, alertBox('error', h('p', { text: `Nothing was imported from ${file.name}: ${e.message}` })));
      return;
    }
    const outside = folder ? entries.filter(e => !e.key.startsWith(folder)).length : 0;
    const ok = await confirmDialog({
      title: `Import ${entries.length} key${entries.length === 1 ? '' : 's'}?`,
      body: `Keys from ${file.name} are written with the names they have in the file; existing keys with the same names are overwritten.` +
        (outside ? ` ${outside} of them are outside ${folder}.` : ''),
      confirm: 'Import',
    });
    if (!ok) return;
    const bar = h('div');
    const progress = h('div', { class: 'progress', role: 'progressbar', 'aria-label': 'Import progress', 'aria-valuemin': '0', 'aria-valuemax': String(entries.length) }, bar);
    const label = h('p');
    replace(notice, alertBox('info', label, progress));
    let done = 0;
    const failed = [];
    await limit(4, entries.map(e => async () => {
      try {
        await call('PUT', kvURL(e.key, 'flags=' + e.flags), { body: b64ToBytes(e.value) });
      } catch (err) {
        failed.push(`${e.key}: ${err.message}`);
      }
      done++;
      bar.style.width = (100 * done / entries.length) + '%';
      progress.setAttribute('aria-valuenow', String(done));
      label.textContent = `Importing… ${done} / ${entries.length}`;
    }));
    replace(notice, failed.length
      ? alertBox('error', h('p', { text: `Imported ${entries.length - failed.length} of ${entries.length} keys; these failed:` }), h('pre', { text: failed.join('\n') }))
      : alertBox('ok', h('p', { text: `Imported ${entries.length} key${entries.length === 1 ? '' : 's'} from ${file.name}.` })));
  }

  async function deleteFolder() {
    let n;
    try {
      n = ((await call('GET', kvURL(folder, 'keys'), { ok404: true })).data || []).length;
    } catch (e) {
      replace(notice, alertBox('error', h('p', { text: e.message })));
      return;
    }
    const ok = await confirmDialog({
      title: `Delete folder ${folder}?`,
      body: `This deletes ${n} key${n === 1 ? '' : 's'} under ${folder} (the folder itself included, if it is a key). It cannot be undone.`,
      confirm: `Delete ${n} key${n === 1 ? '' : 's'}`, danger: true,
    });
    if (!ok) return;
    try {
      await call('DELETE', kvURL(folder, 'recurse'));
      navigate(links.kv(r.dc, parentFolder(folder)));
    } catch (e) {
      replace(notice, alertBox('error', h('p', { text: 'The folder was not deleted: ' + e.message })));
    }
  }

  const poll = new Poll(kvURL(folder, 'keys&separator=/'), d => { keys = d || []; replace(errors); render(); },
    { ok404: true, onError: e => replace(errors, alertBox('error', h('p', { text: e.message }))) }).start();
  // A page we came from (a deleted key, an import) may leave a message.
  const flash = sessionStorage.getItem('kv-flash');
  if (flash) { sessionStorage.removeItem('kv-flash'); replace(notice, alertBox('ok', h('p', { text: flash }))); }
  return { unmount: () => poll.stop() };
}
