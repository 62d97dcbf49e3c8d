// page-inbox.js — the person's mail: folders with unread counts, a
// folder's messages (#/inbox, #/inbox/FOLDER), one message (#/m/ID) with
// its text, headers and attachments, read/unread, move, delete, and
// emptying a folder. Mail with an HTML part can also be shown as the
// brand designed it, in a sandboxed frame of the sanitized HTML (remote
// content blocked); the text is shown first: it is what the person can
// read at once, at any width, with any screen reader, and nothing of the
// brand's design stands between them and the words.
//
// The API has no list of folders: they are those of the person's
// delivered messages, those named in their relationships' terms (folder,
// topic_folders), Inbox and Later.
import { all, api } from './api.js';
import {
  CHANNELS, busy, confirmDialog, field, fill, formError, h, heading,
  label, relative, showErrors, toast, when,
} from './ui.js';
import { reasonText } from './page-attempts.js';

const BUILTIN = { inbox: 'Inbox', later: 'Later' };

function folderName(f) { return BUILTIN[String(f).toLowerCase()] || f; }
function folderKey(f) { return String(f).toLowerCase(); }
function folderHref(f) {
  return folderKey(f) === 'inbox' ? '#/inbox' : `#/inbox/${encodeURIComponent(f)}`;
}
const path = (id) => `/v1/me/messages/${encodeURIComponent(id)}`;

// Every folder the person has, [{name, total, unread}], Inbox and Later
// first, then theirs by name.
async function folders() {
  const [delivered, rels] = await Promise.all([
    all('/v1/me/messages?decision=deliver&limit=200', 5000),
    all('/v1/me/relationships?limit=200', 1000).catch(() => []),
  ]);
  const map = new Map();
  const add = (f) => {
    if (!f) return null;
    const k = folderKey(f);
    if (!map.has(k)) map.set(k, { name: BUILTIN[k] ? k : f, total: 0, unread: 0 });
    return map.get(k);
  };
  add('inbox');
  add('later');
  for (const r of rels) {
    const t = r.terms || {};
    add(t.folder);
    for (const f of Object.values(t.topic_folders || {})) add(f);
  }
  for (const m of delivered) {
    const f = add(m.folder);
    if (!f) continue;
    f.total += 1;
    if (!m.read) f.unread += 1;
  }
  const own = [...map.values()].filter((f) => !BUILTIN[folderKey(f.name)])
    .sort((a, b) => a.name.localeCompare(b.name));
  return [map.get('inbox'), map.get('later'), ...own];
}

function folderNav(list, current) {
  return h('nav', { class: 'ib-folders', 'aria-label': 'Folders' },
    h('ul', {}, list.map((f) => h('li', {},
      h('a', { href: folderHref(f.name), 'aria-current': folderKey(f.name) === folderKey(current) ? 'page' : null },
        h('span', { class: 'ib-fname', text: folderName(f.name) }),
        f.unread ? h('span', { class: 'ib-count' }, String(f.unread),
          h('span', { class: 'ib-sr', text: ' unread' })) : null)))));
}

function messageItem(m) {
  return h('li', { class: m.read ? 'ib-msg' : 'ib-msg unread' },
    h('a', { class: 'item-link', href: `#/m/${encodeURIComponent(m.id)}` },
      h('div', { class: 'ib-line' },
        h('span', { class: 'ib-from' },
          m.read ? null : h('span', { class: 'ib-dot', 'aria-hidden': 'true' }),
          m.read ? null : h('span', { class: 'ib-sr', text: 'Unread: ' }),
          (m.brand && m.brand.name) || 'Unknown sender'),
        h('time', { class: 'ib-time', datetime: m.received_at || '', title: when(m.received_at), text: relative(m.received_at) })),
      h('span', { class: 'title', text: m.subject || '(no subject)' }),
      m.channel !== 'email' ? h('span', { class: 'badge muted', text: label(CHANNELS, m.channel) }) : null));
}

async function renderFolder(ctx) {
  const current = ctx.params[0] || 'inbox';
  const main = ctx.main;
  const wrap = h('div', { class: 'loading', text: 'Loading…' });
  fill(main, heading(folderName(current)), wrap);
  const q = `folder=${encodeURIComponent(current)}&limit=50`;
  let page;
  let list;
  try {
    [list, page] = await Promise.all([folders(), api.get(`/v1/me/messages?${q}`)]);
  } catch (err) {
    if (err.status === 404) {
      fill(wrap, h('p', { class: 'notice warn', text: `You have no folder called “${current}”.` }),
        h('p', {}, h('a', { href: '#/inbox', text: 'Go to your inbox' })));
      wrap.className = '';
      return;
    }
    throw err;
  }
  if (ctx.stale()) return;
  const here = list.find((f) => folderKey(f.name) === folderKey(current)) ||
    { name: current, total: page.items.length, unread: 0 };
  document.title = `${folderName(here.name)}${here.unread ? ` (${here.unread})` : ''} · cmr`;
  const items = h('ul', { class: 'items ib-list' }, page.items.map(messageItem));
  const more = h('button', { type: 'button', text: 'Show older messages', hidden: !page.next });
  let next = page.next;
  more.addEventListener('click', () => busy(more, null, async () => {
    const p = await api.get(`/v1/me/messages?${q}&after=${encodeURIComponent(next)}`);
    const added = p.items.map(messageItem);
    items.append(...added);
    next = p.next;
    more.hidden = !next;
    if (added.length) added[0].querySelector('a').focus();
  }));
  const empty = h('button', { type: 'button', text: `Empty ${folderName(here.name)}`, class: 'ib-empty-btn' });
  empty.addEventListener('click', async () => {
    const n = here.total;
    const ok = await confirmDialog({
      title: `Empty ${folderName(here.name)}?`,
      body: [`This deletes ${n === 1 ? 'the one message' : `all ${n} messages`} in ${folderName(here.name)} for good. It cannot be undone. The brands are not told.`],
      confirm: `Delete ${n === 1 ? '1 message' : `${n} messages`}`, danger: true,
    });
    if (!ok) { empty.focus(); return; }
    await busy(empty, null, async () => {
      const r = await api.post(`/v1/me/folders/${encodeURIComponent(here.name)}/empty`);
      toast(r.deleted === 1 ? 'Deleted 1 message.' : `Deleted ${r.deleted} messages.`);
      ctx.reload();
    });
  });
  const lead = here.total
    ? `${here.total === 1 ? '1 message' : `${here.total} messages`}${here.unread ? `, ${here.unread} unread` : ''}.`
    : '';
  fill(wrap, h('div', { class: 'ib-layout' },
    folderNav(list, current),
    h('section', { class: 'ib-pane', 'aria-label': `Messages in ${folderName(here.name)}` },
      h('div', { class: 'spread ib-head' },
        h('p', { class: 'muted ib-lead', text: lead }),
        here.total ? empty : null),
      folderKey(current) === 'later' ? h('p', { class: 'small muted' },
        'Later holds what you filed away and what muted brands send. It is emptied after the number of days you chose in ',
        h('a', { href: '#/terms', text: 'your terms' }), '.') : null,
      page.items.length ? [items, h('div', { class: 'row ib-more' }, more)]
        : h('p', { class: 'empty', text: folderKey(current) === 'inbox'
          ? 'Your inbox is empty. Messages from brands you accepted land here, filed by your terms.'
          : `Nothing in ${folderName(here.name)}. Messages land here by your terms, or when you move them here.` }))));
  wrap.className = '';
}

function size(n) {
  if (n < 1024) return `${n} bytes`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(n < 10240 ? 1 : 0)} KB`;
  return `${(n / 1048576).toFixed(1)} MB`;
}

// The HTML part, sanitized by the server (GET /v1/me/messages/{id}/html),
// and how many remote resources the sanitizer dropped.
function htmlPart(m) {
  if (!m.html_href || !m.html_href.startsWith('/v1/me/messages/')) return null;
  return { href: m.html_href, blocked: Number.isInteger(m.remote_blocked) ? m.remote_blocked : 0 };
}

function moveForm(ctx, m, list, back) {
  const others = list.filter((f) => folderKey(f.name) !== folderKey(m.folder || ''));
  const select = h('select', { name: 'target', id: `mv-${m.id}` },
    others.map((f) => h('option', { value: f.name, text: folderName(f.name) })),
    h('option', { value: '', text: 'A new folder…' }));
  const fresh = h('input', { name: 'folder', maxlength: 64, autocomplete: 'off' });
  const freshField = field('New folder’s name', fresh, 'Letters, digits, spaces, - and _; up to 64.');
  freshField.hidden = others.length > 0;
  if (!others.length) select.value = '';
  select.addEventListener('change', () => { freshField.hidden = select.value !== ''; if (!freshField.hidden) fresh.focus(); });
  const submit = h('button', { type: 'submit', text: 'Move' });
  const form = h('form', { class: 'ib-move', novalidate: true },
    h('div', { class: 'field', 'data-field': 'target' }, h('label', { for: select.id, text: 'Move to' }),
      h('div', { class: 'row ib-move-row' }, select, submit)),
    freshField, formError());
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    busy(submit, form, async () => {
      const target = select.value || fresh.value.trim();
      if (!/^[A-Za-z0-9 _-]{1,64}$/.test(target)) {
        showErrors(form, { errors: [{ field: 'folder', detail: 'Give the folder a name of letters, digits, spaces, - or _.' }] });
        return;
      }
      const r = await api.patch(path(m.id), { folder: target });
      toast(`Moved to ${folderName(r.folder || target)}.`);
      ctx.go(back);
    });
  });
  return form;
}

function facts(m) {
  const hd = m.headers || {};
  const rows = [
    ['From', hd.from || (m.brand && m.brand.name) || '—'],
    ['To', hd.to],
    ['Cc', hd.cc],
    ['Reply to', hd.reply_to],
    ['Date', when(hd.date || m.received_at)],
    ['Topic', m.topic],
    ['Channel', m.channel !== 'email' ? label(CHANNELS, m.channel) : null],
    ['Folder', m.folder ? folderName(m.folder) : null],
  ].filter(([, v]) => v);
  return h('dl', { class: 'facts ib-facts' }, rows.map(([k, v]) => [h('dt', { text: k }), h('dd', { text: v })]));
}

async function renderMessage(ctx) {
  const id = ctx.params[0];
  const main = ctx.main;
  let m;
  try {
    m = await api.get(path(id));
  } catch (err) {
    if (err.status !== 404) throw err;
    fill(main, heading('Message not found'),
      h('p', { text: 'It may have been deleted, or its folder emptied.' }),
      h('p', {}, h('a', { href: '#/inbox', text: 'Go to your inbox' })));
    return;
  }
  if (ctx.stale()) return;
  const delivered = m.decision === 'deliver';
  const back = delivered && m.folder ? folderHref(m.folder) : '#/attempts';
  if (delivered && !m.read) {
    try { await api.patch(path(id), { read: true }); m.read = true; } catch { /* stays unread */ }
  }
  const [list, html] = await Promise.all([delivered ? folders() : [], htmlPart(m)]);
  if (ctx.stale()) return;
  const brand = (m.brand && m.brand.name) || 'the sender';

  const readBtn = h('button', { type: 'button' });
  const setReadText = () => { readBtn.textContent = m.read ? 'Mark as unread' : 'Mark as read'; };
  setReadText();
  readBtn.addEventListener('click', () => busy(readBtn, null, async () => {
    const r = await api.patch(path(id), { read: !m.read });
    m.read = r.read !== undefined ? r.read : !m.read;
    setReadText();
    toast(m.read ? 'Marked as read.' : 'Marked as unread.');
  }));
  const delBtn = h('button', { type: 'button', class: 'danger', text: 'Delete' });
  delBtn.addEventListener('click', async () => {
    const ok = await confirmDialog({
      title: 'Delete this message?',
      body: [`“${m.subject || '(no subject)'}” from ${brand} is deleted for good. It cannot be undone.`],
      confirm: 'Delete', danger: true,
    });
    if (!ok) { delBtn.focus(); return; }
    await busy(delBtn, null, async () => {
      await api.del(path(id));
      toast('Deleted.');
      ctx.go(back);
    });
  });

  // The body: the text, or the HTML in its sandboxed frame.
  const body = h('div', { class: 'ib-body' });
  const showText = () => fill(body, m.text === null || m.text === undefined
    ? h('p', { class: 'muted', text: 'Its content was not kept.' })
    : h('div', { class: 'ib-text', text: m.text || '(This message has no text.)' }));
  let toggle = null;
  if (html) {
    const textBtn = h('button', { type: 'button', 'aria-pressed': 'true', text: 'Text' });
    const designBtn = h('button', { type: 'button', 'aria-pressed': 'false', text: 'Show as the brand designed it' });
    const blocked = html.blocked > 0 ? h('p', { class: 'notice ok ib-blocked', role: 'status', hidden: true,
      text: `${html.blocked} remote ${html.blocked === 1 ? 'image or resource was' : 'images and resources were'} blocked, so the sender cannot tell you opened this.` }) : null;
    const TEXT_HINT = 'You are reading its text. The designed version is cleaned first: no scripts, no forms, and nothing loaded from elsewhere.';
    const hint = h('p', { class: 'small muted', text: TEXT_HINT });
    const pick = (design) => {
      hint.textContent = design ? `You are seeing it as ${brand} designed it, cleaned: no scripts, no forms, and nothing loaded from elsewhere.` : TEXT_HINT;
      textBtn.setAttribute('aria-pressed', String(!design));
      designBtn.setAttribute('aria-pressed', String(design));
      if (blocked) blocked.hidden = !design;
      if (!design) { showText(); return; }
      fill(body, h('iframe', {
        class: 'ib-frame', src: html.href, sandbox: 'allow-popups allow-popups-to-escape-sandbox',
        referrerpolicy: 'no-referrer', title: `The message as ${brand} designed it`,
      }));
    };
    textBtn.addEventListener('click', () => pick(false));
    designBtn.addEventListener('click', () => pick(true));
    toggle = [h('div', { class: 'row ib-toggle', role: 'group', 'aria-label': 'How to show this message' }, textBtn, designBtn),
      hint, blocked];
  }
  showText();

  const att = m.attachments || [];
  fill(main,
    h('p', { class: 'ib-back' }, h('a', { href: back, text: delivered && m.folder ? `Back to ${folderName(m.folder)}` : 'Back to refused and held' })),
    heading(m.subject || '(no subject)'),
    !delivered ? h('p', { class: `notice ${m.reason === 'sender_not_brand' ? 'danger' : 'warn'}` },
      h('strong', { text: m.decision === 'hold' ? 'Held. ' : 'Refused. ' }), reasonText(m),
      m.decision === 'hold' && m.deliver_at ? ` It will be decided again ${when(m.deliver_at)}.` : '') : null,
    !m.sender_verified && m.reason !== 'sender_not_brand' ? h('p', { class: 'notice warn',
      text: `cmr could not verify that this came from ${brand}: the mail server did not prove who sent it.` }) : null,
    h('div', { class: 'card ib-message' },
      facts(m),
      delivered ? h('div', { class: 'row ib-actions' }, readBtn, delBtn) : null,
      delivered ? moveForm(ctx, m, list, back) : null),
    toggle,
    body,
    att.length ? h('section', { class: 'card ib-att', 'aria-labelledby': 'ib-att-h' },
      h('h2', { id: 'ib-att-h', text: att.length === 1 ? 'Attachment' : `Attachments (${att.length})` }),
      h('ul', {}, att.map((a) => h('li', {}, h('span', { class: 'title', text: a.name || 'unnamed' }),
        h('span', { class: 'muted small', text: ` · ${a.content_type} · ${size(a.size)}` })))),
      m.attachments_not_listed ? h('p', { class: 'muted small', text: `And ${m.attachments_not_listed} more.` }) : null) : null,
    delivered && m.relationship ? replySection(ctx, m, brand) : null);
}

const REPLY_STATES = {
  queued: 'Waiting to be sent', sent: 'Sent', failed: 'Could not be sent',
};

// The person's replies to this message, and a box to write one. A reply
// leaves from the alias: the brand never sees the person's address or
// name (the server removes them, even from what the person typed).
function replySection(ctx, m, brand) {
  const replies = (m.replies || []).map((r) => h('li', { class: 'ib-reply-item' },
    h('p', { class: 'small muted' },
      `You replied ${relative(r.created_at)}${r.via === 'mail' ? ' from your mailbox' : ''} · `,
      h('span', { class: `badge ${r.state === 'sent' ? 'ok' : r.state === 'failed' ? 'danger' : 'muted'}`,
        text: REPLY_STATES[r.state] || r.state })),
    r.text ? h('div', { class: 'ib-text', text: r.text }) : null));
  const text = h('textarea', { name: 'body', rows: 6, required: true, maxlength: 65536 });
  const send = h('button', { type: 'submit', class: 'primary', text: 'Send reply' });
  const err = formError();
  const form = h('form', { class: 'ib-reply-form', novalidate: true },
    field(`Reply to ${brand}`, text,
      `It goes out from your alias for ${brand}. Your own address and name are removed before it leaves.`),
    err, h('div', { class: 'row' }, send));
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    if (!text.value.trim()) {
      showErrors(form, { errors: [{ field: 'body', detail: 'Write something first.' }] });
      text.focus();
      return;
    }
    busy(send, form, async () => {
      await api.post(`${path(m.id)}/reply`, { body: text.value });
      toast('Your reply is on its way.');
      ctx.reload();
    });
  });
  return h('section', { class: 'card ib-reply', 'aria-labelledby': 'ib-reply-h' },
    h('h2', { id: 'ib-reply-h', text: replies.length ? 'Your replies' : 'Reply' }),
    replies.length ? h('ul', { class: 'ib-replies' }, replies) : null,
    form);
}

export async function render(ctx) {
  if (ctx.opts.message) return renderMessage(ctx);
  return renderFolder(ctx);
}
