// Sign up, log out, a wrong password, log in; the log-in page's words.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { PASSWORD, axe, browser, login, page, person, shots, startCmr } from './harness.mjs';

let cmr; let b;
before(async () => { cmr = await startCmr(); b = await browser(); });
after(async () => { await b?.close(); await cmr?.stop(); });

test('a newcomer signs up, logs out and logs in again', async () => {
  const p = await page(b);
  await p.goto(`${cmr.url}/`);
  await p.getByRole('heading', { name: 'Log in' }).waitFor();
  // A first visit is no expired session.
  assert.equal(await p.getByText('Your session has expired').count(), 0);
  assert.deepEqual(await axe(p), []);
  await shots(p, 'login');
  await p.getByRole('link', { name: 'Create an account' }).click();
  await p.getByLabel('Handle').fill('zoe');
  await p.getByLabel('Password', { exact: true }).fill(PASSWORD);
  await p.getByLabel('Password, again').fill(PASSWORD + 'x');
  await p.getByRole('button', { name: 'Create my account' }).click();
  await p.getByText('The two passwords differ.').waitFor();
  await p.getByLabel('Password, again').fill(PASSWORD);
  await p.getByRole('button', { name: 'Create my account' }).click();
  await p.locator('#top:not([hidden])').waitFor();
  assert.equal(await p.locator('#who').textContent(), 'zoe');
  await p.getByRole('button', { name: 'Log out', exact: true }).click();
  await p.getByRole('heading', { name: 'Log in' }).waitFor();
  // The cookie is gone: the API says 401 to the page's origin.
  const status = await p.evaluate(async () => (await fetch('/v1/me/terms')).status);
  assert.equal(status, 401);
  assert.deepEqual(p.errors.filter((e) => !/401/.test(e)), []);
  await p.context().close();
});

test('a wrong password and a weak one are said in words', async () => {
  const zed = await person(cmr, 'zed');
  const p = await page(b);
  await p.goto(`${cmr.url}/#/login`);
  await p.getByLabel('Handle').fill('zed');
  await p.getByLabel('Password', { exact: true }).fill('not the password at all');
  await p.getByRole('button', { name: 'Log in' }).click();
  await p.getByText('That handle and password do not match.').waitFor();
  await shots(p, 'login-wrong');
  await p.goto(`${cmr.url}/#/signup`);
  await p.getByLabel('Handle').fill('yan');
  await p.getByLabel('Password', { exact: true }).fill('short');
  await p.getByLabel('Password, again').fill('short');
  await p.getByRole('button', { name: 'Create my account' }).click();
  const err = p.locator('[data-field=password] .error');
  await err.waitFor();
  assert.match(await err.textContent(), /12/);
  await login(p, cmr, zed);
  await p.context().close();
});

test('an expired session sends the person to log in, and back', async () => {
  const yo = await person(cmr, 'yoko');
  const p = await page(b);
  await login(p, cmr, yo);
  await p.context().clearCookies();
  // The app, still open, goes to a page: its request finds no session.
  await p.evaluate(() => { location.hash = '#/terms'; });
  await p.getByText('Your session has expired').waitFor();
  await p.getByLabel('Handle').fill('yoko');
  await p.getByLabel('Password', { exact: true }).fill(PASSWORD);
  await p.getByRole('button', { name: 'Log in' }).click();
  await p.waitForFunction(() => location.hash === '#/terms');
  await p.context().close();
});
