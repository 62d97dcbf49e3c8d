// page-account.js — the password (PUT /v1/me/password), where the
// person is logged in (GET /v1/me/sessions and DELETE
// /v1/me/sessions/{id}, where the server has them), and erasing the
// account (DELETE /v1/me) behind a confirmation.
import { api } from './api.js';
import { busy, field, fill, formError, h, heading, relative, showErrors, toast, when } from './ui.js';
import { optional, withPassword } from './me.js';

function passwordCard() {
  const current = h('input', { type: 'password', name: 'password', autocomplete: 'current-password', required: true });
  const next = h('input', { type: 'password', name: 'new_password', autocomplete: 'new-password', required: true });
  const again = h('input', { type: 'password', name: 'again', autocomplete: 'new-password', required: true });
  const submit = h('button', { type: 'submit', class: 'primary', text: 'Change my password' });
  const form = h('form', { class: 'form', novalidate: true },
    field('Current password', current),
    field('New password', next, 'At least 12 characters, not a common one.'),
    field('New password, again', again),
    formError(), h('div', { class: 'row' }, submit));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    await busy(submit, form, async () => {
      if (next.value !== again.value) {
        showErrors(form, { errors: [{ field: 'again', detail: 'The two new passwords differ.' }] });
        return;
      }
      try {
        await api.put('/v1/me/password', { password: current.value, new_password: next.value });
      } catch (err) {
        if (err.status === 403) {
          err.problem.errors = [{ field: 'password', detail: 'That is not your current password.' }];
        }
        throw err;
      }
      form.reset();
      toast('Your password is changed. You are logged out everywhere else.');
    });
  });
  return h('section', { class: 'card', 'aria-labelledby': 'me-pw' },
    h('h2', { id: 'me-pw', text: 'Password' }),
    h('p', { class: 'muted', text: 'Changing it logs you out of every other browser and ends every app token, here excepted.' }),
    form);
}

const KIND = { session: 'Browser', token: 'App token' };

function sessionsCard(items, ctx) {
  const others = items.filter((s) => !s.current);
  const li = (s) => {
    const what = s.name || KIND[s.kind] || s.kind;
    const revoke = h('button', { type: 'button', text: s.current ? 'Log out here' : 'Revoke',
      'aria-label': s.current ? 'Log out here' : `Revoke: ${what}, ${s.last_used_at ? `last used ${relative(s.last_used_at)}` : 'not used yet'}` });
    const row = h('li', { class: 'me-session' },
      h('div', {},
        h('p', { class: 'title' }, what, ' ',
          s.current ? h('span', { class: 'badge ok', text: 'This browser' }) : null,
          s.kind === 'token' ? h('span', { class: 'badge muted', text: 'Token' }) : null),
        h('p', { class: 'small muted', text: [
          s.last_used_at ? `Last used ${relative(s.last_used_at)} (${when(s.last_used_at)})` : 'Not used yet',
          `since ${when(s.created_at)}`,
          s.expires_at ? `ends ${when(s.expires_at)}` : null].filter(Boolean).join(' · ') }),
        formError()),
      revoke);
    revoke.addEventListener('click', () => busy(revoke, row, async () => {
      await api.del(`/v1/me/sessions/${encodeURIComponent(s.id)}`);
      if (s.current) { location.hash = '#/login'; location.reload(); return; }
      toast(s.kind === 'token' ? 'The token is revoked.' : 'That browser is logged out.');
      ctx.reload();
    }));
    return row;
  };
  const everywhere = others.length
    ? h('button', { type: 'button', text: 'Log out everywhere else' })
    : null;
  const box = h('div', { class: 'me-more' }, formError(), h('div', { class: 'row' }, everywhere));
  if (everywhere) {
    everywhere.addEventListener('click', () => busy(everywhere, box, async () => {
      for (const s of others) await api.del(`/v1/me/sessions/${encodeURIComponent(s.id)}`);
      toast('Logged out everywhere else.');
      ctx.reload();
    }));
  }
  return h('section', { class: 'card', 'aria-labelledby': 'me-sessions' },
    h('h2', { id: 'me-sessions', text: 'Where you are logged in' }),
    h('p', { class: 'muted', text: 'Each browser you logged in with, and each token an app of yours uses. Revoke one you do not recognise.' }),
    items.length ? h('ul', { class: 'items' }, items.map(li)) : h('p', { class: 'empty', text: 'No sessions.' }),
    everywhere ? box : null);
}

function eraseCard() {
  const handle = sessionStorage.getItem('cmr.handle') || '';
  const go = h('button', { type: 'button', class: 'danger', text: 'Erase my account…' });
  const box = h('div', {}, formError(), h('div', { class: 'row' }, go));
  go.addEventListener('click', () => busy(go, box, async () => {
    const done = await withPassword({
      title: 'Erase your account for good?',
      confirm: 'Erase everything', danger: true,
      body: [
        h('p', {}, h('strong', { text: 'This cannot be undone.' })),
        h('ul', { class: 'me-list' },
          h('li', { text: 'Your profile, messages, terms and relationships are deleted; the key that could read them is destroyed.' }),
          h('li', { text: 'Every address cmr gave a brand stops working, and is never given to anyone again.' }),
          h('li', { text: 'Your ledger keeps its hashes, so that it still verifies; what it said of you can no longer be read.' }),
          h('li', { text: `You will not be able to log in as ${handle || 'this handle'} again.` })),
        h('p', { text: 'To keep a copy first, cancel and use "Download everything" on the Ledger page.' }),
      ],
      action: async (password) => { await api.blob('DELETE', '/v1/me', { password }); return true; },
    });
    if (!done) return;
    sessionStorage.removeItem('cmr.handle');
    location.hash = '#/login';
    location.reload();
  }));
  return h('section', { class: 'card me-danger', 'aria-labelledby': 'me-erase' },
    h('h2', { id: 'me-erase', text: 'Erase your account' }),
    h('p', { text: 'Deletes everything cmr holds for you and ends every relationship at once. It cannot be undone.' }),
    box);
}

export async function render(ctx) {
  const sessions = await optional('/v1/me/sessions');
  if (ctx.stale()) return;
  fill(ctx.main, heading('Account', 'Your password, where you are logged in, and leaving cmr.'),
    passwordCard(),
    sessions ? sessionsCard(sessions.items || [], ctx) : null,
    eraseCard());
}
