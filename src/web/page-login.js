// page-login.js — log in and sign up (#/login, #/signup). A log-in makes
// the cookie session (POST /v1/session); signing up makes the person
// (POST /v1/persons), then logs in.
import { api } from './api.js';
import { busy, field, formError, h, heading, showErrors } from './ui.js';
import { loggedIn, setWho, takeLoginNotice } from './app.js';

export async function render(ctx) {
  const signup = !!ctx.opts.signup;
  const notice = takeLoginNotice();
  const handle = h('input', { name: 'handle', autocomplete: 'username', required: true,
    autocapitalize: 'none', spellcheck: 'false' });
  const password = h('input', { name: 'password', type: 'password', required: true,
    autocomplete: signup ? 'new-password' : 'current-password' });
  const again = signup ? h('input', { name: 'again', type: 'password', required: true, autocomplete: 'new-password' }) : null;
  const submit = h('button', { type: 'submit', class: 'primary', text: signup ? 'Create my account' : 'Log in' });
  const form = h('form', { class: 'form', novalidate: true },
    field('Handle', handle, signup ? '3 to 32 letters, digits, dots or dashes: what you log in with.' : null),
    field('Password', password, signup ? 'At least 12 characters, not a common one.' : null),
    again ? field('Password, again', again) : null,
    formError(),
    h('div', { class: 'row' }, submit));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    await busy(submit, form, async () => {
      if (signup) {
        if (password.value !== again.value) {
          showErrors(form, { errors: [{ field: 'again', detail: 'The two passwords differ.' }] });
          return;
        }
        await api.post('/v1/persons', { handle: handle.value.trim(), password: password.value });
      }
      try {
        await api.post('/v1/session', { handle: handle.value.trim(), password: password.value });
      } catch (err) {
        if (err.status === 401) err.problem.detail = 'That handle and password do not match';
        throw err;
      }
      setWho(handle.value.trim());
      loggedIn(signup ? '#/code' : null);
    });
  });
  ctx.main.append(h('div', { class: 'auth' },
    h('p', { class: 'logo-big', 'aria-hidden': 'true', text: 'cmr' }),
    ...heading(signup ? 'Create your account' : 'Log in',
      signup ? 'Hold every relationship you have with a brand, on your terms.'
        : 'Your relationships with brands, on your terms.'),
    notice ? h('p', { class: 'notice warn', role: 'status', text: notice }) : null,
    h('div', { class: 'card' }, form),
    signup ? h('p', {}, 'Already have an account? ', h('a', { href: '#/login', text: 'Log in' }))
      : h('p', {}, 'New here? ', h('a', { href: '#/signup', text: 'Create an account' }))));
  handle.focus();
}
