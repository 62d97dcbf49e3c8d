// page-ledger.js — the person's ledger (GET /v1/me/ledger) as a
// timeline in plain words, whether the chain verifies (GET
// /v1/me/ledger/verify, where the server has it), the signed head (GET
// /v1/me/ledger/head, a C2SP signed note) and the key it is signed with,
// and the export of everything (POST /v1/me/export) as a file.
import { all, api } from './api.js';
import { FIELDS, busy, download, formError, h, heading, relative, toast, when } from './ui.js';
import { copyButton, optional, withPassword } from './me.js';

const SHOWN = 50;

function list(names, map) {
  const words = (names || []).map((n) => (map ? (map[n] || n) : n));
  if (words.length <= 1) return words.join('');
  return `${words.slice(0, -1).join(', ')} and ${words[words.length - 1]}`;
}
const fieldWords = (f) => list(f, Object.fromEntries(Object.entries(FIELDS).map(([k, v]) => [k, `your ${v.toLowerCase()}`])));
const channelWords = (c) => list(c, { email: 'email', sms: 'SMS', push: 'push notifications', postal: 'post', phone: 'phone calls' });
const topicWords = (t) => (t === 'all' ? 'every topic' : list(t));
const madeTopicWords = (t) => list(t, { bulk: 'newsletters', direct: 'direct mail' });

const SETTINGS = {
  time_zone: 'your time zone', do_not_contact: 'the channels no brand may use', quiet_hours: 'your quiet hours',
  caps: 'your limits over all brands', later_retention_days: 'how long Later keeps messages', refusal: 'how refusals are answered',
};

// One entry in words. brand: the brand's name, or "A brand"; made: the
// relationship is one the person made for a shop not on cmr.
export function sentence(e, brand, made = false) {
  // What the person named is sealed in data, and opened beside it.
  const d = { ...(e.data || {}), ...(e.opened || {}) };
  const B = brand || 'A brand';
  switch (e.type) {
    case 'proposal.received': {
      const asks = [d.channels && d.channels.length ? `to reach you by ${channelWords(d.channels)}` : null,
        d.fields && d.fields.length ? `to read ${fieldWords(d.fields)}` : null].filter(Boolean);
      return `${B} proposed a relationship${asks.length ? `, asking ${asks.join(' and ')}` : ''}`;
    }
    case 'proposal.declined': return `You declined ${brand ? `${brand}'s` : 'a'} proposal`;
    case 'relationship.accepted': {
      // A relationship the person made for a shop not on cmr: the name
      // and domains they gave are in the entry itself.
      if (d.made_by === 'person') {
        const shop = (d.brand && typeof d.brand.name === 'string' && d.brand.name) || brand || 'a shop';
        const from = d.brand && Array.isArray(d.brand.domains) && d.brand.domains.length
          ? `, taking its mail from ${list(d.brand.domains)}` : '';
        return `You made an alias for ${shop}${from}${Array.isArray(d.topics) ? `: ${madeTopicWords(d.topics)} only` : ''}`;
      }
      const parts = [d.channels && d.channels.length ? `may reach you by ${channelWords(d.channels)}` : 'may not reach you on any channel',
        d.fields && d.fields.length ? `may read ${fieldWords(d.fields)}` : 'may read none of your fields'];
      return `You accepted ${B}: it ${parts.join(' and ')}${d.topics ? `, about ${topicWords(d.topics)}` : ''}`;
    }
    case 'relationship.ended': return `You ended your relationship with ${B}`;
    case 'relationship.muted': return `You muted ${B}: its messages go to Later`;
    case 'relationship.unmuted': return `You unmuted ${B}`;
    case 'terms.changed': {
      const bits = [];
      if (Array.isArray(d.channels)) bits.push(d.channels.length ? `it may reach you by ${channelWords(d.channels)}` : 'it may reach you on no channel');
      if (made && Array.isArray(d.topics)) bits.push(`${madeTopicWords(d.topics)} only`);
      if (!made && Array.isArray(d.fields)) bits.push(d.fields.length ? `it may read ${fieldWords(d.fields)}` : 'it may read none of your fields');
      return `You changed your terms with ${B}${bits.length ? `: ${bits.join('; ')}` : ''}`;
    }
    case 'fields.read': return `${B} read ${d.fields ? fieldWords(d.fields) : 'the fields you share with it'}`;
    case 'profile.changed': return `You changed ${d.fields ? fieldWords(d.fields) : 'your profile'}`;
    case 'delivery.changed': return 'You changed where your messages are delivered';
    case 'settings.changed': return `You changed ${d.changed ? list(d.changed, SETTINGS) : 'your terms for every brand'}`;
    case 'intent.published': return 'You published an intent';
    case 'intent.withdrawn': return 'You withdrew an intent';
    case 'feedback.opened': return `You opened feedback for ${B}`;
    case 'feedback.published': return `You published feedback for ${B}`;
    case 'credit.issued': return `${B} gave you credit`;
    case 'credit.redeemed': return `You redeemed credit with ${B}`;
    case 'unsubscribe.sent': return `cmr unsubscribed you at ${B}`;
    case 'reply.sent': return `You replied to ${B} through your alias`;
    case 'erasure': return 'Your account was erased';
    case 'address.changed': return d.on
      ? `You turned your own address on: mail from strangers is ${d.strangers === 'refuse' ? 'refused' : 'put in Later'}`
      : 'You turned your own address off';
    case 'sender.blocked': return `You blocked ${d.domain || 'a sender'} at your own address`;
    case 'sender.unblocked': return `You lifted the block of ${d.domain || 'a sender'}`;
    default: return e.type;
  }
}

const ACTOR = { person: 'you', system: 'cmr' };

// The signed head note: its lines, and the C2SP key hash (the first four
// bytes of the signature) as the key's id.
function parseHead(text) {
  const [body, sig = ''] = text.split('\n\n');
  const [origin, seq, hash] = body.split('\n');
  const sigLine = sig.split('\n').find((l) => l.startsWith('\u2014 ')) || '';
  const [, server = '', b64 = ''] = sigLine.split(' ');
  let keyId = '';
  try {
    keyId = Array.from(atob(b64).slice(0, 4), (c) => c.charCodeAt(0).toString(16).padStart(2, '0')).join('');
  } catch { /* not base64 */ }
  return { origin, seq: Number(seq), hash, server, keyId };
}

function chainCard(verify, headText) {
  const head = headText ? parseHead(headText) : null;
  const parts = [h('h2', { id: 'me-chain', text: 'Can it be trusted?' })];
  if (verify) {
    parts.push(verify.verified
      ? h('p', { class: 'notice ok', role: 'status' }, h('strong', { text: 'The chain verifies.' }),
        ` cmr checked all ${verify.entries} entries just now: none was changed or removed.`)
      : h('p', { class: 'notice danger', role: 'status' }, h('strong', { text: 'The chain does not verify.' }),
        ` ${verify.problem || 'An entry was changed or removed.'}`));
  }
  parts.push(h('p', { text: 'Every entry is chained to the one before by its hash, so none can be changed or taken out unseen. cmr signs the last one: the signed head below.' }));
  if (head) {
    const vHead = verify && verify.head && typeof verify.head === 'object' ? verify.head : {};
    const keyId = vHead.key_id || vHead.kid || head.keyId;
    parts.push(h('dl', { class: 'facts' },
      h('dt', { text: 'Entries' }), h('dd', { text: String(head.seq) }),
      h('dt', { text: 'Last hash' }), h('dd', { class: 'mono', text: head.hash }),
      h('dt', { text: 'Signed by' }), h('dd', { class: 'mono', text: head.server }),
      h('dt', { text: 'Key id' }), h('dd', { class: 'mono', text: keyId })),
    h('details', {}, h('summary', { text: 'The signed head as it is' }),
      h('pre', { class: 'me-note', text: headText }), copyButton(headText, 'Copy the signed head')),
    h('p', { class: 'small' }, 'Anyone can check the signature offline, without asking cmr, with the server\'s published keys: ',
      h('a', { href: '/.well-known/jwks.json', text: 'the public keys' }), '. The export below holds them too.'));
  }
  return h('section', { class: 'card', 'aria-labelledby': 'me-chain' }, parts);
}

function exportCard() {
  const go = h('button', { type: 'button', class: 'primary', text: 'Download everything' });
  const box = h('div', {}, formError(), h('div', { class: 'row' }, go));
  go.addEventListener('click', () => busy(go, box, async () => {
    const blob = await withPassword({ title: 'Download everything', confirm: 'Download',
      body: ['One file with your profile, terms, relationships, messages and this ledger.'],
      action: (password) => api.blob('POST', '/v1/me/export', { password }) });
    if (!blob) return;
    const handle = sessionStorage.getItem('cmr.handle') || 'me';
    download(blob, `cmr-export-${handle}-${new Date().toISOString().slice(0, 10)}.json`);
    toast('Your export is downloading.');
  }));
  return h('section', { class: 'card', 'aria-labelledby': 'me-export' },
    h('h2', { id: 'me-export', text: 'Take your data with you' }),
    h('p', { text: 'Everything cmr holds for you, in one JSON file: to keep, to read, or to take elsewhere. It holds the signed head and the public keys, so it can be checked offline.' }),
    box);
}

function timeline(entries, names, made) {
  if (!entries.length) return h('p', { class: 'empty', text: 'Nothing has happened yet. When a brand proposes, reads a field or you change your terms, it is written here.' });
  const newest = [...entries].reverse();
  const ul = h('ul', { class: 'items me-timeline' });
  let shown = 0;
  const more = h('button', { type: 'button', text: 'Show older entries' });
  const add = () => {
    const next = newest.slice(shown, shown + SHOWN);
    for (const e of next) {
      const named = e.data && e.data.brand;
      const brand = names.get(e.relationship) || (typeof named === 'string' ? names.get(named) : null) ||
        names.get(e.data && e.data.proposal) || null;
      ul.append(h('li', { class: `me-entry me-${e.actor}` },
        h('p', { class: 'title', text: `${sentence(e, brand, made.has(e.relationship))}.` }),
        h('p', { class: 'small muted' },
          h('time', { datetime: e.at, title: when(e.at), text: `${when(e.at)} (${relative(e.at)})` }),
          ` · by ${e.actor === 'brand' ? (brand || 'a brand') : ACTOR[e.actor] || e.actor} · entry ${e.seq}`)));
    }
    shown += next.length;
    more.hidden = shown >= newest.length;
  };
  more.addEventListener('click', () => {
    const first = shown;
    add();
    const p = ul.children[first] && ul.children[first].querySelector('p');
    if (p) { p.setAttribute('tabindex', '-1'); p.focus(); }
  });
  add();
  return [ul, h('div', { class: 'row me-more' }, more)];
}

export async function render(ctx) {
  const [entries, rels, proposals, headText, verify] = await Promise.all([
    all('/v1/me/ledger', 5000), all('/v1/me/relationships'), all('/v1/me/proposals'),
    api.blob('GET', '/v1/me/ledger/head').then((b) => b.text()).catch(() => null),
    optional('/v1/me/ledger/verify').catch(() => null),
  ]);
  if (ctx.stale()) return;
  const names = new Map();
  const made = new Set(rels.filter((r) => r.made_by === 'person' && !r.brand.id).map((r) => r.id));
  for (const r of rels) { names.set(r.id, r.brand.name); if (r.brand.id) names.set(r.brand.id, r.brand.name); }
  for (const p of proposals) { if (p.brand) { names.set(p.brand.id, p.brand.name); names.set(p.id, p.brand.name); } }
  ctx.main.append(
    ...heading('Your ledger', 'Everything that happened between you and brands, newest first, kept so that any change made afterwards would show.'),
    chainCard(verify, headText),
    h('section', { 'aria-labelledby': 'me-what' },
      h('h2', { id: 'me-what', text: 'What happened' }), timeline(entries, names, made)),
    exportCard());
}
