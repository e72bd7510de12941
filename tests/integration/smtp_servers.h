// Helpers for the SMTP runtime's integration tests: certificates made with the openssl CLI,
// the aiosmtpd TLS/AUTH server and the scripted fault server (tests/integration/*.py, run with
// /usr/bin/python3), and salvo.toml snippets. Everything listens on loopback with free ports.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "engine/config/config.h"
#include "gtest/gtest.h"
#include "tests/testlib/testlib.h"

namespace salvo::test {

// A self-signed certificate + key for `cn` with the given subjectAltName ("IP:127.0.0.1,...").
struct TestCert {
  std::string cert, key;
};
inline TestCert MakeCert(const TempDir& dir, const std::string& name, const std::string& cn,
                         const std::string& san) {
  TestCert c{dir.File(name + ".crt"), dir.File(name + ".key")};
  RunResult r = RunProcess({"openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                            "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", c.key, "-out",
                            c.cert, "-days", "2", "-subj", "/CN=" + cn, "-addext",
                            "subjectAltName=" + san},
                           "", std::chrono::seconds(20));
  EXPECT_EQ(r.exit_code, 0) << r.err;
  return c;
}

// Starts a server script that prints READY, and waits for the port.
inline std::unique_ptr<Subprocess> StartScript(const std::vector<std::string>& argv,
                                               const std::string& host, int port,
                                               const std::string& log) {
  auto p = std::make_unique<Subprocess>(argv, std::map<std::string, std::string>{}, log);
  bool up = false;
  for (int i = 0; i < 150 && !up && p->Running(); ++i)
    up = WaitForPort(host, port, std::chrono::milliseconds(100));
  EXPECT_TRUE(up) << p->Log();
  return p;
}

inline std::string ScriptPath(const std::string& name) {
  return SourceRoot() + "/tests/integration/" + name;
}

// aiosmtpd with STARTTLS (or implicit TLS) and AUTH PLAIN/LOGIN.
inline std::unique_ptr<Subprocess> StartTlsServer(const TempDir& dir, int port,
                                                  const TestCert& cert, const std::string& mode,
                                                  const std::string& user,
                                                  const std::string& password,
                                                  const std::string& record) {
  return StartScript({"/usr/bin/python3", ScriptPath("smtp_tls_server.py"), "--port",
                      std::to_string(port), "--cert", cert.cert, "--key", cert.key, "--mode",
                      mode, "--user", user, "--password", password, "--record", record},
                     "127.0.0.1", port, dir.File("tls-server-" + std::to_string(port) + ".log"));
}

// Parses `toml` as if it were dir/salvo.toml; the calling test fails (and gets null) when it
// does not parse.
inline std::unique_ptr<Config> ParseTestConfig(const TempDir& dir, const std::string& toml) {
  auto c = ParseConfig(toml, dir.File("salvo.toml"));
  EXPECT_TRUE(c.ok()) << c.status();
  if (!c.ok()) return nullptr;
  return std::make_unique<Config>(*std::move(c));
}

// Reads a JSONL record file into lines.
inline std::vector<std::string> RecordLines(const std::string& path) {
  std::vector<std::string> out;
  for (auto line : absl::StrSplit(ReadFile(path), '\n', absl::SkipEmpty()))
    out.emplace_back(line);
  return out;
}

}  // namespace salvo::test
