// page-attempts.js — refused and held attempts (#/attempts): every
// message the gate did not deliver, each with its reason in words. Held
// ones say when they will be decided again and can be delivered now or
// discarded; leaks (mail to an alias from someone who is not its brand)
// say who sent them. Lists GET /v1/me/messages?decision=hold|refuse;
// POST /v1/me/messages/{id}/release|discard.
import { all, api } from './api.js';
import {
  CHANNELS, busy, confirmDialog, fill, h, heading, label, relative, toast, when,
} from './ui.js';

function channelWord(ch) {
  return ch === 'sms' ? 'SMS' : label(CHANNELS, ch).toLowerCase();
}

// A sentence for the gate's reason (the wire codes of gate_reasons[] in
// src/core/gate.c), said of one attempt m. Unknown codes fall back on
// the API's own explanation.
export function reasonText(m) {
  const b = (m.brand && m.brand.name) || 'the brand';
  const ch = channelWord(m.channel);
  switch (m.reason) {
    case 'ok': return 'Delivered.';
    case 'unknown_alias': return 'It was sent to an address of yours that does not exist.';
    case 'sender_not_brand':
      return `Someone other than ${b} wrote to the address you gave ${b}: that address has leaked.`;
    case 'relationship_ended': return `You had ended your relationship with ${b}.`;
    case 'consent_expired': return `Your consent for ${b} had expired.`;
    case 'channel_do_not_contact': return `You asked not to be contacted by ${ch} by any brand.`;
    case 'channel_not_permitted': return `You have not allowed ${b} to reach you by ${ch}.`;
    case 'topic_missing': return `${b} did not say what it was about, and you take only some topics from ${b}.`;
    case 'topic_not_wanted':
      return `It was about “${m.topic}”, a topic you do not want from ${b}.`;
    case 'frequency_cap':
      return m.decision === 'hold'
        ? `${b} has reached the limit you set for ${ch}; it waits until the limit allows it.`
        : `${b} had already reached the limit you set for ${ch}.`;
    case 'global_frequency_cap':
      return m.decision === 'hold'
        ? `You have had as many ${ch} messages as you allow from all brands together; it waits until that allows it.`
        : `You had already had as many ${ch} messages as you allow from all brands together.`;
    case 'quiet_hours': return 'It came during your quiet hours.';
    case 'hold_queue_full': return `Too many of ${b}'s messages were already waiting.`;
    case 'discarded': return 'You discarded it while it was held.';
    case 'stranger': return 'It came to your own address from someone you have no relationship with, and you refuse such mail.';
    default: {
      const e = m.explanation || m.reason || '';
      return e ? e.charAt(0).toUpperCase() + e.slice(1) + '.' : '';
    }
  }
}

function subjectOf(m) {
  return m.subject || (m.reason === 'discarded' ? '(removed)' : '(no subject)');
}

function heldItem(ctx, m) {
  const release = h('button', { type: 'button', class: 'primary', text: 'Deliver now' });
  const discard = h('button', { type: 'button', text: 'Discard' });
  const li = h('li', { class: 'ib-attempt' },
    h('div', { class: 'spread' },
      h('span', { class: 'title', text: subjectOf(m) }),
      h('span', { class: 'badge warn', text: 'Held' })),
    h('p', { class: 'muted small ib-meta' },
      `${(m.brand && m.brand.name) || 'Unknown sender'} · ${label(CHANNELS, m.channel)} · came ${when(m.received_at)}`),
    h('p', { class: 'ib-reason', text: reasonText(m) }),
    m.deliver_at ? h('p', { class: 'ib-when' },
      'It will be decided again ', h('strong', { text: when(m.deliver_at) }),
      ` (${relative(m.deliver_at)}).`) : null,
    h('div', { class: 'row' }, release, discard), h('p', { class: 'form-error', role: 'alert' }));
  release.addEventListener('click', () => busy(release, li, async () => {
    await api.post(`/v1/me/messages/${encodeURIComponent(m.id)}/release`);
    toast('Delivered to your inbox.');
    ctx.reload();
  }));
  discard.addEventListener('click', async () => {
    const ok = await confirmDialog({
      title: 'Discard this message?',
      body: [`“${subjectOf(m)}” from ${(m.brand && m.brand.name) || 'this sender'} will not be delivered, and its content is deleted. ${(m.brand && m.brand.name) || 'The brand'} is not told.`],
      confirm: 'Discard', danger: true,
    });
    if (!ok) { discard.focus(); return; }
    await busy(discard, li, async () => {
      await api.post(`/v1/me/messages/${encodeURIComponent(m.id)}/discard`);
      toast('Discarded.');
      ctx.reload();
    });
  });
  return li;
}

function refusedItem(m) {
  const leak = m.reason === 'sender_not_brand';
  return h('li', { class: leak ? 'ib-attempt ib-leak' : 'ib-attempt' },
    h('div', { class: 'spread' },
      h('span', { class: 'title', text: subjectOf(m) }),
      leak ? h('span', { class: 'badge danger', text: 'Leak' }) : h('span', { class: 'badge muted', text: 'Refused' })),
    h('p', { class: 'muted small ib-meta' },
      `${leak ? 'To your address for ' : ''}${(m.brand && m.brand.name) || 'an address of yours'} · ${label(CHANNELS, m.channel)} · ${when(m.received_at)}`),
    h('p', { class: 'ib-reason', text: reasonText(m) }),
    leak && m.sender ? h('p', { class: 'ib-sender' }, 'Sent by ', h('strong', { class: 'mono', text: m.sender }), '.') : null,
    leak ? h('p', { class: 'small' }, 'You may want to end this relationship and start a new one, so the leaked address stops working. ',
      m.relationship ? h('a', { href: `#/r/${encodeURIComponent(m.relationship)}`, text: `See your relationship with ${(m.brand && m.brand.name) || 'the brand'}` }) : null) : null);
}

export async function render(ctx) {
  const main = ctx.main;
  const box = h('div', { class: 'loading', text: 'Loading…' });
  fill(main, heading('Refused and held',
    'Messages your terms kept out of your inbox, and why. Held ones wait; refused ones never reach you.'), box);
  const [held, refused] = await Promise.all([
    all('/v1/me/messages?decision=hold&limit=200', 1000),
    all('/v1/me/messages?decision=refuse&limit=200', 1000),
  ]);
  if (ctx.stale()) return;
  const leaks = refused.filter((m) => m.reason === 'sender_not_brand');
  const heldH = h('h2', { id: 'ib-held', text: held.length ? `Held (${held.length})` : 'Held' });
  const refusedH = h('h2', { id: 'ib-refused', text: refused.length ? `Refused (${refused.length})` : 'Refused' });
  fill(box,
    leaks.length ? h('p', { class: 'notice danger', role: 'status' },
      h('strong', { text: leaks.length === 1 ? 'One leak. ' : `${leaks.length} leaks. ` }),
      'Someone other than the brand wrote to an address you gave only to that brand. Each is marked “Leak” below.') : null,
    h('section', { 'aria-labelledby': 'ib-held' }, heldH,
      held.length
        ? h('ul', { class: 'items' }, held.map((m) => heldItem(ctx, m)))
        : h('p', { class: 'empty', text: 'Nothing is held. A message waits here when it comes during your quiet hours or over a limit you set to “hold”.' })),
    h('section', { 'aria-labelledby': 'ib-refused' }, refusedH,
      refused.length
        ? h('ul', { class: 'items' }, refused.map(refusedItem))
        : h('p', { class: 'empty', text: 'Nothing was refused. When a brand sends something your terms do not allow, it shows here with the reason.' })));
  box.className = '';
}
