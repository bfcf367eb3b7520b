// One key: view and edit with check-and-set (a concurrent edit is shown as
// a conflict, never overwritten silently), delete, rename; and the form
// that creates a key in the folder being viewed.

import { Poll, call, kvURL } from './api.js';
import { h, icon, replace, alertBox, pageHead, segmented, confirmDialog } from './dom.js';
import { links, parentFolder, baseName, navigate } from './router.js';
import { kvCrumbs } from './kv.js';
import { view, toBytes, convert, pretty, jsonError, bytesToB64, b64ToBytes, keyProblem } from './kvcodec.js';

const MODES = [{ value: 'text', label: 'Text' }, { value: 'json', label: 'JSON' }, { value: 'base64', label: 'Base64' }];

// valueEditor is the value's textarea with its mode switch and JSON check.
function valueEditor(onInput) {
  let mode = 'text';
  const area = h('textarea', { class: 'input code', id: 'kv-value', spellcheck: 'false', autocomplete: 'off', rows: '14' });
  const status = h('div', { 'aria-live': 'polite' });
  const fmt = h('button', { type: 'button', class: 'btn small', on: { click: () => { try { area.value = pretty(area.value); check(); onInput(); } catch { /* check() says why */ } } } }, 'Format JSON');
  const modeErr = h('div');
  const seg = segmented('Show the value as', 'kv-mode', MODES, mode, to => {
    try {
      area.value = convert(mode, to, area.value);
      mode = to;
      replace(modeErr);
    } catch (e) {
      seg.querySelector(`input[value="${mode}"]`).checked = true;
      replace(modeErr, alertBox('warn', h('p', { text: e.message })));
    }
    check();
    onInput();
  });
  function check() {
    fmt.hidden = mode !== 'json';
    if (mode === 'json') {
      const err = jsonError(area.value);
      status.className = err ? 'json-error' : 'json-ok';
      status.textContent = err ? 'Invalid JSON: ' + err : 'Valid JSON';
    } else {
      status.className = '';
      status.textContent = mode === 'base64' ? 'Binary value, shown as base64.' : '';
    }
  }
  area.addEventListener('input', () => { check(); onInput(); });
  const el = h('div', null,
    h('div', { class: 'editor-bar' }, h('label', { for: 'kv-value', class: 'label', text: 'Value' }), h('div', { class: 'row-actions' }, fmt, seg)),
    modeErr, area, status);
  return {
    el,
    set(m, text) {
      mode = m;
      area.value = text;
      seg.querySelector(`input[value="${m}"]`).checked = true;
      replace(modeErr);
      check();
    },
    bytes: () => toBytes(mode, area.value),
    focus: () => area.focus(),
  };
}

// entryOf reads a key (null when it does not exist).
async function entryOf(key) {
  const res = await call('GET', kvURL(key), { ok404: true });
  return res.data ? res.data[0] : null;
}

// casWrite runs a check-and-set PUT or DELETE and tells whether it took.
// When the request had to be sent twice (a network blip) and the agent says
// false, the first attempt may be the one that took: the key is read back
// to tell (PUT: it holds our bytes; DELETE: it is gone).
async function casWrite(method, key, query, body) {
  const res = await call(method, kvURL(key, query), { body });
  if (res.data === true) return true;
  if (!res.retried) return false;
  const cur = await entryOf(key);
  return method === 'DELETE' ? cur === null : cur !== null && (cur.Value || '') === bytesToB64(body);
}

const shortValue = b64 => {
  const v = view(b64);
  return v.text.length > 4000 ? v.text.slice(0, 4000) + '\n…' : v.text;
};

export function kvKeyView(main, r, app) {
  const key = r.key;
  document.title = `${key} · Key/Value · minconsul`;
  const notice = h('div'), conflict = h('div'), errors = h('div'), meta = h('div', { class: 'editor-meta' });
  let base;       // the entry the edit started from; null: the key does not exist
  let dirty = false;
  let saving = false; // our own write wakes the poll too: save() reloads itself
  const saveBtn = h('button', { type: 'submit', class: 'btn primary', disabled: true }, 'Save');
  const revertBtn = h('button', { type: 'button', class: 'btn', disabled: true, on: { click: () => load(base, 'Reverted to the stored value.') } }, 'Revert');
  const editor = valueEditor(() => { dirty = isDirty(); saveBtn.disabled = revertBtn.disabled = !dirty; });
  const delBtn = h('button', { type: 'button', class: 'btn danger', on: { click: del } }, icon('trash'), 'Delete');
  const renBtn = h('button', { type: 'button', class: 'btn', on: { click: rename } }, icon('edit'), 'Rename');
  const form = h('form', { class: 'card card-pad', 'aria-label': 'Edit value', on: { submit: e => { e.preventDefault(); save(); } } },
    meta, editor.el, h('div', { class: 'row-actions mt' }, saveBtn, revertBtn));
  main.append(kvCrumbs(r.dc, key), pageHead(baseName(key), h('span', { class: 'mono', text: key }), [renBtn, delBtn]), conflict, notice, errors, form);

  function isDirty() {
    if (!base) return true;
    try { return bytesToB64(editor.bytes()) !== (base.Value || ''); } catch { return true; }
  }

  function load(entry, msg) {
    base = entry;
    const v = view(entry.Value);
    // Shown exactly as stored, so that opening a value is never an edit.
    editor.set(v.mode, v.text);
    dirty = false;
    saveBtn.disabled = revertBtn.disabled = true;
    renderMeta();
    replace(conflict);
    replace(notice, msg ? alertBox('info', h('p', { text: msg })) : null);
  }

  function renderMeta() {
    const size = (base && base.Value) ? Math.floor(base.Value.length * 3 / 4) - (base.Value.endsWith('==') ? 2 : base.Value.endsWith('=') ? 1 : 0) : 0;
    replace(meta, base ? [
      h('span', null, 'ModifyIndex ', h('b', { text: String(base.ModifyIndex) })),
      h('span', null, 'CreateIndex ', h('b', { text: String(base.CreateIndex) })),
      h('span', null, 'Flags ', h('b', { text: String(base.Flags) })),
      h('span', null, 'Size ', h('b', { text: `${size} B` })),
      base.Session ? h('span', null, 'Locked by session ', h('b', { class: 'mono', text: base.Session })) : null,
    ] : null);
  }

  function showMissing() {
    form.hidden = true;
    renBtn.hidden = delBtn.hidden = true;
    replace(notice, alertBox('info', h('p', null, `The key ${key} does not exist. `,
      h('a', { href: links.kvCreate(r.dc, parentFolder(key)), text: 'Create a key' }), ` in ${parentFolder(key) || 'the root folder'}.`)));
  }

  const fetchEntry = () => entryOf(key);

  async function save(force) {
    let body;
    try { body = editor.bytes(); } catch (e) { replace(notice, alertBox('error', h('p', { text: e.message }))); return; }
    // cas=<ModifyIndex>: the agent stores only if nobody wrote since we
    // read; cas=0 (recreating a deleted key) only if it does not exist.
    const cas = force === 'create' || !base ? 0 : base.ModifyIndex;
    saveBtn.disabled = true;
    saving = true;
    try {
      if (await casWrite('PUT', key, `cas=${cas}&flags=${base ? base.Flags : 0}`, body)) {
        const cur = await fetchEntry();
        if (cur) load(cur);
        replace(notice, alertBox('ok', h('p', { text: `Saved ${key}.` })));
        return;
      }
      showConflict(await fetchEntry());
    } catch (e) {
      replace(notice, alertBox('error', h('p', { text: 'Not saved: ' + e.message })));
      saveBtn.disabled = false;
    } finally {
      saving = false;
    }
  }

  function showConflict(theirs) {
    saveBtn.disabled = false;
    const mine = h('button', { type: 'button', class: 'btn danger', on: { click: () => {
      if (theirs) { base = theirs; renderMeta(); save(); } else save('create');
    } } }, theirs ? 'Overwrite with my value' : 'Recreate with my value');
    const load2 = h('button', { type: 'button', class: 'btn', on: { click: () => theirs ? load(theirs, 'Loaded the current value; your edit was discarded.') : showMissing() } },
      theirs ? 'Discard mine, load theirs' : 'Discard my edit');
    replace(notice);
    replace(conflict, alertBox('error',
      h('p', null, h('b', { text: 'Conflict — not saved. ' }), theirs
        ? `Someone else changed ${key} after you opened it (ModifyIndex ${base ? base.ModifyIndex : 0} → ${theirs.ModifyIndex}). Your edit is still in the editor.`
        : `Someone else deleted ${key} after you opened it. Your edit is still in the editor.`),
      theirs ? h('div', null, h('div', { class: 'label', text: 'Their value:' }), h('pre', { 'data-theirs': '', text: shortValue(theirs.Value) })) : null,
      h('div', { class: 'row-actions' }, mine, load2)));
    mine.focus();
  }

  async function del() {
    if (!base) return;
    const ok = await confirmDialog({ title: `Delete ${baseName(key)}?`, body: `The key ${key} is deleted for every client. This cannot be undone.`, confirm: 'Delete key', danger: true });
    if (!ok) return;
    try {
      if (!await casWrite('DELETE', key, 'cas=' + base.ModifyIndex)) {
        showConflict(await fetchEntry());
        return;
      }
      sessionStorage.setItem('kv-flash', `Deleted ${key}.`);
      navigate(links.kv(r.dc, parentFolder(key)));
    } catch (e) {
      replace(notice, alertBox('error', h('p', { text: 'Not deleted: ' + e.message })));
    }
  }

  async function rename() {
    if (!base) return;
    const input = h('input', { class: 'input mono', id: 'kv-rename', value: key, autocomplete: 'off' });
    const ok = await confirmDialog({ title: 'Rename key', body: 'The full new name (folders included):', confirm: 'Rename',
      extra: h('div', { class: 'field' }, h('label', { for: 'kv-rename', class: 'sr-only', text: 'New key name' }), input) });
    const to = input.value.trim();
    if (!ok || to === key) return;
    const problem = keyProblem(to);
    if (problem || to.endsWith('/')) { replace(notice, alertBox('error', h('p', { text: problem || 'A key name cannot end with "/".' }))); return; }
    try {
      // Copy (only if the new name is free), then delete the old key only if
      // it is still what we copied: nothing is lost if someone else wrote.
      const body = b64ToBytes(base.Value);
      if (!await casWrite('PUT', to, `cas=0&flags=${base.Flags}`, body)) { replace(notice, alertBox('error', h('p', { text: `Not renamed: ${to} already exists.` }))); return; }
      if (!await casWrite('DELETE', key, 'cas=' + base.ModifyIndex)) sessionStorage.setItem('kv-flash', `Copied ${key} to ${to}, but ${key} changed meanwhile and was kept.`);
      navigate(links.kvKey(r.dc, to));
    } catch (e) {
      replace(notice, alertBox('error', h('p', { text: 'Not renamed: ' + e.message })));
    }
  }

  let loaded = false;
  const poll = new Poll(kvURL(key), d => {
    replace(errors);
    const entry = d ? d[0] : null;
    main.dataset.state = 'ready';
    if (!loaded) {
      loaded = true;
      if (entry) load(entry); else showMissing();
      const flash = sessionStorage.getItem('kv-flash');
      if (flash) { sessionStorage.removeItem('kv-flash'); replace(notice, alertBox('warn', h('p', { text: flash }))); }
      return;
    }
    if (saving) return;
    if (!base) { if (entry) { form.hidden = false; renBtn.hidden = delBtn.hidden = false; load(entry, 'The key was created.'); } return; }
    if (entry && entry.ModifyIndex === base.ModifyIndex) return;
    if (!dirty && entry) { load(entry, `Updated: someone changed this key (ModifyIndex ${entry.ModifyIndex}).`); return; }
    // Editing: keep the edit, and say that saving it will conflict (unless
    // a conflict is already on screen, which says more).
    if (conflict.hasChildNodes()) return;
    replace(notice, alertBox('warn', h('p', { text: entry
      ? `Someone else changed this key while you were editing (ModifyIndex ${base.ModifyIndex} → ${entry.ModifyIndex}). Saving will show the conflict.`
      : 'Someone else deleted this key while you were editing it.' })));
  }, { ok404: true, onError: e => replace(errors, alertBox('error', h('p', { text: e.message }))) }).start();
  return { unmount: () => poll.stop() };
}

export function kvCreateView(main, r, app) {
  const folder = r.folder;
  document.title = `Create key · Key/Value · minconsul`;
  const notice = h('div');
  const name = h('input', { class: 'input', id: 'kv-name', required: true, autocomplete: 'off', spellcheck: 'false', 'aria-describedby': 'kv-name-hint' });
  const editor = valueEditor(() => {});
  const valueWrap = h('div', null, editor.el);
  name.addEventListener('input', () => { valueWrap.hidden = name.value.endsWith('/'); });
  const form = h('form', { class: 'card card-pad', 'aria-label': 'Create key', on: { submit: e => { e.preventDefault(); create(); } } },
    h('div', { class: 'field' }, h('label', { for: 'kv-name', text: 'Key name' }),
      h('div', { class: 'prefixed' }, h('span', { class: 'pfx', title: 'Created in this folder', text: folder || '/' }), name),
      h('div', { class: 'hint', id: 'kv-name-hint', text: `Created in ${folder || 'the root folder'}. Use "/" to make folders on the way (a/b); end with "/" to create just a folder.` })),
    valueWrap,
    h('div', { class: 'row-actions mt' }, h('button', { type: 'submit', class: 'btn primary' }, 'Save'),
      h('a', { class: 'btn', href: links.kv(r.dc, folder) }, 'Cancel')));
  main.append(kvCrumbs(r.dc, folder), pageHead('Create key', h('span', null, 'in ', h('span', { class: 'mono', text: folder || '/' }))), notice, form);
  main.dataset.state = 'ready';

  async function create() {
    const full = folder + name.value;
    const problem = name.value ? keyProblem(full) : 'The key name is empty.';
    if (problem) { replace(notice, alertBox('error', h('p', { text: problem }))); name.focus(); return; }
    const dir = full.endsWith('/');
    let body;
    try { body = dir ? new Uint8Array(0) : editor.bytes(); } catch (e) { replace(notice, alertBox('error', h('p', { text: e.message }))); return; }
    try {
      // cas=0: create only; an existing key is reported, not overwritten.
      if (!await casWrite('PUT', full, 'cas=0', body)) {
        replace(notice, alertBox('error', h('p', null, `${full} already exists. `, h('a', { href: dir ? links.kv(r.dc, full) : links.kvKey(r.dc, full), text: 'Open it' }), '.')));
        return;
      }
      navigate(dir ? links.kv(r.dc, full) : links.kvKey(r.dc, full));
    } catch (e) {
      replace(notice, alertBox('error', h('p', { text: 'Not created: ' + e.message })));
    }
  }
  return { unmount: () => {} };
}
