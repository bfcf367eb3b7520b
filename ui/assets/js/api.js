// Every call to the /v1 API goes through here: failures become ApiError
// (which views show in the page), and live views use Poll, Consul's
// blocking queries: one long request parked on the agent until the data's
// X-Consul-Index passes the one we have, so an idle tab costs nothing.

const WAIT = '5m';
const MIN_GAP_MS = 60;     // between two wakes: bursts of writes coalesce into one render
const MAX_BACKOFF_MS = 30000;

export class ApiError extends Error {
  constructor(method, url, status, text) {
    const what = status ? `${status}${text ? ': ' + text : ''}` : text;
    super(`${method} ${url} failed (${what})`);
    this.status = status;
    this.text = text;
  }
}

// call performs one request. ok404 turns a 404 into {data: null}.
//
// A request that fails without an answer is sent once more: browsers abort
// requests in flight when the host's network interfaces change, which on a
// Docker host happens whenever a container starts or stops. retried tells a
// conditional write's caller that a "false" may be its own first attempt
// having succeeded.
export async function call(method, url, { body, signal, ok404 = false } = {}) {
  let res, text, retried = false;
  for (;;) {
    try {
      res = await fetch(url, { method, body, signal, cache: 'no-store' });
      text = await res.text();
      break;
    } catch (e) {
      if (e.name === 'AbortError') throw e;
      if (retried) throw new ApiError(method, url, 0, 'the agent did not answer: ' + e.message);
      retried = true;
      await sleep(150, signal);
      if (signal?.aborted) throw new DOMException('aborted', 'AbortError');
    }
  }
  const index = Number(res.headers.get('X-Consul-Index')) || 0;
  if (res.status === 404 && ok404) return { data: null, index, status: 404, retried };
  if (!res.ok) throw new ApiError(method, url, res.status, text.trim() || res.statusText);
  let data = text;
  if (text && (res.headers.get('Content-Type') || '').includes('json')) data = JSON.parse(text);
  return { data, index, status: res.status, retried };
}

export const get = (url, opts) => call('GET', url, opts).then(r => r.data);

// Path helpers: every segment is encoded on its own, so keys and names may
// hold anything Consul allows ("@", spaces, "?", "#", "%", unicode).
export const enc = encodeURIComponent;
export const encPath = p => p.split('/').map(enc).join('/');
export const kvURL = (key, query = '') => '/v1/kv/' + encPath(key) + (query ? '?' + query : '');

const sleep = (ms, signal) => new Promise(resolve => {
  const t = setTimeout(resolve, ms);
  signal?.addEventListener('abort', () => { clearTimeout(t); resolve(); }, { once: true });
});

// live tracks every running Poll for the header's live / paused /
// disconnected indicator, and pauses or resumes them all.
export const live = {
  polls: new Set(),
  paused: false,
  listeners: new Set(),
  resumeWaiters: [],
  state() {
    if (this.paused) return 'paused';
    let connecting = false;
    for (const p of this.polls) {
      if (p.error) return 'disconnected';
      if (!p.seen) connecting = true;
    }
    return connecting ? 'connecting' : 'live';
  },
  failing() {
    for (const p of this.polls) if (p.error) return p;
    return null;
  },
  notify(kind) { for (const fn of this.listeners) fn(kind); },
  pause() {
    this.paused = true;
    for (const p of this.polls) p.interrupt();
    this.notify('state');
  },
  resume() {
    this.paused = false;
    const ws = this.resumeWaiters.splice(0);
    ws.forEach(fn => fn());
    this.notify('state');
  },
  // retryNow cuts every poll's backoff short.
  retryNow() { for (const p of this.polls) p.interrupt(); },
  whenResumed() { return new Promise(r => this.resumeWaiters.push(r)); },
};

// Poll keeps one blocking query running on url and calls onData with each
// new answer (not with answers whose index did not move: those are the
// agent's wait timing out). Errors back off exponentially up to 30 s and
// are reported through onError; stop() ends it (views stop theirs when
// they are left).
export class Poll {
  constructor(url, onData, { ok404 = false, onError = null } = {}) {
    this.url = url;
    this.onData = onData;
    this.onError = onError;
    this.ok404 = ok404;
    this.index = 0;
    this.seen = false;
    this.error = null;
    this.failures = 0;
    this.stopped = true;
  }

  start() {
    this.stopped = false;
    live.polls.add(this);
    live.notify('state');
    this.run();
    return this;
  }

  stop() {
    this.stopped = true;
    live.polls.delete(this);
    this.interrupt();
    live.notify('state');
  }

  // interrupt aborts the request in flight or the backoff sleep; the loop
  // then looks at stopped / paused again.
  interrupt() { this.ctrl?.abort(); }

  async run() {
    while (!this.stopped) {
      if (live.paused) {
        await live.whenResumed();
        continue;
      }
      this.ctrl = new AbortController();
      const signal = this.ctrl.signal;
      const sep = this.url.includes('?') ? '&' : '?';
      const url = this.index ? `${this.url}${sep}index=${this.index}&wait=${WAIT}` : this.url;
      let r;
      try {
        r = await call('GET', url, { signal, ok404: this.ok404 });
      } catch (e) {
        if (this.stopped || e.name === 'AbortError') continue;
        this.failures++;
        this.error = e;
        const wait = Math.min(MAX_BACKOFF_MS, 1000 * 2 ** (this.failures - 1)) * (0.8 + Math.random() * 0.4);
        this.retryAt = Date.now() + wait;
        live.notify('state');
        this.onError?.(e);
        await sleep(wait, signal);
        continue;
      }
      if (this.stopped) return;
      const recovered = this.error !== null;
      this.error = null;
      this.failures = 0;
      const changed = !this.seen || r.index !== this.index || recovered;
      // Consul's rule: an index that goes backwards (a snapshot restore)
      // means start over without one.
      this.index = r.index < this.index ? 0 : r.index;
      if (!this.seen || recovered) { this.seen = true; live.notify('state'); }
      if (changed) {
        this.onData(r.data, r.index);
        live.notify('data');
        await sleep(MIN_GAP_MS, signal);
      }
    }
  }
}

// limit runs fns with at most n in flight and resolves to their results.
export async function limit(n, fns) {
  const out = new Array(fns.length);
  let next = 0;
  const worker = async () => {
    while (next < fns.length) {
      const i = next++;
      out[i] = await fns[i]();
    }
  };
  await Promise.all(Array.from({ length: Math.min(n, fns.length) }, worker));
  return out;
}
