// Integration: `salvo smtp-check` and `salvo send-one` (the binary) against Postfix `smtpd` as a
// real MTA: its own config directory (main.cf + master.cf) in a temp dir, listening on
// 127.0.0.1:FREEPORT with STARTTLS (certificate made by the test, passed as ca_file), relaying
// example.test to the discard transport and logging to a file (maillog_file via postlogd). The
// tests check salvo's outcome and, independently, Postfix's own log that the mail went to
// discard. The instance is stopped (`postfix stop`, then SIGKILL of stragglers) in the fixture's
// destructor, always. Needs root and the `postfix` user (Debian's postfix package makes it).
#include <dirent.h>
#include <pwd.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cctype>
#include <chrono>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "gtest/gtest.h"
#include "tests/integration/smtp_servers.h"
#include "tests/testlib/testlib.h"

namespace salvo::test {
namespace {

// Every service the instance needs, none chrooted (the queue dir is a temp dir).
constexpr char kMasterServices[] =
    "pickup    unix  n - n 60    1 pickup\n"
    "cleanup   unix  n - n -     0 cleanup\n"
    "qmgr      unix  n - n 300   1 qmgr\n"
    "tlsmgr    unix  - - n 1000? 1 tlsmgr\n"
    "rewrite   unix  - - n -     - trivial-rewrite\n"
    "bounce    unix  - - n -     0 bounce\n"
    "defer     unix  - - n -     0 bounce\n"
    "trace     unix  - - n -     0 bounce\n"
    "verify    unix  - - n -     1 verify\n"
    "flush     unix  n - n 1000? 0 flush\n"
    "proxymap  unix  - - n -     - proxymap\n"
    "showq     unix  n - n -     - showq\n"
    "error     unix  - - n -     - error\n"
    "retry     unix  - - n -     - error\n"
    "discard   unix  - - n -     - discard\n"
    "anvil     unix  - - n -     1 anvil\n"
    "scache    unix  - - n -     1 scache\n"
    "postlog   unix-dgram n - n - 1 postlogd\n";

// Pids of processes whose parent or session is `pid` (Postfix master's children).
std::vector<pid_t> ChildrenOf(pid_t pid) {
  std::vector<pid_t> out;
  DIR* proc = opendir("/proc");
  if (proc == nullptr) return out;
  while (dirent* e = readdir(proc)) {
    int child = 0;
    if (!absl::SimpleAtoi(e->d_name, &child) || child == pid) continue;
    std::string stat = ReadFile(absl::StrCat("/proc/", child, "/stat"));
    size_t paren = stat.rfind(')');
    if (paren == std::string::npos) continue;
    // After "pid (comm) ": state ppid pgrp session ...
    std::vector<std::string> f = absl::StrSplit(stat.substr(paren + 2), ' ');
    int ppid = 0, session = 0;
    if (f.size() > 3 && absl::SimpleAtoi(f[1], &ppid) && absl::SimpleAtoi(f[3], &session) &&
        (ppid == pid || session == pid))
      out.push_back(child);
  }
  closedir(proc);
  return out;
}

bool Alive(pid_t pid) { return pid > 0 && kill(pid, 0) == 0; }

class SmtpPostfixTest : public ::testing::Test {
 protected:
  void SetUp() override {
    passwd* pw = getpwnam("postfix");
    ASSERT_NE(pw, nullptr) << "no 'postfix' user: install Debian's postfix package";
    ASSERT_EQ(chmod(dir_.path().c_str(), 0755), 0);  // Postfix daemons run as 'postfix'
    etc_ = dir_.File("etc");
    ASSERT_EQ(mkdir(etc_.c_str(), 0755), 0);
    ASSERT_EQ(mkdir(dir_.File("queue").c_str(), 0755), 0);
    ASSERT_EQ(mkdir(dir_.File("data").c_str(), 0700), 0);
    ASSERT_EQ(chown(dir_.File("data").c_str(), pw->pw_uid, pw->pw_gid), 0);
    cert_ = MakeCert(dir_, "server", "localhost", "IP:127.0.0.1,DNS:localhost");
    port_ = FreePort();
    maillog_ = dir_.File("maillog");
    dir_.Write("etc/main.cf",
               absl::StrCat("compatibility_level = 3.6\n"
                            "queue_directory = ", dir_.File("queue"), "\n"
                            "data_directory = ", dir_.File("data"), "\n"
                            "mail_owner = postfix\nsetgid_group = postdrop\n"
                            "myhostname = mta.salvo.test\nmydomain = salvo.test\n"
                            "mydestination =\nalias_maps =\nalias_database =\nbiff = no\n"
                            "inet_interfaces = 127.0.0.1\ninet_protocols = ipv4\n"
                            // Loopback is NOT a trusted network: only example.test is relayed.
                            "mynetworks = 192.0.2.1/32\nrelay_domains = example.test\n"
                            "smtpd_relay_restrictions = reject_unauth_destination\n"
                            "default_transport = discard:salvo-test\n"
                            "relay_transport = discard:salvo-test\n"
                            "local_transport = discard:salvo-test\n"
                            "smtpd_tls_cert_file = ", cert_.cert, "\n"
                            "smtpd_tls_key_file = ", cert_.key, "\n"
                            "smtpd_tls_security_level = may\nsmtpd_tls_loglevel = 1\n"
                            "maillog_file_prefixes = ", dir_.path(), "\n"
                            "maillog_file = ", maillog_, "\n"));
    dir_.Write("etc/master.cf", absl::StrCat("127.0.0.1:", port_, " inet n - n - - smtpd\n",
                                             kMasterServices));
    dir_.Write("message.eml",
               "From: a@example.com\nTo: b@example.test\nSubject: hello postfix\n\n"
               "body line\n.\nend\n");
    dir_.Write("salvo.toml", absl::StrCat("[smtp.timeouts]\nconnect = \"5s\"\n"
                                          "greeting = \"20s\"\n[[account]]\nname = \"pf\"\n"
                                          "host = \"127.0.0.1\"\nport = ",
                                          port_, "\ntls = \"starttls\"\nca_file = \"",
                                          cert_.cert, "\"\nehlo_name = \"client.example.com\"\n"));

    RunResult check = Postfix("check");
    ASSERT_EQ(check.exit_code, 0) << check.out << check.err << ReadFile(maillog_);
    started_ = true;  // from here on the destructor runs `postfix stop`
    RunResult start = Postfix("start");
    if (!absl::SimpleAtoi(
            absl::StripAsciiWhitespace(ReadFile(dir_.File("queue/pid/master.pid"))),
            &master_pid_))
      master_pid_ = 0;
    ASSERT_EQ(start.exit_code, 0) << start.out << start.err << ReadFile(maillog_);
    ASSERT_TRUE(Alive(master_pid_)) << ReadFile(maillog_);
    bool up = false;
    for (int i = 0; i < 150 && !up; ++i)
      up = WaitForPort("127.0.0.1", port_, std::chrono::milliseconds(100));
    ASSERT_TRUE(up) << ReadFile(maillog_);
  }

  ~SmtpPostfixTest() override {
    if (!started_) return;
    Postfix("stop");
    for (int i = 0; i < 100 && Alive(master_pid_); ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    if (master_pid_ > 0) {
      std::vector<pid_t> kids = ChildrenOf(master_pid_);
      if (Alive(master_pid_)) kill(master_pid_, SIGKILL);
      for (pid_t kid : kids) kill(kid, SIGKILL);
      for (int i = 0; i < 50 && Alive(master_pid_); ++i)
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
      for (pid_t kid : ChildrenOf(master_pid_)) kill(kid, SIGKILL);
    }
  }

  RunResult Postfix(const std::string& cmd) {
    return RunProcess({"/usr/sbin/postfix", "-c", etc_, cmd}, "", std::chrono::seconds(60));
  }

  RunResult Salvo(const std::vector<std::string>& args) {
    std::vector<std::string> argv{SalvoBin()};
    argv.insert(argv.end(), args.begin(), args.end());
    argv.insert(argv.end(), {"-c", dir_.File("salvo.toml"), "--account", "pf"});
    return RunProcess(argv, "", std::chrono::seconds(30));
  }

  RunResult SendOne(const std::string& to) {
    return Salvo({"send-one", "--from", "sender@example.com", "--to", to, "--file",
                  dir_.File("message.eml")});
  }

  // Waits (bounded) until every needle is in the maillog; returns the log.
  std::string WaitForLog(const std::vector<std::string>& needles) {
    std::string log;
    for (int i = 0; i < 200; ++i) {
      log = ReadFile(maillog_);
      bool all = true;
      for (const std::string& n : needles) all = all && absl::StrContains(log, n);
      if (all) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return log;
  }

  TempDir dir_;
  std::string etc_, maillog_;
  TestCert cert_;
  int port_ = 0;
  int master_pid_ = 0;
  bool started_ = false;
};

// The Postfix queue id from "reply: 250 2.0.0 Ok: 70 bytes queued as 4B1C2A7E048".
std::string QueueId(const std::string& out) {
  size_t at = out.find("queued as ");
  if (at == std::string::npos) return "";
  size_t begin = at + 10, end = begin;
  while (end < out.size() && std::isalnum(static_cast<unsigned char>(out[end]))) ++end;
  return out.substr(begin, end - begin);
}

TEST_F(SmtpPostfixTest, SmtpCheckNegotiatesStartTlsWithVerifiedCertificate) {
  RunResult r = Salvo({"smtp-check"});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_EQ(MissingParts(r.out, {"tls=starttls", "ESMTP Postfix", "certificate verified",
                                 "PIPELINING", "OK:"}),
            "")
      << r.out;
  std::string log = WaitForLog({"TLS connection established from localhost[127.0.0.1]"});
  EXPECT_TRUE(absl::StrContains(log, "TLS connection established from localhost[127.0.0.1]"))
      << log;
}

TEST_F(SmtpPostfixTest, MessagesAreQueuedOverTlsAndDeliveredToDiscard) {
  constexpr int kMessages = 5;
  std::vector<std::string> ids, needles;
  for (int i = 0; i < kMessages; ++i) {
    std::string to = absl::StrCat("rcpt", i, "@example.test");
    RunResult r = SendOne(to);
    EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
    EXPECT_TRUE(absl::StartsWith(r.out, "delivered:")) << r.out;
    EXPECT_TRUE(absl::StrContains(r.out, "250 2.0.0 Ok")) << r.out;
    std::string id = QueueId(r.out);
    ASSERT_FALSE(id.empty()) << r.out;
    ids.push_back(id);
    // Postfix's discard agent reports the final delivery of this queue file to this recipient.
    needles.push_back(absl::StrCat(": ", id, ": to=<", to, ">, relay=none"));
  }
  std::string log = WaitForLog(needles);
  for (int i = 0; i < kMessages; ++i) {
    size_t at = log.find(needles[i]);
    ASSERT_NE(at, std::string::npos) << needles[i] << "\n" << log;
    std::string line = log.substr(at, log.find('\n', at) - at);
    EXPECT_TRUE(absl::StrContains(line, "status=sent (salvo-test)")) << line;
    EXPECT_TRUE(absl::StrContains(log, absl::StrCat(ids[i], ": from=<sender@example.com>")))
        << log;
  }
  // Every session used STARTTLS (EHLO twice) before the mail transaction.
  size_t sessions = 0;
  for (size_t at = 0; (at = log.find("ehlo=2 starttls=1 mail=1 rcpt=1", at)) != std::string::npos;
       ++at)
    ++sessions;
  EXPECT_EQ(sessions, static_cast<size_t>(kMessages)) << log;
  EXPECT_FALSE(absl::StrContains(log, "status=bounced")) << log;
  EXPECT_FALSE(absl::StrContains(log, "status=deferred")) << log;
}

TEST_F(SmtpPostfixTest, RelayToAnUnlistedDomainIsRejected) {
  RunResult r = SendOne("someone@other.invalid");
  EXPECT_NE(r.exit_code, 0) << r.out << r.err;
  EXPECT_TRUE(absl::StartsWith(r.out, "rejected:")) << r.out;
  EXPECT_TRUE(absl::StrContains(r.out, "554")) << r.out;
  EXPECT_TRUE(absl::StrContains(r.out, "Relay access denied")) << r.out;
  std::string log = WaitForLog({"Relay access denied"});
  EXPECT_TRUE(absl::StrContains(log, "NOQUEUE: reject: RCPT from localhost[127.0.0.1]")) << log;
  EXPECT_FALSE(absl::StrContains(log, "status=sent")) << log;
}

}  // namespace
}  // namespace salvo::test
