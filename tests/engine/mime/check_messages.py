#!/usr/bin/python3
"""Independent checks of rendered messages (run with Debian's /usr/bin/python3).

Usage: check_messages.py DIR
DIR holds *.eml files and check.json:
  {"base_url": "...", "allowed": [urls that may stay unrewritten],
   "dns": {"sel._domainkey.dom": "v=DKIM1; ..."}, "signatures": N}
Every message must parse with email's default policy without defects, have CRLF-only lines of at
most 998 octets, carry exactly N DKIM signatures that dkimpy verifies, and its decoded text and
HTML may link only to base_url (plus the allowed URLs, mailto: and tel:). Prints one line per
failure and exits 1 when any message fails.
"""
import email
import email.policy
import html.parser
import json
import os
import re
import sys

import dkim


class Links(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.urls = []

    def handle_starttag(self, tag, attrs):
        for k, v in attrs:
            if k in ("href", "src") and v is not None:
                self.urls.append(v.strip())


def main():
    d = sys.argv[1]
    cfg = json.load(open(os.path.join(d, "check.json")))
    base = cfg["base_url"]
    allowed = set(cfg.get("allowed", []))
    dns = {k.lower().rstrip("."): v for k, v in cfg["dns"].items()}
    want_sigs = cfg["signatures"]

    def dnsfunc(name, timeout=5):
        if isinstance(name, bytes):
            name = name.decode()
        v = dns.get(name.lower().rstrip("."))
        return v.encode() if v is not None else None

    def url_ok(u):
        if u.startswith(base + "/"):
            return True
        if u in allowed or u.startswith("mailto:") or u.startswith("tel:") or u.startswith("#"):
            return True
        return not re.match(r"(?i)https?:", u)

    failures = 0
    files = sorted(f for f in os.listdir(d) if f.endswith(".eml"))
    for name in files:
        data = open(os.path.join(d, name), "rb").read()
        problems = []
        if b"\r\n" not in data or re.search(rb"(?<!\r)\n|\r(?!\n)", data):
            problems.append("bare CR or LF")
        for line in data.split(b"\r\n"):
            if len(line) > 998:
                problems.append("line longer than 998 octets")
                break
        if re.search(rb"[\x80-\xff]", data.split(b"\r\n\r\n", 1)[1]):
            problems.append("8-bit byte in body")
        msg = email.message_from_bytes(data, policy=email.policy.default)
        for part in msg.walk():
            if part.defects:
                problems.append("defects %r" % (part.defects,))
            for k, v in part.items():
                if getattr(v, "defects", None):
                    problems.append("header %s defects %r" % (k, v.defects))
        if msg.get_content_type() != "multipart/alternative":
            problems.append("not multipart/alternative")
        texts = {}
        for part in msg.walk():
            if part.get_content_maintype() == "text":
                texts[part.get_content_subtype()] = part.get_content()
        if set(texts) != {"plain", "html"}:
            problems.append("parts %r" % (sorted(texts),))
        p = Links()
        p.feed(texts.get("html", ""))
        for u in p.urls:
            if not url_ok(u):
                problems.append("untracked HTML link %r" % u)
        for u in re.findall(r"(?i)https?://[^\s<>\"']+", texts.get("plain", "")):
            u = u.rstrip(".,;:!?)")
            if not url_ok(u):
                problems.append("untracked text link %r" % u)
        for h in ("List-Unsubscribe", "List-Unsubscribe-Post", "Message-ID", "Date", "From",
                  "To", "Subject", "MIME-Version", "X-Salvo-ID"):
            if msg[h] is None:
                problems.append("missing " + h)
        if str(msg["List-Unsubscribe-Post"]) != "List-Unsubscribe=One-Click":
            problems.append("bad List-Unsubscribe-Post")
        if not str(msg["List-Unsubscribe"]).startswith("<" + base + "/u/"):
            problems.append("bad List-Unsubscribe %r" % str(msg["List-Unsubscribe"]))
        sigs = [v for k, v in email.message_from_bytes(data).items() if k.lower() == "dkim-signature"]
        if len(sigs) != want_sigs:
            problems.append("%d DKIM signatures, want %d" % (len(sigs), want_sigs))
        d_obj = dkim.DKIM(data, minkey=1024)
        for i in range(len(sigs)):
            try:
                ok = d_obj.verify(idx=i, dnsfunc=dnsfunc)
            except Exception as e:  # noqa: BLE001 - report any verifier error
                ok = False
                problems.append("dkim %d error %r" % (i, e))
            if not ok:
                problems.append("dkim signature %d (%s) does not verify" % (i, sigs[i][:60]))
        if problems:
            failures += 1
            print("%s: %s" % (name, "; ".join(problems[:5])))
    print("checked %d messages, %d failed" % (len(files), failures))
    return 1 if failures or not files else 0


if __name__ == "__main__":
    sys.exit(main())
