// page-code.js — a connect code to hand a brand (#/code): made on arrival
// (POST /v1/me/connect-codes), shown large in spaced groups, with a
// countdown to its expiry and, when the server sends one (qr_svg), its QR
// code as an image (a data: URL, never inserted as markup).
import { api } from './api.js';
import { busy, copyText, fill, formError, h, heading } from './ui.js';

function left(ms) {
  const s = Math.max(0, Math.ceil(ms / 1000));
  const m = Math.floor(s / 60);
  const r = s % 60;
  if (m && r) return `${m} minute${m === 1 ? '' : 's'} ${r} second${r === 1 ? '' : 's'}`;
  if (m) return `${m} minute${m === 1 ? '' : 's'}`;
  return `${r} second${r === 1 ? '' : 's'}`;
}

const clock = new Intl.DateTimeFormat(undefined, { timeStyle: 'short' });

export async function render(ctx) {
  ctx.main.append(...heading('Connect code',
    'Give this code to a brand: read it out or show it. It works once. The brand then sends you a proposal, and you choose what it gets.'));
  const box = h('section', { class: 'card code-card', 'aria-label': 'Your connect code' });
  const err = formError();
  const again = h('button', { type: 'button', class: 'primary', text: 'Make a new code' });
  ctx.main.append(box, err,
    h('p', { class: 'muted small' }, 'Proposals show up under ', h('a', { href: '#/proposals', text: 'Proposals' }), ' as soon as the brand sends one.'));
  let timer = null;

  const show = (c) => {
    clearInterval(timer);
    const groups = String(c.code).split('-');
    const expires = new Date(c.expires_at).getTime();
    const count = h('p', { class: 'countdown', role: 'timer', 'aria-live': 'off' });
    const qr = c.qr_svg
      ? h('figure', { class: 'qr-box' }, h('img', { class: 'qr', src: `data:image/svg+xml;charset=utf-8,${encodeURIComponent(c.qr_svg)}`,
        alt: `QR code of the connect code ${groups.join(' ')}`, width: 220, height: 220 }),
      h('figcaption', { class: 'muted small', text: 'Or let the brand scan this.' }))
      : null;
    const copy = h('button', { type: 'button', text: 'Copy code' });
    copy.addEventListener('click', () => copyText(c.code, codeEl, 'The code is copied.'));
    const codeEl = h('p', { class: 'code', 'aria-label': `Code: ${groups.map((g) => g.split('').join(' ')).join(', ')}` },
      groups.map((g) => h('span', { class: 'group', text: g })));
    fill(box, h('div', { class: 'code-wrap' },
      h('div', {}, codeEl, count, h('div', { class: 'row' }, copy, again)), qr));
    const tick = () => {
      if (ctx.stale()) { clearInterval(timer); return; }
      const ms = expires - Date.now();
      if (ms <= 0) {
        clearInterval(timer);
        count.textContent = `This code expired at ${clock.format(new Date(expires))}. Make a new one to connect.`;
        count.classList.add('expired');
        codeEl.classList.add('expired');
        if (qr) qr.hidden = true;
        copy.hidden = true;
        return;
      }
      count.textContent = `Expires in ${left(ms)} (at ${clock.format(new Date(expires))}).`;
    };
    tick();
    timer = setInterval(tick, 1000);
  };

  const make = () => busy(again, null, async () => {
    err.textContent = '';
    try {
      show(await api.post('/v1/me/connect-codes', {}));
    } catch (e) {
      err.textContent = e.message;
      fill(box, h('p', { text: 'No code could be made just now.' }), again);
    }
  });
  again.addEventListener('click', async () => { await make(); again.focus(); });
  await make();
}
