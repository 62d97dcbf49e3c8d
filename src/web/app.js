// app.js — the shell of cmr's web app: the router (#/path), the header
// and its navigation, and the session. Each page is a module
// (page-*.js) whose render(ctx) fills ctx.main; it is loaded when first
// visited. ctx = {main, params, query, go(hash), reload()}.
import { api, setUnauthorized } from './api.js';
import { fill, h } from './ui.js';

// [pattern, module, nav link it belongs to]. The first match wins.
const routes = [
  [/^\/login$/, './page-login.js', null, { public: true }],
  [/^\/signup$/, './page-login.js', null, { public: true, signup: true }],
  [/^\/$/, './page-home.js', '#/'],
  [/^\/r\/([^/]+)$/, './page-relationship.js', '#/'],
  [/^\/new$/, './page-new-alias.js', '#/'],
  [/^\/proposals$/, './page-proposals.js', '#/proposals'],
  [/^\/proposals\/([^/]+)$/, './page-proposals.js', '#/proposals'],
  [/^\/code$/, './page-code.js', '#/code'],
  [/^\/inbox$/, './page-inbox.js', '#/inbox'],
  [/^\/inbox\/([^/]+)$/, './page-inbox.js', '#/inbox'],
  [/^\/m\/([^/]+)$/, './page-inbox.js', '#/inbox', { message: true }],
  [/^\/attempts$/, './page-attempts.js', '#/attempts'],
  [/^\/profile$/, './page-profile.js', '#/profile'],
  [/^\/terms$/, './page-terms.js', '#/terms'],
  [/^\/delivery$/, './page-delivery.js', '#/delivery'],
  [/^\/ledger$/, './page-ledger.js', '#/ledger'],
  [/^\/account$/, './page-account.js', '#/account'],
];

const main = document.getElementById('main');
const top = document.getElementById('top');
let signedIn = null; // null: not known yet

export function go(hash) {
  if (location.hash === hash) route();
  else location.hash = hash;
}

// Where the person was going when the log-in page came up.
let after = '#/';
// A word for the log-in page ("Your session has expired …").
let loginNotice = '';

setUnauthorized(() => {
  if (signedIn !== true) return; // not logged in yet: no session to expire
  signedIn = false;
  loginNotice = 'Your session has expired. Log in again to go on.';
  after = location.hash && !location.hash.startsWith('#/login') ? location.hash : '#/';
  go('#/login');
});

export function loggedIn(hash) {
  signedIn = true;
  loginNotice = '';
  go(hash || after || '#/');
}

export function takeLoginNotice() {
  const n = loginNotice;
  loginNotice = '';
  return n;
}

async function known() {
  if (signedIn !== null) return signedIn;
  try {
    await api.get('/v1/me/terms');
    signedIn = true;
  } catch (e) {
    signedIn = false;
  }
  return signedIn;
}

let generation = 0;

async function route() {
  const gen = ++generation;
  const raw = (location.hash || '#/').slice(1) || '/';
  const [path, q] = raw.split('?');
  let found = null;
  for (const [re, mod, nav, opts = {}] of routes) {
    const m = path.match(re);
    if (m) { found = { mod, nav, opts, params: m.slice(1).map(decodeURIComponent) }; break; }
  }
  if (!found) {
    fill(main, h('h1', { text: 'Not found' }),
      h('p', {}, 'There is no such page. ', h('a', { href: '#/', text: 'Go to your relationships' }), '.'));
    return;
  }
  const ok = await known();
  if (gen !== generation) return;
  if (!found.opts.public && !ok) {
    after = location.hash || '#/';
    go('#/login');
    return;
  }
  if (found.opts.public && ok) { go('#/'); return; }
  top.hidden = !!found.opts.public;
  for (const a of document.querySelectorAll('nav#nav a')) {
    if (a.getAttribute('href') === found.nav) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
  showCurrent();
  const ctx = {
    main, params: found.params, query: new URLSearchParams(q || ''), opts: found.opts,
    go, reload: route, stale: () => gen !== generation,
  };
  try {
    const page = await import(found.mod);
    if (gen !== generation) return;
    main.replaceChildren();
    await page.render(ctx);
  } catch (err) {
    if (gen !== generation || (err && err.status === 401)) return;
    fill(main, h('h1', { text: 'Something went wrong' }),
      h('p', { class: 'notice danger', text: err && err.message ? err.message : String(err) }),
      h('p', {}, h('a', { href: '#/', text: 'Back to your relationships' })));
  }
  if (document.activeElement === document.body || !main.contains(document.activeElement)) {
    main.focus({ preventScroll: true });
  }
  window.scrollTo(0, 0);
}

// On a phone the nav scrolls sideways: keep the current page's link in view.
function showCurrent() {
  const nav = document.getElementById('nav');
  const cur = nav.querySelector('[aria-current]');
  if (!cur || top.hidden) return;
  const left = cur.offsetLeft - nav.offsetLeft;
  if (left < nav.scrollLeft || left + cur.offsetWidth > nav.scrollLeft + nav.clientWidth) {
    nav.scrollLeft = Math.max(0, left - 12);
  }
}

document.getElementById('logout').addEventListener('click', async () => {
  try { await api.del('/v1/session'); } catch { /* gone already */ }
  signedIn = false;
  sessionStorage.removeItem('cmr.handle');
  go('#/login');
});

export function setWho(handle) {
  if (handle) sessionStorage.setItem('cmr.handle', handle);
  document.getElementById('who').textContent = sessionStorage.getItem('cmr.handle') || '';
}

window.addEventListener('hashchange', route);
setWho();
route();
