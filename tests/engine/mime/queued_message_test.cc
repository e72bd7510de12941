// engine/mime/queued_message.h: From domain, relaxed body hash, signer choice, and the wire form
// of a queued entry (X-Salvo-ID, CRLF only), whose rsa-sha256 and ed25519-sha256 signatures
// dkimpy verifies (via /usr/bin/python3).
#include "engine/mime/queued_message.h"

#include <openssl/sha.h>

#include <fstream>

#include "absl/strings/str_cat.h"
#include "engine/dkim/dkim_key.h"
#include "gtest/gtest.h"
#include "tests/testlib/testlib.h"

namespace salvo {
namespace {

std::string Sha(std::string_view s) {
  unsigned char d[32];
  SHA256(reinterpret_cast<const unsigned char*>(s.data()), s.size(), d);
  return std::string(reinterpret_cast<char*>(d), 32);
}
std::string Relaxed(std::string_view body) {
  unsigned char d[32];
  RelaxedBodyHash(body, d);
  return std::string(reinterpret_cast<char*>(d), 32);
}

TEST(QueuedMessage, FromDomain) {
  EXPECT_EQ(FromDomain("From: Shop <shop@Example.COM>\r\nTo: x\r\n\r\nbody\r\n"), "example.com");
  EXPECT_EQ(FromDomain("Subject: s\r\nfrom:   shop@mail.example.org\r\n\r\n"), "mail.example.org");
  EXPECT_EQ(FromDomain("FROM: \"a, b\" <x@y.test>, other@z.test\r\n\r\n"), "y.test");
  EXPECT_EQ(FromDomain("From: Shop\r\n <shop@folded.test>\r\n\r\n"), "folded.test");
  EXPECT_EQ(FromDomain("Subject: no from\r\n\r\nFrom: body@not.header\r\n"), "");
  EXPECT_EQ(FromDomain("From: nobody\r\n\r\n"), "");
}

TEST(QueuedMessage, RelaxedBodyHash) {
  EXPECT_EQ(Relaxed(""), Sha(""));
  EXPECT_EQ(Relaxed("\r\n\r\n"), Sha(""));
  EXPECT_EQ(Relaxed("Hi  \t there \r\n\r\n \r\n"), Sha("Hi there\r\n"));
  EXPECT_EQ(Relaxed("a\r\n\r\nb\r\n"), Sha("a\r\n\r\nb\r\n"));
  EXPECT_EQ(Relaxed(" lead\r\n"), Sha(" lead\r\n"));
}

TEST(QueuedMessage, SignersForTheFromDomainAndItsSubdomains) {
  auto key = DkimKey::Generate(DkimAlgorithm::kEd25519Sha256);
  ASSERT_TRUE(key.ok());
  std::vector<std::unique_ptr<DkimSigner>> all;
  all.push_back(*DkimSigner::Create("example.com", "s1", *key));
  all.push_back(*DkimSigner::Create("other.test", "s1", *key));
  EXPECT_EQ(SignersFor(all, "example.com").size(), 1u);
  EXPECT_EQ(SignersFor(all, "mail.example.com").size(), 1u);
  EXPECT_EQ(SignersFor(all, "badexample.com").size(), 0u);
  EXPECT_EQ(SignersFor(all, "").size(), 0u);
  EXPECT_EQ(SignersFor(all, "other.test")[0]->domain(), "other.test");
}

TEST(QueuedMessage, XSalvoIdFirstCrlfOnly) {
  auto body = std::make_shared<const std::string>(
      "From: shop@example.com\nSubject: s\n\nline\n.\nbare\rcr\n");
  auto m = BuildQueuedMessage(body, "00061a2b3c4d5e6f", "bounces@example.com", "to@example.org", {});
  ASSERT_TRUE(m.ok()) << m.status();
  const std::string wire = (*m)->Flatten();
  EXPECT_EQ(wire,
            "X-Salvo-ID: 00061a2b3c4d5e6f\r\nFrom: shop@example.com\r\nSubject: s\r\n\r\n"
            "line\r\n.\r\nbare\r\ncr\r\n");
  EXPECT_EQ((*m)->size, wire.size());
  EXPECT_EQ((*m)->envelope_from, "bounces@example.com");
  EXPECT_FALSE((*m)->body_8bit);
  // A clean body is viewed, not copied: entries of one message share it.
  auto clean = std::make_shared<const std::string>("From: a@b.test\r\n\r\nx\r\n");
  auto m2 = BuildQueuedMessage(clean, "0000000000000001", "", "to@example.org", {});
  ASSERT_TRUE(m2.ok());
  EXPECT_EQ((*m2)->body.get(), clean.get());
  EXPECT_EQ((*m2)->segments[1].data(), clean->data());
}

TEST(QueuedMessage, DkimpyVerifiesBothSignatures) {
  auto rsa = DkimKey::Generate(DkimAlgorithm::kRsaSha256, 2048);
  auto ed = DkimKey::Generate(DkimAlgorithm::kEd25519Sha256);
  ASSERT_TRUE(rsa.ok() && ed.ok());
  std::vector<std::unique_ptr<DkimSigner>> all;
  all.push_back(*DkimSigner::Create("example.com", "rsa2026", *rsa));
  all.push_back(*DkimSigner::Create("example.com", "ed2026", *ed));
  const std::vector<const DkimSigner*> signers = SignersFor(all, "example.com");
  ASSERT_EQ(signers.size(), 2u);
  test::TempDir dir;
  // Bodies relaxed canonicalization changes (WSP runs, trailing WSP and empty lines), folded
  // headers, a dot line, LF-only input.
  const std::vector<std::string> bodies = {
      "From: Shop <shop@example.com>\r\nTo: you@example.org\r\nSubject: Your  order\r\n"
      "Date: Fri, 04 Dec 2026 08:00:00 +0000\r\nMessage-ID: <1@example.com>\r\n"
      "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
      "Thanks  for \t your order. \r\n\r\n.\r\nBye\r\n\r\n\r\n",
      "From: shop@example.com\nSubject: folded\n subject line\n\nplain\n \n\n",
      "From: shop@example.com\r\nSubject: empty body\r\n\r\n",
  };
  for (size_t i = 0; i < bodies.size(); ++i) {
    auto m = BuildQueuedMessage(std::make_shared<const std::string>(bodies[i]),
                                absl::StrCat("000000000000000", i), "", "you@example.org", signers);
    ASSERT_TRUE(m.ok()) << m.status();
    std::ofstream(dir.File(absl::StrCat("q", i, ".eml")), std::ios::binary) << (*m)->Flatten();
  }
  // dkimpy with the public keys served from a table (no DNS): every signature of every file.
  const std::string script = absl::StrCat(
      "import dkim, glob, sys\n"
      "dns = {b'rsa2026._domainkey.example.com.': b'", *(*rsa)->DnsTxtRecord(), "',\n"
      "       b'ed2026._domainkey.example.com.': b'", *(*ed)->DnsTxtRecord(), "'}\n"
      "def txt(name, timeout=5):\n"
      "    n = name if isinstance(name, bytes) else name.encode()\n"
      "    return dns.get(n if n.endswith(b'.') else n + b'.')\n"
      "bad = 0\n"
      "for f in sorted(glob.glob(sys.argv[1] + '/*.eml')):\n"
      "    data = open(f, 'rb').read()\n"
      "    d = dkim.DKIM(data)\n"
      "    for i in range(2):\n"
      "        if not d.verify(idx=i, dnsfunc=txt):\n"
      "            print(f, 'signature', i, 'fails'); bad += 1\n"
      "    if b'\\nX-Salvo-ID: ' not in data: print(f, 'no X-Salvo-ID'); bad += 1\n"
      "sys.exit(1 if bad else 0)\n");
  test::RunResult r =
      test::RunProcess({"/usr/bin/python3", "-c", script, dir.path()}, "", std::chrono::seconds(60));
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
}

}  // namespace
}  // namespace salvo
