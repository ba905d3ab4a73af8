// The API client: every request goes to the server that served the page, with the bearer
// token when one was given (kept in sessionStorage, never in a URL or a cookie).

const TOKEN_KEY = 'vigil.token';

/** The server's root URL, ending in `/` (the page is `<root>map`). */
export const root = new URL('./', document.baseURI).href;

/** An absolute URL of a path relative to the server's root. */
export function url(path) {
  return root + path.replace(/^\//, '');
}

export function token() {
  return sessionStorage.getItem(TOKEN_KEY);
}

export function setToken(t) {
  if (t) sessionStorage.setItem(TOKEN_KEY, t);
  else sessionStorage.removeItem(TOKEN_KEY);
}

/** Headers for a request to this server. */
export function headers(extra = {}) {
  const h = { ...extra };
  const t = token();
  if (t) h.Authorization = `Bearer ${t}`;
  return h;
}

/** Whether `u` is on this server (the only host that gets the token). */
export function sameOrigin(u) {
  try {
    return new URL(u, document.baseURI).origin === location.origin;
  } catch {
    return false;
  }
}

/** An error of the API, with the problem's detail (RFC 9457) when there is one. */
export class ApiError extends Error {
  constructor(status, detail) {
    super(detail);
    this.status = status;
  }
}

let pending = 0;
const listeners = new Set();
/** Calls `f(busy)` whenever requests start or all have ended. */
export function onBusy(f) {
  listeners.add(f);
}
function busy(delta) {
  pending += delta;
  for (const f of listeners) f(pending > 0);
}

/** GET or POST a JSON resource; throws ApiError with a readable message. */
export async function json(path, { method = 'GET', body } = {}) {
  busy(1);
  try {
    let res;
    try {
      res = await fetch(url(path), {
        method,
        headers: headers(body ? { 'Content-Type': 'application/json', Accept: 'application/json' } : { Accept: 'application/json' }),
        body: body ? JSON.stringify(body) : undefined,
      });
    } catch (e) {
      throw new ApiError(0, `The server cannot be reached (${e.message}). Check the network and reload.`);
    }
    if (!res.ok) {
      let detail = `${res.status} ${res.statusText}`;
      try {
        const p = await res.json();
        if (p.detail) detail = p.detail;
      } catch { /* not a problem document */ }
      throw new ApiError(res.status, detail);
    }
    return await res.json();
  } finally {
    busy(-1);
  }
}

/** A text resource (CSV) as a Blob. */
export async function blob(path) {
  const res = await fetch(url(path), { headers: headers() });
  if (!res.ok) throw new ApiError(res.status, `${res.status} ${res.statusText}`);
  return res.blob();
}
