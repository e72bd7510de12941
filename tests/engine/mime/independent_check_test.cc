// Checks rendered messages with independent implementations: Python's `email` package (no
// defects, only rewritten links) and dkimpy (every rsa-sha256 and ed25519-sha256 signature of
// 1,000 messages verifies), both via /usr/bin/python3; opendkim-testmsg signs the same bodies and
// must compute the same relaxed body hash as ours.
#include <openssl/sha.h>

#include <fstream>

#include "absl/strings/str_cat.h"
#include "engine/mime/compiled_campaign.h"
#include "engine/mime/encoding.h"
#include "gtest/gtest.h"
#include "tests/engine/mime/mime_test_util.h"
#include "tests/testlib/testlib.h"

namespace salvo::test {
namespace {

std::string Script() { return SourceRoot() + "/tests/engine/mime/check_messages.py"; }

void WriteCheckJson(const TestSetup& s, const std::string& dir, int sigs) {
  std::ofstream f(dir + "/check.json");
  f << "{\"base_url\": \"" << kBaseUrl << "\", \"signatures\": " << sigs
    << ", \"allowed\": [\"https://partner.example.org/terms\"], \"dns\": {";
  bool first = true;
  if (!s.rsa_txt.empty()) {
    f << "\"rsa2026._domainkey.example.com\": \"" << s.rsa_txt << "\"";
    first = false;
  }
  if (!s.ed_txt.empty()) f << (first ? "" : ", ") << "\"ed2026._domainkey.example.com\": \"" << s.ed_txt << "\"";
  f << "}}\n";
}

void RenderAll(const CompiledCampaign& c, size_t n, const std::string& dir) {
  auto values = HostileValues();
  RenderedMessage m;
  for (size_t i = 0; i < n; ++i) {
    ASSERT_TRUE(c.Render(MakeRecipient(i, values[i % values.size()]), &m).ok());
    std::ofstream(dir + "/m" + std::to_string(i) + ".eml", std::ios::binary) << m.Flatten();
  }
}

// Renders `n` messages of `s`'s campaign and has the Python checker (email + dkimpy) verify them,
// `signatures` DKIM signatures each, within `timeout`: every one must pass.
void ExpectCheckerPasses(const TestSetup& s, size_t n, int signatures,
                         std::chrono::seconds timeout) {
  auto c = CompileCampaign(s.campaign, s.config);
  ASSERT_TRUE(c.ok()) << c.status();
  TempDir out;
  RenderAll(**c, n, out.path());
  WriteCheckJson(s, out.path(), signatures);
  RunResult r = RunProcess({"/usr/bin/python3", Script(), out.path()}, "", timeout);
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find(absl::StrCat("checked ", n, " messages, 0 failed")), std::string::npos)
      << r.out << r.err;
}

TEST(IndependentCheck, PythonEmailAndDkimpyVerifyThousandMessages) {
  ExpectCheckerPasses(TestSetup(3), 1000, 2, std::chrono::seconds(240));
}

TEST(IndependentCheck, GeneratedTextPartAndNoDkim) {
  ExpectCheckerPasses(TestSetup(0, /*text_file=*/false), 30, 0, std::chrono::seconds(60));
}

// The checker itself must fail on a broken signature and on an untracked link.
TEST(IndependentCheck, CheckerDetectsTampering) {
  TestSetup s(3);
  auto c = CompileCampaign(s.campaign, s.config);
  ASSERT_TRUE(c.ok()) << c.status();
  TempDir out;
  RenderedMessage m;
  ASSERT_TRUE((*c)->Render(MakeRecipient(1, "Anna"), &m).ok());
  std::string msg = m.Flatten();
  size_t p = msg.find("Anna", msg.find("\r\n\r\n"));
  ASSERT_NE(p, std::string::npos);
  msg[p] = 'B';  // body change: both signatures must fail
  std::ofstream(out.File("bad.eml"), std::ios::binary) << msg;
  WriteCheckJson(s, out.path(), 2);
  RunResult r = RunProcess({"/usr/bin/python3", Script(), out.path()}, "", std::chrono::seconds(60));
  EXPECT_EQ(r.exit_code, 1) << r.out;
  EXPECT_NE(r.out.find("does not verify"), std::string::npos) << r.out;
}

std::string TagValue(const std::string& sig_header, const std::string& tag) {
  std::string unfolded;
  for (char ch : sig_header)
    if (ch != '\r' && ch != '\n' && ch != ' ' && ch != '\t') unfolded.push_back(ch);
  size_t p = unfolded.find(";" + tag + "=");
  if (p == std::string::npos) return "";
  p += tag.size() + 2;
  return unfolded.substr(p, unfolded.find(';', p) - p);
}

// opendkim-testmsg (libopendkim) signs our message with the same RSA key (it always uses
// rsa-sha1, c=relaxed/simple): its body hash must equal SHA-1 of our body bytes, and ours must be
// SHA-256 of the same bytes, which shows the body we hash is exactly the body on the wire and is
// already in canonical form. (Its verify mode needs live DNS, which tests must not use; dkimpy
// verifies the signatures above.)
TEST(IndependentCheck, OpendkimComputesTheSameBodyHash) {
  TestSetup s(1);
  auto c = CompileCampaign(s.campaign, s.config);
  ASSERT_TRUE(c.ok()) << c.status();
  auto values = HostileValues();
  for (size_t i = 0; i < values.size(); ++i) {
    RenderedMessage m;
    ASSERT_TRUE((*c)->Render(MakeRecipient(i, values[i]), &m).ok());
    std::string msg = m.Flatten();
    size_t end = msg.find("\r\nFrom: ");
    ASSERT_NE(end, std::string::npos);
    std::string ours = TagValue(msg.substr(0, end), "bh");
    ASSERT_FALSE(ours.empty());
    RunResult r = RunProcess({"/usr/sbin/opendkim-testmsg", "-C", "-d", "example.com", "-s",
                              "rsa2026", "-k", s.dir.File("rsa.pem")},
                             msg.substr(end + 2), std::chrono::seconds(30));
    ASSERT_EQ(r.exit_code, 0) << r.err;
    size_t sig = r.out.find("DKIM-Signature:");
    ASSERT_NE(sig, std::string::npos) << r.out.substr(0, 300);
    std::string theirs_hdr = r.out.substr(sig, r.out.find("\nFrom: ", sig) - sig);
    ASSERT_EQ(TagValue(theirs_hdr, "c"), "relaxed/simple") << theirs_hdr;
    std::string body = msg.substr(msg.find("\r\n\r\n") + 4);
    unsigned char d1[SHA_DIGEST_LENGTH], d256[SHA256_DIGEST_LENGTH];
    SHA1(reinterpret_cast<const unsigned char*>(body.data()), body.size(), d1);
    SHA256(reinterpret_cast<const unsigned char*>(body.data()), body.size(), d256);
    std::string b1, b256;
    AppendBase64(d1, sizeof d1, &b1);
    AppendBase64(d256, sizeof d256, &b256);
    EXPECT_EQ(TagValue(theirs_hdr, "bh"), b1) << "value " << i;
    EXPECT_EQ(ours, b256) << "value " << i;
  }
}

}  // namespace
}  // namespace salvo::test
