// page-proposals.js — the brands that asked to connect (#/proposals), and
// one proposal (#/proposals/ID): who the brand is, what it offers and what
// it asks; accept by ticking what to grant (nothing is ticked at first:
// the most private answer), or decline.
import { all, api } from './api.js';
import {
  CHANNELS, FIELDS, busy, check, confirmDialog, day, field, fill, formError, h, heading, label, nextId, relative, toast,
} from './ui.js';
import { brandFacts } from './page-relationship.js';

const STATE = {
  pending: ['warn', 'Waiting for you'], accepted: ['ok', 'Accepted'],
  declined: ['muted', 'Declined'], expired: ['muted', 'Expired'],
};
function badge(state) {
  const [cls, text] = STATE[state] || ['muted', state];
  return h('span', { class: `badge ${cls}`, text });
}

// How often, at accept: a few plain choices ('' is no limit).
const OFTEN = [
  ['1/day', 'At most once a day', { max: 1, per: 'day' }],
  ['2/week', 'At most twice a week', { max: 2, per: 'week' }],
  ['1/week', 'At most once a week', { max: 1, per: 'week' }],
  ['2/month', 'At most twice a month', { max: 2, per: 'month' }],
  ['', 'As often as it likes', null],
];

function asks(p) {
  const topics = p.topics === 'all' ? 'any topic' : p.topics.join(', ');
  return h('dl', { class: 'facts' },
    h('dt', { text: 'To reach you by' }), h('dd', { text: p.channels.map((c) => label(CHANNELS, c)).join(', ') }),
    h('dt', { text: 'About' }), h('dd', { text: topics }),
    h('dt', { text: 'To read' }), h('dd', { text: p.fields.length ? p.fields.map((f) => label(FIELDS, f)).join(', ') : 'Nothing of your profile' }));
}

async function list(ctx) {
  ctx.main.append(...heading('Proposals', 'Brands that asked to connect with you. You decide what each one gets.'));
  const items = await all('/v1/me/proposals');
  if (ctx.stale()) return;
  const order = { pending: 0, accepted: 1, declined: 2, expired: 3 };
  items.sort((a, b) => (order[a.state] - order[b.state]) || (b.created_at || '').localeCompare(a.created_at || ''));
  if (!items.length) {
    ctx.main.append(h('div', { class: 'empty' },
      h('p', { text: 'No brand has asked yet.' }),
      h('p', {}, h('a', { href: '#/code', text: 'Make a connect code' }), ' and give it to a brand: its proposal shows up here.')));
    return;
  }
  ctx.main.append(h('ul', { class: 'items', 'aria-label': 'Proposals' }, items.map((p) => h('li', {},
    h('a', { class: 'item-link', href: `#/proposals/${encodeURIComponent(p.id)}` },
      h('div', { class: 'spread' }, h('span', { class: 'title', text: p.brand.name }), badge(p.state)),
      h('p', { class: 'small' }, 'Offers: ', h('span', { text: p.value })),
      h('p', { class: 'muted small', text: p.state === 'pending' ? `Asked ${relative(p.created_at)}; the offer stands until ${day(p.expires_at)}.` : `Asked ${day(p.created_at)}.` }))))));
}

function brandCard(b) {
  return h('section', { class: 'card', 'aria-labelledby': 'who-h' },
    h('h2', { id: 'who-h', text: 'Who is asking' }), brandFacts(b, true));
}

// The last two labels of a domain: near enough to its organizational
// domain to preselect an alias (cmr itself checks with the public suffix
// list, and says so in words when they do not match).
function orgOf(d) { return String(d).toLowerCase().split('.').slice(-2).join('.'); }

// Aliases the person made for brands not on cmr, that a brand may take
// over: made by the person, not taken over yet, not ended.
async function ownAliases() {
  const rels = await all('/v1/me/relationships');
  return rels.filter((r) => r.made_by === 'person' && r.brand && r.brand.id === null && r.state !== 'ended');
}

// "Yes: it is my alias for …": keep an alias the person made for it (the brand takes
// it over: its mail and history stay), or a new alias. One whose domains
// are the brand's is chosen at first. Returns { el, read }.
function takeOverChoice(p, mine) {
  const theirs = new Set((p.brand.domains || []).map(orgOf));
  const fits = (r) => (r.brand.domains || []).length > 0 && r.brand.domains.every((d) => theirs.has(orgOf(d)));
  const chosen = mine.find(fits);
  const radio = (value, title, detail, checked) => {
    const id = nextId('t');
    return h('label', { class: 'check takeover-choice', for: id },
      h('input', { type: 'radio', name: 'takes_over', value, id, checked }),
      h('span', {}, h('span', { class: 'takeover-title', text: title }),
        detail ? h('span', { class: 'muted small takeover-detail', text: detail }) : null));
  };
  const el = h('fieldset', { class: 'takeover', 'data-field': 'takes_over' },
    h('legend', { text: 'Did you make an alias for this brand already?' }),
    h('p', { class: 'error', hidden: true }),
    mine.map((r) => radio(r.id,
      `Yes: it is my alias for ${r.brand.name}. ${p.brand.name} takes it over (its mail and history stay)`,
      `${r.alias}${(r.brand.domains || []).length ? ` · mail from ${r.brand.domains.join(', ')}` : ''}`,
      r === chosen)),
    radio('', 'No, a new alias', `${p.brand.name} gets an address of its own; your other aliases stay as they are.`, !chosen));
  const read = () => (el.querySelector('input[name=takes_over]:checked') || {}).value || '';
  // After a refusal: the words start as a sentence, and the choice that
  // was refused (not the first) is the one marked and focused.
  const refused = () => {
    const err = el.querySelector(':scope > .error');
    if (err.hidden) return;
    err.textContent = err.textContent.charAt(0).toUpperCase() + err.textContent.slice(1);
    for (const i of el.querySelectorAll('[aria-invalid]')) i.removeAttribute('aria-invalid');
    const picked = el.querySelector('input[name=takes_over]:checked');
    if (picked) { picked.setAttribute('aria-invalid', 'true'); picked.focus(); }
  };
  return { el, read, refused };
}

function acceptForm(ctx, p, mine = []) {
  const form = h('form', { class: 'form accept-form', novalidate: true });
  const takeOver = mine.length ? takeOverChoice(p, mine) : null;
  const chans = p.channels.map((ch) => {
    const box = check(`${label(CHANNELS, ch)}`, { name: 'channel', value: ch });
    const often = h('select', { name: `${ch}-often` }, OFTEN.map(([v, t]) => h('option', { value: v, selected: v === '2/week', text: t })));
    const oftenField = field(`How often by ${label(CHANNELS, ch).toLowerCase()}`, often);
    const sync = () => { oftenField.hidden = !box.querySelector('input').checked; };
    box.querySelector('input').addEventListener('change', sync);
    sync();
    return { ch, box, often, el: h('div', { class: 'channel' }, box, oftenField) };
  });
  let topicsEl;
  let readTopics;
  if (Array.isArray(p.topics)) {
    topicsEl = h('div', { class: 'checks' }, p.topics.map((t) => check(t, { name: 'topic', value: t })));
    readTopics = () => [...form.querySelectorAll('input[name=topic]:checked')].map((i) => i.value);
  } else {
    const input = h('input', { name: 'topics', placeholder: 'e.g. orders, offers' });
    topicsEl = field('Only these topics', input, `${p.brand.name} asks for any topic. Name the ones you want, separated by commas, or leave this empty to take every topic.`);
    readTopics = () => {
      const t = input.value.split(/[\s,]+/).filter(Boolean);
      return t.length ? t : 'all';
    };
  }
  const fields = p.fields.length
    ? h('div', { class: 'checks' }, p.fields.map((f) => check(label(FIELDS, f), { name: 'field', value: f })))
    : h('p', { class: 'muted', text: 'Nothing: this brand does not ask to read your profile.' });
  const accept = h('button', { type: 'submit', class: 'primary', text: 'Accept what I ticked' });
  const decline = h('button', { type: 'button', text: 'Decline' });
  form.append(
    h('p', { class: 'muted', text: `Nothing is ticked: tick only what you want ${p.brand.name} to have. Giving less than asked is normal, and you can change it later.` }),
    takeOver ? takeOver.el : null,
    h('fieldset', { 'data-field': 'channels' }, h('legend', { text: `${p.brand.name} may reach you by` }),
      h('p', { class: 'error', hidden: true }), chans.map((c) => c.el)),
    h('fieldset', { 'data-field': 'topics' }, h('legend', { text: 'About these topics' }),
      h('p', { class: 'error', hidden: true }), topicsEl),
    h('fieldset', { 'data-field': 'fields' }, h('legend', { text: `${p.brand.name} may read` }),
      h('p', { class: 'error', hidden: true }), fields,
      p.fields.includes('email') ? h('p', { class: 'hint muted small', text: 'Your email address reads as this relationship\'s own address, never your real one.' }) : null),
    formError(),
    h('div', { class: 'row' }, accept, decline));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const channels = {};
    for (const c of chans) {
      if (!c.box.querySelector('input').checked) continue;
      const cap = (OFTEN.find(([v]) => v === c.often.value) || [])[2];
      channels[c.ch] = cap ? { allowed: true, cap } : { allowed: true };
    }
    const terms = {
      channels,
      topics: readTopics(),
      fields: [...form.querySelectorAll('input[name=field]:checked')].map((i) => i.value),
    };
    const keep = takeOver ? takeOver.read() : '';
    if (keep) terms.takes_over = keep;
    for (const e of form.querySelectorAll('fieldset > .error')) { e.hidden = true; e.textContent = ''; }
    await busy(accept, form, async () => {
      const rel = await api.post(`/v1/me/proposals/${encodeURIComponent(p.id)}/accept`, terms);
      toast(keep ? `${p.brand.name} now holds the alias you made for it, on your terms. Its mail and history stay.`
        : `You are connected with ${p.brand.name}, on your terms.`);
      ctx.go(`#/r/${encodeURIComponent(rel.id)}`);
    });
    if (takeOver) takeOver.refused();
  });
  decline.addEventListener('click', async () => {
    const yes = await confirmDialog({
      title: `Decline ${p.brand.name}'s proposal?`,
      body: [`${p.brand.name} gets no address and nothing of your profile, and is told you declined.`,
        `It may ask again later, with a new connect code from you.`],
      confirm: 'Decline', danger: true,
    });
    if (!yes) { decline.focus(); return; }
    await busy(decline, form, async () => {
      await api.post(`/v1/me/proposals/${encodeURIComponent(p.id)}/decline`);
      toast(`You declined ${p.brand.name}'s proposal.`);
      ctx.go('#/proposals');
    });
  });
  return form;
}

async function one(ctx, id) {
  let p;
  try {
    p = await api.get(`/v1/me/proposals/${encodeURIComponent(id)}`);
  } catch (err) {
    if (err.status !== 404) throw err;
    fill(ctx.main, heading('Not found'), h('p', {}, 'There is no such proposal. ',
      h('a', { href: '#/proposals', text: 'See all proposals' })));
    return;
  }
  if (ctx.stale()) return;
  const name = p.brand.name;
  ctx.main.append(
    h('p', { class: 'back' }, h('a', { href: '#/proposals', text: '← All proposals' })),
    h('div', { class: 'spread' }, ...heading(`${name} asks to connect`), badge(p.state)),
    h('div', { class: 'grid2 pair' },
      h('section', { class: 'card offer', 'aria-labelledby': 'offer-h' },
        h('h2', { id: 'offer-h', text: 'What they offer' }),
        h('p', { class: 'offer-value', text: p.value }),
        h('h3', { text: 'What they ask' }), asks(p)),
      brandCard(p.brand)));
  if (p.state === 'pending') {
    const mine = await ownAliases();
    if (ctx.stale()) return;
    ctx.main.append(h('section', { class: 'card', 'aria-labelledby': 'answer-h' },
      h('h2', { id: 'answer-h', text: 'Your answer' }),
      h('p', { class: 'muted small', text: `This offer stands until ${day(p.expires_at)}.` }),
      acceptForm(ctx, p, mine)));
  } else if (p.state === 'accepted' && p.relationship) {
    ctx.main.append(h('p', { class: 'notice ok' }, 'You accepted. ',
      h('a', { href: `#/r/${encodeURIComponent(p.relationship)}`, text: `See your terms with ${name}` })));
  } else {
    ctx.main.append(h('p', { class: 'notice', text: p.state === 'declined' ? 'You declined this proposal.' : 'This proposal expired before you answered.' }));
  }
}

export async function render(ctx) {
  if (ctx.params[0]) await one(ctx, ctx.params[0]);
  else await list(ctx);
}
