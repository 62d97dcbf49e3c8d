// The inbox (folders, unread counts, a message, read/unread, move, delete,
// empty Later), the refused and held attempts (quiet hours, a leak,
// release and discard), and a brand's HTML mail shown so that nothing in
// it runs and nothing remote loads.
import assert from 'node:assert/strict';
import http from 'node:http';
import { after, before, test } from 'node:test';
import {
  SHOTS, axe, brand, browser, client, connect, lmtpSend, login, page, person, shots, startCmr,
} from './harness.mjs';

let cmr; let b;
before(async () => { cmr = await startCmr(); b = await browser(); });
after(async () => { await b?.close(); await cmr?.stop(); });

const HOSTILE = '<img src=x onerror="window.__x=1">Deal';

async function send(brandApi, rel, topic, subject, channel = 'email') {
  return brandApi.post('/v1/messages', { relationship: rel, channel, topic, subject, body: `Body of ${subject}.\nSecond line.` }, 201);
}

// The page's errors, but the 401 the app's first look at the session
// gets before the person logs in.
function pageErrors(p) { return p.errors.filter((e) => !/401/.test(e)); }

// The host a brand's remote images name: a server of the test's own,
// which must see no request. Its URL, what it saw, and the server.
async function remoteHost() {
  const seen = [];
  const pixel = http.createServer((req, res) => { seen.push(req.url); res.end(); });
  await new Promise((r) => pixel.listen(0, '127.0.0.1', r));
  return { remote: `http://127.0.0.1:${pixel.address().port}`, seen, pixel };
}

// What a blocked load or a sandboxed script may log, and nothing else.
function unexpected(p) {
  return pageErrors(p).filter((e) => !/Content Security Policy|Refused to|Blocked script execution|sandboxed/.test(e));
}

async function messages(who, q) {
  return (await who.api.get(`/v1/me/messages?${q}`)).items;
}

test('folders with unread counts; read, unread, move, delete, empty Later', async () => {
  const ana = await person(cmr, 'ana');
  const acme = brand(cmr, 'Acme Outdoor', 'acme.example');
  const rel = await connect(ana, acme, undefined, {
    channels: { email: { allowed: true } }, fields: ['name'],
    topic_folders: { offers: 'Shopping' },
  });
  await send(acme.api, rel.id, 'orders', 'Your order has shipped');
  await send(acme.api, rel.id, 'orders', 'Your receipt');
  const later = await send(acme.api, rel.id, 'orders', 'Old news');
  await send(acme.api, rel.id, 'offers', HOSTILE);
  await send(acme.api, rel.id, 'offers', 'Winter sale');
  await ana.api.patch(`/v1/me/messages/${later.id}`, { folder: 'later' });

  const p = await page(b);
  await login(p, cmr, ana);
  await p.goto(`${cmr.url}/#/inbox`);
  await p.getByRole('heading', { name: 'Inbox' }).waitFor();
  const count = (href) => p.locator(`.ib-folders a[href="${href}"] .ib-count`);
  await p.getByRole('link', { name: 'Your order has shipped' }).waitFor();
  assert.equal(await count('#/inbox').textContent(), '2 unread');
  assert.equal(await count('#/inbox/later').textContent(), '1 unread');
  assert.equal(await count('#/inbox/Shopping').textContent(), '2 unread');
  await shots(p, 'inbox');
  assert.deepEqual(await axe(p), []);

  // A subject written as HTML is shown as text, and runs nothing.
  await p.locator('.ib-folders').getByRole('link', { name: /Shopping/ }).click();
  await p.getByText(HOSTILE).waitFor();
  assert.equal(await p.evaluate(() => window.__x), undefined);
  assert.equal(await p.locator('main img').count(), 0);

  // Reading marks it read; the person can mark it unread again.
  await p.locator('.ib-folders').getByRole('link', { name: /Inbox/ }).click();
  await p.getByRole('link', { name: /Your receipt/ }).click();
  await p.getByRole('heading', { name: 'Your receipt' }).waitFor();
  await p.getByText('Second line.').waitFor();
  const receipt = (await messages(ana, 'folder=inbox')).find((m) => m.subject === 'Your receipt');
  assert.equal(receipt.read, true);
  await shots(p, 'message');
  assert.deepEqual(await axe(p), []);
  await p.getByRole('button', { name: 'Mark as unread' }).click();
  await p.getByRole('button', { name: 'Mark as read' }).waitFor();
  assert.equal((await ana.api.get(`/v1/me/messages/${receipt.id}`)).read, false);

  // Move it to Shopping: back in the inbox, and filed there.
  await p.getByLabel('Move to').selectOption('Shopping');
  await p.getByRole('button', { name: 'Move', exact: true }).click();
  await p.getByRole('heading', { name: 'Inbox' }).waitFor();
  assert.equal((await ana.api.get(`/v1/me/messages/${receipt.id}`)).folder, 'Shopping');
  await p.waitForFunction(() => document.querySelector('.ib-folders a[href="#/inbox"] .ib-count')?.textContent === '1 unread');

  // Delete one, after saying so.
  await p.getByRole('link', { name: /Your order has shipped/ }).click();
  const shipped = (await messages(ana, 'folder=inbox')).find((m) => m.subject === 'Your order has shipped');
  await p.getByRole('button', { name: 'Delete' }).click();
  await p.getByRole('dialog').getByText('is deleted for good').waitFor();
  await p.getByRole('dialog').getByRole('button', { name: 'Delete' }).click();
  await p.getByText('Your inbox is empty.').waitFor();
  await ana.api.get(`/v1/me/messages/${shipped.id}`, 404);

  // Empty Later: a confirmation first; then the API shows it empty.
  await p.locator('.ib-folders').getByRole('link', { name: /Later/ }).click();
  await p.getByRole('link', { name: /Old news/ }).waitFor();
  await p.getByRole('button', { name: 'Empty Later' }).click();
  const dialog = p.getByRole('dialog');
  await dialog.getByText('cannot be undone').waitFor();
  await shots(p, 'inbox-empty-later');
  await dialog.getByRole('button', { name: 'Cancel' }).click();
  assert.equal((await messages(ana, 'folder=later')).length, 1);
  await p.getByRole('button', { name: 'Empty Later' }).click();
  await dialog.getByRole('button', { name: 'Delete 1 message' }).click();
  await p.getByText('Nothing in Later.').waitFor();
  assert.deepEqual(await messages(ana, 'folder=later'), []);
  assert.deepEqual(pageErrors(p), []);
  await p.context().close();
});

function hhmm(d) { return d.toISOString().slice(11, 16); }

test('quiet hours hold a message and the attempts page says until when; a leak is shown', async () => {
  const ben = await person(cmr, 'ben');
  const lumen = brand(cmr, 'Lumen Bakery', 'lumen.example');
  // Quiet from an hour ago to two hours from now (the person's time is UTC).
  const now = Date.now();
  const quiet = { from: hhmm(new Date(now - 3600e3)), to: hhmm(new Date(now + 7200e3)) };
  const rel = await connect(ben, lumen, undefined, {
    channels: { email: { allowed: true } }, fields: [], quiet_hours: quiet,
  });
  const one = await send(lumen.api, rel.id, 'offers', 'Fresh bread at six');
  const two = await send(lumen.api, rel.id, 'offers', 'Croissants tomorrow');
  await send(lumen.api, rel.id, 'offers', 'By text message', 'sms');
  const held = await messages(ben, 'decision=hold');
  assert.equal(held.length, 2);
  const until = held[0].deliver_at;
  assert.ok(until);
  // A leak: mail to the alias from someone who is not the brand.
  const replies = await lmtpSend(cmr, 'win@prize-draw.example', rel.alias,
    `From: Prize Draw <win@prize-draw.example>\nTo: <${rel.alias}>\nSubject: You have won\n\nClick here.\n`);
  assert.match(replies[replies.length - 2], /^550 /);

  const p = await page(b);
  await login(p, cmr, ben);
  await p.goto(`${cmr.url}/#/attempts`);
  await p.getByRole('heading', { name: 'Held (2)' }).waitFor();
  const fmt = new Intl.DateTimeFormat('en-GB', { dateStyle: 'medium', timeStyle: 'short', timeZone: 'UTC' });
  const heldOne = p.locator('li', { hasText: 'Fresh bread at six' });
  await heldOne.getByText('It came during your quiet hours.').waitFor();
  assert.match(await heldOne.locator('.ib-when').textContent(), new RegExp(`decided again ${fmt.format(new Date(until)).replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));
  const leak = p.locator('li.ib-leak');
  await leak.getByText('win@prize-draw.example').waitFor();
  assert.match(await leak.textContent(), /Leak/);
  assert.match(await leak.textContent(), /address you gave Lumen Bakery: that address has leaked/);
  await p.getByText('You have not allowed Lumen Bakery to reach you by SMS.').waitFor();
  await shots(p, 'attempts');
  assert.deepEqual(await axe(p), []);

  // Deliver one now; discard the other (after a confirmation).
  await heldOne.getByRole('button', { name: 'Deliver now' }).click();
  await p.getByRole('heading', { name: 'Held (1)' }).waitFor();
  assert.equal((await ben.api.get(`/v1/me/messages/${one.id}`)).decision, 'deliver');
  await p.locator('li', { hasText: 'Croissants tomorrow' }).getByRole('button', { name: 'Discard' }).click();
  await p.getByRole('dialog').getByRole('button', { name: 'Discard' }).click();
  await p.getByRole('heading', { name: 'Held', exact: true }).waitFor();
  const gone = await ben.api.get(`/v1/me/messages/${two.id}`);
  assert.equal(gone.reason, 'discarded');
  await p.getByText('You discarded it while it was held.').waitFor();
  assert.deepEqual(pageErrors(p), []);
  await p.context().close();
});

test('a brand\'s HTML mail: nothing runs, nothing remote loads, the count is shown', async (t) => {
  const { remote, seen, pixel } = await remoteHost();
  try {
    const cy = await person(cmr, 'cyd');
    const acme = brand(cmr, 'Acme Mail', 'acme-mail.example');
    const rel = await connect(cy, acme, undefined, {
      channels: { email: { allowed: true } }, fields: [],
    });
    const mail = [
      'From: Acme Mail <news@acme-mail.example>', `To: <${rel.alias}>`,
      'Subject: Your receipt', 'CMR-Topic: orders', 'MIME-Version: 1.0',
      'Content-Type: multipart/mixed; boundary="m1"', '',
      '--m1', 'Content-Type: multipart/alternative; boundary="a1"', '',
      '--a1', 'Content-Type: text/plain; charset=utf-8', '', 'Thank you for your order.', '',
      '--a1', 'Content-Type: text/html; charset=utf-8', '',
      `<html><head><script>window.__x = 1; alert(1)</script><link rel="stylesheet" href="${remote}/style.css"></head>`,
      `<body style="background: url(${remote}/bg.png)"><h1>Thank you</h1>`,
      `<img src="${remote}/pixel.gif" width="1" height="1"><img src="x" onerror="window.__x=2">`,
      `<iframe src="${remote}/frame"></iframe><form action="${remote}/form"><input name="q"></form></body></html>`,
      '--a1--', '',
      '--m1', 'Content-Type: text/plain; name="notes.txt"', 'Content-Disposition: attachment; filename="notes.txt"', '',
      'Some notes.', '--m1--', ''].join('\n');
    const replies = await lmtpSend(cmr, 'bounces@acme-mail.example', rel.alias, mail);
    assert.match(replies[replies.length - 2], /^250 /);
    const [item] = await messages(cy, 'folder=inbox');
    const detail = await cy.api.get(`/v1/me/messages/${item.id}`);

    const p = await page(b);
    let dialogs = 0;
    p.on('dialog', (d) => { dialogs += 1; d.dismiss(); });
    await login(p, cmr, cy);
    await p.goto(`${cmr.url}/#/m/${item.id}`);
    await p.getByRole('heading', { name: 'Your receipt' }).waitFor();
    await p.getByText('Thank you for your order.').waitFor();
    await p.getByText('notes.txt').waitFor();
    assert.equal(await p.evaluate(() => window.__x), undefined);

    const { token } = await client(cmr.url).post('/v1/tokens', { handle: 'cyd', password: cy.password }, 201);
    const route = await fetch(`${cmr.url}${detail.html_href}`, { headers: { Authorization: `Bearer ${token}` } });
    assert.equal(route.status, 200);
    assert.match(route.headers.get('content-security-policy'), /default-src 'none'/);
    await p.getByRole('button', { name: 'Show as the brand designed it' }).click();
    const frame = p.frameLocator('iframe.ib-frame');
    await frame.getByRole('heading', { name: 'Thank you' }).waitFor();
    await p.getByText(/remote images? and resources? (was|were) blocked, so the sender cannot tell you opened this/).waitFor();
    await shots(p, 'message-html');
    // On a phone the frame starts below the fold, and Chromium paints an
    // isolated frame only once it is in view: the frame itself, scrolled to.
    await p.locator('iframe.ib-frame').scrollIntoViewIfNeeded();
    await p.waitForTimeout(250);
    await p.locator('iframe.ib-frame').screenshot({ path: `${SHOTS}/message-html-frame-390.png` });
    assert.deepEqual(await axe(p), []);
    assert.equal(await p.evaluate(() => window.__x), undefined);
    for (const f of p.frames()) assert.equal(await f.evaluate(() => window.__x).catch(() => undefined), undefined);
    assert.equal(dialogs, 0);
    assert.deepEqual(seen, []);
    assert.deepEqual(unexpected(p), []);
    await p.context().close();
  } finally {
    pixel.close();
  }
});

test('the designed view: a sandboxed frame of the HTML route, and the count of what it blocked', async () => {
  // The second and third walls: the HTML route is answered in the browser
  // by a stand-in with the route's CSP whose body still holds a script
  // and a remote image (as if the sanitizer had missed them), so the
  // frame's sandbox and the policy are what keep them out.
  const { remote, seen, pixel } = await remoteHost();
  try {
    const dee = await person(cmr, 'dee');
    const acme = brand(cmr, 'Acme Frame', 'acme-frame.example');
    const rel = await connect(dee, acme, undefined, { channels: { email: { allowed: true } }, fields: [] });
    const mail = ['From: Acme Frame <news@acme-frame.example>', `To: <${rel.alias}>`,
      'Subject: Designed', 'CMR-Topic: orders', 'MIME-Version: 1.0',
      'Content-Type: multipart/alternative; boundary="a1"', '',
      '--a1', 'Content-Type: text/plain; charset=utf-8', '', 'The words.', '',
      '--a1', 'Content-Type: text/html; charset=utf-8', '', '<h1>The design</h1>', '--a1--', ''].join('\n');
    await lmtpSend(cmr, 'bounces@acme-frame.example', rel.alias, mail);
    const [item] = await messages(dee, 'folder=inbox');
    const p = await page(b);
    let dialogs = 0;
    p.on('dialog', (d) => { dialogs += 1; d.dismiss(); });
    await p.route('**/v1/me/messages/*/html', (r) => r.fulfill({
      status: 200,
      headers: { 'Content-Type': 'text/html; charset=utf-8',
        'Content-Security-Policy': "default-src 'none'; style-src 'unsafe-inline'; img-src data:; sandbox allow-popups allow-popups-to-escape-sandbox" },
      body: `<!doctype html><h1>The design</h1><script>window.__x = 1; alert(1)</script><img src="${remote}/pixel.gif" alt="">`,
    }));
    await login(p, cmr, dee);
    await p.goto(`${cmr.url}/#/m/${item.id}`);
    await p.getByText('The words.').waitFor();
    await p.getByRole('button', { name: 'Show as the brand designed it' }).click();
    await p.frameLocator('iframe.ib-frame').getByRole('heading', { name: 'The design' }).waitFor();
    const frame = p.locator('iframe.ib-frame');
    assert.equal(await frame.getAttribute('sandbox'), 'allow-popups allow-popups-to-escape-sandbox');
    assert.equal(await frame.getAttribute('referrerpolicy'), 'no-referrer');
    await shots(p, 'message-html-sandbox');
    assert.deepEqual(await axe(p), []);
    for (const f of p.frames()) assert.equal(await f.evaluate(() => window.__x).catch(() => undefined), undefined);
    assert.equal(dialogs, 0);
    assert.deepEqual(seen, []);
    // Back to the text.
    await p.getByRole('button', { name: 'Text', exact: true }).click();
    await p.getByText('The words.').waitFor();
    assert.equal(await p.locator('iframe').count(), 0);
    assert.deepEqual(unexpected(p), []);
    await p.context().close();
  } finally {
    pixel.close();
  }
});
