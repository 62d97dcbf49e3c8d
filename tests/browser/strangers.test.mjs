// The person's own address (Delivery: "Your own address"): off, turned on
// with a local part and strangers to Later, a refusal in words; a
// stranger's mail in Later, its sender kept (to the new relationship's
// page) or its domain blocked (asked first), the block lifted.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import {
  axe, browser, lmtpSend, login, page, person, shots, startCmr,
} from './harness.mjs';

let cmr; let b;
before(async () => { cmr = await startCmr(); b = await browser(); });
after(async () => { await b?.close(); await cmr?.stop(); });

// The 401 before logging in, the 404 of the address while it is off and
// the 422 of the handle refused: answers the page expects.
function pageErrors(p) { return p.errors.filter((e) => !/status of (401|404|422)/.test(e)); }

function strangerMail(from, name, subject) {
  return `From: ${name} <${from}>\nTo: you\nSubject: ${subject}\nMessage-ID: <${Date.now()}.${Math.random()}@x>\n\nHello, a stranger writes.\n`;
}

test('own address: off, on, a stranger kept and another blocked', async () => {
  const ana = await person(cmr, 'ana');
  const p = await page(b);
  await login(p, cmr, ana);
  await p.goto(`${cmr.url}/#/delivery`);
  await p.getByRole('heading', { name: 'Your own address' }).waitFor();
  await p.getByText(/^Off\./).waitFor();

  // The handle is refused, in words, next to the field.
  const local = p.getByLabel('Choose the part before the @');
  await local.fill('ana');
  await p.getByRole('button', { name: 'Turn it on' }).click();
  await p.getByText('this is the name you log in with', { exact: false }).waitFor();
  assert.equal(await local.getAttribute('aria-invalid'), 'true');
  await shots(p, 'strangers-off');
  assert.deepEqual(await axe(p), []);

  await local.fill('ana.lima');
  await p.getByRole('button', { name: 'Turn it on' }).click();
  await p.getByText('ana.lima@relay.localhost', { exact: true }).waitFor();
  assert.equal((await ana.api.get('/v1/me/address')).strangers, 'later');
  await p.getByText('You have blocked no one.', { exact: false }).waitFor();
  await shots(p, 'strangers-on');
  assert.deepEqual(await axe(p), []);

  // Two strangers write.
  const addr = 'ana.lima@relay.localhost';
  let r = await lmtpSend(cmr, 'news@mail.deals.example', addr, strangerMail('news@mail.deals.example', 'Deals Co', 'A deal for you'));
  assert.match(r[r.length - 2], /^250/);
  r = await lmtpSend(cmr, 'spam@junk.example', addr, strangerMail('spam@junk.example', 'Junk', 'Buy now'));
  assert.match(r[r.length - 2], /^250/);

  // In Later, a stranger's message offers both steps.
  await p.goto(`${cmr.url}/#/inbox/later`);
  await p.getByRole('link', { name: /A deal for you/ }).click();
  await p.getByRole('heading', { name: 'A deal for you' }).waitFor();
  await p.getByRole('heading', { name: 'A sender you have no relationship with' }).waitFor();
  await p.getByRole('button', { name: 'Block deals.example' }).waitFor();
  await shots(p, 'strangers-message');
  assert.deepEqual(await axe(p), []);

  // Keep: a relationship of its own, and its page.
  await p.getByRole('button', { name: 'Keep this sender' }).click();
  await p.waitForURL(/#\/r\/rel_/);
  await p.getByRole('heading', { name: 'Deals Co', exact: true }).waitFor();
  const rels = (await ana.api.get('/v1/me/relationships')).items;
  assert.equal(rels.length, 1);
  assert.deepEqual(rels[0].brand.domains, ['deals.example']);
  assert.equal(rels[0].made_by, 'person');

  // Block: asked first; cancelling blocks nothing.
  await p.goto(`${cmr.url}/#/inbox/later`);
  await p.getByRole('link', { name: /Buy now/ }).click();
  await p.getByRole('button', { name: 'Block junk.example' }).click();
  const dialog = p.getByRole('dialog', { name: 'Block junk.example?' });
  await dialog.waitFor();
  await shots(p, 'strangers-block-ask');
  await dialog.getByRole('button', { name: 'Cancel' }).click();
  assert.deepEqual((await ana.api.get('/v1/me/address')).blocked, []);
  await p.getByRole('button', { name: 'Block junk.example' }).click();
  await p.getByRole('dialog').getByRole('button', { name: 'Block junk.example' }).click();
  await p.getByRole('button', { name: 'junk.example is blocked' }).waitFor();
  assert.deepEqual((await ana.api.get('/v1/me/address')).blocked, ['junk.example']);
  r = await lmtpSend(cmr, 'spam@junk.example', addr, strangerMail('spam@junk.example', 'Junk', 'Again'));
  assert.match(r[r.length - 2], /^550 5\.1\.1/);

  // Delivery lists the block; lifting it, and refusing strangers.
  await p.goto(`${cmr.url}/#/delivery`);
  await p.getByRole('button', { name: 'Lift the block of junk.example' }).waitFor();
  await shots(p, 'strangers-blocked');
  assert.deepEqual(await axe(p), []);
  await p.getByRole('button', { name: 'Lift the block of junk.example' }).click();
  await p.getByText('You have blocked no one.', { exact: false }).waitFor();
  await p.getByLabel('Refuse their mail').check();
  await p.getByRole('button', { name: 'Save', exact: true }).click();
  await p.getByText('Mail from people you have no relationship with is refused.').waitFor();
  assert.equal((await ana.api.get('/v1/me/address')).strangers, 'refuse');
  r = await lmtpSend(cmr, 'x@other.example', addr, strangerMail('x@other.example', 'Other', 'Refused one'));
  assert.match(r[r.length - 2], /^550 5\.1\.1/);
  await p.goto(`${cmr.url}/#/attempts`);
  await p.getByText('from someone you have no relationship with', { exact: false }).waitFor();

  // The ledger says it in words.
  await p.goto(`${cmr.url}/#/ledger`);
  await p.getByText('You blocked junk.example at your own address').waitFor();
  await p.getByText('You lifted the block of junk.example').first().waitFor();

  // Off, asked first.
  await p.goto(`${cmr.url}/#/delivery`);
  await p.getByRole('button', { name: 'Turn it off' }).click();
  await p.getByRole('dialog').getByRole('button', { name: 'Turn it off' }).click();
  await p.getByText(/^Off\./).waitFor();
  await ana.api.get('/v1/me/address', 404);
  assert.deepEqual(pageErrors(p), []);
});
