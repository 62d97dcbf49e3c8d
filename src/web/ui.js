// ui.js — small DOM helpers shared by the pages. Text always goes in as
// text (textContent, attributes): nothing a brand or a person wrote is
// ever parsed as HTML.

// h('button', {class: 'primary', onclick: fn}, 'Save') → an element.
// Attributes: class, text, on<event> (a function), hidden/checked/
// disabled/selected/value (properties), others as attributes; a null or
// false value is left out. Children: nodes, strings, arrays, null.
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k === 'class') el.className = v;
    else if (k === 'text') el.textContent = v;
    else if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (['checked', 'disabled', 'selected', 'value', 'hidden', 'indeterminate'].includes(k)) el[k] = v;
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

// Replaces el's children.
export function fill(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

// The page's heading and the document's title, in one.
export function heading(title, lead) {
  document.title = `${title} · cmr`;
  return [h('h1', { text: title }), lead ? h('p', { class: 'lead', text: lead }) : null];
}

let uid = 0;
export function nextId(prefix = 'f') { uid += 1; return `${prefix}-${uid}`; }

// A labelled field: field('Email', input, 'hint') → <div class=field>.
// The input gets an id, aria-describedby for the hint and the error.
export function field(label, input, hint) {
  const id = input.id || nextId();
  input.id = id;
  const hintEl = hint ? h('p', { class: 'hint', id: `${id}-hint`, text: hint }) : null;
  const err = h('p', { class: 'error', id: `${id}-err`, hidden: true });
  input.setAttribute('aria-describedby', [hintEl ? hintEl.id : null, err.id].filter(Boolean).join(' '));
  return h('div', { class: 'field', 'data-field': input.name || '' },
    h('label', { for: id, text: label }), input, hintEl, err);
}

// A checkbox with its label beside it.
export function check(label, attrs = {}) {
  const id = attrs.id || nextId('c');
  return h('label', { class: 'check', for: id },
    h('input', { type: 'checkbox', id, ...attrs }), h('span', { text: label }));
}

const dateFmt = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });
const dayFmt = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium' });

// "3 Dec 2026, 14:05" from an RFC 3339 time (or "—").
export function when(t) {
  if (!t) return '—';
  const d = new Date(t);
  return Number.isNaN(d.getTime()) ? String(t) : dateFmt.format(d);
}
export function day(t) {
  if (!t) return '—';
  const d = new Date(t);
  return Number.isNaN(d.getTime()) ? String(t) : dayFmt.format(d);
}

// "in 5 minutes", "2 hours ago".
export function relative(t) {
  const d = new Date(t).getTime();
  if (Number.isNaN(d)) return '';
  const s = Math.round((d - Date.now()) / 1000);
  const rtf = new Intl.RelativeTimeFormat(undefined, { numeric: 'auto' });
  const a = Math.abs(s);
  if (a < 60) return rtf.format(s, 'second');
  if (a < 3600) return rtf.format(Math.round(s / 60), 'minute');
  if (a < 86400) return rtf.format(Math.round(s / 3600), 'hour');
  return rtf.format(Math.round(s / 86400), 'day');
}

// Words for an API error, for a person.
export function problemText(err) {
  if (!err) return '';
  if (err.status === 0) return err.message;
  if (err.status === 429) {
    const s = err.retryAfter;
    return s ? `Too many tries. Wait ${s} second${s === 1 ? '' : 's'} and try again.` : 'Too many tries. Wait a moment and try again.';
  }
  if (err.status >= 500) return `cmr could not do that just now (${err.problem.detail || 'server error'}). Try again.`;
  const d = err.problem && err.problem.detail;
  return d ? d.charAt(0).toUpperCase() + d.slice(1) + (/[.!?]$/.test(d) ? '' : '.') : err.message;
}

// Shows err in form: each errors[].field next to its input (an element
// with name=field or data-field=field), the rest in the form's
// .form-error. Returns nothing; clearErrors(form) undoes it.
export function showErrors(form, err) {
  clearErrors(form);
  let placed = false;
  for (const e of (err.errors || [])) {
    const name = String(e.field || '').split('.')[0];
    const box = form.querySelector(`[data-field="${CSS.escape(String(e.field))}"]`) ||
      form.querySelector(`[data-field="${CSS.escape(name)}"]`);
    if (!box) continue;
    const p = box.querySelector('.error');
    if (p) {
      p.textContent = e.detail || e.message || 'Not valid.';
      p.hidden = false;
      const input = box.querySelector('input, select, textarea');
      if (input) input.setAttribute('aria-invalid', 'true');
      placed = true;
    }
  }
  const general = form.querySelector('.form-error');
  if (general && (!placed || !(err.errors || []).length)) general.textContent = problemText(err);
  const first = form.querySelector('[aria-invalid=true]');
  if (first) first.focus();
}

export function clearErrors(form) {
  for (const p of form.querySelectorAll('.field .error')) { p.hidden = true; p.textContent = ''; }
  for (const i of form.querySelectorAll('[aria-invalid]')) i.removeAttribute('aria-invalid');
  const general = form.querySelector('.form-error');
  if (general) general.textContent = '';
}

// The general error line of a form (role=alert: read out when it fills).
export function formError() {
  return h('p', { class: 'form-error', role: 'alert' });
}

// Runs fn with the button disabled; an ApiError is shown in form.
export async function busy(button, form, fn) {
  if (form) clearErrors(form);
  button.disabled = true;
  try {
    return await fn();
  } catch (err) {
    if (form && err && err.status !== undefined) showErrors(form, err);
    else if (err && err.status !== undefined) toast(problemText(err));
    else throw err;
    return undefined;
  } finally {
    button.disabled = false;
  }
}

let toastTimer;
export function toast(message) {
  const t = document.getElementById('toast');
  t.textContent = message;
  t.classList.add('show');
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => t.classList.remove('show'), 4000);
}

// A modal question: resolves true when the person confirms.
// confirmDialog({title, body: [nodes or strings], confirm: 'End', danger: true})
export function confirmDialog({ title, body = [], confirm = 'OK', cancel = 'Cancel', danger = false }) {
  return new Promise((resolve) => {
    const titleId = nextId('d');
    const yes = h('button', { type: 'button', class: danger ? 'danger' : 'primary', text: confirm });
    const no = h('button', { type: 'button', text: cancel });
    const d = h('dialog', { 'aria-labelledby': titleId },
      h('h2', { id: titleId, text: title }),
      ...[body].flat().map((b) => (typeof b === 'string' ? h('p', { text: b }) : b)),
      h('div', { class: 'row end' }, no, yes));
    const done = (v) => { d.close(); d.remove(); resolve(v); };
    yes.addEventListener('click', () => done(true));
    no.addEventListener('click', () => done(false));
    d.addEventListener('cancel', (e) => { e.preventDefault(); done(false); });
    document.body.append(d);
    d.showModal();
    no.focus();
  });
}

// Copies text and says `done`. Where the clipboard is refused, node's
// text is selected for the person to copy (or, without a node, they are
// asked to select it themselves).
export async function copyText(text, node, done) {
  try {
    await navigator.clipboard.writeText(text);
    toast(done);
  } catch {
    if (!node) {
      toast('Your browser would not copy it: select the text and copy it yourself.');
      return;
    }
    const r = document.createRange();
    r.selectNodeContents(node);
    const s = window.getSelection();
    s.removeAllRanges();
    s.addRange(r);
    toast('Press Ctrl+C (or ⌘C) to copy what is selected.');
  }
}

// Saves a Blob as a file the browser downloads.
export function download(blob, name) {
  const url = URL.createObjectURL(blob);
  const a = h('a', { href: url, download: name, hidden: true });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10000);
}

// Words for the API's vocabulary.
export const CHANNELS = { email: 'Email', sms: 'SMS', push: 'Push', postal: 'Post', phone: 'Phone calls' };
export const FIELDS = {
  name: 'Name', email: 'Email address', phone: 'Phone number', address: 'Postal address',
  birthday: 'Birthday', country: 'Country', language: 'Language', sizes: 'Sizes', interests: 'Interests',
};
export function label(map, key) { return map[key] || key; }
