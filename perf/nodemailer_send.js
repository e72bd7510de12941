#!/usr/bin/env node
// perf/nodemailer_send.js — the "what a team would otherwise script" peer of the capacity report:
// nodemailer's pooled SMTP transport sending the same personalized campaign as salvo (HTML with
// tracked links rewritten per recipient, a text part, List-Unsubscribe), over the same number of
// connections, to the same sink. Prints one JSON line: sent, failed, elapsed_s, msgs_per_s and the
// per-message transaction latency p50/p99 (ms).
//   node perf/nodemailer_send.js --host 127.0.0.1 --port 2525 --connections 20 \
//     --recipients recipients.csv --html campaign.html [--count N] [--subject S] \
//     [--dkim-key key.pem --dkim-domain d --dkim-selector s]
'use strict';
const fs = require('fs');
const crypto = require('crypto');
const nodemailer = require('nodemailer');

function args() {
  const a = { host: '127.0.0.1', port: 2525, connections: 20, count: 0, subject: 'Hello {{first_name}}',
              from: 'News <news@bench.test>', secret: 'bench-secret', trackBase: 'https://t.bench.test' };
  const v = process.argv.slice(2);
  for (let i = 0; i < v.length; i += 2) {
    const k = v[i].replace(/^--/, '').replace(/-([a-z])/g, (_, c) => c.toUpperCase());
    if (!(k in a) && !['recipients', 'html', 'dkimKey', 'dkimDomain', 'dkimSelector'].includes(k)) {
      console.error(`unknown option ${v[i]}`);
      process.exit(2);
    }
    a[k] = v[i + 1];
  }
  a.port = Number(a.port);
  a.connections = Number(a.connections);
  a.count = Number(a.count);
  return a;
}

// email and first_name columns of a simple (unquoted) CSV with a header row.
function readRecipients(path, limit) {
  const lines = fs.readFileSync(path, 'utf8').split(/\r?\n/);
  const head = lines[0].split(',');
  const ei = head.indexOf('email');
  const fi = head.indexOf('first_name');
  const out = [];
  for (let i = 1; i < lines.length && (!limit || out.length < limit); i++) {
    if (!lines[i]) continue;
    const c = lines[i].split(',');
    out.push({ email: c[ei], first_name: fi >= 0 ? c[fi] : '' });
  }
  return out;
}

function token(secret, ...parts) {
  return crypto.createHmac('sha256', secret).update(parts.join('\0')).digest('base64url').slice(0, 22);
}

function escapeHtml(s) {
  return String(s).replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' }[c]));
}

// Personalizes the HTML for one recipient: {{field}} substitution and every href rewritten to a
// signed tracking URL; returns html, text and the unsubscribe URL.
function personalize(a, tpl, r) {
  let n = 0;
  const html = tpl
    .replace(/\{\{\s*first_name(\|[^}]*)?\s*\}\}/g, () => escapeHtml(r.first_name || 'there'))
    .replace(/href="([^"]*)"/g, (_, url) => {
      const i = n++;
      return `href="${a.trackBase}/c/${token(a.secret, r.email, i, url)}/${i}"`;
    });
  const text = html.replace(/<style[\s\S]*?<\/style>/g, '').replace(/<[^>]+>/g, '').replace(/\n{3,}/g, '\n\n');
  const unsub = `${a.trackBase}/u/${token(a.secret, r.email, 'unsubscribe')}`;
  return { html, text, unsub };
}

async function main() {
  const a = args();
  const tpl = fs.readFileSync(a.html, 'utf8');
  const recipients = readRecipients(a.recipients, a.count);
  const transportOpts = {
    pool: true, host: a.host, port: a.port, secure: false, ignoreTLS: true,
    maxConnections: a.connections, maxMessages: Infinity,
  };
  if (a.dkimKey) {
    transportOpts.dkim = { domainName: a.dkimDomain, keySelector: a.dkimSelector,
                           privateKey: fs.readFileSync(a.dkimKey, 'utf8') };
  }
  const transport = nodemailer.createTransport(transportOpts);
  const latencies = new Float64Array(recipients.length);
  let next = 0, sent = 0, failed = 0;
  const t0 = process.hrtime.bigint();
  // As many senders as connections, each waiting for its message: latency = one transaction.
  async function lane() {
    while (next < recipients.length) {
      const idx = next++;
      const r = recipients[idx];
      const p = personalize(a, tpl, r);
      const start = process.hrtime.bigint();
      try {
        await transport.sendMail({
          from: a.from, to: r.email,
          subject: a.subject.replace(/\{\{\s*first_name(\|[^}]*)?\s*\}\}/g, r.first_name || 'there'),
          html: p.html, text: p.text,
          list: { unsubscribe: { url: p.unsub, comment: 'Unsubscribe' } },
          headers: { 'List-Unsubscribe-Post': 'List-Unsubscribe=One-Click' },
        });
        sent++;
      } catch (e) {
        failed++;
        if (failed <= 3) console.error(`send to ${r.email} failed: ${e.message}`);
      }
      latencies[idx] = Number(process.hrtime.bigint() - start) / 1e6;
    }
  }
  await Promise.all(Array.from({ length: a.connections }, lane));
  const elapsed = Number(process.hrtime.bigint() - t0) / 1e9;
  transport.close();
  const sorted = Array.from(latencies).sort((x, y) => x - y);
  const q = (f) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(f * sorted.length))] : 0);
  console.log(JSON.stringify({ sent, failed, elapsed_s: elapsed, msgs_per_s: sent / elapsed,
                               latency_p50_ms: q(0.5), latency_p99_ms: q(0.99),
                               nodemailer_version: require('nodemailer/package.json').version }));
}

main().catch((e) => { console.error(e); process.exit(1); });
