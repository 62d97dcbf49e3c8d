// page-terms.js — the person's terms over every brand (GET/PATCH
// /v1/me/terms): time zone, channels no brand may use, quiet hours, caps
// over all brands, how long Later keeps messages, how refusals are
// answered, and the terms of new aliases the person makes
// (person_made_terms). The API lists no time zones, so the list is the browser's
// (Intl.supportedValuesOf); the server checks the name against its own
// zoneinfo and says so next to the field when it does not know it.
import { api } from './api.js';
import { CHANNELS, busy, check, field, formError, h, heading, nextId, toast } from './ui.js';

const DAYS = [['mon', 'Mon'], ['tue', 'Tue'], ['wed', 'Wed'], ['thu', 'Thu'], ['fri', 'Fri'], ['sat', 'Sat'], ['sun', 'Sun']];
// The periods a cap counts over: calendar ones, and rolling windows.
const PERIODS = [
  ['day', 'day'], ['week', 'week'], ['month', 'month'],
  ['86400', '24 hours, rolling'], ['604800', '7 days, rolling'], ['2592000', '30 days, rolling'],
];

function zones() {
  let list = [];
  try { list = Intl.supportedValuesOf('timeZone'); } catch { /* an old browser */ }
  return list.includes('UTC') ? list : ['UTC', ...list];
}

// A group of inputs named for the API's field (errors land in it); a
// quiet legend is read out but not shown, where the card's heading says it.
function fieldset(legend, name, quiet, ...children) {
  const err = h('p', { class: 'error', hidden: true });
  return h('fieldset', { class: 'field', 'data-field': name }, h('legend', { class: quiet ? 'me-sr' : null, text: legend }), err, ...children);
}

// The period a cap counts over, set to cap's (a week when none).
function perSelect(cap, attrs) {
  const per = h('select', attrs, PERIODS.map(([v, t]) => h('option', { value: v, text: t })));
  const key = cap ? (cap.per || String(cap.per_seconds)) : 'week';
  if (!PERIODS.some(([v]) => v === key)) {
    per.append(h('option', { value: key, text: `${Math.round(Number(key) / 3600)} hours, rolling` }));
  }
  per.value = key;
  return per;
}

// Radio buttons named `name`, each [value, title, description], the one
// of value `current` checked.
function choices(name, options, current) {
  return options.map(([v, t, d]) => {
    const id = nextId(name);
    return h('div', { class: 'me-choice' },
      h('input', { type: 'radio', name, value: v, id, checked: current === v, 'aria-describedby': `${id}-d` }),
      h('div', {}, h('label', { for: id, class: 'me-choice-t', text: t }),
        h('p', { class: 'muted small', id: `${id}-d`, text: d })));
  });
}

// A cap's value for a merge patch: the other way of counting goes.
function capValue(max, per) {
  const out = { max: Number(max) };
  if (/^\d+$/.test(per)) return Object.assign(out, { per_seconds: Number(per), per: null });
  return Object.assign(out, { per, per_seconds: null });
}

function capRow(ch, cap) {
  const id = nextId('cap');
  const max = h('input', { type: 'number', min: 0, max: 10000, name: `caps.${ch}.max`, id,
    value: cap ? String(cap.max) : '', inputmode: 'numeric' });
  const per = perSelect(cap, { name: `caps.${ch}.per`, 'aria-label': `${CHANNELS[ch]}: counted per` });
  const over = h('select', { name: `caps.${ch}.over_cap`, 'aria-label': `${CHANNELS[ch]}: over the cap` },
    h('option', { value: 'refuse', text: 'refuse the rest' }),
    h('option', { value: 'hold', text: 'hold the rest until allowed' }));
  over.value = (cap && cap.over_cap) || 'refuse';
  const row = h('div', { class: 'field me-cap', 'data-field': `caps.${ch}` },
    h('label', { for: id, class: 'me-cap-ch', text: CHANNELS[ch] }),
    h('span', { class: 'me-cap-words' }, 'at most ', max, ' per ', per, ', then ', over),
    h('p', { class: 'error', hidden: true }));
  return { row, read() {
    if (max.value.trim() === '') return null;
    return { ...capValue(max.value, per.value), over_cap: over.value };
  } };
}

// "New aliases you make": the terms a relationship the person makes
// takes (from the web app without terms of its own, or from a password
// manager). read() is the whole object for the merge patch: what is
// turned off is sent as null, so nothing of an older setting stays.
function aliasTerms(pm) {
  const email = (pm && pm.channels && pm.channels.email) || { allowed: true };
  const allowed = check('Let the shop email me', { name: 'pm_allowed', checked: email.allowed !== false });
  const maxId = nextId('pm');
  const max = h('input', { type: 'number', min: 0, max: 10000, id: maxId, inputmode: 'numeric',
    name: 'person_made_terms.channels.email.cap.max', value: email.cap ? String(email.cap.max) : '' });
  const per = perSelect(email.cap, { 'aria-label': 'New aliases: counted per' });
  const cap = h('div', { class: 'field me-cap', 'data-field': 'person_made_terms.channels.email.cap.max' },
    h('label', { for: maxId, class: 'me-cap-ch', text: 'Their mail' }),
    h('span', { class: 'me-cap-words' }, 'at most ', max, ' per ', per),
    h('p', { class: 'error', hidden: true }));
  const direct = pm && Array.isArray(pm.topics) && pm.topics.length === 1 && pm.topics[0] === 'direct';
  const which = choices('pm_topics', [
    ['all', 'All their mail', 'Order confirmations, messages written to you, and their newsletters.'],
    ['direct', 'Only mail written to me', 'Receipts, replies and other mail to you alone. Newsletters and other bulk mail are refused.'],
  ], direct ? 'direct' : 'all');
  const bulkLater = check('Put their newsletters and other bulk mail in Later',
    { name: 'pm_bulk_later', checked: !!(pm && pm.topic_folders && /^later$/i.test(pm.topic_folders.bulk || '')) });
  const folder = h('input', { type: 'text', name: 'person_made_terms.folder', maxlength: 64, autocomplete: 'off',
    value: (pm && pm.folder) || 'inbox' });
  const sync = () => {
    const on = allowed.querySelector('input').checked;
    const onlyDirect = which[1].querySelector('input').checked;
    max.disabled = per.disabled = !on;
    for (const w of which) w.querySelector('input').disabled = !on;
    bulkLater.querySelector('input').disabled = !on || onlyDirect;
    folder.disabled = !on;
  };
  for (const el of [allowed, ...which]) el.querySelector('input').addEventListener('change', sync);
  sync();
  const card = h('section', { class: 'card' },
    h('h2', { text: 'New aliases you make' }),
    h('p', { class: 'muted', text: 'When you make an alias for a shop that is not on cmr (here, or from your password manager at a sign-up form), it starts with these terms. You can change each one\'s terms later. Leave the number empty for no limit.' }),
    fieldset('Terms for new aliases', 'person_made_terms', true,
      h('div', {}, allowed),
      cap,
      h('div', { class: 'me-sub' }, h('p', { class: 'me-choice-t', text: 'Which of their mail' }), which, bulkLater),
      h('div', { class: 'me-sub' }, field('Folder for their mail', folder, 'Inbox, Later, or a folder of your own, such as "Shops".'))));
  return { card, read() {
    if (!allowed.querySelector('input').checked) {
      return { channels: { email: { allowed: false, cap: null } } };
    }
    const c = max.value.trim() === '' ? null : capValue(max.value, per.value);
    const onlyDirect = which[1].querySelector('input').checked;
    return {
      channels: { email: { allowed: true, cap: c } },
      topics: onlyDirect ? ['direct'] : 'all',
      topic_folders: { bulk: !onlyDirect && bulkLater.querySelector('input').checked ? 'later' : null },
      folder: folder.value.trim() || 'inbox',
    };
  } };
}

export async function render(ctx) {
  const terms = await api.get('/v1/me/terms');
  if (ctx.stale()) return;

  // Time zone: a searchable list (an input with the zones as suggestions).
  const listId = nextId('zones');
  const tz = h('input', { name: 'time_zone', type: 'text', value: terms.time_zone || 'UTC', list: listId,
    autocomplete: 'off', spellcheck: 'false' });
  const here = Intl.DateTimeFormat().resolvedOptions().timeZone;
  const useHere = here && here !== tz.value
    ? h('button', { type: 'button', class: 'link', text: `Use this device's time zone (${here})`, onclick: () => { tz.value = here; tz.focus(); } })
    : null;

  // Do not contact.
  const dnc = Object.keys(CHANNELS).map((ch) => check(CHANNELS[ch],
    { name: 'do_not_contact', value: ch, checked: (terms.do_not_contact || []).includes(ch) }));

  // Quiet hours.
  const qh = terms.quiet_hours;
  const qOn = check('Keep quiet hours', { name: 'quiet_on', checked: !!qh });
  const qFrom = h('input', { type: 'time', name: 'quiet_hours.from', value: qh ? qh.from : '22:00' });
  const qTo = h('input', { type: 'time', name: 'quiet_hours.to', value: qh ? qh.to : '07:00' });
  const qDays = DAYS.map(([d, t]) => check(t,
    { name: 'quiet_day', value: d, checked: !qh || !qh.days || qh.days.includes(d) }));
  const qBox = h('div', { class: 'me-quiet' },
    h('div', { class: 'row' }, field('From', qFrom), field('Until', qTo)),
    h('div', { class: 'field', 'data-field': 'quiet_hours.days' },
      h('p', { class: 'label', id: 'me-days', text: 'On these days' }),
      h('div', { class: 'checks', role: 'group', 'aria-labelledby': 'me-days' }, qDays),
      h('p', { class: 'error', hidden: true })));
  const qSync = () => { qBox.hidden = !qOn.querySelector('input').checked; };
  qOn.querySelector('input').addEventListener('change', qSync);
  qSync();

  // Caps.
  const caps = Object.keys(CHANNELS).map((ch) => [ch, capRow(ch, (terms.caps || {})[ch])]);

  // Later and refusals.
  const later = h('input', { type: 'number', name: 'later_retention_days', min: 1, max: 3650,
    value: String(terms.later_retention_days || 30), inputmode: 'numeric' });
  const refusal = choices('refusal', [
    ['reject', 'Tell the sender no', 'A brand that sends what your terms do not allow gets its message back, refused, with the reason. It learns that you said no.'],
    ['silent', 'Say nothing', 'A refused message is taken in and dropped. The sender cannot tell it from a delivered one. You still see it among the refused attempts.'],
  ], terms.refusal || 'reject');

  // New aliases: shown where the server has them (person_made_terms).
  const aliases = 'person_made_terms' in terms ? aliasTerms(terms.person_made_terms) : null;

  const submit = h('button', { type: 'submit', class: 'primary', text: 'Save my terms' });
  const form = h('form', { class: 'form me-terms', novalidate: true },
    h('section', { class: 'card' },
      h('h2', { text: 'Where you are' }),
      field('Time zone', tz, 'Quiet hours and "per day" count in this zone. Type to search, for example "Berlin".'),
      h('datalist', { id: listId }, zones().map((z) => h('option', { value: z }))),
      useHere),
    h('section', { class: 'card' },
      h('h2', { text: 'Never contact me by' }),
      fieldset('Channels no brand may use, whatever its terms say', 'do_not_contact', false, h('div', { class: 'checks' }, dnc))),
    h('section', { class: 'card' },
      h('h2', { text: 'Quiet hours' }),
      h('p', { class: 'muted', text: 'In quiet hours no brand reaches you: a message that comes then waits, and is delivered when they end.' }),
      fieldset('Quiet hours for every brand', 'quiet_hours', true, h('div', {}, qOn), qBox)),
    h('section', { class: 'card' },
      h('h2', { text: 'At most, over all brands' }),
      h('p', { class: 'muted', text: 'A limit on every brand together, besides each brand\'s own. Leave a number empty for no limit.' }),
      fieldset('Limits over all brands, per channel', 'caps', true, caps.map(([, c]) => c.row))),
    h('section', { class: 'card' },
      h('h2', { text: 'Later' }),
      field('Keep messages in Later for this many days', later, 'Then they are deleted. Muted brands\' messages go to Later.')),
    h('section', { class: 'card' },
      h('h2', { text: 'When a message is refused' }),
      fieldset('How cmr answers the sender', 'refusal', true, refusal)),
    aliases ? aliases.card : null,
    formError(),
    h('div', { class: 'row me-save' }, submit));

  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    await busy(submit, form, async () => {
      const capsPatch = {};
      for (const [ch, c] of caps) capsPatch[ch] = c.read();
      const on = qOn.querySelector('input').checked;
      const days = qDays.map((c) => c.querySelector('input')).filter((i) => i.checked).map((i) => i.value);
      const patch = {
        time_zone: tz.value.trim(),
        do_not_contact: dnc.map((c) => c.querySelector('input')).filter((i) => i.checked).map((i) => i.value),
        quiet_hours: on ? { from: qFrom.value, to: qTo.value, days: days.length === 7 ? null : days } : null,
        caps: capsPatch,
        later_retention_days: later.value.trim() === '' ? null : Number(later.value),
        refusal: form.querySelector('input[name=refusal]:checked').value,
      };
      if (aliases) patch.person_made_terms = aliases.read();
      if (on && !days.length) {
        throw Object.assign(new Error('days'), { status: 422, problem: {},
          errors: [{ field: 'quiet_hours.days', detail: 'Pick at least one day, or turn quiet hours off.' }] });
      }
      try {
        await api.patch('/v1/me/terms', patch);
      } catch (err) {
        // A cap's error (caps.sms.max) is said in that channel's row.
        for (const x of err.errors || []) x.field = String(x.field || '').replace(/^(caps\.[a-z]+)\..*$/, '$1');
        throw err;
      }
      toast('Your terms are saved.');
    });
  });

  ctx.main.append(...heading('My terms', 'Your rules for every brand at once. Each brand\'s own terms apply as well.'), form);
}
