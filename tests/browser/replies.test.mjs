// Replying through the alias from the web app: the box under a message,
// the reply queued, sent through the smarthost (an SMTP sink of the
// test's own) from the alias, with neither the person's address nor name,
// and shown under its message.
import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, test } from 'node:test';
import {
  axe, brand, browser, connect, lmtpSend, login, page, person, shots, startCmr,
} from './harness.mjs';

// A minimal SMTP server (RFC 5321) that takes every message.
function smtpSink() {
  const mails = [];
  const server = net.createServer((s) => {
    let buf = ''; let data = null; let from = ''; let rcpts = [];
    s.setEncoding('utf8');
    s.write('220 sink ESMTP\r\n');
    s.on('data', (d) => {
      buf += d;
      for (;;) {
        if (data !== null) {
          const end = buf.indexOf('\r\n.\r\n');
          if (end < 0) return;
          data += buf.slice(0, end);
          buf = buf.slice(end + 5);
          mails.push({ from, rcpts, data });
          data = null; rcpts = [];
          s.write('250 ok\r\n');
          continue;
        }
        const nl = buf.indexOf('\r\n');
        if (nl < 0) return;
        const line = buf.slice(0, nl); buf = buf.slice(nl + 2);
        const verb = line.slice(0, 4).toUpperCase();
        if (verb === 'EHLO' || verb === 'HELO') s.write('250 sink\r\n');
        else if (verb === 'MAIL') { from = (line.match(/<(.*)>/) || [])[1]; s.write('250 ok\r\n'); }
        else if (verb === 'RCPT') { rcpts.push((line.match(/<(.*)>/) || [])[1]); s.write('250 ok\r\n'); }
        else if (verb === 'DATA') { data = ''; s.write('354 go\r\n'); }
        else if (verb === 'QUIT') { s.end('221 bye\r\n'); return; }
        else s.write('250 ok\r\n');
      }
    });
  });
  return new Promise((r) => server.listen(0, '127.0.0.1', () => r({ server, mails, port: server.address().port })));
}

let cmr; let b; let sink;
before(async () => {
  sink = await smtpSink();
  cmr = await startCmr(['--smarthost', `127.0.0.1:${sink.port}`]);
  b = await browser();
});
after(async () => { await b?.close(); await cmr?.stop(); sink?.server.close(); });

test('a reply from the message page leaves from the alias, and shows under it', async () => {
  const ana = await person(cmr, 'ana');
  await ana.api.put('/v1/me/profile', { name: 'Ana Lima', email: 'ana@home.example' });
  const acme = brand(cmr, 'Acme Outdoor', 'acme.example');
  const rel = await connect(ana, acme);
  const r = await lmtpSend(cmr, 'orders@acme.example', rel.alias,
    'From: Acme Outdoor <orders@acme.example>\nReply-To: care@acme.example\n'
    + 'Subject: Your order has shipped\nMessage-ID: <o1@acme.example>\nCMR-Topic: orders\n\n'
    + 'Your parcel left our warehouse today.\n');
  assert.match(r[r.length - 2], /^250/);
  const [msg] = (await ana.api.get('/v1/me/messages?folder=inbox')).items;

  const p = await page(b);
  await login(p, cmr, ana);
  await p.goto(`${cmr.url}/#/m/${msg.id}`);
  await p.getByRole('heading', { name: 'Your order has shipped' }).waitFor();
  const box = p.getByLabel('Reply to Acme Outdoor');
  await p.getByRole('button', { name: 'Send reply' }).click();
  await p.getByText('Write something first.').waitFor();
  await box.fill('Thank you! I am Ana Lima (ana@home.example); where is it now?');
  await p.getByRole('button', { name: 'Send reply' }).click();
  await p.getByRole('heading', { name: 'Your replies' }).waitFor();
  await p.getByText('where is it now?').waitFor();
  for (let i = 0; i < 100 && sink.mails.length === 0; i++) await new Promise((res) => setTimeout(res, 50));
  assert.equal(sink.mails.length, 1);
  await p.reload();
  await p.getByText('Sent', { exact: true }).waitFor();
  assert.deepEqual(await axe(p), []);
  await shots(p, 'reply');
  await p.close();
  const [{ from, rcpts, data }] = sink.mails;
  assert.equal(from, rel.alias);
  assert.deepEqual(rcpts, ['care@acme.example']);
  assert.match(data, /where is it now\?/);
  assert.doesNotMatch(data.toLowerCase(), /home\.example|ana lima|\bana\b/);
});
