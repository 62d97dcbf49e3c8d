// page-home.js — every relationship at a glance (#/): its state, the
// channels the brand may use and how often, quiet hours, the last message,
// and what was refused this month and why (a leak stands out). Pending
// proposals come first. The API has no monthly summary: the month's
// refusals are counted here from GET /v1/me/messages?decision=refuse,
// newest first, read back to the first of the month.
import { all, api } from './api.js';
import { CHANNELS, fill, h, heading, label, relative, when } from './ui.js';
import { madeByYou, newsletterWords } from './page-new-alias.js';

const PER = { day: 'a day', week: 'a week', month: 'a month' };
const DAYS = { mon: 'Mon', tue: 'Tue', wed: 'Wed', thu: 'Thu', fri: 'Fri', sat: 'Sat', sun: 'Sun' };
export const DAY_ORDER = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'];

// Rolling windows that have a plain name.
export const ROLLING = { 86400: '24 hours', 604800: '7 days', 2592000: '30 days' };

function span(seconds) {
  if (ROLLING[seconds]) return ROLLING[seconds];
  if (seconds % 86400 === 0) return `${seconds / 86400} days`;
  if (seconds % 3600 === 0) return `${seconds / 3600} hours`;
  if (seconds % 60 === 0) return `${seconds / 60} minutes`;
  return `${seconds} seconds`;
}

function times(n) { return n === 1 ? 'once' : n === 2 ? 'twice' : `${n} times`; }

// "at most twice a week", "at most 3 times in any 7 days", null (no cap).
export function capText(cap) {
  if (!cap || typeof cap.max !== 'number') return null;
  if (cap.max === 0) return 'never';
  if (cap.per) return `at most ${times(cap.max)} ${PER[cap.per] || `a ${cap.per}`}`;
  if (cap.per_seconds) return `at most ${times(cap.max)} in any ${span(cap.per_seconds)}`;
  return null;
}

// "Email, at most twice a week" for each allowed channel.
export function channelWords(terms) {
  const out = [];
  for (const [ch, c] of Object.entries((terms && terms.channels) || {})) {
    if (!c || !c.allowed) continue;
    const cap = capText(c.cap);
    out.push(cap ? `${label(CHANNELS, ch)}, ${cap}` : `${label(CHANNELS, ch)}, no limit`);
  }
  return out;
}

// "21:00–08:00, Mon–Fri" or "21:00–08:00 every day".
export function quietText(q) {
  if (!q || !q.from) return null;
  const days = Array.isArray(q.days) && q.days.length && q.days.length < 7
    ? `, starting ${DAY_ORDER.filter((d) => q.days.includes(d)).map((d) => DAYS[d]).join(', ')}`
    : ' every day';
  return `${q.from}–${q.to}${days}`;
}

export function stateBadge(state) {
  const cls = { active: 'ok', muted: 'muted', ended: 'danger' }[state] || 'muted';
  const text = { active: 'Active', muted: 'Muted', ended: 'Ended' }[state] || state;
  return h('span', { class: `badge ${cls}`, text });
}

// Reasons in a few words, for the counts.
const REASON = {
  sender_not_brand: 'leaked address', relationship_ended: 'ended', consent_expired: 'consent expired',
  channel_do_not_contact: 'do not contact', channel_not_permitted: 'channel not allowed',
  topic_missing: 'no topic', topic_not_wanted: 'topic not wanted', frequency_cap: 'over your limit',
  global_frequency_cap: 'over your overall limit', quiet_hours: 'quiet hours',
  hold_queue_full: 'too many held', discarded: 'discarded by you', stranger: 'from a stranger',
};
export function reasonWords(code) { return REASON[code] || String(code || '').replace(/_/g, ' '); }

function monthStart() {
  const d = new Date();
  return new Date(d.getFullYear(), d.getMonth(), 1).getTime();
}

// The month's refused attempts, by relationship id: {total, reasons: {code: n}}.
async function refusedThisMonth() {
  const since = monthStart();
  const by = new Map();
  let after = null;
  for (let pages = 0; pages < 20; pages++) {
    const q = after ? `&after=${encodeURIComponent(after)}` : '';
    const page = await api.get(`/v1/me/messages?decision=refuse&limit=200${q}`);
    let older = false;
    for (const m of page.items) {
      const t = new Date(m.received_at || m.deliver_at || 0).getTime();
      if (t && t < since) { older = true; break; }
      const key = m.relationship || '';
      const e = by.get(key) || { total: 0, reasons: {} };
      e.total += 1;
      e.reasons[m.reason] = (e.reasons[m.reason] || 0) + 1;
      by.set(key, e);
    }
    after = page.next;
    if (older || !after) break;
  }
  return by;
}

async function lastMessage(id) {
  try {
    const page = await api.get(`/v1/me/messages?relationship=${encodeURIComponent(id)}&decision=deliver&limit=1`);
    return page.items[0] || null;
  } catch {
    return null;
  }
}

function refusedLine(r) {
  if (!r || !r.total) return h('span', { class: 'muted', text: 'Nothing refused this month' });
  const parts = Object.entries(r.reasons).sort((a, b) => b[1] - a[1]);
  const leaks = r.reasons.sender_not_brand || 0;
  return h('span', {},
    leaks ? h('span', { class: 'badge danger', text: `Leak: ${leaks} from strangers` }) : null,
    leaks ? ' ' : null,
    `${r.total} refused this month: `,
    parts.map(([code, n]) => `${n} ${reasonWords(code)}`).join(', '));
}

function relItem(rel, last, refused) {
  const chans = channelWords(rel.terms);
  const quiet = quietText(rel.terms && rel.terms.quiet_hours);
  const leaked = refused && refused.reasons.sender_not_brand;
  const mine = rel.made_by === 'person' && !rel.brand.id; // not taken over by a brand
  return h('li', { class: `rel${leaked ? ' leaked' : ''}` },
    h('div', { class: 'spread' },
      h('a', { class: 'title rel-name', href: `#/r/${encodeURIComponent(rel.id)}`, text: rel.brand.name }),
      h('span', { class: 'pm-badges' }, mine ? madeByYou() : null, stateBadge(rel.state))),
    rel.state === 'ended'
      ? h('p', { class: 'muted small', text: `Ended ${when(rel.ended_at)}. Nothing reaches you from this brand any more.` })
      : h('dl', { class: 'facts small' },
        mine ? [h('dt', { text: 'Mail from' }), h('dd', { text: (rel.brand.domains || []).join(', ') }),
          h('dt', { text: 'Its mail' }), h('dd', { text: newsletterWords(rel.terms) })] : null,
        h('dt', { text: 'May reach you by' }),
        h('dd', { text: chans.length ? chans.join('; ') : 'Nothing: every message is refused' }),
        h('dt', { text: 'Quiet hours' }),
        h('dd', { text: quiet || 'Your general quiet hours' }),
        h('dt', { text: 'Last message' }),
        h('dd', {}, last
          ? [h('span', { text: last.subject || '(no subject)' }), h('span', { class: 'muted', text: ` · ${relative(last.received_at)}` })]
          : h('span', { class: 'muted', text: 'None yet' })),
        h('dt', { text: 'Refused' }),
        h('dd', {}, refusedLine(refused))));
}

export async function render(ctx) {
  ctx.main.append(...heading('Your relationships',
    'Every brand that may reach you, and on what terms. Choose one to change its terms.'),
  h('p', { class: 'pm-entry' }, h('a', { class: 'btn', href: '#/new', text: 'New alias for a shop that is not on cmr' })));
  const box = h('div', {}, h('p', { class: 'loading', text: 'Loading…' }));
  ctx.main.append(box);
  const [rels, proposals, refused] = await Promise.all([
    all('/v1/me/relationships'),
    all('/v1/me/proposals'),
    refusedThisMonth(),
  ]);
  if (ctx.stale()) return;
  const lasts = await Promise.all(rels.map((r) => (r.state === 'ended' ? null : lastMessage(r.id))));
  if (ctx.stale()) return;
  const pending = proposals.filter((p) => p.state === 'pending');
  const order = { active: 0, muted: 1, ended: 2 };
  const sorted = rels.map((r, i) => [r, lasts[i]])
    .sort((a, b) => (order[a[0].state] - order[b[0].state]) || a[0].brand.name.localeCompare(b[0].brand.name));
  const leaks = [...refused.values()].reduce((n, r) => n + (r.reasons.sender_not_brand || 0), 0);
  const leakers = sorted.filter(([r]) => (refused.get(r.id) || { reasons: {} }).reasons.sender_not_brand)
    .map(([r]) => r.brand.name);
  fill(box,
    pending.length ? h('section', { class: 'pending', 'aria-labelledby': 'pending-h' },
      h('h2', { id: 'pending-h', text: 'Waiting for your answer' }),
      pending.map((p) => h('div', { class: 'notice ask' },
        h('span', {}, h('strong', { text: p.brand.name }), ' asks to connect: ', h('span', { text: p.value })),
        h('a', { class: 'btn primary', href: `#/proposals/${encodeURIComponent(p.id)}`, text: 'See and answer' })))) : null,
    leaks ? h('p', { class: 'notice danger', role: 'status' },
      `${leaks} message${leaks === 1 ? '' : 's'} this month came to the address you gave ${leakers.join(', ') || 'a brand'} `,
      `from someone else: ${leakers.length > 1 ? 'those brands have' : 'that brand has'} let it out. `,
      `${leaks === 1 ? 'It was' : 'They were'} refused. `,
      h('a', { href: '#/attempts', text: 'See where they came from' })) : null,
    sorted.length
      ? h('ul', { class: 'items rels', 'aria-label': 'Relationships' },
        sorted.map(([r, last]) => relItem(r, last, refused.get(r.id))))
      : pending.length ? h('div', { class: 'empty' }, h('p', { text: 'Once you accept a proposal, the brand shows up here with your terms.' }))
      : h('div', { class: 'empty' },
        h('p', { text: 'You have no relationships yet.' }),
        h('p', {}, 'To connect with a brand, ', h('a', { href: '#/code', text: 'make a connect code' }),
          ' and give it to the brand. Its proposal then shows up here for you to accept on your terms.'),
        h('p', {}, 'For a shop that is not on cmr, ', h('a', { href: '#/new', text: 'make it an alias of its own' }),
          ' and type that address into its sign-up form.')));
}
