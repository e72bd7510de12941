#include "engine/mime/encoding.h"

#include <random>

#include "gtest/gtest.h"

namespace salvo {
namespace {

// Independent QP decoder (RFC 2045 §6.7) for round trips.
std::string QpDecode(const std::string& in) {
  std::string out;
  for (size_t i = 0; i < in.size(); ++i) {
    if (in[i] == '=' && i + 2 < in.size() + 1) {
      if (in.compare(i, 3, "=\r\n") == 0) {
        i += 2;
        continue;
      }
      out.push_back(static_cast<char>(std::stoi(in.substr(i + 1, 2), nullptr, 16)));
      i += 2;
    } else {
      out.push_back(in[i]);
    }
  }
  return out;
}

std::string Encode(std::string_view s) {
  std::string out;
  QpEncoder e(&out);
  e.Append(s);
  e.Finish();
  return out;
}

void CheckQpRules(const std::string& enc) {
  size_t start = 0;
  while (start <= enc.size()) {
    size_t e = enc.find("\r\n", start);
    std::string line = enc.substr(start, e == std::string::npos ? std::string::npos : e - start);
    EXPECT_LE(line.size(), 76u) << line;
    EXPECT_EQ(line.find('\t'), std::string::npos);
    EXPECT_EQ(line.find("  "), std::string::npos) << line;
    if (!line.empty()) { EXPECT_NE(line.back(), ' ') << line; }
    EXPECT_NE(line.rfind(".", 0), 0u) << line;
    EXPECT_NE(line.rfind("From ", 0), 0u) << line;
    for (char c : line) EXPECT_TRUE(c >= 32 && c < 127) << line;
    if (e == std::string::npos) break;
    start = e + 2;
  }
  EXPECT_EQ(enc.find('\n') == std::string::npos ? 0u : 1u,
            enc.find('\n') == std::string::npos ? 0u : 1u);
}

TEST(Qp, RoundTripsAndKeepsRules) {
  std::string s = "caf\xC3\xA9 = 100%\n.dot\nFrom here\n  two  spaces  \n\ttab\r\nend ";
  s += std::string(300, 'x') + " " + std::string(100, ' ') + "y";
  std::string enc = Encode(s);
  CheckQpRules(enc);
  std::string expect;  // line breaks become CRLF
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\r' && i + 1 < s.size() && s[i + 1] == '\n') continue;
    if (s[i] == '\n') expect += "\r\n";
    else expect.push_back(s[i]);
  }
  EXPECT_EQ(QpDecode(enc), expect);
}

TEST(Qp, RandomInputs) {
  std::mt19937 rng(42);
  for (int round = 0; round < 200; ++round) {
    std::string s;
    size_t n = rng() % 400;
    for (size_t i = 0; i < n; ++i) {
      int r = rng() % 10;
      s.push_back(r < 3 ? ' ' : r < 4 ? '\t' : r < 5 ? '.' : static_cast<char>(rng() % 256));
      if (s.back() == '\r' || s.back() == '\n') s.back() = 'F';
    }
    std::string enc = Encode(s);
    CheckQpRules(enc);
    EXPECT_EQ(QpDecode(enc), s);
  }
}

TEST(Qp, SoftBreakStartsNewLine) {
  std::string out;
  QpEncoder e(&out);
  e.Append("abc ");
  e.SoftBreak();
  EXPECT_EQ(out, "abc=20=\r\n");
  EXPECT_EQ(e.column(), 0u);
}

TEST(Sanitize, InvalidUtf8AndControls) {
  EXPECT_EQ(SanitizeUtf8("a\xFF" "b", false), "a\xEF\xBF\xBD" "b");
  EXPECT_EQ(SanitizeUtf8("a\r\nb\tc", true), "a  b c");
  EXPECT_EQ(SanitizeUtf8("\xC3\xA9\xC3\xA9", true, 3), "\xC3\xA9");  // never cut a character
  EXPECT_EQ(SanitizeUtf8("\xED\xA0\x80", false), "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");
}

TEST(Headers, AsciiFoldedAndEncodedWords) {
  std::string out;
  AppendUnstructuredHeader("Subject", "Hello world", &out);
  EXPECT_EQ(out, "Subject: Hello world\r\n");
  out.clear();
  AppendUnstructuredHeader("Subject", "caf\xC3\xA9", &out);
  EXPECT_EQ(out, "Subject: =?UTF-8?B?Y2Fmw6k=?=\r\n");
  out.clear();
  AppendUnstructuredHeader("Subject", "=?utf-8?q?x?=", &out);  // never passes as an encoded word
  EXPECT_EQ(out.find("=?utf-8?q?x?="), std::string::npos);
  out.clear();
  std::string long_words;
  for (int i = 0; i < 100; ++i) long_words += "word" + std::to_string(i) + " ";
  AppendUnstructuredHeader("Subject", long_words, &out);
  size_t start = 0;
  while (start < out.size()) {
    size_t e = out.find("\r\n", start);
    EXPECT_LE(e - start, 78u);
    start = e + 2;
  }
}

TEST(Headers, Phrases) {
  std::string out;
  AppendPhrase("Acme News", &out);
  EXPECT_EQ(out, "Acme News");
  out.clear();
  AppendPhrase("Acme, Inc. \"Best\"", &out);
  EXPECT_EQ(out, "\"Acme, Inc. \\\"Best\\\"\"");
  out.clear();
  AppendPhrase("J\xC3\xB6rg", &out);
  EXPECT_EQ(out, "=?UTF-8?B?SsO2cmc=?=");
}

}  // namespace
}  // namespace salvo
