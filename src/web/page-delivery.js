// page-delivery.js — where delivered messages go besides cmr's own inbox
// (GET/PATCH /v1/me/delivery): a Maildir copy, forwarding to an address
// once it is proved with a code (POST /v1/me/delivery/verify), and a
// signed webhook whose secret is shown once. Every change asks for the
// password again, as the API does.
import { api } from './api.js';
import { busy, check, field, fill, formError, h, heading, toast, when } from './ui.js';
import { copyButton, withPassword } from './me.js';
import { ownAddressCard } from './own-address.js';

const change = (patch) => (password) => api.patch('/v1/me/delivery', { password, ...patch });

function maildirCard(d, ctx) {
  const box = check('Keep a Maildir copy of every message', { name: 'maildir', checked: !!d.maildir,
    disabled: !d.available.maildir && !d.maildir });
  const submit = h('button', { type: 'submit', class: 'primary', text: 'Save', disabled: !d.available.maildir && !d.maildir });
  const form = h('form', { novalidate: true },
    h('div', { class: 'field', 'data-field': 'maildir' }, h('div', {}, box), h('p', { class: 'error', hidden: true })),
    formError(), h('div', { class: 'row' }, submit));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const on = box.querySelector('input').checked;
    await busy(submit, form, async () => {
      const r = await withPassword({ title: on ? 'Turn the Maildir copy on' : 'Turn the Maildir copy off',
        confirm: on ? 'Turn on' : 'Turn off', action: change({ maildir: on }) });
      if (r) { toast(on ? 'The Maildir copy is on.' : 'The Maildir copy is off.'); ctx.reload(); }
    });
  });
  return h('section', { class: 'card', 'aria-labelledby': 'me-maildir' },
    h('h2', { id: 'me-maildir', text: 'A copy for your mail program' }),
    h('p', { text: 'cmr can also write every delivered message into a Maildir folder on this server, for a mail program (IMAP) to read.' }),
    d.available.maildir ? null : h('p', { class: 'notice', text: 'This server keeps no Maildir copies: its operator has not set a place for them.' }),
    d.available.maildir || d.maildir ? form : null);
}

function forwardCard(d, ctx) {
  const f = d.forward;
  const parts = [];
  if (f) {
    parts.push(h('dl', { class: 'facts' },
      h('dt', { text: 'Forwarding to' }), h('dd', { class: 'mono', text: f.address }),
      h('dt', { text: 'State' }), h('dd', {}, f.verified
        ? h('span', { class: 'badge ok', text: 'Proved: messages are forwarded' })
        : h('span', { class: 'badge warn', text: 'Waiting for the code' })),
      f.bounces && f.bounces.count ? [h('dt', { text: 'Came back' }),
        h('dd', { text: `${f.bounces.count} forwarded message${f.bounces.count === 1 ? '' : 's'} came back undelivered, the last ${when(f.bounces.last_at)}` })] : null));
    if (!f.verified) {
      const code = h('input', { name: 'code', autocomplete: 'one-time-code', autocapitalize: 'characters', spellcheck: 'false' });
      const go = h('button', { type: 'submit', class: 'primary', text: 'Prove the address' });
      const vform = h('form', { class: 'form', novalidate: true },
        field('The code in the message cmr sent', code, `Look in the mailbox of ${f.address}. The code works for 24 hours.`),
        formError(), h('div', { class: 'row' }, go));
      vform.addEventListener('submit', async (e) => {
        e.preventDefault();
        await busy(go, vform, async () => {
          await api.post('/v1/me/delivery/verify', { code: code.value.trim() });
          toast('The address is proved: forwarding starts now.');
          ctx.reload();
        });
      });
      parts.push(vform);
    }
    const stop = h('button', { type: 'button', text: 'Stop forwarding' });
    const sform = h('div', { class: 'me-more' }, formError(), h('div', { class: 'row' }, stop));
    stop.addEventListener('click', () => busy(stop, sform, async () => {
      const r = await withPassword({ title: 'Stop forwarding', confirm: 'Stop forwarding',
        body: [`Messages will no longer be sent on to ${f.address}.`], action: change({ forward: null }) });
      if (r) { toast('Forwarding is off.'); ctx.reload(); }
    }));
    parts.push(sform);
  }
  const addr = h('input', { name: 'forward.address', type: 'email', autocomplete: 'email' });
  const send = h('button', { type: 'submit', class: f ? '' : 'primary', text: 'Send me a code' });
  const aform = h('form', { class: 'form me-sub', novalidate: true },
    field(f ? 'Forward to another address' : 'Forward to this address', addr,
      'cmr sends a code there first; forwarding starts once you type it in here.'),
    formError(), h('div', { class: 'row' }, send));
  aform.addEventListener('submit', async (e) => {
    e.preventDefault();
    await busy(send, aform, async () => {
      const r = await withPassword({ title: 'Forward your messages', confirm: 'Send the code',
        body: [`cmr will send a code to ${addr.value.trim()}.`], action: change({ forward: { address: addr.value.trim() } }) });
      if (r) { toast('A code is on its way.'); ctx.reload(); }
    });
  });
  return h('section', { class: 'card', 'aria-labelledby': 'me-forward' },
    h('h2', { id: 'me-forward', text: 'Forward to your own mailbox' }),
    h('p', { text: 'Every delivered message can also go, as it came, to a mailbox of yours elsewhere.' }),
    d.available.forward ? null : h('p', { class: 'notice', text: 'This server cannot forward mail: its operator has not connected it to a mail server.' }),
    parts, d.available.forward || f ? aform : null);
}

function webhookCard(d, ctx, secret) {
  const w = d.webhook;
  const parts = [];
  if (secret) {
    parts.push(h('div', { class: 'notice warn me-secret', role: 'status' },
      h('p', {}, h('strong', { text: 'Copy this secret now: it is shown only this once.' }),
        ' Your receiving service needs it to check that each call comes from cmr. If you lose it, set the webhook again for a new one.'),
      h('div', { class: 'row' }, h('code', { class: 'me-secret-text', text: secret }), copyButton(secret, 'Copy the secret'))));
  }
  if (w) {
    const remove = h('button', { type: 'button', text: 'Remove the webhook' });
    const rform = h('div', {}, formError(), h('div', { class: 'row' }, remove));
    remove.addEventListener('click', () => busy(remove, rform, async () => {
      const r = await withPassword({ title: 'Remove the webhook', confirm: 'Remove',
        body: [`cmr will stop calling ${w.url}.`], action: change({ webhook: null }) });
      if (r) { toast('The webhook is removed.'); ctx.reload(); }
    }));
    parts.push(h('dl', { class: 'facts' }, h('dt', { text: 'Calling' }), h('dd', { class: 'mono', text: w.url })), rform);
  }
  const url = h('input', { name: 'webhook.url', type: 'url', placeholder: 'https://', autocomplete: 'url' });
  const set = h('button', { type: 'submit', class: w ? '' : 'primary', text: w ? 'Change the webhook' : 'Set the webhook' });
  const form = h('form', { class: 'form me-sub', novalidate: true },
    field(w ? 'Call another address instead' : 'Address to call (https)', url),
    formError(), h('div', { class: 'row' }, set));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    await busy(set, form, async () => {
      const r = await withPassword({ title: 'Set the webhook', confirm: 'Set it',
        action: change({ webhook: { url: url.value.trim() } }) });
      if (r) {
        toast('The webhook is set.');
        show(ctx, r, r.webhook && r.webhook.secret, ctx.main.querySelector('section[aria-labelledby=oa-h]'));
      }
    });
  });
  return h('section', { class: 'card', 'aria-labelledby': 'me-webhook' },
    h('h2', { id: 'me-webhook', text: 'A webhook' }),
    h('p', { text: 'For a push or SMS service of your own: cmr sends each delivered message to an https address, signed with a secret only you and cmr know.' }),
    d.available.webhook || w ? null : h('p', { class: 'notice', text: 'This server calls no webhooks.' }),
    parts, d.available.webhook || w ? form : null);
}

function outboxLine(d) {
  const o = d.outbox || {};
  if (o.failing) {
    return h('p', { class: 'notice warn', role: 'status', text: `${o.failing} item${o.failing === 1 ? ' has' : 's have'} not gone out yet; cmr keeps trying.${o.last_error ? ` The last problem: ${o.last_error}` : ''}` });
  }
  if (o.pending) return h('p', { class: 'notice', role: 'status', text: `${o.pending} item${o.pending === 1 ? ' is' : 's are'} on the way out.` });
  return null;
}

function show(ctx, d, secret, own) {
  fill(ctx.main,
    ...heading('Delivery', 'Your messages always stay in your cmr inbox. Here you choose where else they go.'),
    outboxLine(d), maildirCard(d, ctx), forwardCard(d, ctx), webhookCard(d, ctx, secret), own);
  if (secret) {
    const s = ctx.main.querySelector('.me-secret button');
    if (s) s.focus();
  }
}

export async function render(ctx) {
  const [d, own] = await Promise.all([api.get('/v1/me/delivery'), ownAddressCard(ctx)]);
  if (ctx.stale()) return;
  show(ctx, d, null, own);
}
