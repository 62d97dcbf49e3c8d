// A brand that joins cmr takes over the alias the person made for it
// (#/proposals/ID): the page offers the person's own aliases, chooses the
// one whose domains are the brand's, accepts with takes_over, and shows a
// refusal in words next to the choice. Checked through the API as well.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { axe, brand, browser, lmtpSend, login, page, person, propose, shots, startCmr } from './harness.mjs';

let cmr; let b;
// The page's errors, but for the 401 of the first look before log-in.
const errors = (p) => p.errors.filter((e) => !/status of 401/.test(e));
before(async () => { cmr = await startCmr(); b = await browser(); });
after(async () => { await b?.close(); await cmr?.stop(); });

async function made(who, name, domains) {
  return who.api.post('/v1/me/relationships', { brand: { name, domains } }, 201);
}

test('the brand takes over the alias made for it; its mail stays', async () => {
  const ana = await person(cmr, 'ana');
  const shop = await made(ana, 'Corner Shop', ['shop.example']);
  const acmeMade = await made(ana, 'Acme', ['news.acme.example']);
  const replies = await lmtpSend(cmr, 'news@news.acme.example', acmeMade.alias,
    'From: Acme <news@news.acme.example>\nSubject: Welcome to Acme\n\nHello.\n');
  assert.match(replies.at(-2), /^250/, replies.join(' | '));
  const acme = brand(cmr, 'Acme Outdoor', 'acme.example');
  const prp = await propose(ana, acme);

  const p = await page(b);
  await login(p, cmr, ana);
  await p.goto(`${cmr.url}/#/proposals/${prp}`);
  await p.getByRole('heading', { name: 'Acme Outdoor asks to connect' }).waitFor();
  const keep = p.getByRole('radio', { name: /Yes: it is my alias for Acme\./ });
  const other = p.getByRole('radio', { name: /Yes: it is my alias for Corner Shop/ });
  const fresh = p.getByRole('radio', { name: 'No, a new alias' });
  // The alias whose domains are the brand's is chosen at first.
  assert.equal(await keep.isChecked(), true);
  assert.equal(await other.isChecked(), false);
  assert.equal(await fresh.isChecked(), false);
  await p.getByText(acmeMade.alias).waitFor();
  await p.getByRole('checkbox', { name: 'Email', exact: true }).check();
  await p.getByRole('checkbox', { name: 'orders' }).check();
  await shots(p, 'takeover');
  assert.deepEqual(await axe(p), []);

  // The wrong one is refused, in words, next to the choice.
  await other.check();
  await p.getByRole('button', { name: 'Accept what I ticked' }).click();
  await p.getByText(/you named shop\.example for Corner Shop/i).waitFor();
  await shots(p, 'takeover-refused');
  assert.deepEqual(await axe(p), []);
  assert.equal((await ana.api.get(`/v1/me/proposals/${prp}`)).state, 'pending');

  // The right one: the same alias, now Acme Outdoor's.
  await keep.check();
  await p.getByRole('button', { name: 'Accept what I ticked' }).click();
  await p.getByRole('heading', { name: 'Acme Outdoor', exact: true }).waitFor();
  const id = decodeURIComponent(new URL(p.url()).hash.replace('#/r/', ''));
  assert.equal(id, acmeMade.id);
  const rel = await ana.api.get(`/v1/me/relationships/${id}`);
  assert.equal(rel.alias, acmeMade.alias);
  assert.equal(rel.made_by, 'person');
  assert.equal(rel.brand.id, acme.id);
  assert.deepEqual(rel.terms.topics, ['orders']);
  const prop = await acme.api.get(`/v1/proposals/${prp}`);
  assert.equal(prop.relationship, acmeMade.id);
  const msgs = (await ana.api.get('/v1/me/messages')).items;
  assert.deepEqual(msgs.map((m) => m.subject), ['Welcome to Acme']);
  assert.equal(msgs[0].relationship, acmeMade.id);
  // The Corner Shop alias is untouched.
  assert.equal((await ana.api.get(`/v1/me/relationships/${shop.id}`)).brand.id, null);
  // The relationship's page knows what the brand asked: it may read fields.
  await p.getByRole('checkbox', { name: 'Name' }).waitFor();
  await shots(p, 'takeover-done');
  assert.deepEqual(await axe(p), []);
  // The only failed request is the refusal asked for above.
  assert.deepEqual(errors(p).filter((e) => !/status of 422/.test(e)), []);
  await p.context().close();
});

test('no alias of the brand: a new one is chosen, and it can be said so', async () => {
  const ben = await person(cmr, 'ben');
  const shop = await made(ben, 'Corner Shop', ['shop.example']);
  const acme = brand(cmr, 'Acme Two', 'acme2.example');
  const prp = await propose(ben, acme);
  const p = await page(b);
  await login(p, cmr, ben);
  await p.goto(`${cmr.url}/#/proposals/${prp}`);
  await p.getByRole('heading', { name: 'Acme Two asks to connect' }).waitFor();
  assert.equal(await p.getByRole('radio', { name: 'No, a new alias' }).isChecked(), true);
  await p.getByRole('checkbox', { name: 'Email', exact: true }).check();
  await p.getByRole('button', { name: 'Accept what I ticked' }).click();
  await p.getByRole('heading', { name: 'Acme Two', exact: true }).waitFor();
  const id = decodeURIComponent(new URL(p.url()).hash.replace('#/r/', ''));
  assert.notEqual(id, shop.id);
  assert.equal((await ben.api.get(`/v1/me/relationships/${id}`)).made_by, 'brand');
  assert.deepEqual(errors(p), []);
  await p.context().close();
});

test('without aliases of their own, the page asks nothing of it', async () => {
  const cy = await person(cmr, 'cyd');
  const acme = brand(cmr, 'Acme Three', 'acme3.example');
  const prp = await propose(cy, acme);
  const p = await page(b);
  await login(p, cmr, cy);
  await p.goto(`${cmr.url}/#/proposals/${prp}`);
  await p.getByRole('heading', { name: 'Acme Three asks to connect' }).waitFor();
  await p.getByRole('button', { name: 'Accept what I ticked' }).waitFor();
  assert.equal(await p.getByRole('radio').count(), 0);
  assert.deepEqual(errors(p), []);
  await p.context().close();
});
