// harness.mjs — what the browser tests share: a real `cmr serve` of their
// own (a fresh store in a temporary folder, HTTP and LMTP on loopback),
// Debian's chromium driven by playwright-core, the API spoken directly
// (for the brand's side, and for checks behind the page), screenshots at
// phone and desktop widths, and axe-core's accessibility check.
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const here = path.dirname(fileURLToPath(import.meta.url));
export const CMR_BIN = process.env.CMR_BIN || path.resolve(here, '../../build/src/cmr');
export const SHOTS = process.env.CMR_SHOTS || path.join(here, 'shots');
const CHROMIUM = process.env.CMR_CHROMIUM || '/usr/bin/chromium';
export const PASSWORD = 'correct-horse-battery';
export const WIDTHS = [390, 1280];

function sleep(ms) { return new Promise((r) => setTimeout(r, ms)); }

// A running `cmr serve` on a new store. extra: more serve flags.
export async function startCmr(extra = []) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cmr-browser-'));
  const paths = ['--store', `sqlite:${dir}/cmr.db`, '--keys', `${dir}/keys`];
  const env = { PATH: process.env.PATH, HOME: dir, TZ: 'UTC',
    ...Object.fromEntries(Object.entries(process.env).filter(([k]) => /^(ASAN|UBSAN|TSAN|CMR_NOW)/.test(k))) };
  const init = spawnSync(CMR_BIN, ['init', ...paths], { env, encoding: 'utf8' });
  if (init.status !== 0) throw new Error(`cmr init: ${init.stderr}`);
  const logPath = path.join(dir, 'serve.log');
  const log = fs.openSync(logPath, 'w');
  const proc = spawn(CMR_BIN, ['serve', '--http', '127.0.0.1:0', '--lmtp', '127.0.0.1:0',
    '--trust-envelope', '--open-registration', '--policy', 'off', '--metrics', 'off', ...paths, ...extra],
  { env, cwd: dir, stdio: ['ignore', 'ignore', log] });
  const read = () => fs.readFileSync(logPath, 'utf8');
  let http; let lmtp;
  for (let i = 0; i < 500 && !(http && lmtp); i++) {
    const text = read();
    http = (text.match(/http: listening on (\S+):(\d+)/) || []).slice(1);
    lmtp = (text.match(/lmtp: listening on (\S+):(\d+)/) || []).slice(1);
    if (!http.length) http = undefined;
    if (!lmtp.length) lmtp = undefined;
    if (proc.exitCode !== null) throw new Error(`cmr serve exited: ${text}`);
    await sleep(20);
  }
  if (!http) throw new Error(`cmr serve did not listen: ${read()}`);
  const url = `http://${http[0]}:${http[1]}`;
  for (let i = 0; i < 250; i++) {
    try { if ((await fetch(`${url}/readyz`)).ok) break; } catch { /* not yet */ }
    await sleep(20);
  }
  const cmr = {
    dir, url, lmtp: { host: lmtp[0], port: Number(lmtp[1]) }, log: read,
    // Runs `cmr ARGS --store … --keys …` (an operator's command).
    run(...args) {
      const r = spawnSync(CMR_BIN, [...args, ...paths], { env, encoding: 'utf8' });
      if (r.status !== 0) throw new Error(`cmr ${args.join(' ')}: ${r.stderr}`);
      return r.stdout;
    },
    async stop() {
      if (proc.exitCode === null) {
        proc.kill('SIGTERM');
        await new Promise((r) => proc.once('exit', r));
      }
      const text = read();
      if (/(AddressSanitizer|UndefinedBehaviorSanitizer|ThreadSanitizer|runtime error:)/.test(text)) {
        throw new Error(`cmr serve's log holds a sanitizer report:\n${text}`);
      }
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
  return cmr;
}

// The API as one caller: a person's token or a brand's key.
export function client(url, credential) {
  async function call(method, p, body, expect) {
    const headers = { Accept: 'application/json' };
    if (credential) headers.Authorization = `Bearer ${credential}`;
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    const res = await fetch(url + p, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    const text = await res.text();
    const data = text ? JSON.parse(text) : null;
    if (expect !== undefined ? res.status !== expect : !res.ok) {
      throw new Error(`${method} ${p}: ${res.status} ${text}`);
    }
    return data;
  }
  return {
    get: (p, expect) => call('GET', p, undefined, expect),
    post: (p, body = {}, expect) => call('POST', p, body, expect),
    put: (p, body, expect) => call('PUT', p, body, expect),
    patch: (p, body, expect) => call('PATCH', p, body, expect),
    del: (p, expect) => call('DELETE', p, undefined, expect),
  };
}

// A new person (sign-up through the API) and their token's client.
export async function person(cmr, handle, password = PASSWORD) {
  const anyone = client(cmr.url);
  await anyone.post('/v1/persons', { handle, password }, 201);
  const { token } = await anyone.post('/v1/tokens', { handle, password }, 201);
  return { handle, password, api: client(cmr.url, token) };
}

// A brand added by the operator, with its API key's client.
export function brand(cmr, name, domain) {
  const out = JSON.parse(cmr.run('brand', 'add', name, '--domain', domain, '--json'));
  const key = out.api_key || out.key;
  if (!key) throw new Error(`brand add gave no key: ${JSON.stringify(out)}`);
  return { ...out, name, domain, api: client(cmr.url, key) };
}

export const ASK = {
  value: '10% off every order', fields: ['name', 'email'],
  channels: ['email'], topics: ['orders', 'offers'],
};

// A pending proposal from b to p: its id.
export async function propose(p, b, ask = ASK) {
  const { code } = await p.api.post('/v1/me/connect-codes', {}, 201);
  const prp = await b.api.post('/v1/proposals', { ...ask, connect_code: code }, 201);
  return prp.id;
}

// A relationship: proposed and accepted with grant. Returns the accept's reply.
export async function connect(p, b, ask = ASK,
  grant = { channels: { email: { allowed: true } }, fields: ['name', 'email'] }) {
  const id = await propose(p, b, ask);
  return p.api.post(`/v1/me/proposals/${id}/accept`, grant, 201);
}

// One message over LMTP (RFC 2033) to rcpt; resolves every reply line
// (the last but one answers the message).
export function lmtpSend(cmr, from, rcpt, message) {
  return new Promise((resolve, reject) => {
    const s = net.connect(cmr.lmtp.port, cmr.lmtp.host);
    const steps = [`LHLO test.example`, `MAIL FROM:<${from}>`, `RCPT TO:<${rcpt}>`, 'DATA',
      message.replace(/\r?\n/g, '\r\n').replace(/^\./gm, '..') + '\r\n.', 'QUIT'];
    let buf = ''; let i = 0; const replies = [];
    s.setEncoding('utf8');
    s.on('data', (d) => {
      buf += d;
      for (;;) {
        const m = buf.match(/^(\d{3})([ -])(.*)\r\n/);
        if (!m) break;
        buf = buf.slice(m[0].length);
        if (m[2] === '-') continue;
        replies.push(m[0].trim());
        if (i < steps.length) s.write(steps[i++] + '\r\n');
      }
    });
    s.on('error', reject);
    s.on('close', () => resolve(replies));
  });
}

// Debian's chromium, headless, asking nothing of the network.
export async function browser() {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync',
      '--disable-default-apps', '--disable-extensions', '--mute-audio'],
  });
}

// A page in a new context (its own cookies) at the phone width.
export async function page(b, width = WIDTHS[0]) {
  const context = await b.newContext({ viewport: { width, height: width < 800 ? 844 : 800 },
    locale: 'en-GB', timezoneId: 'UTC', acceptDownloads: true });
  const p = await context.newPage();
  p.errors = [];
  p.on('pageerror', (e) => p.errors.push(String(e)));
  p.on('console', (m) => { if (m.type() === 'error') p.errors.push(m.text()); });
  return p;
}

// Logs in through the page.
export async function login(p, cmr, who) {
  await p.goto(`${cmr.url}/#/login`);
  await p.getByLabel('Handle').fill(who.handle);
  await p.getByLabel('Password', { exact: true }).fill(who.password);
  await p.getByRole('button', { name: 'Log in' }).click();
  await p.locator('#top:not([hidden])').waitFor();
}

// Screenshots of the page as it is, at each width (full page), as
// shots/NAME-390.png and shots/NAME-1280.png; then back to the first.
export async function shots(p, name) {
  fs.mkdirSync(SHOTS, { recursive: true });
  const size = p.viewportSize();
  for (const w of WIDTHS) {
    await p.setViewportSize({ width: w, height: w < 800 ? 844 : 800 });
    await p.waitForTimeout(250); // let frames repaint at the new width
    await p.screenshot({ path: path.join(SHOTS, `${name}-${w}.png`), fullPage: true });
  }
  await p.setViewportSize(size);
}

const AXE = fs.readFileSync(path.join(here, 'node_modules/axe-core/axe.min.js'), 'utf8');

// axe-core on the page at each width: the serious and critical
// violations (an empty list is a pass), as "rule: target" lines.
export async function axe(p) {
  const size = p.viewportSize();
  const out = [];
  for (const w of WIDTHS) {
    await p.setViewportSize({ width: w, height: w < 800 ? 844 : 800 });
    // Through the DevTools protocol, not a <script>: the page's CSP allows
    // no inline script, and stays on.
    await p.evaluate(`${AXE}\n;0`);
    const found = await p.evaluate(async () => {
      // eslint-disable-next-line no-undef
      const r = await axe.run(document, { resultTypes: ['violations'] });
      return r.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical')
        .map((v) => `${v.id} (${v.impact}): ${v.nodes.map((n) => n.target.join(' ')).slice(0, 3).join(', ')}`);
    });
    out.push(...found.map((f) => `${w}px ${f}`));
  }
  await p.setViewportSize(size);
  return out;
}
