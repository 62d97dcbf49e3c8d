// The person's own pages: profile and who reads each field, my terms,
// delivery, the ledger and its export, the account (password, erasure).
import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import { after, before, test } from 'node:test';
import { axe, brand, browser, client, connect, login, page, person, shots, startCmr } from './harness.mjs';

let cmr; let b;
before(async () => { cmr = await startCmr(); b = await browser(); });
after(async () => { await b?.close(); await cmr?.stop(); });

// What went wrong in the page, bar the console's lines for replies that
// were not 2xx (the log-in page's first 401, a 422 the page shows).
const errors = (p) => p.errors.filter((e) => !/^Failed to load resource/.test(e));

// Clicks a button and waits for the toast it brings (a toast from an
// earlier click may still be on the screen with the same words).
async function clickForToast(p, button, words) {
  await p.evaluate(() => { document.getElementById('toast').textContent = ''; });
  await button.click();
  await p.locator('#toast').getByText(words).waitFor();
}

const ASK = { value: 'Free delivery', fields: ['name', 'email', 'phone'], channels: ['email'], topics: ['orders'] };

test('the grid changes who may read a field, and the brand sees it', async () => {
  const ana = await person(cmr, 'ana');
  await ana.api.patch('/v1/me/profile', { name: 'Ana Lima', phone: '+4915112345678' });
  const acme = brand(cmr, 'Acme', 'acme.example');
  const rel = (await connect(ana, acme, ASK)).id;
  const p = await page(b);
  await login(p, cmr, ana);
  await p.goto(`${cmr.url}/#/profile`);
  await p.getByRole('heading', { name: 'Your profile' }).waitFor();
  const cell = p.getByRole('checkbox', { name: 'Acme may read your phone number' });
  assert.equal(await cell.isChecked(), false);
  // A field the brand did not ask for has no box.
  assert.equal(await p.getByRole('checkbox', { name: 'Acme may read your birthday' }).count(), 0);
  const before = await acme.api.get(`/v1/relationships/${rel}`);
  assert.equal(before.fields.phone, undefined);
  await cell.check();
  await p.getByText('Saved', { exact: true }).waitFor();
  const now = await acme.api.get(`/v1/relationships/${rel}`);
  assert.equal(now.fields.phone, '+4915112345678');
  await p.getByRole('checkbox', { name: 'Acme may read your name' }).uncheck();
  await p.locator('.me-cell-status.ok').nth(1).waitFor();
  const later = await acme.api.get(`/v1/relationships/${rel}`);
  assert.equal(later.fields.name, undefined);
  assert.deepEqual((await ana.api.get(`/v1/me/relationships/${rel}/terms`)).fields.sort(), ['email', 'phone']);
  await shots(p, 'profile');
  assert.deepEqual(await axe(p), []);
  assert.deepEqual(errors(p), []);
  await p.context().close();
});

test('an invalid email in the profile is said next to it, and nothing is written', async () => {
  const ben = await person(cmr, 'ben');
  const p = await page(b);
  await login(p, cmr, ben);
  await p.goto(`${cmr.url}/#/profile`);
  await p.getByText('No brand holds a relationship with you yet').waitFor();
  await p.getByLabel('Name', { exact: true }).fill('Ben Ode');
  await p.getByLabel('Email address').fill('not an address');
  await p.getByRole('button', { name: 'Save my details' }).click();
  const err = p.locator('[data-field=email] .error');
  await err.waitFor();
  assert.match(await err.textContent(), /email address/);
  assert.equal(await p.getByLabel('Email address').getAttribute('aria-invalid'), 'true');
  assert.deepEqual(await ben.api.get('/v1/me/profile'), {});
  await p.getByLabel('Email address').fill('ben@home.example');
  await p.getByLabel('Country').selectOption('PT');
  await p.getByRole('button', { name: 'Save my details' }).click();
  await p.getByText('Your details are saved.').waitFor();
  assert.deepEqual(await ben.api.get('/v1/me/profile'), { name: 'Ben Ode', email: 'ben@home.example', country: 'PT' });
  await shots(p, 'profile-empty');
  assert.deepEqual(await axe(p), []);
  assert.deepEqual(errors(p), []);
  await p.context().close();
});

test('quiet hours, a time zone and a cap are set on the terms page', async () => {
  const cyd = await person(cmr, 'cyd');
  const p = await page(b);
  await login(p, cmr, cyd);
  await p.goto(`${cmr.url}/#/terms`);
  await p.getByRole('heading', { name: 'My terms' }).waitFor();
  await p.getByLabel('Time zone').fill('Europe/Lisbon');
  await p.getByLabel('Keep quiet hours').check();
  await p.getByLabel('From', { exact: true }).fill('21:30');
  await p.getByLabel('Until', { exact: true }).fill('08:00');
  await p.getByLabel('Sun').uncheck();
  await p.getByLabel('SMS', { exact: true }).first().check();
  await p.getByRole('spinbutton', { name: 'Email' }).fill('3');
  await p.getByLabel('Email: counted per').selectOption('day');
  await p.getByLabel('Say nothing').check();
  await clickForToast(p, p.getByRole('button', { name: 'Save my terms' }), 'Your terms are saved.');
  const t = await cyd.api.get('/v1/me/terms');
  assert.equal(t.time_zone, 'Europe/Lisbon');
  assert.deepEqual(t.quiet_hours, { from: '21:30', to: '08:00', days: ['mon', 'tue', 'wed', 'thu', 'fri', 'sat'] });
  assert.deepEqual(t.do_not_contact, ['sms']);
  assert.deepEqual(t.caps.email, { max: 3, per: 'day', over_cap: 'refuse' });
  assert.equal(t.refusal, 'silent');
  // An unknown zone is said next to the field.
  await p.getByLabel('Time zone').fill('Mars/Olympus');
  await p.getByRole('button', { name: 'Save my terms' }).click();
  await p.locator('[data-field=time_zone] .error').waitFor();
  assert.equal((await cyd.api.get('/v1/me/terms')).time_zone, 'Europe/Lisbon');
  await p.getByLabel('Time zone').fill('Europe/Lisbon');
  // A rolling cap counts to 100 at most: said in that channel's row.
  await p.getByRole('spinbutton', { name: 'SMS' }).fill('500');
  await p.getByLabel('SMS: counted per').selectOption('86400');
  await p.getByRole('button', { name: 'Save my terms' }).click();
  await p.locator('[data-field="caps.sms"] .error').getByText(/100/).waitFor();
  assert.equal((await cyd.api.get('/v1/me/terms')).caps.sms, undefined);
  await p.getByRole('spinbutton', { name: 'SMS' }).fill('');
  // Turning a cap to rolling replaces the calendar one (and the error goes).
  await p.getByLabel('Email: counted per').selectOption('604800');
  await clickForToast(p, p.getByRole('button', { name: 'Save my terms' }), 'Your terms are saved.');
  assert.deepEqual((await cyd.api.get('/v1/me/terms')).caps.email, { max: 3, per_seconds: 604800, over_cap: 'refuse' });
  assert.equal(await p.locator('[data-field="caps.sms"] .error').isVisible(), false);
  await shots(p, 'terms');
  assert.deepEqual(await axe(p), []);
  assert.deepEqual(errors(p), []);
  await p.context().close();
});

test('delivery: a webhook with its secret shown once, after the password', async () => {
  const dee = await person(cmr, 'dee');
  const p = await page(b);
  await login(p, cmr, dee);
  await p.goto(`${cmr.url}/#/delivery`);
  await p.getByRole('heading', { name: 'Delivery' }).waitFor();
  await p.getByLabel('Address to call (https)').fill('https://push.example/hook');
  await p.getByRole('button', { name: 'Set the webhook' }).click();
  const dialog = p.getByRole('dialog');
  await dialog.getByLabel('Your password').fill('wrong password, surely');
  await dialog.getByRole('button', { name: 'Set it' }).click();
  await dialog.getByText('That is not your password.').waitFor();
  await dialog.getByLabel('Your password').fill(dee.password);
  await dialog.getByRole('button', { name: 'Set it' }).click();
  await p.getByText('it is shown only this once').waitFor();
  assert.match(await p.locator('.me-secret-text').textContent(), /\S{16,}/);
  const d = await dee.api.get('/v1/me/delivery');
  assert.equal(d.webhook.url, 'https://push.example/hook');
  await shots(p, 'delivery');
  assert.deepEqual(await axe(p), []);
  await p.reload();
  await p.getByText('Calling').waitFor();
  assert.equal(await p.getByText('it is shown only this once').count(), 0);
  // Not https: said next to the address, the dialog gone, nothing changed.
  await p.getByLabel('Call another address instead').fill('http://push.example/other');
  await p.getByRole('button', { name: 'Change the webhook' }).click();
  await dialog.getByLabel('Your password').fill(dee.password);
  await dialog.getByRole('button', { name: 'Set it' }).click();
  await p.locator('[data-field="webhook.url"] .error').waitFor();
  assert.equal(await p.getByRole('dialog').count(), 0);
  assert.equal((await dee.api.get('/v1/me/delivery')).webhook.url, 'https://push.example/hook');
  assert.deepEqual(errors(p), []);
  await p.context().close();
});

// A smarthost on loopback that keeps the mails it is given (forwarding's
// code comes through it): resolves {port, mails, close}.
function smtpSink() {
  const mails = [];
  const server = net.createServer((s) => {
    let buf = ''; let data = null;
    s.setEncoding('latin1');
    s.write('220 sink.test ESMTP\r\n');
    s.on('data', (d) => {
      buf += d;
      let i;
      while ((i = buf.indexOf('\r\n')) >= 0) {
        const line = buf.slice(0, i); buf = buf.slice(i + 2);
        if (data !== null) {
          if (line === '.') { mails.push(data); data = null; s.write('250 ok\r\n'); } else data += `${line}\n`;
          continue;
        }
        const verb = line.slice(0, 4).toUpperCase();
        if (verb === 'EHLO' || verb === 'HELO') s.write('250-sink.test\r\n250 8BITMIME\r\n');
        else if (verb === 'DATA') { data = ''; s.write('354 go on\r\n'); } else if (verb === 'QUIT') { s.end('221 bye\r\n'); } else s.write('250 ok\r\n');
      }
    });
    s.on('error', () => {});
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({
    port: server.address().port, mails, close: () => new Promise((r) => server.close(r)) })));
}

test('forwarding: an address, the code sent there, the code given back', async () => {
  const sink = await smtpSink();
  const fwd = await startCmr(['--smarthost', `127.0.0.1:${sink.port}`]);
  try {
    const ida = await person(fwd, 'ida');
    const p = await page(b);
    await login(p, fwd, ida);
    await p.goto(`${fwd.url}/#/delivery`);
    await p.getByLabel('Forward to this address').fill('ida@home.example');
    await p.getByRole('button', { name: 'Send me a code' }).click();
    await p.getByRole('dialog').getByLabel('Your password').fill(ida.password);
    await p.getByRole('dialog').getByRole('button', { name: 'Send the code' }).click();
    await p.getByText('Waiting for the code').waitFor();
    for (let i = 0; i < 500 && !sink.mails.length; i++) await new Promise((r) => setTimeout(r, 20));
    const code = (sink.mails[0] || '').match(/Your code: ([0-9A-Z]{4}-[0-9A-Z]{4})/)[1];
    await p.getByLabel('The code in the message cmr sent').fill('0000-0000');
    await p.getByRole('button', { name: 'Prove the address' }).click();
    await p.locator('[data-field=code] .error').waitFor();
    await shots(p, 'delivery-forward');
    assert.deepEqual(await axe(p), []);
    await p.getByLabel('The code in the message cmr sent').fill(code);
    await p.getByRole('button', { name: 'Prove the address' }).click();
    await p.getByText('Proved: messages are forwarded').waitFor();
    assert.equal((await ida.api.get('/v1/me/delivery')).forward.verified, true);
    assert.deepEqual(errors(p), []);
    await p.context().close();
  } finally {
    await fwd.stop();
    await sink.close();
  }
});

test('the ledger in words, and the export downloads', async () => {
  const eve = await person(cmr, 'eve');
  await eve.api.patch('/v1/me/profile', { name: 'Eve Ray', email: 'eve@home.example' });
  const shop = brand(cmr, 'Lumen Bakery', 'lumen.example');
  const rel = (await connect(eve, shop, ASK, { channels: { email: { allowed: true } }, fields: ['name', 'email'] })).id;
  await shop.api.get(`/v1/relationships/${rel}`);
  const p = await page(b);
  await login(p, cmr, eve);
  await p.goto(`${cmr.url}/#/ledger`);
  await p.getByRole('heading', { name: 'Your ledger' }).waitFor();
  await p.getByText('Lumen Bakery read your name and your email address.').waitFor();
  await p.getByText('You accepted Lumen Bakery: it may reach you by email').waitFor();
  await p.getByText('You changed your name and your email address.').waitFor();
  await p.getByRole('link', { name: 'the public keys' }).waitFor();
  const keyId = await p.locator('dl.facts dd.mono').last().textContent();
  assert.match(keyId, /^[0-9a-f]{8,}$/);
  await shots(p, 'ledger');
  assert.deepEqual(await axe(p), []);
  await p.getByRole('button', { name: 'Download everything' }).click();
  await p.getByRole('dialog').getByLabel('Your password').fill(eve.password);
  const [dl] = await Promise.all([
    p.waitForEvent('download'),
    p.getByRole('dialog').getByRole('button', { name: 'Download' }).click(),
  ]);
  assert.match(dl.suggestedFilename(), /^cmr-export-eve-.*\.json$/);
  const data = JSON.parse(fs.readFileSync(await dl.path(), 'utf8'));
  assert.equal(data.format, 'cmr-export-1');
  assert.equal(data.handle, 'eve');
  assert.equal(data.profile.name, 'Eve Ray');
  assert.equal(data.relationships.length, 1);
  assert.ok(data.ledger.length >= 3);
  assert.deepEqual(errors(p), []);
  await p.context().close();
});

// The chain check and the sessions list, against the server's own
// GET /v1/me/ledger/verify and GET/DELETE /v1/me/sessions.
test('the chain verifies, and a token is revoked from the sessions list', async () => {
  const hal = await person(cmr, 'hal'); // signing up took an API token
  await hal.api.get('/v1/me/terms');
  const p = await page(b);
  await login(p, cmr, hal);
  await p.goto(`${cmr.url}/#/ledger`);
  await p.getByText('The chain verifies.').waitFor();
  const { kid } = (await (await fetch(`${cmr.url}/.well-known/jwks.json`)).json()).keys[0];
  await p.getByText(kid, { exact: false }).first().waitFor();
  await p.goto(`${cmr.url}/#/account`);
  await p.getByText('This browser').waitFor();
  await p.getByText('Token', { exact: true }).waitFor();
  await shots(p, 'account-sessions');
  assert.deepEqual(await axe(p), []);
  await p.getByRole('button', { name: /^Revoke/ }).first().click();
  await p.getByText('The token is revoked.').waitFor();
  // The token no longer opens anything; this browser's session still does.
  await assert.rejects(hal.api.get('/v1/me/terms'), /401/);
  const status = await p.evaluate(async () => (await fetch('/v1/me/terms')).status);
  assert.equal(status, 200);
  assert.deepEqual(errors(p), []);
  await p.context().close();
});

test('the password changes, and the new one logs in', async () => {
  const fay = await person(cmr, 'fay');
  const p = await page(b);
  await login(p, cmr, fay);
  await p.goto(`${cmr.url}/#/account`);
  await p.getByRole('heading', { name: 'Account', exact: true }).waitFor();
  await shots(p, 'account');
  assert.deepEqual(await axe(p), []);
  await p.getByLabel('Current password').fill('not it at all, no');
  await p.getByLabel('New password', { exact: true }).fill('a much newer passphrase');
  await p.getByLabel('New password, again').fill('a much newer passphrase');
  await p.getByRole('button', { name: 'Change my password' }).click();
  await p.getByText('That is not your current password.').waitFor();
  await p.getByLabel('Current password').fill(fay.password);
  await p.getByRole('button', { name: 'Change my password' }).click();
  await p.getByText('Your password is changed.').waitFor();
  await client(cmr.url).post('/v1/tokens', { handle: 'fay', password: fay.password }, 401);
  await client(cmr.url).post('/v1/tokens', { handle: 'fay', password: 'a much newer passphrase' }, 201);
  await p.getByRole('button', { name: 'Log out', exact: true }).click();
  await login(p, cmr, { handle: 'fay', password: 'a much newer passphrase' });
  assert.deepEqual(errors(p), []);
  await p.context().close();
});

test('erasing the account asks first, then logging in fails', async () => {
  const gus = await person(cmr, 'gus');
  const p = await page(b);
  await login(p, cmr, gus);
  await p.goto(`${cmr.url}/#/account`);
  await p.getByRole('button', { name: 'Erase my account…' }).click();
  const dialog = p.getByRole('dialog');
  await dialog.getByText('This cannot be undone.').waitFor();
  await shots(p, 'account-erase');
  await dialog.getByRole('button', { name: 'Cancel' }).click();
  await gus.api.get('/v1/me/terms');
  await p.getByRole('button', { name: 'Erase my account…' }).click();
  await dialog.getByLabel('Your password').fill(gus.password);
  await dialog.getByRole('button', { name: 'Erase everything' }).click();
  await p.getByRole('heading', { name: 'Log in' }).waitFor();
  await client(cmr.url).post('/v1/tokens', { handle: 'gus', password: gus.password }, 401);
  await p.getByLabel('Handle').fill('gus');
  await p.getByLabel('Password', { exact: true }).fill(gus.password);
  await p.getByRole('button', { name: 'Log in' }).click();
  await p.getByText('That handle and password do not match.').waitFor();
  await p.context().close();
});
