// page-profile.js — the person's fields (GET/PATCH /v1/me/profile) and
// who may read each one: a grid of fields × brands whose every tick
// writes at once, as the relationship's terms' fields (PATCH
// /v1/me/relationships/{id}/terms). A brand may be granted only what its
// proposal asked for (GET /v1/me/proposals names its relationship).
import { all, api } from './api.js';
import { FIELDS, busy, field, formError, h, heading, problemText, toast } from './ui.js';

const ORDER = ['name', 'email', 'phone', 'address', 'birthday', 'country', 'language', 'sizes', 'interests'];

const HINTS = {
  email: 'A brand that writes to you by email uses the address cmr gave it, never this one.',
  phone: 'With the country code, for example +4915112345678.',
  address: 'As you would write it on an envelope, one line each.',
  language: 'The language you want to be written to in.',
  sizes: 'Clothing and shoe sizes, for example "M, shoes EU 39".',
  interests: 'What you like to hear about.',
};

// The ISO 3166-1 countries the browser knows by name.
function countries() {
  const names = new Intl.DisplayNames(['en'], { type: 'region', fallback: 'none' });
  const out = [];
  const A = 'A'.charCodeAt(0);
  for (let i = 0; i < 26; i++) {
    for (let j = 0; j < 26; j++) {
      const code = String.fromCharCode(A + i, A + j);
      if (['EU', 'EZ', 'UN', 'QO', 'ZZ', 'XA', 'XB'].includes(code)) continue;
      const n = names.of(code);
      if (n && n !== code) out.push([code, n]);
    }
  }
  return out.sort((a, b) => a[1].localeCompare(b[1]));
}

const LANGS = ['ar', 'bg', 'ca', 'cs', 'da', 'de', 'de-AT', 'de-CH', 'el', 'en', 'en-GB', 'en-US', 'es',
  'es-MX', 'et', 'fi', 'fr', 'fr-CA', 'ga', 'he', 'hi', 'hr', 'hu', 'is', 'it', 'ja', 'ko', 'lt', 'lv',
  'mt', 'nb', 'nl', 'pl', 'pt', 'pt-BR', 'ro', 'ru', 'sk', 'sl', 'sr', 'sv', 'tr', 'uk', 'zh'];

function input(name, value) {
  const v = value || '';
  switch (name) {
    case 'email': return h('input', { name, type: 'email', value: v, autocomplete: 'email' });
    case 'phone': return h('input', { name, type: 'tel', value: v, autocomplete: 'tel' });
    case 'birthday': return h('input', { name, type: 'date', value: v, autocomplete: 'bday' });
    case 'address':
    case 'interests': return h('textarea', { name, rows: 3, value: v,
      autocomplete: name === 'address' ? 'street-address' : null });
    case 'country': {
      const list = countries();
      const s = h('select', { name, autocomplete: 'country' },
        h('option', { value: '', text: 'Not given' }),
        list.map(([code, n]) => h('option', { value: code, text: n, selected: code === v })));
      if (v && !list.some(([code]) => code === v)) s.append(h('option', { value: v, text: v, selected: true }));
      return s;
    }
    case 'language': {
      const names = new Intl.DisplayNames(['en'], { type: 'language' });
      const named = (t) => { try { return names.of(t); } catch { return t; } };
      const s = h('select', { name },
        h('option', { value: '', text: 'Not given' }),
        LANGS.map((t) => [t, named(t)]).sort((a, b) => a[1].localeCompare(b[1]))
          .map(([t, n]) => h('option', { value: t, text: n, selected: t === v })));
      if (v && !LANGS.includes(v)) s.append(h('option', { value: v, text: named(v), selected: true }));
      return s;
    }
    default: return h('input', { name, type: 'text', value: v,
      autocomplete: name === 'name' ? 'name' : null });
  }
}

function profileForm(profile) {
  const inputs = Object.fromEntries(ORDER.map((f) => [f, input(f, profile[f])]));
  const submit = h('button', { type: 'submit', class: 'primary', text: 'Save my details' });
  const form = h('form', { class: 'form me-profile', novalidate: true },
    ORDER.map((f) => field(FIELDS[f], inputs[f], HINTS[f])),
    formError(),
    h('div', { class: 'row' }, submit));
  let stored = { ...profile };
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    await busy(submit, form, async () => {
      const patch = {};
      for (const f of ORDER) {
        const v = inputs[f].value.trim();
        if (v === (stored[f] || '')) continue;
        patch[f] = v === '' ? null : v;
      }
      if (!Object.keys(patch).length) { toast('Nothing changed.'); return; }
      stored = await api.patch('/v1/me/profile', patch);
      toast('Your details are saved.');
    });
  });
  return form;
}

// One cell of the grid: may brand rel read field f?
function cell(rel, f, asked, state) {
  const name = rel.brand.name;
  const status = h('span', { class: 'me-cell-status', role: 'status' });
  if (!asked.has(f)) {
    return h('td', { class: 'me-cell' }, h('span', { class: 'muted small', text: 'Not asked' }));
  }
  const box = h('input', { type: 'checkbox', checked: state.fields.includes(f),
    'aria-label': `${name} may read your ${FIELDS[f].toLowerCase()}` });
  box.addEventListener('change', async () => {
    const want = box.checked;
    const next = want ? [...new Set([...state.fields, f])] : state.fields.filter((x) => x !== f);
    box.disabled = true;
    status.className = 'me-cell-status';
    status.textContent = 'Saving…';
    try {
      const terms = await api.patch(`/v1/me/relationships/${encodeURIComponent(rel.id)}/terms`,
        { fields: ORDER.filter((x) => next.includes(x)) });
      state.fields = terms.fields || [];
      box.checked = state.fields.includes(f);
      status.classList.add('ok');
      status.textContent = 'Saved';
    } catch (err) {
      box.checked = !want;
      status.classList.add('bad');
      const d = (err.errors[0] && err.errors[0].detail) || problemText(err);
      status.textContent = d.charAt(0).toUpperCase() + d.slice(1);
    } finally {
      box.disabled = false;
    }
  });
  return h('td', { class: 'me-cell' }, h('div', { class: 'me-cell-in' }, h('label', { class: 'me-tick' }, box), status));
}

function grid(rels, proposals) {
  if (!rels.length) {
    return h('p', { class: 'empty' }, 'No brand holds a relationship with you yet, so no brand reads any field. ',
      h('a', { href: '#/code', text: 'Hand a brand a connect code' }), ' to start one.');
  }
  const asked = new Map();
  for (const p of proposals) {
    if (p.relationship) asked.set(p.relationship, new Set(p.fields || []));
  }
  const states = rels.map((r) => ({ fields: [...(r.terms.fields || [])] }));
  const table = h('table', { class: 'table me-grid', 'aria-describedby': 'me-grid-how' },
    h('caption', { class: 'me-sr', text: 'Who may read each field' }),
    h('thead', {}, h('tr', {},
      h('th', { scope: 'col', text: 'Field' }),
      rels.map((r) => h('th', { scope: 'col', text: r.brand.name })))),
    h('tbody', {}, ORDER.map((f) => h('tr', {},
      h('th', { scope: 'row', text: FIELDS[f] }),
      rels.map((r, i) => cell(r, f, asked.get(r.id) || new Set(r.terms.fields || []), states[i]))))));
  return [h('p', { class: 'muted', id: 'me-grid-how',
    text: 'Tick a box to let a brand read that field; untick it to stop. Each change is saved at once.' }),
  h('div', { class: 'scroll-x me-grid-wrap' }, table)];
}

export async function render(ctx) {
  const [profile, rels, proposals] = await Promise.all([
    api.get('/v1/me/profile'), all('/v1/me/relationships'), all('/v1/me/proposals'),
  ]);
  if (ctx.stale()) return;
  const live = rels.filter((r) => r.state !== 'ended');
  ctx.main.append(
    ...heading('Your profile', 'What you tell brands about yourself, and which brand may read what. A brand reads only the fields you tick for it.'),
    h('div', { class: 'me-cols' }, h('section', { class: 'card', 'aria-labelledby': 'me-who-reads' },
      h('h2', { id: 'me-who-reads', text: 'Who may read each field' }),
      grid(live, proposals)),
    h('section', { class: 'card', 'aria-labelledby': 'me-details' },
      h('h2', { id: 'me-details', text: 'Your details' }),
      h('p', { class: 'muted', text: 'Leave a field empty to not give it. A brand sees a field only once you tick it for that brand under “Who may read each field”.' }),
      profileForm(profile))));
}
