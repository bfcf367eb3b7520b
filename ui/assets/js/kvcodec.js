// KV values and keys: base64 <-> bytes, how a value is best shown (text,
// JSON, or base64 when it is binary), and the `consul kv export` format.

export function b64ToBytes(b64) {
  const bin = atob(b64 || '');
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

export function bytesToB64(bytes) {
  let bin = '';
  for (let i = 0; i < bytes.length; i += 0x8000) bin += String.fromCharCode.apply(null, bytes.subarray(i, i + 0x8000));
  return btoa(bin);
}

const utf8 = new TextDecoder('utf-8', { fatal: true });
const enc = new TextEncoder();

// asText is the bytes as text, or null when they are not readable text
// (invalid UTF-8 or control characters other than tab and newlines).
export function asText(bytes) {
  let s;
  try { s = utf8.decode(bytes); } catch { return null; }
  return /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F]/.test(s) ? null : s;
}

export function isJSON(s) {
  const t = s.trim();
  if (!t || !'{["'.includes(t[0])) return false;
  try { JSON.parse(t); return true; } catch { return false; }
}

// view decides how to show a stored value: {mode, text}.
export function view(b64) {
  const bytes = b64ToBytes(b64);
  const text = asText(bytes);
  if (text === null) return { mode: 'base64', text: b64 || '' };
  if (isJSON(text)) return { mode: 'json', text };
  return { mode: 'text', text };
}

// jsonError explains why s is not JSON, or is '' when it is.
export function jsonError(s) {
  try { JSON.parse(s); return ''; } catch (e) { return e.message; }
}

export function isBase64(s) {
  const t = s.replace(/\s+/g, '');
  return t.length % 4 === 0 && /^[A-Za-z0-9+/]*={0,2}$/.test(t);
}

// toBytes turns what the editor holds in mode into the bytes to store; it
// throws an Error saying what is wrong.
export function toBytes(mode, text) {
  if (mode === 'base64') {
    if (!isBase64(text)) throw new Error('The value is not valid base64.');
    return b64ToBytes(text.replace(/\s+/g, ''));
  }
  if (mode === 'json') {
    const err = jsonError(text);
    if (err) throw new Error('The value is not valid JSON: ' + err);
  }
  return enc.encode(text);
}

// convert re-expresses the editor's text when the user switches modes.
export function convert(from, to, text) {
  if (from === to) return text;
  if (to === 'base64') return bytesToB64(toBytes(from === 'json' ? 'text' : from, text));
  if (from === 'base64') {
    const s = asText(toBytes('base64', text));
    if (s === null) throw new Error('This value is binary: it can only be edited as base64.');
    return s;
  }
  return text; // text and JSON hold the same bytes; "Format JSON" is the user's call
}

export function pretty(s) {
  return JSON.stringify(JSON.parse(s), null, 2);
}

// validKey explains why key cannot be stored or addressed, or is ''.
export function keyProblem(key) {
  if (!key) return 'The key name is empty.';
  if (/[\u0000-\u001F\u007F]/.test(key)) return 'Key names cannot contain control characters.';
  if (key.startsWith('/')) return 'Key names cannot start with "/".';
  if (key.split('/').some(s => s === '.' || s === '..')) return 'Key names cannot have "." or ".." segments: no URL can address them.';
  return '';
}

// exportJSON writes entries (GET ?recurse) as `consul kv export` does.
export function exportJSON(entries) {
  return JSON.stringify((entries || []).map(e => ({ key: e.Key, flags: e.Flags || 0, value: e.Value || '' })), null, 2) + '\n';
}

// parseImport reads a `consul kv export` file and checks every entry before
// anything is written, so a bad file writes nothing.
export function parseImport(text) {
  let data;
  try { data = JSON.parse(text); } catch (e) { throw new Error('The file is not JSON: ' + e.message); }
  if (!Array.isArray(data)) throw new Error('The file is not a `consul kv export` list ([{"key": …, "flags": …, "value": …}]).');
  return data.map((e, i) => {
    if (!e || typeof e.key !== 'string') throw new Error(`Entry ${i + 1} has no "key".`);
    const p = keyProblem(e.key);
    if (p) throw new Error(`Entry ${i + 1} (${e.key}): ${p}`);
    const flags = e.flags ?? 0;
    if (!Number.isInteger(flags) || flags < 0) throw new Error(`Entry ${i + 1} (${e.key}): "flags" must be a non-negative integer.`);
    const value = e.value ?? '';
    if (typeof value !== 'string' || !isBase64(value)) throw new Error(`Entry ${i + 1} (${e.key}): "value" must be base64.`);
    return { key: e.key, flags, value: value.replace(/\s+/g, '') };
  });
}
