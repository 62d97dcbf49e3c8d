// page-account.js — the password (PUT /v1/me/password), where the
// person is logged in (GET /v1/me/sessions and DELETE
// /v1/me/sessions/{id}, where the server has them), alias tokens for a
// password manager (POST /v1/me/tokens, listed and revoked with the
// sessions), and erasing the account (DELETE /v1/me) behind a
// confirmation.
import { api } from './api.js';
import { busy, confirmDialog, field, fill, formError, h, heading, nextId, relative, showErrors, toast, when } from './ui.js';
import { copyButton, optional, withPassword } from './me.js';

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

// One setting to type into the password manager: its label there, the
// value, and a copy button ("Copy the server URL").
function setting(label, value, what) {
  const id = nextId('set');
  return h('div', { class: 'field me-alias-setting' },
    h('p', { class: 'label', id: `${id}-l`, text: label }),
    h('div', { class: 'row' }, h('code', { class: 'me-secret-text', id, text: value }),
      copyButton(value, `Copy ${what}`)));
}

// What to type into Bitwarden, with the token just made (shown once).
function tokenMade(made, domain) {
  const title = h('h3', { tabindex: '-1', text: `Your token "${made.name}" is ready` });
  const box = h('div', { class: 'notice me-alias-made', role: 'status' },
    title,
    h('p', {}, h('strong', { text: 'Copy it now: ' }), 'cmr shows it only this once and keeps only a fingerprint of it.'),
    h('p', { class: 'me-alias-how', text: 'In Bitwarden, open the generator, choose "Username", then "Forwarded email alias", and pick the service "SimpleLogin". Type in these two:' }),
    setting('API key (your token)', made.token, 'the token'),
    setting('Server URL', location.origin, 'the server URL'),
    h('p', { class: 'small', text: 'Then, at a sign-up form, Bitwarden makes a new alias for that site each time you ask.' }),
    h('details', {},
      h('summary', { text: 'Or pick "addy.io" instead' }),
      h('p', { class: 'small', text: 'Choose the service "addy.io", type the token as its "API access token" and the server URL above as its "Self-host server URL", and as "Email domain":' }),
      setting('Email domain', domain || 'the part after @ of your aliases', 'the email domain')));
  setTimeout(() => title.focus(), 0);
  return box;
}

// Alias tokens: made here, listed and revoked here (not among the
// sessions), each good only for making aliases.
function aliasesCard(tokens, domain, ctx) {
  const body = h('div', {});
  const name = h('input', { name: 'name', type: 'text', maxlength: 64, required: true, value: tokens.length ? '' : 'Bitwarden', autocomplete: 'off' });
  const submit = h('button', { type: 'submit', class: 'primary', text: 'Make a token' });
  const form = h('form', { class: 'form me-sub', novalidate: true },
    field('Name of the token', name, 'Which app it is for, so you know it again, such as "Bitwarden".'),
    formError(), h('div', { class: 'row' }, submit));
  const made = h('div', {});
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    await busy(submit, form, async () => {
      if (!name.value.trim()) {
        showErrors(form, { errors: [{ field: 'name', detail: 'Give the token a name, such as "Bitwarden".' }] });
        return;
      }
      const t = await api.post('/v1/me/tokens', { scope: 'aliases', name: name.value.trim() });
      name.value = '';
      fill(made, tokenMade(t, domain));
      const all = await optional('/v1/me/sessions');
      if (all) fill(body, list((all.items || []).filter((s) => s.scope === 'aliases')));
    });
  });
  const list = (items) => (items.length
    ? h('ul', { class: 'items' }, items.map((t) => {
      const revoke = h('button', { type: 'button', text: 'Revoke', 'aria-label': `Revoke the token "${t.name}"` });
      const row = h('li', { class: 'me-session' },
        h('div', {},
          h('p', { class: 'title' }, t.name || 'Alias token', ' ', h('span', { class: 'badge muted', text: 'Makes aliases' })),
          // Last use is kept to the minute: within the first one the
          // token may have been used already, so nothing is said.
          h('p', { class: 'small muted', text: [
            `Made ${when(t.created_at)}`,
            t.last_used_at && t.last_used_at !== t.created_at ? `last used ${relative(t.last_used_at)}` : null,
          ].filter(Boolean).join(' · ') }),
          formError()),
        revoke);
      revoke.addEventListener('click', () => busy(revoke, row, async () => {
        const yes = await confirmDialog({
          title: `Revoke the token "${t.name}"?`,
          body: ['Your password manager can no longer make aliases with it. The aliases it made keep working, each with its own terms.'],
          confirm: 'Revoke', danger: true,
        });
        if (!yes) return;
        await api.del(`/v1/me/sessions/${encodeURIComponent(t.id)}`);
        toast('The token is revoked.');
        ctx.reload();
      }));
      return row;
    }))
    : h('p', { class: 'empty', text: 'No token yet. Make one below, then type it into your password manager.' }));
  fill(body, list(tokens));
  return h('section', { class: 'card', 'aria-labelledby': 'me-aliases' },
    h('h2', { id: 'me-aliases', text: 'Aliases from your password manager' }),
    h('p', { class: 'muted', text: 'Your password manager can make a new alias for each site while you sign up, so each shop gets its own address. cmr files that shop\'s mail by your terms for new aliases (on My terms), and tells you if anyone else ever uses the address. A token made here can only make aliases: it cannot read anything.' }),
    body, made, form);
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

// The alias domain, from an alias the person has (the API names it
// nowhere else); null without one.
async function aliasDomain() {
  const page = await api.get('/v1/me/relationships?limit=1');
  const alias = page.items && page.items[0] && page.items[0].alias;
  return alias && alias.includes('@') ? alias.slice(alias.lastIndexOf('@') + 1) : null;
}

export async function render(ctx) {
  const [sessions, domain] = await Promise.all([optional('/v1/me/sessions'), aliasDomain()]);
  if (ctx.stale()) return;
  const items = sessions ? sessions.items || [] : [];
  fill(ctx.main, heading('Account', 'Your password, where you are logged in, aliases from your password manager, and leaving cmr.'),
    passwordCard(),
    sessions ? sessionsCard(items.filter((s) => s.scope !== 'aliases'), ctx) : null,
    sessions ? aliasesCard(items.filter((s) => s.scope === 'aliases'), domain, ctx) : null,
    eraseCard());
}
