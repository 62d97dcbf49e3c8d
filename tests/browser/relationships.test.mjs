// Relationships (#/ and #/r/ID), proposals (#/proposals/ID) and the
// connect code (#/code), driven as a person would; what the pages did is
// checked through the API as well.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { axe, brand, browser, connect, lmtpSend, login, page, person, propose, shots, startCmr } from './harness.mjs';

let cmr; let b;
// The page's errors, but for the 401 of the first look before log-in.
const errors = (p) => p.errors.filter((e) => !/status of 401/.test(e));

// Saves the terms form and waits for its word (a toast left from an
// earlier save is cleared first, so it cannot answer for this one).
async function saveTerms(p) {
  await p.evaluate(() => { document.getElementById('toast').textContent = ''; });
  await p.getByRole('button', { name: 'Save terms' }).click();
  await p.getByText('Your terms are saved.').waitFor();
}
before(async () => { cmr = await startCmr(); b = await browser(); });
after(async () => { await b?.close(); await cmr?.stop(); });

const ASK = {
  value: '10% off every order', fields: ['name', 'email', 'phone'],
  channels: ['email', 'sms'], topics: ['orders', 'offers', 'events'],
};

test('a proposal is accepted granting less than asked', async () => {
  const ann = await person(cmr, 'ann');
  const acme = brand(cmr, 'Acme', 'acme.example');
  const prp = await propose(ann, acme, ASK);
  const p = await page(b);
  await login(p, cmr, ann);
  await p.getByText('asks to connect').waitFor();
  await shots(p, 'home-pending');
  assert.deepEqual(await axe(p), []);
  await p.getByRole('link', { name: 'See and answer' }).click();
  await p.getByRole('heading', { name: 'Acme asks to connect' }).waitFor();
  await p.getByText('Privacy policy').or(p.getByText('Domains')).first().waitFor();
  // Nothing is ticked at first: the most private answer.
  for (const box of await p.getByRole('checkbox').all()) assert.equal(await box.isChecked(), false);
  await p.getByRole('checkbox', { name: 'Email', exact: true }).check();
  await p.getByLabel('How often by email').selectOption({ label: 'At most once a week' });
  await p.getByRole('checkbox', { name: 'orders' }).check();
  await p.getByRole('checkbox', { name: 'Name' }).check();
  await shots(p, 'proposal');
  assert.deepEqual(await axe(p), []);
  await p.getByRole('button', { name: 'Accept what I ticked' }).click();
  await p.getByRole('heading', { name: 'Acme', exact: true }).waitFor();
  const id = decodeURIComponent(new URL(p.url()).hash.replace('#/r/', ''));
  const rel = await ann.api.get(`/v1/me/relationships/${id}`);
  assert.equal(rel.state, 'active');
  assert.deepEqual(rel.terms.channels.email, { allowed: true, cap: { max: 1, per: 'week' }, over_cap: 'refuse' });
  assert.equal(rel.terms.channels.sms.allowed, false);
  assert.deepEqual(rel.terms.topics, ['orders']);
  assert.deepEqual(rel.terms.fields, ['name']);
  const prop = await ann.api.get(`/v1/me/proposals/${prp}`);
  assert.equal(prop.state, 'accepted');
  assert.deepEqual(errors(p), []);
  await p.context().close();
});

test('a declined proposal asks first, then is declined', async () => {
  const dan = await person(cmr, 'dan');
  const shop = brand(cmr, 'Pushy Shop', 'pushy.example');
  const prp = await propose(dan, shop, ASK);
  const p = await page(b);
  await login(p, cmr, dan);
  await p.goto(`${cmr.url}/#/proposals`);
  await p.getByRole('link', { name: /Pushy Shop/ }).click();
  await p.getByRole('button', { name: 'Decline' }).click();
  const dialog = p.getByRole('dialog');
  await dialog.getByText('is told you declined').waitFor();
  await dialog.getByRole('button', { name: 'Cancel' }).click();
  assert.equal((await dan.api.get(`/v1/me/proposals/${prp}`)).state, 'pending');
  await p.getByRole('button', { name: 'Decline' }).click();
  await p.getByRole('dialog').getByRole('button', { name: 'Decline' }).click();
  await p.getByRole('heading', { name: 'Proposals' }).waitFor();
  await p.getByText('Declined', { exact: true }).waitFor();
  assert.equal((await dan.api.get(`/v1/me/proposals/${prp}`)).state, 'declined');
  await shots(p, 'proposals');
  assert.deepEqual(await axe(p), []);
  assert.deepEqual(errors(p), []);
  await p.context().close();
});

test('a cap set on the relationship page refuses the next message over it', async () => {
  const cat = await person(cmr, 'cat');
  const acme = brand(cmr, 'Acme Two', 'acme2.example');
  const rel = await connect(cat, acme);
  const p = await page(b, 1280);
  await login(p, cmr, cat);
  await p.goto(`${cmr.url}/#/r/${rel.id}`);
  await p.getByRole('heading', { name: 'Your terms' }).waitFor();
  await p.getByRole('checkbox', { name: 'Limit how often' }).first().check();
  await p.getByLabel('At most').first().fill('1');
  await p.getByLabel('times').first().selectOption('day');
  await saveTerms(p);
  await p.waitForFunction(() => document.activeElement.textContent === 'Save terms');
  const terms = await cat.api.get(`/v1/me/relationships/${rel.id}/terms`);
  assert.deepEqual(terms.channels.email.cap, { max: 1, per: 'day' });
  // Only what changed was sent: the rest is as accepted.
  assert.deepEqual(terms.fields, ['name', 'email']);
  assert.deepEqual(terms.topics, ['orders', 'offers']);
  const send = (subject) => acme.api.post('/v1/messages',
    { relationship: rel.id, channel: 'email', topic: 'orders', subject, body: 'Hello' }, 201);
  assert.equal((await send('first')).decision, 'accepted');
  const second = await send('second');
  assert.equal(second.decision, 'refused');
  assert.equal(second.reason, 'frequency_cap');
  const refused = await cat.api.get(`/v1/me/messages?decision=refuse&relationship=${rel.id}`);
  assert.deepEqual(refused.items.map((m) => [m.subject, m.reason]), [['second', 'frequency_cap']]);
  // The attempts view says it, in words.
  await p.goto(`${cmr.url}/#/attempts`);
  const row = p.locator('li', { hasText: 'second' });
  await row.getByText(/had already reached the limit you set for email/i).waitFor();
  await p.goBack();
  await p.getByRole('checkbox', { name: 'Quiet hours of their own for this brand' }).waitFor();
  // Quiet hours on weekdays, and one topic less (its folder goes with it).
  await p.getByRole('checkbox', { name: 'Quiet hours of their own for this brand' }).check();
  await p.getByLabel('From').fill('22:00');
  await p.getByLabel('To', { exact: true }).fill('07:00');
  await p.getByRole('checkbox', { name: 'Saturday' }).uncheck();
  await p.getByRole('checkbox', { name: 'Sunday' }).uncheck();
  await p.getByLabel('Folder for “offers”').waitFor();
  await p.getByRole('checkbox', { name: 'offers' }).uncheck();
  await p.getByLabel('Folder for “offers”').waitFor({ state: 'hidden' });
  await p.getByLabel('Consent ends on').fill('2030-01-31');
  await saveTerms(p);
  // Saved again untouched: nothing to send.
  await p.getByRole('button', { name: 'Save terms' }).click();
  await p.getByText('Nothing changed.').waitFor();
  const t2 = await cat.api.get(`/v1/me/relationships/${rel.id}/terms`);
  assert.deepEqual(t2.quiet_hours, { from: '22:00', to: '07:00', days: ['mon', 'tue', 'wed', 'thu', 'fri'] });
  assert.deepEqual(t2.topics, ['orders']);
  assert.equal(t2.expires_at, '2030-01-31T23:59:59Z');
  assert.deepEqual(t2.channels.email.cap, { max: 1, per: 'day' });
  // An invalid cap is said next to the control, and nothing is written.
  await p.getByLabel('Counted').first().selectOption('rolling');
  await p.getByLabel('At most').first().fill('500');
  await p.getByRole('button', { name: 'Save terms' }).click();
  await p.locator('[data-field="channels.email.cap.max"] .error').getByText('rolling').waitFor();
  assert.deepEqual((await cat.api.get(`/v1/me/relationships/${rel.id}/terms`)).channels.email.cap, { max: 1, per: 'day' });
  await shots(p, 'relationship');
  assert.deepEqual(await axe(p), []);
  // A stranger writes to the alias: a leak.
  const replies = await lmtpSend(cmr, 'bulk@stranger.example', rel.alias,
    `From: <bulk@stranger.example>\nTo: <${rel.alias}>\nSubject: cheap pills\n\nBuy now.\n`);
  assert.match(replies.at(-2), /^550/);
  // Home: the cap in words, the last message, the month's refusals and why.
  await p.goto(`${cmr.url}/#/`);
  const item = p.getByRole('listitem').filter({ hasText: 'Acme Two' });
  await item.getByText('Email, at most once a day').waitFor();
  await item.getByText('first').waitFor();
  await item.getByText('Leak: 1 from strangers').waitFor();
  await item.getByText(/2 refused this month: (1 over your limit, 1 leaked address|1 leaked address, 1 over your limit)/).waitFor();
  await p.getByText('came to the address you gave Acme Two from someone else').waitFor();
  await shots(p, 'home');
  assert.deepEqual(await axe(p), []);
  assert.deepEqual(errors(p).filter((e) => !/status of 422/.test(e)), []);
  await p.context().close();
});

test('mute, unmute, and end after a confirmation', async () => {
  const eve = await person(cmr, 'eve');
  const acme = brand(cmr, 'Acme Three', 'acme3.example');
  const rel = await connect(eve, acme);
  const p = await page(b);
  await p.context().grantPermissions(['clipboard-read', 'clipboard-write'], { origin: cmr.url });
  await login(p, cmr, eve);
  await p.goto(`${cmr.url}/#/r/${rel.id}`);
  await p.getByRole('button', { name: 'Copy address' }).click();
  await p.getByText('The address is copied.').waitFor();
  assert.equal(await p.evaluate(() => navigator.clipboard.readText()), rel.alias);
  await p.getByRole('button', { name: 'Mute', exact: true }).click();
  await p.locator('main').getByText('Muted:').waitFor();
  assert.equal((await eve.api.get(`/v1/me/relationships/${rel.id}`)).state, 'muted');
  await p.waitForFunction(() => document.activeElement.textContent === 'Unmute');
  await p.getByRole('button', { name: 'Unmute' }).click();
  await p.getByRole('button', { name: 'Mute', exact: true }).waitFor();
  assert.equal((await eve.api.get(`/v1/me/relationships/${rel.id}`)).state, 'active');
  await p.getByRole('button', { name: 'End relationship' }).click();
  const dialog = p.getByRole('dialog', { name: 'End your relationship with Acme Three?' });
  await dialog.getByText('also unsubscribes this address').waitFor();
  await dialog.getByText('cannot be undone').waitFor();
  await shots(p, 'relationship-end');
  await dialog.getByRole('button', { name: 'Cancel' }).click();
  assert.equal((await eve.api.get(`/v1/me/relationships/${rel.id}`)).state, 'active');
  await p.getByRole('button', { name: 'End relationship' }).click();
  await p.getByRole('dialog').getByRole('button', { name: 'End relationship' }).click();
  await p.getByText('Nothing from Acme Three reaches you any more').waitFor();
  const ended = await eve.api.get(`/v1/me/relationships/${rel.id}`);
  assert.equal(ended.state, 'ended');
  assert.equal(await p.getByRole('button', { name: 'Save terms' }).count(), 0);
  // The receipts download: accepted and ended.
  const [dl] = await Promise.all([p.waitForEvent('download'), p.getByRole('button', { name: 'Download receipts' }).click()]);
  const body = JSON.parse(await (await import('node:fs')).promises.readFile(await dl.path(), 'utf8'));
  assert.ok(body.items.length >= 2);
  await shots(p, 'relationship-ended');
  assert.deepEqual(await axe(p), []);
  assert.deepEqual(errors(p), []);
  await p.context().close();
});

test('the connect code: large, counting down, then expired with a new one offered', async () => {
  const fay = await person(cmr, 'fay');
  const p = await page(b);
  await login(p, cmr, fay);
  await p.clock.install();
  await p.goto(`${cmr.url}/#/code`);
  const code = p.locator('p.code');
  await code.waitFor();
  const text = (await code.locator('.group').allTextContents()).join('-');
  assert.match(text, /^[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}$/);
  await p.getByText(/Expires in 1[45] minutes/).waitFor();
  const img = p.getByRole('img', { name: `QR code of the connect code ${text.replace(/-/g, ' ')}` });
  await img.waitFor();
  assert.match(await img.getAttribute('src'), /^data:image\/svg\+xml;charset=utf-8,%3C/);
  assert.equal(await p.locator('main svg, main script').count(), 0);
  await shots(p, 'code');
  assert.deepEqual(await axe(p), []);
  // The code is good: a brand can propose with it.
  const shop = brand(cmr, 'Counter Shop', 'counter.example');
  await shop.api.post('/v1/proposals', { ...ASK, connect_code: text }, 201);
  await p.clock.fastForward('16:00');
  await p.getByText(/This code expired at/).waitFor();
  await shots(p, 'code-expired');
  // Back to the server's time: a new code counts down from 15 minutes.
  await p.clock.setSystemTime(new Date());
  await p.getByRole('button', { name: 'Make a new code' }).click();
  await p.getByText(/Expires in 1[45] minutes/).waitFor();
  const next = (await code.locator('.group').allTextContents()).join('-');
  assert.notEqual(next, text);
  assert.deepEqual(errors(p), []);
  await p.context().close();
});

test('a brand named like markup shows as text', async () => {
  const gil = await person(cmr, 'gil');
  const evil = brand(cmr, '<img src=x onerror=alert(1)>', 'evil.example');
  await propose(gil, evil, { ...ASK, value: '<script>alert(2)</script>' });
  const p = await page(b);
  let dialogs = 0;
  p.on('dialog', (d) => { dialogs += 1; d.dismiss(); });
  await login(p, cmr, gil);
  await p.getByText('<img src=x onerror=alert(1)>').first().waitFor();
  await p.getByText('<script>alert(2)</script>').first().waitFor();
  await p.getByRole('link', { name: 'See and answer' }).click();
  await p.getByRole('heading', { name: '<img src=x onerror=alert(1)> asks to connect' }).waitFor();
  await p.getByRole('checkbox', { name: 'Email', exact: true }).check();
  await p.getByRole('button', { name: 'Accept what I ticked' }).click();
  await p.getByRole('heading', { name: '<img src=x onerror=alert(1)>', exact: true }).waitFor();
  assert.equal(await p.locator('main img').count(), 0);
  await p.goto(`${cmr.url}/#/`);
  await p.getByRole('link', { name: '<img src=x onerror=alert(1)>' }).waitFor();
  assert.equal(await p.locator('main img, main script').count(), 0);
  assert.equal(dialogs, 0);
  assert.deepEqual(errors(p), []);
  await p.context().close();
});
