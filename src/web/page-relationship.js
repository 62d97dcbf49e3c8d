// page-relationship.js — one relationship (#/r/ID): who the brand is, its
// alias (to copy), mute, unmute and end, its terms edited with plain
// controls and saved as a JSON Merge Patch of what changed
// (PATCH /v1/me/relationships/{id}/terms), and its consent receipts.
// What may be granted is what the proposal asked (GET /v1/me/proposals,
// the one whose relationship this is); a relationship the person made
// for a brand not on cmr may allow email only.
import { all, api } from './api.js';
import {
  CHANNELS, FIELDS, busy, check, confirmDialog, copyText, day, download, field, fill, formError, h, heading,
  label, nextId, toast, when,
} from './ui.js';
import { DAY_ORDER, ROLLING, capText, stateBadge } from './page-home.js';
import { TOPIC_WORDS, madeByYou, newsletterWords } from './page-new-alias.js';

export const AGREEMENTS = {
  'SD-BASE': 'Service delivery only: no tracking, no profiling, nothing shared with others',
  'SD-BASE-A': 'Service delivery, and anonymous analytics',
  'SD-BASE-AT': 'Service delivery, analytics and first-party tracking',
  'SD-BASE-ATP': 'Service delivery, analytics, tracking and profiling',
  'SD-BASE-S3P': 'Service delivery, and sharing with named third parties',
  'SD-BASE-DP': 'Service delivery, and data portability to you',
  'PDC-INTENT': 'Only to answer what you said you want (intentcasting)',
};
const DAY_NAMES = { mon: 'Monday', tue: 'Tuesday', wed: 'Wednesday', thu: 'Thursday', fri: 'Friday', sat: 'Saturday', sun: 'Sunday' };
const PERS = ['day', 'week', 'month'];
const PER_SECONDS = { day: 86400, week: 604800, month: 2592000 };
// Equal as JSON values, whatever the order of their keys.
function canon(v) {
  if (Array.isArray(v)) return v.map(canon);
  if (v && typeof v === 'object') return Object.fromEntries(Object.keys(v).sort().map((k) => [k, canon(v[k])]));
  return v;
}
const same = (a, b) => JSON.stringify(canon(a)) === JSON.stringify(canon(b));
const pad = (n) => String(n).padStart(2, '0');
function localDay(iso) {
  const d = new Date(iso);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
}
const words = (s) => s.split(/[\s,]+/).map((t) => t.trim()).filter(Boolean);

// What the brand asked, for the controls: {channels, topics, fields}.
async function asked(rel) {
  // Made by the person and not taken over by a brand: no proposal asked.
  const own = rel.made_by === 'person' && !(rel.brand && rel.brand.id);
  if (!own) {
    try {
      const props = await all('/v1/me/proposals');
      const p = props.find((x) => x.relationship === rel.id);
      if (p) return { channels: p.channels, topics: p.topics, fields: p.fields };
    } catch { /* fall through */ }
  }
  const t = rel.terms || {};
  return {
    channels: own ? ['email'] : Object.keys(t.channels || {}),
    // Mail from a shop not on cmr is bulk (newsletters) or direct, unless
    // it names a topic of its own (CMR-Topic), which terms may name too.
    topics: own
      ? [...new Set([...Object.keys(TOPIC_WORDS), ...(Array.isArray(t.topics) ? t.topics : []),
        ...Object.keys(t.topic_folders || {}), ...(t.exempt_topics || [])])]
      : 'all',
    fields: own ? [] : (t.fields || []),
  };
}

// One channel's controls: allowed, "at most N a day/week/month", calendar
// or rolling, refuse or hold when over.
function channelControls(ch, c = {}) {
  const cap = c.cap || null;
  const allowed = check(`${label(CHANNELS, ch)}: ${ch === 'email' ? 'may email you' : 'may reach you this way'}`,
    { name: `${ch}-allowed`, checked: !!c.allowed });
  const limited = check('Limit how often', { name: `${ch}-limited`, checked: !!cap });
  const max = h('input', { type: 'number', name: `channels.${ch}.cap.max`, min: 0, max: 10000, inputmode: 'numeric',
    value: String(cap ? cap.max : 2) });
  let per = 'week';
  let kind = 'calendar';
  if (cap && cap.per) per = cap.per;
  if (cap && cap.per_seconds) {
    kind = 'rolling';
    per = Object.keys(PER_SECONDS).find((k) => PER_SECONDS[k] === cap.per_seconds) || 'custom';
  }
  const perSel = h('select', { name: `${ch}-per` },
    PERS.map((p) => h('option', { value: p, selected: p === per, text: `a ${p}` })),
    per === 'custom' ? h('option', { value: 'custom', selected: true, text: `in any ${cap.per_seconds} seconds` }) : null);
  const kindSel = h('select', { name: `${ch}-kind` },
    h('option', { value: 'calendar', selected: kind === 'calendar', text: 'by the calendar' }),
    h('option', { value: 'rolling', selected: kind === 'rolling', text: 'rolling' }));
  const over = h('select', { name: `${ch}-over` },
    h('option', { value: 'refuse', selected: c.over_cap !== 'hold', text: 'refuse it' }),
    h('option', { value: 'hold', selected: c.over_cap === 'hold', text: 'hold it until there is room' }));
  const capBox = h('div', { class: 'cap-box' },
    h('div', { class: 'row cap-row' },
      field('At most', max), field('times', perSel), field('Counted', kindSel)),
    h('p', { class: 'hint muted small', text: 'By the calendar: each day from midnight, each week from Monday, each month from the 1st. Rolling: in any 24 hours, 7 days or 30 days.' }),
    field('When a message would go over', over));
  const sync = () => {
    limited.hidden = !allowed.querySelector('input').checked;
    capBox.hidden = limited.hidden || !limited.querySelector('input').checked;
  };
  allowed.querySelector('input').addEventListener('change', sync);
  limited.querySelector('input').addEventListener('change', sync);
  sync();
  const read = () => {
    const out = { allowed: allowed.querySelector('input').checked };
    if (out.allowed && limited.querySelector('input').checked) {
      const n = Number(max.value);
      const p = perSel.value;
      out.cap = kindSel.value === 'rolling'
        ? { max: n, per_seconds: p === 'custom' ? cap.per_seconds : PER_SECONDS[p] }
        : { max: n, per: p === 'custom' ? 'week' : p };
      out.over_cap = over.value;
    } else if (c.over_cap) {
      out.over_cap = c.over_cap;
    }
    return out;
  };
  return { el: h('div', { class: 'channel' }, allowed, limited, capBox), read };
}

function checks(items, chosen, name, words_) {
  return items.map((it) => check(words_ ? words_(it) : it, { name, value: it, checked: chosen.includes(it) }));
}
function checked(form, name) {
  return [...form.querySelectorAll(`input[name="${name}"]:checked`)].map((i) => i.value);
}

// The terms form. Returns the form; onSaved(terms) after a save.
function termsForm(rel, ask, onSaved) {
  const t = rel.terms;
  const mine = rel.made_by === 'person' && !rel.brand.id; // not taken over by a brand
  const topicWord = mine ? (tp) => label(TOPIC_WORDS, tp) : null;
  const form = h('form', { class: 'form terms-form', novalidate: true });
  const chans = ask.channels.map((ch) => [ch, channelControls(ch, (t.channels || {})[ch])]);

  // Topics.
  const topicsAll = t.topics === 'all';
  let topicsBox;
  let readTopics;
  if (Array.isArray(ask.topics)) {
    topicsBox = h('div', { class: 'checks' }, checks(ask.topics, topicsAll ? ask.topics : t.topics, 'topic', topicWord));
    readTopics = () => checked(form, 'topic');
  } else {
    const input = h('input', { name: 'topics', value: topicsAll ? '' : t.topics.join(', '), placeholder: 'e.g. orders, offers' });
    topicsBox = field('Only these topics', input, 'Leave empty for every topic. Separate topics with commas.');
    readTopics = () => (words(input.value).length ? words(input.value) : 'all');
  }
  const exempt = h('input', { name: 'exempt_topics', value: (t.exempt_topics || []).join(', '), placeholder: 'e.g. orders' });
  const exCap = capText(t.exempt_cap) || 'at most 10 times a day';
  // A shop not on cmr has two topics: ticked, not typed.
  const exemptBox = mine
    ? h('fieldset', { class: 'days', 'data-field': 'exempt_topics' }, h('legend', { text: 'Always let these through' }),
      h('p', { class: 'error', hidden: true }),
      h('div', { class: 'checks' }, checks(ask.topics, t.exempt_topics || [], 'exempt', topicWord)),
      h('p', { class: 'hint muted small', text: `They pass your limits and quiet hours (${exCap}).` }))
    : field('Always let these topics through', exempt,
      `They pass your limits and quiet hours (${exCap}). Separate topics with commas.`);
  const readExempt = () => (mine ? checked(form, 'exempt') : words(exempt.value));

  // Quiet hours.
  const q = t.quiet_hours;
  const quietOn = check('Quiet hours of their own for this brand', { name: 'quiet-on', checked: !!q });
  const from = h('input', { type: 'time', name: 'quiet_hours.from', value: q ? q.from : '21:00' });
  const to = h('input', { type: 'time', name: 'quiet_hours.to', value: q ? q.to : '08:00' });
  const days = h('fieldset', { class: 'days' }, h('legend', { text: 'Starting on' }),
    h('div', { class: 'checks' }, checks(DAY_ORDER, q && q.days ? q.days : DAY_ORDER, 'quiet-day', (d) => DAY_NAMES[d])));
  const quietBox = h('div', { 'data-field': 'quiet_hours' }, h('p', { class: 'error', hidden: true }),
    h('div', { class: 'row' }, field('From', from), field('To', to)), days);
  const syncQuiet = () => { quietBox.hidden = !quietOn.querySelector('input').checked; };
  quietOn.querySelector('input').addEventListener('change', syncQuiet);
  syncQuiet();

  // Folders.
  const listId = nextId('folders');
  const folder = h('input', { name: 'folder', value: t.folder || 'inbox', list: listId, autocomplete: 'off' });
  const folders = h('datalist', { id: listId }, h('option', { value: 'inbox' }), h('option', { value: 'later' }));
  const topicFolders = t.topic_folders || {};
  const tfTopics = Array.isArray(ask.topics) ? ask.topics : Object.keys(topicFolders);
  const tfInputs = tfTopics.map((tp) => [tp, h('input', { name: `topic_folders.${tp}`, value: topicFolders[tp] || '', list: listId, autocomplete: 'off' })]);
  const tfFields = tfInputs.map(([tp, input]) => field(mine ? `Folder for ${label(TOPIC_WORDS, tp).toLowerCase()}` : `Folder for “${tp}”`,
    input, 'Empty: the folder above.'));
  // A folder only for the topics wanted (unticking one forgets its folder).
  const wanted = () => (Array.isArray(ask.topics) ? readTopics() : tfTopics);
  const syncFolders = () => {
    const w = wanted();
    tfInputs.forEach(([tp], i) => { tfFields[i].hidden = !w.includes(tp); });
  };
  form.addEventListener('change', (e) => { if (e.target.name === 'topic') syncFolders(); });

  // Fields, agreement, expiry.
  const fieldsBox = ask.fields.length
    ? h('div', { class: 'checks' }, checks(ask.fields, t.fields || [], 'field', (f) => label(FIELDS, f)))
    : h('p', { class: 'muted', text: 'This brand did not ask to read any of your fields.' });
  const agreement = h('select', { name: 'agreement' },
    Object.entries(AGREEMENTS).map(([k, v]) => h('option', { value: k, selected: (t.agreement || 'SD-BASE') === k, text: `${v} (${k})` })));
  // The expiry as a day of the person's own calendar; a day set here ends at its last second.
  const expDay = t.expires_at ? localDay(t.expires_at) : '';
  const expires = h('input', { type: 'date', name: 'expires_at', value: expDay });

  const save = h('button', { type: 'submit', class: 'primary', text: 'Save terms' });
  form.append(...[
    h('fieldset', { 'data-field': 'channels' }, h('legend', { text: mine ? `How ${rel.brand.name} may reach you` : 'How the brand may reach you' }),
      h('p', { class: 'error', hidden: true }),
      chans.length ? chans.map(([, c]) => c.el) : h('p', { class: 'muted', text: 'No channel was asked for.' })),
    h('fieldset', { 'data-field': 'topics' }, h('legend', { text: 'Topics you want' }),
      h('p', { class: 'error', hidden: true }), topicsBox, exemptBox),
    h('fieldset', {}, h('legend', { text: 'Quiet hours' }), quietOn,
      h('p', { class: 'hint muted small', text: 'Messages that come in quiet hours wait until they end. Without their own, your general quiet hours apply.' }),
      quietBox),
    h('fieldset', {}, h('legend', { text: 'Where messages land' }),
      field('Folder', folder, 'inbox, later, or a folder of your own (a new name makes it).'), folders,
      tfFields),
    // A shop not on cmr reads nothing and signs no agreement.
    mine ? null : h('fieldset', { 'data-field': 'fields' }, h('legend', { text: 'What the brand may read of your profile' }),
      h('p', { class: 'error', hidden: true }), fieldsBox),
    mine ? null : field('Agreement the brand works under (IEEE 7012)', agreement),
    field('Consent ends on', expires, 'Empty: it does not end by itself. After that day every message is refused.'),
    formError(),
    h('div', { class: 'row' }, save)].filter(Boolean));
  syncFolders();

  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const patch = {};
    const channels = {};
    for (const [ch, c] of chans) {
      const now = c.read();
      const was = (t.channels || {})[ch] || { allowed: false };
      if (same(now, was)) continue;
      // A cap merges member by member: name the member it no longer has.
      channels[ch] = { ...now, cap: now.cap ? { per: null, per_seconds: null, ...now.cap } : null, over_cap: now.over_cap || null };
    }
    if (Object.keys(channels).length) patch.channels = channels;
    let topics = readTopics();
    if (Array.isArray(topics) && Array.isArray(ask.topics) && topics.length === ask.topics.length) topics = t.topics === 'all' ? 'all' : topics;
    if (!same(topics, t.topics)) patch.topics = topics;
    const ex = readExempt();
    if (!same(ex, t.exempt_topics || [])) patch.exempt_topics = ex;
    const quiet = quietOn.querySelector('input').checked
      ? { from: from.value, to: to.value, days: checked(form, 'quiet-day') } : null;
    if (quiet && quiet.days.length === 7) delete quiet.days;
    if (!same(quiet, t.quiet_hours || null)) patch.quiet_hours = quiet === null ? null : { days: null, ...quiet };
    if (folder.value.trim() !== (t.folder || 'inbox')) patch.folder = folder.value.trim() || 'inbox';
    const tf = {};
    const w = wanted();
    for (const [tp, input] of tfInputs) {
      const v = (w.includes(tp) && input.value.trim()) || null;
      if (v !== (topicFolders[tp] || null)) tf[tp] = v;
    }
    if (Object.keys(tf).length) patch.topic_folders = tf;
    if (ask.fields.length) {
      const f = checked(form, 'field');
      if (!same([...f].sort(), [...(t.fields || [])].sort())) patch.fields = f;
    }
    if (!mine && agreement.value !== (t.agreement || 'SD-BASE')) patch.agreement = agreement.value;
    if (expires.value !== expDay) {
      patch.expires_at = expires.value ? new Date(`${expires.value}T23:59:59`).toISOString().replace(/\.\d+Z$/, 'Z') : null;
    }
    if (!Object.keys(patch).length) { toast('Nothing changed.'); return; }
    await busy(save, form, async () => {
      const terms = await api.patch(`/v1/me/relationships/${encodeURIComponent(rel.id)}/terms`, patch);
      toast('Your terms are saved.');
      onSaved(terms);
    });
  });
  return form;
}

// Who a brand is, as the operator registered it (BrandDetail).
export function brandFacts(b, withName = false) {
  const c = b.contact || {};
  const rows = [
    ['Name', withName ? b.name : null], ['Domains', (b.domains || []).join(', ')],
    ['Responsible person', c.name], ['Email', c.email], ['Phone', c.phone], ['Address', c.address],
    ['Web site', c.url], ['Privacy policy', b.policy_url],
  ].filter(([, v]) => v);
  return rows.length ? h('dl', { class: 'facts' }, rows.map(([k, v]) => [h('dt', { text: k }), h('dd', { text: v })]))
    : h('p', { class: 'muted', text: 'The brand gave no contact details.' });
}

export async function render(ctx) {
  const id = ctx.params[0];
  const path = `/v1/me/relationships/${encodeURIComponent(id)}`;
  let rel;
  try {
    rel = await api.get(path);
  } catch (err) {
    if (err.status !== 404) throw err;
    fill(ctx.main, heading('Not found'), h('p', {}, 'There is no such relationship. ',
      h('a', { href: '#/', text: 'Back to your relationships' })));
    return;
  }
  const ask = await asked(rel);
  if (ctx.stale()) return;
  const name = rel.brand.name;
  const ended = rel.state === 'ended';
  const mine = rel.made_by === 'person' && !rel.brand.id; // not taken over by a brand
  const domains = (rel.brand.domains || []).join(', ');

  const code = h('code', { class: 'alias', text: rel.alias });
  const copy = h('button', { type: 'button', text: 'Copy address', onclick: () => copyText(rel.alias, code, 'The address is copied.') });
  const actions = h('div', { class: 'row' });
  if (!ended) {
    const muteBtn = rel.state === 'muted'
      ? h('button', { type: 'button', text: 'Unmute' }) : h('button', { type: 'button', text: 'Mute' });
    muteBtn.addEventListener('click', () => busy(muteBtn, null, async () => {
      const verb = rel.state === 'muted' ? 'unmute' : 'mute';
      await api.post(`${path}/${verb}`);
      toast(verb === 'mute' ? `${name} is muted: its messages go to Later.` : `${name} is no longer muted.`);
      await ctx.reload();
      // Focus stays on the button that took its place.
      const next = [...ctx.main.querySelectorAll('button')].find((x) => /^(Mute|Unmute)$/.test(x.textContent));
      if (next) next.focus();
    }));
    const end = h('button', { type: 'button', class: 'danger', text: 'End relationship' });
    end.addEventListener('click', async () => {
      const yes = await confirmDialog({
        title: `End your relationship with ${name}?`,
        body: [
          h('p', { class: 'wrap', text: `${name} can no longer reach you: every message to ${rel.alias} is refused from now on, and messages waiting to be delivered are refused too.` }),
          mine ? null : `${name} is told, can no longer read your profile, and must erase what it copied of it.`,
          `If ${name}'s mail carried a one-click unsubscribe link, cmr also unsubscribes this address at ${name}.`,
          mine ? `This cannot be undone: the address is closed for good. To hear from ${name} again, make a new alias.`
            : `This cannot be undone: to hear from ${name} again, it has to ask anew with a new connect code.`,
        ].filter(Boolean),
        confirm: 'End relationship', danger: true,
      });
      if (!yes) { end.focus(); return; }
      await busy(end, null, async () => {
        await api.post(`${path}/end`);
        toast(`Your relationship with ${name} has ended.`);
        await ctx.reload();
      });
    });
    actions.append(muteBtn, end);
  }

  const recBtn = (text, fmt) => {
    const b = h('button', { type: 'button', text });
    b.addEventListener('click', () => busy(b, null, async () => {
      const blob = await api.blob('GET', `${path}/receipts${fmt ? `?format=${fmt}` : ''}`);
      download(blob, `consent-receipts-${rel.id}${fmt ? `-${fmt}` : ''}.json`);
    }));
    return b;
  };

  const termsBox = h('section', { class: 'card', 'aria-labelledby': 'terms-h' }, h('h2', { id: 'terms-h', text: 'Your terms' }));
  const showTerms = (terms, saved = false) => {
    rel.terms = terms;
    fill(termsBox, h('h2', { id: 'terms-h', text: 'Your terms' }),
      ended ? h('p', { class: 'muted', text: 'The relationship has ended: its terms no longer change.' })
        : termsForm(rel, ask, (t) => showTerms(t, true)));
    if (saved) termsBox.querySelector('button[type=submit]').focus({ preventScroll: true });
  };
  showTerms(rel.terms);

  fill(ctx.main,
    h('p', { class: 'back' }, h('a', { href: '#/', text: '← All relationships' })),
    h('div', { class: 'spread' }, ...heading(name), h('span', { class: 'pm-badges' }, mine ? madeByYou() : null, stateBadge(rel.state))),
    mine ? h('p', { class: 'lead' }, `Mail from ${domains}. `, h('span', { text: newsletterWords(rel.terms) }), '.') : null,
    rel.value ? h('p', { class: 'lead' }, 'What they offer: ', h('span', { text: rel.value })) : null,
    rel.state === 'muted' ? h('p', { class: 'notice', text: `Muted: ${name}'s messages go to Later, and ${name} cannot tell.` }) : null,
    ended ? h('p', { class: 'notice danger', text: `Ended ${when(rel.ended_at)}. Nothing from ${name} reaches you any more.` }) : null,
    h('div', { class: 'grid2 pair' },
      h('section', { class: 'card', 'aria-labelledby': 'alias-h' },
        h('h2', { id: 'alias-h', text: 'Its address for you' }),
        h('p', { class: 'muted small', text: ended ? 'This address is closed: nothing sent to it reaches you.' : `${name} only knows this address, never your own.` }),
        h('p', { class: 'alias-line' }, code), h('div', { class: 'row' }, copy, actions)),
      mine ? h('section', { class: 'card', 'aria-labelledby': 'who-h' },
        h('h2', { id: 'who-h', text: 'Who may write to it' }),
        h('dl', { class: 'facts' }, h('dt', { text: 'Mail from' }), h('dd', { text: domains })),
        h('p', { class: 'small', text: `Mail from ${domains} (and its subdomains) is filed by your terms below. Mail from anyone else to this address is refused, and shown to you as a leak.` }),
        h('p', { class: 'muted small', text: `You made this alias on ${day(rel.created_at)}. ${name} is not on cmr: it does not see your terms; cmr applies them to its mail.` }))
        : h('section', { class: 'card', 'aria-labelledby': 'who-h' },
          h('h2', { id: 'who-h', text: `Who ${name} is` }), brandFacts(rel.brand),
          h('p', { class: 'muted small', text: `Connected since ${day(rel.created_at)}.` }))),
    termsBox,
    h('section', { class: 'card', 'aria-labelledby': 'rec-h' },
      h('h2', { id: 'rec-h', text: 'Consent receipts' }),
      h('p', { class: 'muted small', text: mine ? 'A signed record of each time you made, changed or ended these terms.'
        : `A signed record of each time you agreed to, changed or ended these terms. ${name} holds the same records.` }),
      h('div', { class: 'row' }, recBtn('Download receipts', null), recBtn('Download as W3C DPV record', 'dpv'))),
    h('p', {}, h('a', { href: '#/attempts', text: 'See refused and held messages' })));
}
