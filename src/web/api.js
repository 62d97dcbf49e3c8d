// api.js — the web app's one way to the HTTP API: same origin, the session
// cookie, the CSRF header on every request, JSON in and out. A reply that
// is not 2xx throws an ApiError carrying the problem+json (RFC 9457).

export class ApiError extends Error {
  constructor(status, problem, retryAfter) {
    super((problem && (problem.detail || problem.title)) || `HTTP ${status}`);
    this.status = status;
    this.problem = problem || {};
    this.retryAfter = retryAfter; // seconds, from a 429's Retry-After
  }
  // errors[] of a 422: [{field, detail}], or [].
  get errors() {
    return Array.isArray(this.problem.errors) ? this.problem.errors : [];
  }
}

// Called with the error when a person's request comes back 401: the
// session ended (app.js sends the person to the log-in page).
let onUnauthorized = () => {};
export function setUnauthorized(fn) { onUnauthorized = fn; }

async function request(method, path, body, type = 'application/json') {
  const headers = { 'X-CMR-CSRF': '1', Accept: 'application/json' };
  const init = { method, headers, credentials: 'same-origin' };
  if (body !== undefined) {
    headers['Content-Type'] = type;
    init.body = JSON.stringify(body);
  }
  let res;
  try {
    res = await fetch(path, init);
  } catch (e) {
    throw new ApiError(0, { detail: 'cmr could not be reached. Check your connection and try again.' });
  }
  if (res.status === 204) return null;
  const text = await res.text();
  let data = null;
  if (text) {
    try { data = JSON.parse(text); } catch { data = { detail: text }; }
  }
  if (res.ok) return data;
  const err = new ApiError(res.status, data,
    Number(res.headers.get('Retry-After')) || undefined);
  if (res.status === 401 && path.startsWith('/v1/me')) onUnauthorized(err);
  throw err;
}

export const api = {
  get: (path) => request('GET', path),
  post: (path, body) => request('POST', path, body === undefined ? {} : body),
  put: (path, body) => request('PUT', path, body),
  // JSON Merge Patch (RFC 7396): only what is named changes.
  patch: (path, body) => request('PATCH', path, body, 'application/merge-patch+json'),
  del: (path) => request('DELETE', path),
  // A download (an export, receipts): the raw reply as a Blob.
  async blob(method, path, body) {
    const headers = { 'X-CMR-CSRF': '1' };
    const init = { method, headers, credentials: 'same-origin' };
    if (body !== undefined) {
      headers['Content-Type'] = 'application/json';
      init.body = JSON.stringify(body);
    }
    const res = await fetch(path, init);
    if (!res.ok) {
      let p = null;
      try { p = await res.json(); } catch { /* not JSON */ }
      throw new ApiError(res.status, p);
    }
    return res.blob();
  },
};

// Every page of a paged list ({items, next}), up to max items.
export async function all(path, max = 1000) {
  const out = [];
  let after = null;
  const sep = path.includes('?') ? '&' : '?';
  do {
    const page = await api.get(after ? `${path}${sep}after=${encodeURIComponent(after)}` : path);
    out.push(...page.items);
    after = page.next;
  } while (after && out.length < max);
  return out;
}
