// own-address.js — the person's own address at the relay, for people and
// shops they have no relationship with ("strangers"): the card on the
// Delivery page (GET/PUT/DELETE /v1/me/address, DELETE
// /v1/me/address/blocked/{domain}), and the two buttons under a
// stranger's message (POST /v1/me/messages/{id}/keep and /block).
import { api } from './api.js';
import { busy, confirmDialog, field, formError, h, nextId, toast } from './ui.js';
import { copyButton, optional } from './me.js';

const CHOICES = [
  ['later', 'Put their mail in Later', 'It waits in Later for when you have time. Nothing rings, nothing is forwarded.'],
  ['refuse', 'Refuse their mail', 'The sender gets the same "not accepted" answer as for an address that does not exist.'],
];

function choices(current) {
  const legendId = nextId('l');
  return h('div', { class: 'field', 'data-field': 'strangers' },
    h('fieldset', { class: 'oa-choices', 'aria-labelledby': legendId },
      h('p', { class: 'label', id: legendId, text: 'Mail from people you have no relationship with' }),
      CHOICES.map(([v, t, d]) => {
        const id = nextId('s');
        return h('div', { class: 'me-choice' },
          h('input', { type: 'radio', name: 'strangers', value: v, id, checked: current === v, 'aria-describedby': `${id}-d` }),
          h('div', {}, h('label', { for: id, class: 'me-choice-t', text: t }),
            h('p', { class: 'muted small', id: `${id}-d`, text: d })));
      })),
    h('p', { class: 'error', hidden: true }));
}

function addressForm(ctx, own) {
  const local = h('input', { name: 'local_part', value: own ? own.local_part : '', maxlength: 64,
    autocomplete: 'off', autocapitalize: 'none', spellcheck: 'false' });
  const submit = h('button', { type: 'submit', class: 'primary', text: own ? 'Save' : 'Turn it on' });
  const form = h('form', { class: 'form oa-form', novalidate: true },
    field(own ? 'The part before the @' : 'Choose the part before the @', local,
      'Letters a to z, digits, dots, - and _; not the name you log in with. Once used, it is never given to anyone else.'),
    choices(own ? own.strangers : 'later'),
    formError(), h('div', { class: 'row' }, submit));
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const picked = form.querySelector('input[name=strangers]:checked');
    busy(submit, form, async () => {
      const r = await api.put('/v1/me/address', { local_part: local.value.trim(), strangers: picked ? picked.value : 'later' });
      toast(own ? 'Your address is saved.' : `Your address ${r.address} is on.`);
      ctx.reload();
    });
  });
  return form;
}

function blockedList(ctx, own) {
  if (!own.blocked.length) {
    return h('p', { class: 'muted', text: 'You have blocked no one. Block a sender from one of their messages in Later.' });
  }
  const box = h('div', {}, formError());
  box.prepend(h('ul', { class: 'items oa-blocked' }, own.blocked.map((d) => {
    const lift = h('button', { type: 'button', text: 'Lift the block', 'aria-label': `Lift the block of ${d}` });
    lift.addEventListener('click', () => busy(lift, box, async () => {
      await api.del(`/v1/me/address/blocked/${encodeURIComponent(d)}`);
      toast(`Mail from ${d} is no longer blocked.`);
      ctx.reload();
    }));
    return h('li', { class: 'spread' }, h('span', { class: 'mono', text: d }), lift);
  })));
  return box;
}

// The "Your own address" card, or null where this server has no such
// route yet.
export async function ownAddressCard(ctx) {
  let own;
  try {
    own = await optional('/v1/me/address');
  } catch {
    return null;
  }
  const parts = [h('h2', { id: 'oa-h', text: 'Your own address' })];
  if (!own) {
    parts.push(h('p', { text: 'Off. Aliases are for the brands you know. An address of your own is for everyone else: people and shops you have no relationship with can write to it, and you choose whether their mail waits in Later or is refused.' }),
      addressForm(ctx, null));
  } else {
    const off = h('button', { type: 'button', class: 'danger', text: 'Turn it off' });
    const offBox = h('div', { class: 'me-more' }, formError(), h('div', { class: 'row' }, off));
    off.addEventListener('click', async () => {
      const ok = await confirmDialog({
        title: 'Turn your own address off?',
        body: [`Mail to ${own.address} will be refused from now on, as for an address that does not exist. It stays yours: you can turn it on again.`],
        confirm: 'Turn it off', danger: true,
      });
      if (!ok) { off.focus(); return; }
      await busy(off, offBox, async () => {
        await api.del('/v1/me/address');
        toast('Your own address is off.');
        ctx.reload();
      });
    });
    parts.push(
      h('div', { class: 'row oa-address' }, h('code', { class: 'me-secret-text', text: own.address }),
        copyButton(own.address, 'Copy the address')),
      h('p', { class: 'muted small', text: own.strangers === 'later'
        ? 'Mail from people you have no relationship with waits in Later.'
        : 'Mail from people you have no relationship with is refused.' }),
      addressForm(ctx, own),
      h('h3', { text: 'Blocked senders' }), blockedList(ctx, own),
      offBox);
  }
  return h('section', { class: 'card', 'aria-labelledby': 'oa-h' }, parts);
}

// Under a stranger's message (it came to the own address from a sender
// with no relationship): keep the sender, or block its domain. Null for
// any other message.
export function strangerActions(ctx, m) {
  if (m.brand || m.relationship || !m.sender_domain) return null;
  const domain = m.sender_domain;
  const keep = h('button', { type: 'button', class: 'primary', text: 'Keep this sender' });
  const block = h('button', { type: 'button', class: 'danger', text: `Block ${domain}` });
  const box = h('section', { class: 'card oa-stranger', 'aria-labelledby': 'oa-s-h' },
    h('h2', { id: 'oa-s-h', text: 'A sender you have no relationship with' }),
    h('p', { text: `This came to your own address from ${domain}. Keep the sender to give it an alias of its own, with your usual terms; or block ${domain} so its mail to your own address is refused.` }),
    formError(), h('div', { class: 'row' }, keep, block));
  keep.addEventListener('click', () => busy(keep, box, async () => {
    const rel = await api.post(`/v1/me/messages/${encodeURIComponent(m.id)}/keep`);
    toast(`Kept: ${rel.brand && rel.brand.name ? rel.brand.name : domain} has an alias of its own now.`);
    ctx.go(`#/r/${rel.id}`);
  }));
  block.addEventListener('click', async () => {
    const ok = await confirmDialog({
      title: `Block ${domain}?`,
      body: [`Mail from ${domain} and its subdomains to your own address will be refused from now on. You can lift the block on the Delivery page.`],
      confirm: `Block ${domain}`, danger: true,
    });
    if (!ok) { block.focus(); return; }
    await busy(block, box, async () => {
      await api.post(`/v1/me/messages/${encodeURIComponent(m.id)}/block`);
      toast(`${domain} is blocked.`);
      block.disabled = true;
      block.textContent = `${domain} is blocked`;
      keep.focus();
    });
  });
  return box;
}
