// page-new-alias.js — a new alias for a shop that is not on cmr (#/new):
// the shop's name, the domains it mails from and where its newsletters
// go, made with POST /v1/me/relationships (a person-made relationship);
// then the alias, big and ready to copy, to type into the shop's sign-up
// form. Mail from those domains is filed by the terms chosen here; mail
// from anyone else to the alias is a leak, refused.
import { api } from './api.js';
import { busy, clearErrors, copyText, field, fill, formError, h, heading, showErrors } from './ui.js';

// Where the shop's newsletters go: the terms each choice sends. Mail
// without a CMR-Topic header is "bulk" (List-Unsubscribe, List-Id,
// Precedence bulk/list) or "direct" (anything else).
export const NEWSLETTER_CHOICES = [
  ['inbox', 'Inbox', 'Newsletters and direct mail both land in your inbox.'],
  ['later', 'Later', 'Newsletters land in Later, to read when you have time; direct mail in your inbox.'],
  ['direct', 'Only direct mail', 'Newsletters are refused; only mail written to you (orders, receipts, replies) gets through.'],
];

// The topics of a shop not on cmr, in words.
export const TOPIC_WORDS = { bulk: 'Newsletters (bulk)', direct: 'Direct mail' };

function folderWords(f) {
  const k = String(f || 'inbox').toLowerCase();
  return k === 'inbox' ? 'your inbox' : k === 'later' ? 'Later' : `“${f}”`;
}

// Where a person-made relationship's mail goes, in words: "Newsletters
// go to Later; direct mail to your inbox".
export function newsletterWords(terms) {
  const t = terms || {};
  const want = (tp) => t.topics === 'all' || !Array.isArray(t.topics) || t.topics.includes(tp);
  const where = (tp) => folderWords((t.topic_folders || {})[tp] || t.folder);
  if (!want('bulk') && !want('direct')) return 'Nothing: every message is refused';
  if (!want('bulk')) return `Only direct mail, to ${where('direct')}: newsletters are refused`;
  if (!want('direct')) return `Only newsletters, to ${where('bulk')}: direct mail is refused`;
  if (where('bulk') === where('direct')) return `Newsletters and direct mail go to ${where('bulk')}`;
  return `Newsletters go to ${where('bulk')}; direct mail to ${where('direct')}`;
}

// The badge of a relationship the person made.
export function madeByYou() {
  return h('span', { class: 'badge pm-badge', text: 'Made by you' });
}

function termsFor(choice) {
  const terms = { channels: { email: { allowed: true } } };
  if (choice === 'later') terms.topic_folders = { bulk: 'later' };
  if (choice === 'direct') terms.topics = ['direct'];
  return terms;
}

// "shop.example, mail.shop.example" or "shop.example mail.shop.example"
// → ["shop.example", "mail.shop.example"]; an address pasted whole keeps
// the part after @.
export function domainsOf(text) {
  return String(text).split(/[\s,;]+/).map((d) => d.trim().replace(/^.*@/, '')).filter(Boolean);
}

// The API names a domain by its place ("brand.domains[1]"): shown under
// the one field that holds them all.
function byField(err) {
  if (!err || !err.problem || !Array.isArray(err.problem.errors)) return err;
  for (const e of err.problem.errors) {
    if (/^brand\.domains(\[\d+\])?$/.test(String(e.field))) e.field = 'brand.domains';
    else if (/^terms(\.|$)/.test(String(e.field))) e.field = 'newsletters';
  }
  return err;
}

function made(ctx, rel) {
  const name = rel.brand.name;
  // Broken after the @ where it must be broken, not inside a word.
  const at = rel.alias.lastIndexOf('@');
  const code = h('code', { class: 'alias pm-alias-big' },
    rel.alias.slice(0, at + 1), h('wbr'), rel.alias.slice(at + 1));
  const copy = h('button', { type: 'button', class: 'primary', text: 'Copy address',
    onclick: () => copyText(rel.alias, code, 'The address is copied.') });
  const head = h('h2', { id: 'pm-made-h', tabindex: '-1', text: `Your alias for ${name} is ready` });
  const domains = (rel.brand.domains || []).join(', ');
  const box = h('section', { class: 'card pm-made', 'aria-labelledby': 'pm-made-h' },
    head,
    h('p', { class: 'pm-alias-line' }, code),
    h('div', { class: 'row' }, copy),
    h('p', { class: 'pm-step', text: `Type this address into ${name}'s sign-up form.` }),
    h('p', { class: 'muted small', text: `Mail to it from ${domains} reaches you, filed by your terms. Mail from anyone else is refused and shown to you as a leak: it means ${name} let the address out.` }),
    h('div', { class: 'row' },
      h('a', { class: 'btn', href: `#/r/${encodeURIComponent(rel.id)}`, text: `See your relationship with ${name}` }),
      h('a', { href: '#/new', onclick: (e) => { e.preventDefault(); ctx.reload(); }, text: 'Make another alias' })));
  return [box, head];
}

export async function render(ctx) {
  const name = h('input', { name: 'brand.name', autocomplete: 'off', maxlength: 100, required: true });
  const domains = h('input', { name: 'brand.domains', autocomplete: 'off', autocapitalize: 'none',
    spellcheck: 'false', inputmode: 'url', required: true });
  const choices = h('div', { class: 'pm-choices' }, NEWSLETTER_CHOICES.map(([value, text, hint], i) => {
    const id = `pm-nl-${value}`;
    return h('label', { class: 'pm-choice', for: id },
      h('input', { type: 'radio', name: 'newsletters', id, value, checked: i === 0 }),
      h('span', {}, h('span', { class: 'pm-choice-t', text }), h('span', { class: 'muted small pm-choice-h', text: hint })));
  }));
  const submit = h('button', { type: 'submit', class: 'primary', text: 'Make the alias' });
  const form = h('form', { class: 'form pm-form', novalidate: true },
    field('The shop’s name', name, 'As you want to see it, e.g. Corner Shop.'),
    field('The domain it mails from', domains,
      'The part after @ in the shop’s emails, e.g. shop.example. More than one? Separate them with commas or spaces.'),
    h('fieldset', { 'data-field': 'newsletters' }, h('legend', { text: 'Its newsletters go to' }),
      h('p', { class: 'error', hidden: true }), choices),
    formError(),
    h('div', { class: 'row' }, submit, h('a', { href: '#/', text: 'Cancel' })));
  const result = h('div', {});

  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const choice = form.querySelector('input[name=newsletters]:checked').value;
    const body = { brand: { name: name.value.trim(), domains: domainsOf(domains.value) }, terms: termsFor(choice) };
    // What is missing is said here, in words, before asking the server.
    const missing = [
      body.brand.name ? null : { field: 'brand.name', detail: 'Give the shop’s name.' },
      body.brand.domains.length ? null
        : { field: 'brand.domains', detail: 'Give the domain the shop mails from: the part after @ in its emails, e.g. shop.example.' },
    ].filter(Boolean);
    if (missing.length) {
      clearErrors(form);
      showErrors(form, { errors: missing, problem: {} });
      return;
    }
    await busy(submit, form, async () => {
      try {
        const rel = await api.post('/v1/me/relationships', body);
        const [box, head] = made(ctx, rel);
        form.hidden = true;
        fill(result, box);
        head.focus();
      } catch (err) {
        throw byField(err);
      }
    });
  });

  ctx.main.append(
    h('p', { class: 'back' }, h('a', { href: '#/', text: '← All relationships' })),
    ...heading('New alias for a shop that is not on cmr',
      'Give each shop an address of its own. You see what it sends, filed by your terms, and if anyone else ever writes to that address you know who let it out.'),
    form, result);
  name.focus();
}
