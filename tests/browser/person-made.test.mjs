// A person-made relationship in the web app: a new alias for a shop that
// is not on cmr made through the form (#/new) and copied; the shop's mail
// over LMTP filed by the choice made there (newsletters to Later, direct
// mail to the inbox), a broker's mail to the alias refused as a leak and
// shown; the relationship on the home page, its own page and the ledger;
// errors said next to their field.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { axe, browser, lmtpSend, login, page, person, shots, startCmr } from './harness.mjs';

let cmr; let b;
before(async () => { cmr = await startCmr(); b = await browser(); });
after(async () => { await b?.close(); await cmr?.stop(); });

// The page's errors, but for the 401 of the first look before log-in and
// the 422 of the form sent with a public suffix on purpose.
const errors = (p) => p.errors.filter((e) => !/status of (401|422)/.test(e));

// Screenshots without a toast left over from the step before.
async function snap(p, name) {
  await p.evaluate(() => document.getElementById('toast').classList.remove('show'));
  await shots(p, name);
}

function mail(from, to, subject, extra = '') {
  return `From: Corner Shop <${from}>\nTo: <${to}>\nSubject: ${subject}\n` +
    `Message-ID: <${subject.replace(/\W+/g, '-')}@${from.split('@')[1]}>\n${extra}\nHello from the shop.\n`;
}

test('an alias made through the form, its mail filed, a leak refused and shown', async () => {
  const ana = await person(cmr, 'ana');
  const p = await page(b);
  await login(p, cmr, ana);
  await p.getByText('You have no relationships yet.').waitFor();
  await p.getByRole('link', { name: 'New alias for a shop that is not on cmr' }).click();
  await p.getByRole('heading', { name: 'New alias for a shop that is not on cmr' }).waitFor();
  // The name has the focus: the form can be filled straight away.
  assert.equal(await p.evaluate(() => document.activeElement.name), 'brand.name');

  // Nothing filled in: said next to each field, nothing made.
  await p.getByRole('button', { name: 'Make the alias' }).click();
  await p.locator('[data-field="brand.name"] .error').getByText('Give the shop’s name.').waitFor();
  await p.locator('[data-field="brand.domains"] .error').getByText(/part after @/).waitFor();
  // A public suffix is not a shop's domain: the server's word, under the domains.
  await p.getByLabel('The shop’s name').fill('Corner Shop');
  await p.getByLabel('The domain it mails from').fill('shop.example, com');
  await p.getByRole('button', { name: 'Make the alias' }).click();
  await p.locator('[data-field="brand.domains"] .error').getByText(/"com" is a public suffix/).waitFor();
  assert.equal(await p.evaluate(() => document.activeElement.name), 'brand.domains');
  assert.equal(await p.locator('[data-field="brand.name"] .error').isHidden(), true);
  await snap(p, 'new-alias-errors');
  assert.deepEqual(await axe(p), []);
  assert.deepEqual((await ana.api.get('/v1/me/relationships')).items, []);

  await p.getByLabel('The domain it mails from').fill('Shop.example news.shop.example');
  await p.getByRole('radio', { name: /^Later/ }).check();
  await p.getByRole('button', { name: 'Make the alias' }).click();
  await p.getByRole('heading', { name: 'Your alias for Corner Shop is ready' }).waitFor();
  await p.getByText('Type this address into Corner Shop\'s sign-up form.').waitFor();
  const [rel] = (await ana.api.get('/v1/me/relationships')).items;
  assert.equal(rel.made_by, 'person');
  assert.equal(rel.brand.id, null);
  assert.deepEqual(rel.brand.domains, ['shop.example', 'news.shop.example']);
  assert.deepEqual(rel.terms.topic_folders, { bulk: 'later' });
  assert.equal(rel.terms.topics, 'all');
  assert.equal(await p.locator('code.pm-alias-big').textContent(), rel.alias);
  assert.equal(await p.evaluate(() => document.activeElement.id), 'pm-made-h');
  await p.context().grantPermissions(['clipboard-read', 'clipboard-write'], { origin: cmr.url });
  await p.getByRole('button', { name: 'Copy address' }).click();
  await p.getByText('The address is copied.').waitFor();
  const alias = await p.evaluate(() => navigator.clipboard.readText());
  assert.equal(alias, rel.alias);
  await snap(p, 'new-alias-made');
  assert.deepEqual(await axe(p), []);

  // The shop writes: a newsletter (List-Unsubscribe: bulk) and an order
  // confirmation (direct); a broker writes to the same alias: a leak.
  const bulk = await lmtpSend(cmr, 'news@news.shop.example', alias,
    mail('news@news.shop.example', alias, 'Our autumn newsletter', 'List-Unsubscribe: <https://shop.example/u>\n'));
  assert.match(bulk.at(-2), /^250/);
  const direct = await lmtpSend(cmr, 'orders@shop.example', alias, mail('orders@shop.example', alias, 'Your order 77'));
  assert.match(direct.at(-2), /^250/);
  const leak = await lmtpSend(cmr, 'deals@broker.example', alias,
    `From: Deals <deals@broker.example>\nTo: <${alias}>\nSubject: We bought your address\n\nBuy now.\n`);
  assert.match(leak.at(-2), /^550 5\.1\.1/);
  const delivered = (await ana.api.get('/v1/me/messages?decision=deliver')).items;
  assert.deepEqual(delivered.map((m) => [m.subject, m.topic, m.folder]).sort(),
    [['Our autumn newsletter', 'bulk', 'later'], ['Your order 77', 'direct', 'inbox']]);
  const refused = (await ana.api.get('/v1/me/messages?decision=refuse')).items;
  assert.deepEqual(refused.map((m) => [m.subject, m.reason, m.sender]),
    [['We bought your address', 'sender_not_brand', 'deals@broker.example']]);

  // See the relationship: made by you, its domains, its mail in words;
  // no offer, no contact card, no fields, no agreement; email only.
  await p.getByRole('link', { name: 'See your relationship with Corner Shop' }).click();
  await p.getByRole('heading', { name: 'Corner Shop', exact: true }).waitFor();
  await p.locator('main').getByText('Made by you').waitFor();
  await p.getByText('Mail from shop.example, news.shop.example.').waitFor();
  await p.getByText('Newsletters go to Later; direct mail to your inbox').first().waitFor();
  await p.getByRole('heading', { name: 'Who may write to it' }).waitFor();
  assert.equal(await p.getByText('What they offer').count(), 0);
  assert.equal(await p.getByText('Responsible person').count(), 0);
  assert.equal(await p.getByText('What the brand may read of your profile').count(), 0);
  assert.equal(await p.getByLabel(/Agreement/).count(), 0);
  assert.equal(await p.getByRole('checkbox', { name: /SMS|Push|Post|Phone/ }).count(), 0);
  await p.getByRole('checkbox', { name: 'Email: may email you' }).waitFor();
  assert.equal(await p.getByRole('checkbox', { name: 'Newsletters (bulk)' }).first().isChecked(), true);
  assert.equal(await p.getByLabel('Folder for newsletters (bulk)').inputValue(), 'later');
  await snap(p, 'person-made-relationship');
  assert.deepEqual(await axe(p), []);

  // Direct mail only, from the terms form: newsletters are refused now.
  await p.locator('.terms-form').getByRole('checkbox', { name: 'Newsletters (bulk)' }).first().uncheck();
  await p.getByRole('checkbox', { name: 'Direct mail' }).last().check();
  await p.getByRole('button', { name: 'Save terms' }).click();
  await p.getByText('Your terms are saved.').waitFor();
  const terms = await ana.api.get(`/v1/me/relationships/${rel.id}/terms`);
  assert.deepEqual(terms.topics, ['direct']);
  assert.deepEqual(terms.exempt_topics, ['direct']);
  const again = await lmtpSend(cmr, 'news@news.shop.example', alias,
    mail('news@news.shop.example', alias, 'Another newsletter', 'List-Id: <news.shop.example>\n'));
  assert.match(again.at(-2), /^550/);
  const notWanted = (await ana.api.get('/v1/me/messages?decision=refuse')).items.find((m) => m.subject === 'Another newsletter');
  assert.equal(notWanted.reason, 'topic_not_wanted');

  // Home: the card says who made it, where mail comes from, and the leak.
  await p.goto(`${cmr.url}/#/`);
  const card = p.locator('li.rel', { hasText: 'Corner Shop' });
  await card.getByText('Made by you').waitFor();
  await card.getByText('shop.example, news.shop.example').waitFor();
  await card.getByText('Only direct mail, to your inbox: newsletters are refused').waitFor();
  await card.getByText('Leak: 1 from strangers').waitFor();
  await p.getByText(/came to the address you gave Corner Shop from someone else/).waitFor();
  await snap(p, 'home-person-made');
  assert.deepEqual(await axe(p), []);

  // The inbox and Later show the shop's name; the message opens.
  await p.goto(`${cmr.url}/#/inbox`);
  await p.getByRole('link', { name: /Your order 77/ }).waitFor();
  await p.locator('.ib-folders').getByRole('link', { name: /Later/ }).click();
  await p.getByRole('link', { name: /Our autumn newsletter/ }).click();
  await p.getByRole('heading', { name: 'Our autumn newsletter' }).waitFor();
  await p.getByText('Hello from the shop.').waitFor();
  await snap(p, 'person-made-message');
  assert.deepEqual(await axe(p), []);

  // The leak, with where it came from.
  await p.goto(`${cmr.url}/#/attempts`);
  const row = p.locator('li', { hasText: 'We bought your address' });
  await row.getByText('deals@broker.example').first().waitFor();
  await row.getByText(/Corner Shop/).first().waitFor();
  await snap(p, 'person-made-leak');
  assert.deepEqual(await axe(p), []);

  // The ledger says it in words.
  await p.goto(`${cmr.url}/#/ledger`);
  await p.getByText('You made an alias for Corner Shop, taking its mail from shop.example and news.shop.example.').waitFor();
  await p.getByText('You changed your terms with Corner Shop: it may reach you by email; direct mail only.').waitFor();
  assert.equal(await p.getByText(/none of your fields/).count(), 0);

  // Ending it asks first, in words for a shop not on cmr.
  await p.goto(`${cmr.url}/#/r/${rel.id}`);
  await p.getByRole('button', { name: 'End relationship' }).click();
  const dialog = p.getByRole('dialog');
  await dialog.getByText('To hear from Corner Shop again, make a new alias.', { exact: false }).waitFor();
  assert.equal(await dialog.getByText('read your profile').count(), 0);
  await dialog.getByRole('button', { name: 'End relationship' }).click();
  await p.getByText(/Nothing from Corner Shop reaches you any more/).waitFor();
  assert.equal((await ana.api.get(`/v1/me/relationships/${rel.id}`)).state, 'ended');
  assert.deepEqual(errors(p), []);
  await p.context().close();
});

test('a direct-only alias, and the form on a phone', async () => {
  const ben = await person(cmr, 'ben');
  const p = await page(b);
  await login(p, cmr, ben);
  await p.goto(`${cmr.url}/#/new`);
  await p.getByLabel('The shop’s name').fill('Kiosk <b>Zwei</b>');
  await p.getByLabel('The domain it mails from').fill('orders@kiosk.example');
  await p.getByRole('radio', { name: /^Only direct mail/ }).check();
  await snap(p, 'new-alias-form');
  assert.deepEqual(await axe(p), []);
  // No sideways scrolling on a phone.
  assert.equal(await p.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth), true);
  await p.getByRole('button', { name: 'Make the alias' }).click();
  // The name is text, never markup.
  await p.getByRole('heading', { name: 'Your alias for Kiosk <b>Zwei</b> is ready' }).waitFor();
  assert.equal(await p.locator('main b').count(), 0);
  const [rel] = (await ben.api.get('/v1/me/relationships')).items;
  assert.deepEqual(rel.brand.domains, ['kiosk.example']);
  assert.deepEqual(rel.terms.topics, ['direct']);
  const out = await lmtpSend(cmr, 'shop@kiosk.example', rel.alias,
    `From: <shop@kiosk.example>\nTo: <${rel.alias}>\nSubject: Weekly deals\nPrecedence: bulk\n\nDeals.\n`);
  assert.match(out.at(-2), /^550/);
  assert.deepEqual(errors(p), []);
  await p.context().close();
});

test('a topic of its own, named in the terms through the API, survives a save in the page', async () => {
  const cy = await person(cmr, 'cyd');
  const rel = await cy.api.post('/v1/me/relationships', {
    brand: { name: 'Tea House', domains: ['tea.example'] },
    terms: { channels: { email: { allowed: true } }, topics: ['direct', 'orders'] },
  }, 201);
  const p = await page(b, 1280);
  await login(p, cmr, cy);
  await p.goto(`${cmr.url}/#/r/${rel.id}`);
  await p.getByRole('heading', { name: 'Your terms' }).waitFor();
  assert.equal(await p.getByRole('checkbox', { name: 'orders' }).first().isChecked(), true);
  assert.equal(await p.getByRole('checkbox', { name: 'Newsletters (bulk)' }).first().isChecked(), false);
  await p.getByLabel('Folder', { exact: true }).fill('Tea');
  await p.getByRole('button', { name: 'Save terms' }).click();
  await p.getByText('Your terms are saved.').waitFor();
  const terms = await cy.api.get(`/v1/me/relationships/${rel.id}/terms`);
  assert.deepEqual(terms.topics, ['direct', 'orders']);
  assert.equal(terms.folder, 'Tea');
  assert.deepEqual(errors(p), []);
  await p.context().close();
});
