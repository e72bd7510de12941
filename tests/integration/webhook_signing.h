// Webhook posts signed here with keys made by openssl (independently of salvo's code): an SNS
// fixture signed with a certificate's key (the canonical string built by Python's json module),
// and a SendGrid-style ECDSA P-256 signature over timestamp + body.
#pragma once

#include <string>

#include "absl/strings/escaping.h"
#include "tests/testlib/testlib.h"

namespace salvo::test {

// A self-signed RSA certificate dir/<name>.pem with its key dir/<name>.key (an SNS signing cert).
inline bool MakeRsaCert(const TempDir& dir, const std::string& name) {
  auto gen = RunProcess({"openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout",
                         dir.File(name + ".key"), "-out", dir.File(name + ".pem"), "-days", "1",
                         "-subj", "/CN=sns.amazonaws.com"});
  return gen.exit_code == 0;
}

// `fixture` (relative to tests/fixtures) signed with dir/<key_name>.key; `topic` replaces its
// TopicArn when not empty; `tamper` changes the message after signing.
inline std::string SignSnsFixture(const TempDir& dir, const std::string& fixture, bool tamper,
                                  const std::string& key_name = "sns", const std::string& topic = "") {
  std::string script = R"PY(
import base64, json, subprocess, sys
d = json.load(open(sys.argv[1]))
if sys.argv[4]:
    d["TopicArn"] = sys.argv[4]
names = ["Message", "MessageId"] + (["Subject"] if "Subject" in d else []) + ["Timestamp", "TopicArn", "Type"]
if d["Type"] != "Notification":
    names = ["Message", "MessageId", "SubscribeURL", "Timestamp", "Token", "TopicArn", "Type"]
s = "".join(n + "\n" + d[n] + "\n" for n in names)
sig = subprocess.run(["openssl", "dgst", "-sha1", "-sign", sys.argv[2]], input=s.encode(),
                     capture_output=True, check=True).stdout
d["Signature"] = base64.b64encode(sig).decode()
if sys.argv[3] == "1":
    d["Message"] = d["Message"].replace("Permanent", "Transient")
sys.stdout.write(json.dumps(d))
)PY";
  std::string py = dir.Write("sign_sns.py", script);
  auto r = RunProcess({"/usr/bin/python3", py, FixturesDir() + "/" + fixture,
                       dir.File(key_name + ".key"), tamper ? "1" : "0", topic});
  return r.exit_code == 0 ? r.out : "";
}

// An EC P-256 key pair dir/<name>.key (private) and dir/<name>.pub (PEM public key).
inline bool MakeEcKey(const TempDir& dir, const std::string& name) {
  auto k = RunProcess({"openssl", "ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out",
                       dir.File(name + ".key")});
  if (k.exit_code != 0) return false;
  auto p = RunProcess({"openssl", "ec", "-in", dir.File(name + ".key"), "-pubout", "-out",
                       dir.File(name + ".pub")});
  return p.exit_code == 0;
}

// Base64 of the DER ECDSA signature (SHA-256) of timestamp + body with dir/<name>.key: the
// X-Twilio-Email-Event-Webhook-Signature header.
inline std::string SendGridSign(const TempDir& dir, const std::string& name,
                                const std::string& timestamp, const std::string& body) {
  auto r = RunProcess({"openssl", "dgst", "-sha256", "-sign", dir.File(name + ".key")},
                      timestamp + body);
  if (r.exit_code != 0) return "";
  std::string b64;
  absl::Base64Escape(r.out, &b64);
  return b64;
}

}  // namespace salvo::test
