// me.js — what the person's own pages share (profile, my terms,
// delivery, ledger, account): asking for the password again before a
// change the API guards with it, a copy button, and the brands by
// relationship id.
import { all, api } from './api.js';
import { busy, copyText, field, formError, h, nextId, showErrors } from './ui.js';

// Asks for the password in a dialog, then runs action(password). A wrong
// password (403) or too many tries (429) is said in the dialog, which
// stays open for another try; any other error closes it and is thrown,
// for the caller to show next to what caused it. Resolves action's
// result, or null when the person cancels.
// withPassword({title, body: [nodes or strings], confirm, danger, action})
export function withPassword({ title, body = [], confirm = 'Save', danger = false, action }) {
  return new Promise((resolve, reject) => {
    const titleId = nextId('d');
    const pw = h('input', { type: 'password', name: 'password', required: true,
      autocomplete: 'current-password' });
    const yes = h('button', { type: 'submit', class: danger ? 'danger' : 'primary', text: confirm });
    const no = h('button', { type: 'button', text: 'Cancel' });
    const form = h('form', { novalidate: true },
      ...[body].flat().map((b) => (typeof b === 'string' ? h('p', { text: b }) : b)),
      field('Your password', pw, 'cmr asks for it again before this change.'),
      formError(),
      h('div', { class: 'row end' }, no, yes));
    const d = h('dialog', { 'aria-labelledby': titleId, class: 'me-dialog' },
      h('h2', { id: titleId, text: title }), form);
    let settled = false;
    const back = document.activeElement;
    const done = (fn, v) => {
      if (settled) return;
      settled = true;
      d.close();
      d.remove();
      // Focus goes back where it was (the button that asked, enabled again
      // once the caller's busy() is done), unless the caller moved it (to
      // an error, or a new page).
      setTimeout(() => {
        const lost = !document.activeElement || document.activeElement === document.body;
        if (lost && back && back.isConnected && typeof back.focus === 'function') back.focus();
      }, 0);
      fn(v);
    };
    no.addEventListener('click', () => done(resolve, null));
    d.addEventListener('cancel', (e) => { e.preventDefault(); done(resolve, null); });
    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      if (!pw.value) {
        showErrors(form, { errors: [{ field: 'password', detail: 'Type your password.' }] });
        return;
      }
      let failure = null;
      await busy(yes, form, async () => {
        try {
          const out = await action(pw.value);
          done(resolve, out);
        } catch (err) {
          if (err && err.status === 403) {
            throw Object.assign(err, { problem: { ...err.problem,
              errors: [{ field: 'password', detail: 'That is not your password.' }] } });
          }
          if (err && err.status === 429) throw err;
          failure = err;
        }
      });
      if (failure) done(reject, failure);
    });
    document.body.append(d);
    d.showModal();
    pw.focus();
  });
}

// A button that copies text, and says so.
export function copyButton(text, label = 'Copy') {
  return h('button', { type: 'button', text: label, onclick: () => copyText(text, null, 'Copied.') });
}

// Every relationship of the person (ended ones too): the ledger names
// brands through them.
export async function relationships() {
  return all('/v1/me/relationships');
}

// A GET that answers null when the route is not on this server (404):
// routes that other parts of cmr add in time.
export async function optional(path) {
  try {
    return await api.get(path);
  } catch (err) {
    if (err && err.status === 404) return null;
    throw err;
  }
}
