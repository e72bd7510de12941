// Integration tests of salvo-sink: the real binary on loopback, driven by Postfix smtp-source,
// swaks, Python smtplib (/usr/bin/python3) and a raw socket client. Each test starts its own
// sink on free ports and stops it with SIGTERM, then checks --record and --stats-json.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "gtest/gtest.h"
#include "tests/testlib/testlib.h"

namespace salvo::test {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

std::string SinkBin() {
  const char* b = std::getenv("SALVO_BUILD_ROOT");
  return std::string(b ? b : ".") + "/perf/sink/salvo-sink";
}

struct RecordRow {
  int count = 0;
  std::string peers;
};

class Sink {
 public:
  // Starts salvo-sink on one free port per host in `hosts` with `extra` options.
  explicit Sink(const std::vector<std::string>& extra, const std::vector<std::string>& hosts = {"127.0.0.1"}) {
    std::vector<std::string> argv = {SinkBin(), "--threads", "2", "--record", dir_.File("record.tsv"),
                                     "--stats-json", dir_.File("stats.json"), "--timeline",
                                     dir_.File("timeline.tsv")};
    for (const std::string& h : hosts) {
      int port = FreePort(h);
      ports_.push_back(port);
      argv.push_back("--listen");
      argv.push_back(h + ":" + std::to_string(port));
    }
    argv.insert(argv.end(), extra.begin(), extra.end());
    proc_ = std::make_unique<Subprocess>(argv, std::map<std::string, std::string>{}, dir_.File("log"));
    auto deadline = std::chrono::steady_clock::now() + seconds(10);
    while (std::chrono::steady_clock::now() < deadline) {
      std::string log = proc_->Log();
      size_t n = 0;
      for (size_t p = log.find("listening on "); p != std::string::npos; p = log.find("listening on ", p + 1)) ++n;
      if (n == hosts.size()) return;
      if (!proc_->Running()) break;
      std::this_thread::sleep_for(milliseconds(10));
    }
    ADD_FAILURE() << "salvo-sink did not start: " << proc_->Log();
  }
  int port(size_t i = 0) const { return ports_[i]; }
  pid_t pid() const { return proc_->pid(); }
  const TempDir& dir() const { return dir_; }
  std::string Log() const { return proc_->Log(); }
  int Stop(int sig = SIGTERM) { return proc_->Stop(sig, seconds(10)); }
  std::map<std::string, RecordRow> Record() const {
    std::map<std::string, RecordRow> rows;
    std::istringstream in(ReadFile(dir_.File("record.tsv")));
    std::string line;
    while (std::getline(in, line)) {
      size_t t1 = line.find('\t'), t2 = line.find('\t', t1 + 1);
      EXPECT_NE(t2, std::string::npos) << line;
      if (t2 == std::string::npos) continue;
      rows[line.substr(0, t1)] = {std::stoi(line.substr(t1 + 1, t2 - t1 - 1)), line.substr(t2 + 1)};
    }
    return rows;
  }
  // Messages per recipient in the record.
  std::map<std::string, int> Counts() const {
    std::map<std::string, int> counts;
    for (const auto& [rcpt, row] : Record()) counts[rcpt] = row.count;
    return counts;
  }
  std::string Stats() const { return ReadFile(dir_.File("stats.json")); }
  // An integer field of the stats JSON, e.g. "messages" or a reply code "550" (-1 when absent).
  long StatsField(const std::string& key) const {
    std::string s = Stats();
    size_t p = s.find("\"" + key + "\":");
    if (p == std::string::npos) return -1;
    return std::strtol(s.c_str() + p + key.size() + 3, nullptr, 10);
  }

 private:
  TempDir dir_;
  std::vector<int> ports_;
  std::unique_ptr<Subprocess> proc_;
};

// A minimal blocking SMTP client for raw protocol checks.
using Counts = std::map<std::string, int>;

class Client {
 public:
  Client(const std::string& host, int port, const std::string& source = "") {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    if (!source.empty()) {
      sockaddr_in s{};
      s.sin_family = AF_INET;
      inet_pton(AF_INET, source.c_str(), &s.sin_addr);
      EXPECT_EQ(bind(fd_, reinterpret_cast<sockaddr*>(&s), sizeof s), 0);
    }
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<uint16_t>(port));
    inet_pton(AF_INET, host.c_str(), &a.sin_addr);
    EXPECT_EQ(connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  }
  ~Client() { close(fd_); }
  // Reads the greeting, then says EHLO with `pipelined` (one command, e.g. a MAIL FROM) in the
  // same write and reads the replies.
  void Ehlo(const std::string& pipelined = "") {
    Reply();
    Send("EHLO x\r\n" + pipelined);
    Reply();
    if (!pipelined.empty()) Reply();
  }
  void Send(const std::string& s) {
    size_t off = 0;
    while (off < s.size()) {
      ssize_t n = send(fd_, s.data() + off, s.size() - off, MSG_NOSIGNAL);
      if (n <= 0) return;
      off += static_cast<size_t>(n);
    }
  }
  // Reads one complete (possibly multi-line) reply; "" on EOF or timeout.
  std::string Reply(milliseconds timeout = milliseconds(10000)) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
      size_t start = 0;
      for (size_t nl = buf_.find("\r\n"); nl != std::string::npos; nl = buf_.find("\r\n", start)) {
        if (nl - start >= 4 && buf_[start + 3] == ' ') {
          std::string r = buf_.substr(0, nl + 2);
          buf_.erase(0, nl + 2);
          return r;
        }
        start = nl + 2;
      }
      if (!Fill(deadline)) return "";
    }
  }
  // One read of whatever has arrived (after waiting `wait`).
  std::string ReadOnce(milliseconds wait) {
    std::this_thread::sleep_for(wait);
    char b[65536];
    ssize_t n = recv(fd_, b, sizeof b, MSG_DONTWAIT);
    return n > 0 ? std::string(b, static_cast<size_t>(n)) : "";
  }
  bool Eof(milliseconds timeout = milliseconds(5000)) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (Fill(deadline)) buf_.clear();
    return eof_;
  }

 private:
  bool Fill(std::chrono::steady_clock::time_point deadline) {
    auto left = std::chrono::duration_cast<milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return false;
    pollfd p{fd_, POLLIN, 0};
    if (poll(&p, 1, static_cast<int>(left.count())) <= 0) return false;
    char b[65536];
    ssize_t n = recv(fd_, b, sizeof b, 0);
    if (n <= 0) {
      eof_ = true;
      return false;
    }
    buf_.append(b, static_cast<size_t>(n));
    return true;
  }
  int fd_ = -1;
  std::string buf_;
  bool eof_ = false;
};

std::string Code(const std::string& reply) { return reply.substr(0, 3); }

// Sends one message over `c` (already past EHLO) and returns the final reply code.
std::string SendMessage(Client& c, const std::string& rcpt) {
  c.Send("MAIL FROM:<sender@salvo.test>\r\n");
  std::string r = c.Reply();
  if (Code(r) != "250") return Code(r);
  c.Send("RCPT TO:<" + rcpt + ">\r\n");
  r = c.Reply();
  if (Code(r) != "250") return Code(r);
  c.Send("DATA\r\n");
  r = c.Reply();
  if (Code(r) != "354") return Code(r);
  c.Send("Subject: t\r\n\r\nhello\r\n.\r\n");
  return Code(c.Reply());
}

TEST(SalvoSink, SmtpSourceCountsAndRecordsPeersOnTwoAddresses) {
  Sink sink({}, {"127.0.0.1", "127.0.0.6"});
  // 2000 x 20 KB over 10 reused sessions, then 100 messages with a connection each.
  RunResult r = RunProcess({"/usr/sbin/smtp-source", "-d", "-s", "10", "-m", "2000", "-l", "20480",
                            "-f", "sender@salvo.test", "-t", "many@salvo.test",
                            "127.0.0.1:" + std::to_string(sink.port(0))},
                           "", seconds(60));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  r = RunProcess({"/usr/sbin/smtp-source", "-s", "5", "-m", "100", "-l", "1000", "-t",
                  "many@salvo.test", "127.0.0.6:" + std::to_string(sink.port(1))},
                 "", seconds(60));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  // From a second source address, to the second listener.
  for (int i = 0; i < 3; ++i) {
    Client c("127.0.0.6", sink.port(1), "127.0.0.7");
    ASSERT_EQ(Code(c.Reply()), "220");
    c.Send("EHLO client\r\n");
    ASSERT_EQ(Code(c.Reply()), "250");
    ASSERT_EQ(SendMessage(c, "many@salvo.test"), "250");
    ASSERT_EQ(SendMessage(c, "other@salvo.test"), "250");
  }
  ASSERT_EQ(sink.Stop(), 0) << sink.Log();
  auto rec = sink.Record();
  ASSERT_EQ(rec.size(), 2u);
  EXPECT_EQ(rec["many@salvo.test"].count, 2103);
  EXPECT_EQ(rec["many@salvo.test"].peers, "127.0.0.1,127.0.0.7");
  EXPECT_EQ(rec["other@salvo.test"].count, 3);
  EXPECT_EQ(rec["other@salvo.test"].peers, "127.0.0.7");
  EXPECT_EQ(sink.StatsField("messages"), 2106);
  EXPECT_EQ(sink.StatsField("connections"), 10 + 100 + 3);
  EXPECT_GE(sink.StatsField("bytes"), 2000L * 20480);
  EXPECT_NE(sink.Stats().find("\"END_OF_DATA\":{\"count\":2106,"), std::string::npos) << sink.Stats();
  EXPECT_NE(sink.Log().find("salvo-sink: 2106 messages"), std::string::npos) << sink.Log();
  EXPECT_GT(sink.StatsField("active_msgs_per_s"), 0);
  EXPECT_NE(sink.Stats().find("\"by_peer\":{\"127.0.0.1\":{\"messages\":2100,\"recipients\":2100},"
                              "\"127.0.0.7\":{\"messages\":6,\"recipients\":6}}"),
            std::string::npos) << sink.Stats();
  // The timeline is cumulative and ends at the total.
  std::istringstream tl(ReadFile(sink.dir().File("timeline.tsv")));
  std::string line;
  long prev = 0, last = -1;
  while (std::getline(tl, line)) {
    last = std::stol(line.substr(line.find('\t') + 1));
    EXPECT_GE(last, prev);
    prev = last;
  }
  EXPECT_EQ(last, 2106);
}

TEST(SalvoSink, PipelinedCommandsAnsweredInOrderInOneWrite) {
  Sink sink({});
  Client c("127.0.0.1", sink.port());
  ASSERT_EQ(Code(c.Reply()), "220");
  c.Send("EHLO client\r\nMAIL FROM:<a@salvo.test>\r\nRCPT TO:<p1@salvo.test>\r\nRCPT TO:<p2@salvo.test>\r\n"
         "RCPT TO:<bad path>\r\nDATA\r\n");
  std::string all = c.ReadOnce(milliseconds(300));
  size_t ehlo_end = all.find("250 ENHANCEDSTATUSCODES\r\n");
  ASSERT_NE(ehlo_end, std::string::npos) << all;
  EXPECT_NE(all.find("250-PIPELINING\r\n"), std::string::npos);
  EXPECT_NE(all.find("250-CHUNKING\r\n"), std::string::npos);
  EXPECT_EQ(all.substr(ehlo_end + 25),
            "250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n250 2.1.5 Ok\r\n501 5.1.3 Bad recipient address syntax\r\n"
            "354 End data with <CR><LF>.<CR><LF>\r\n");
  // Body, end of data, the next transaction and QUIT in one write.
  c.Send("Subject: x\r\n\r\nbody\r\n.\r\nMAIL FROM:<a@salvo.test>\r\nRCPT TO:<p1@salvo.test>\r\n"
         "DATA\r\n.\r\nQUIT\r\n");
  all = c.ReadOnce(milliseconds(300));
  EXPECT_EQ(all.substr(0, 21), "250 2.0.0 Ok: queued ");
  EXPECT_NE(all.find("\r\n250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n354 End data with <CR><LF>.<CR><LF>\r\n250 2.0.0 Ok: queued"),
            std::string::npos) << all;
  EXPECT_EQ(all.substr(all.size() - 15), "221 2.0.0 Bye\r\n");
  EXPECT_TRUE(c.Eof());
  ASSERT_EQ(sink.Stop(), 0);
  EXPECT_EQ(sink.Counts(), (Counts{{"p1@salvo.test", 2}, {"p2@salvo.test", 1}}));
}

TEST(SalvoSink, SwaksAuthPlainLoginAndRequired) {
  Sink sink({"--auth", "alice:s3cret", "--auth", "bob:pw"});
  std::string server = "127.0.0.1:" + std::to_string(sink.port());
  auto swaks = [&](const std::vector<std::string>& extra, const std::string& to) {
    std::vector<std::string> argv = {"/usr/bin/swaks", "--server", server, "--from", "s@salvo.test",
                                     "--to", to, "--timeout", "10"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    return RunProcess(argv, "", seconds(30));
  };
  RunResult r = swaks({"--auth", "PLAIN", "--auth-user", "alice", "--auth-password", "s3cret"}, "a1@salvo.test");
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("235 2.7.0"), std::string::npos) << r.out;
  r = swaks({"--auth", "LOGIN", "--auth-user", "bob", "--auth-password", "pw"}, "b1@salvo.test");
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  r = swaks({"--auth", "PLAIN", "--auth-user", "alice", "--auth-password", "wrong"}, "x1@salvo.test");
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.out.find("535 5.7.8"), std::string::npos) << r.out;
  r = swaks({}, "x2@salvo.test");
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.out.find("530 5.7.0 Authentication required"), std::string::npos) << r.out;
  ASSERT_EQ(sink.Stop(), 0);
  EXPECT_EQ(sink.Counts(), (Counts{{"a1@salvo.test", 1}, {"b1@salvo.test", 1}}));
  EXPECT_EQ(sink.StatsField("535"), 1);
  EXPECT_EQ(sink.StatsField("530"), 1);
  EXPECT_NE(sink.Stats().find("\"by_account\":{\"alice\":{\"messages\":1,\"recipients\":1},"
                              "\"bob\":{\"messages\":1,\"recipients\":1}}"),
            std::string::npos) << sink.Stats();
}

constexpr char kPythonTlsBdat[] = R"PY(
import smtplib, ssl, sys
host, port = sys.argv[1], int(sys.argv[2])
s = smtplib.SMTP(host, port, timeout=10)
s.ehlo('py')
assert s.has_extn('starttls'), s.esmtp_features
ctx = ssl.create_default_context()
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
code, _ = s.starttls(context=ctx)
assert code == 220, code
s.ehlo('py')
assert not s.has_extn('starttls')
assert s.has_extn('chunking') and s.has_extn('smtputf8') and s.has_extn('8bitmime')
s.login('alice', 's3cret')
s.sendmail('s@salvo.test', ['tls1@salvo.test', 'tls2@salvo.test'], b'Subject: tls\r\n\r\nover TLS\r\n')
# BDAT in three chunks, the last one marked LAST.
s.mail('s@salvo.test')
s.rcpt('bdat@salvo.test')
body = b'Subject: chunked\r\n\r\n' + b'x' * 70000 + b'\r\n'
parts = [body[:1000], body[1000:50000], body[50000:]]
for i, p in enumerate(parts):
    last = ' LAST' if i == len(parts) - 1 else ''
    s.send(('BDAT %d%s\r\n' % (len(p), last)).encode() + p)
    code, msg = s.getreply()
    assert code == 250, (code, msg)
    print('BDAT', i, code, msg.decode())
s.quit()
print('OK', ssl.OPENSSL_VERSION)
)PY";

TEST(SalvoSink, StartTlsAuthAndBdatWithPythonSmtplib) {
  TempDir certs;
  RunResult gen = RunProcess({"openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout",
                              certs.File("key.pem"), "-out", certs.File("cert.pem"), "-days", "1",
                              "-subj", "/CN=localhost"},
                             "", seconds(60));
  ASSERT_EQ(gen.exit_code, 0) << gen.err;
  Sink sink({"--tls-cert", certs.File("cert.pem"), "--tls-key", certs.File("key.pem"), "--auth",
             "alice:s3cret"});
  RunResult r = RunProcess({"/usr/bin/python3", "-c", kPythonTlsBdat, "127.0.0.1", std::to_string(sink.port())},
                           "", seconds(30));
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("BDAT 2 250 2.0.0 Ok: queued"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("BDAT 1 250 2.0.0 50000 octets received"), std::string::npos) << r.out;
  ASSERT_EQ(sink.Stop(), 0);
  EXPECT_EQ(sink.Counts(),
            (Counts{{"tls1@salvo.test", 1}, {"tls2@salvo.test", 1}, {"bdat@salvo.test", 1}}));
  EXPECT_EQ(sink.StatsField("tls_sessions"), 1);
  EXPECT_EQ(sink.StatsField("messages"), 2);
}

TEST(SalvoSink, RcptPatternFaults421AndDropInData) {
  Sink sink({"--fault-rcpt", "bad=550-5.1.1", "--fault-rcpt", "gone=421-4.7.28"});
  {
    Client c("127.0.0.1", sink.port());
    c.Ehlo("MAIL FROM:<s@salvo.test>\r\n");
    c.Send("RCPT TO:<good@salvo.test>\r\n");
    EXPECT_EQ(c.Reply(), "250 2.1.5 Ok\r\n");
    c.Send("RCPT TO:<bad1@salvo.test>\r\n");
    EXPECT_EQ(c.Reply().substr(0, 10), "550 5.1.1 ");
    c.Send("DATA\r\nSubject: x\r\n\r\n.\r\n");
    EXPECT_EQ(Code(c.Reply()), "354");
    EXPECT_EQ(Code(c.Reply()), "250");
    c.Send("MAIL FROM:<s@salvo.test>\r\nRCPT TO:<gone@salvo.test>\r\nRCPT TO:<after@salvo.test>\r\n");
    EXPECT_EQ(Code(c.Reply()), "250");
    EXPECT_EQ(c.Reply().substr(0, 11), "421 4.7.28 ");
    EXPECT_TRUE(c.Eof());
  }
  ASSERT_EQ(sink.Stop(), 0);
  EXPECT_EQ(sink.Counts(), (Counts{{"good@salvo.test", 1}}));
  EXPECT_EQ(sink.StatsField("421"), 1);
  EXPECT_EQ(sink.StatsField("550"), 1);

  Sink drop({"--faults", "drop-in-data:100%"});
  Client d("127.0.0.1", drop.port());
  d.Reply();
  d.Send("EHLO x\r\nMAIL FROM:<s@salvo.test>\r\nRCPT TO:<r@salvo.test>\r\nDATA\r\n");
  EXPECT_EQ(Code(d.Reply()), "250");
  EXPECT_EQ(Code(d.Reply()), "250");
  EXPECT_EQ(Code(d.Reply()), "250");
  EXPECT_EQ(Code(d.Reply()), "354");
  d.Send("Subject: x\r\n\r\nbody\r\n.\r\n");
  EXPECT_EQ(d.Reply(), "");
  EXPECT_TRUE(d.Eof());
  ASSERT_EQ(drop.Stop(), 0);
  EXPECT_TRUE(drop.Record().empty());
  EXPECT_EQ(drop.StatsField("dropped_in_data"), 1);
}

TEST(SalvoSink, FaultRcptForTheFirstAttemptsAcrossConnections) {
  Sink sink({"--fault-rcpt", "retry=450-4.2.1*2"});
  std::vector<std::string> codes;
  for (int i = 0; i < 4; ++i) {  // new connections, likely on both worker threads
    Client c("127.0.0.1", sink.port());
    c.Ehlo();
    codes.push_back(SendMessage(c, "retry@salvo.test"));
  }
  EXPECT_EQ(codes, (std::vector<std::string>{"450", "450", "250", "250"}));
  ASSERT_EQ(sink.Stop(), 0);
  EXPECT_EQ(sink.Record()["retry@salvo.test"].count, 2);
}

TEST(SalvoSink, RandomFaultMixAndTarpit) {
  Sink sink({"--faults", "550-5.1.1:20%,450-4.2.1:10%", "--seed", "3"});
  std::map<std::string, int> seen;
  {
    Client c("127.0.0.1", sink.port());
    c.Ehlo();
    for (int i = 0; i < 400; ++i) {
      std::string code = SendMessage(c, "mix@salvo.test");
      ++seen[code];
      if (code != "250") {
        c.Send("RSET\r\n");
        ASSERT_EQ(Code(c.Reply()), "250");
      }
    }
  }
  ASSERT_EQ(sink.Stop(), 0);
  EXPECT_EQ(seen.size(), 3u);
  EXPECT_NEAR(seen["550"], 80, 30);
  EXPECT_NEAR(seen["450"], 40, 20);
  EXPECT_EQ(seen["250"] + seen["550"] + seen["450"], 400);
  EXPECT_EQ(sink.StatsField("550"), seen["550"]);
  EXPECT_EQ(sink.StatsField("450"), seen["450"]);
  EXPECT_EQ(sink.StatsField("messages"), seen["250"]);
  EXPECT_EQ(sink.Record()["mix@salvo.test"].count, seen["250"]);

  // A tarpitted RCPT: the reply is withheld (nothing within the first 300 ms of a 3 s tarpit),
  // then given.
  Sink tarpit({"--faults", "tarpit:100%", "--tarpit-ms", "3000"});
  Client c("127.0.0.1", tarpit.port());
  c.Ehlo("MAIL FROM:<s@salvo.test>\r\n");
  c.Send("RCPT TO:<slow@salvo.test>\r\n");
  EXPECT_EQ(c.ReadOnce(milliseconds(300)), "");
  EXPECT_EQ(c.Reply(), "250 2.1.5 Ok\r\n");
  ASSERT_EQ(tarpit.Stop(), 0);
}

TEST(SalvoSink, AuthFailAfterAndCreditLimitForFailover) {
  Sink sink({"--auth", "alice:pw1", "--auth", "bob:pw2", "--auth-fail-after", "alice=2", "--credit-limit",
             "bob=1"});
  auto login = [&](Client& c, const std::string& b64) {
    c.Ehlo();
    c.Send("AUTH PLAIN " + b64 + "\r\n");
    return c.Reply();
  };
  const std::string alice = "AGFsaWNlAHB3MQ==";  // \0alice\0pw1
  const std::string bob = "AGJvYgBwdzI=";        // \0bob\0pw2
  {
    Client c("127.0.0.1", sink.port());
    EXPECT_EQ(Code(login(c, alice)), "235");
    EXPECT_EQ(SendMessage(c, "f1@salvo.test"), "250");
    EXPECT_EQ(SendMessage(c, "f2@salvo.test"), "250");
    c.Send("MAIL FROM:<s@salvo.test>\r\n");
    EXPECT_EQ(c.Reply(), "535 5.7.8 Authentication credentials invalid\r\n");
  }
  {
    Client c("127.0.0.1", sink.port());
    EXPECT_EQ(login(c, alice), "535 5.7.8 Authentication credentials invalid\r\n");
  }
  {
    Client c("127.0.0.1", sink.port());
    EXPECT_EQ(Code(login(c, bob)), "235");
    EXPECT_EQ(SendMessage(c, "f3@salvo.test"), "250");
    c.Send("MAIL FROM:<s@salvo.test>\r\n");
    EXPECT_EQ(c.Reply(), "451 Authentication failed: Maximum credits exceeded\r\n");
  }
  ASSERT_EQ(sink.Stop(), 0);
  EXPECT_EQ(sink.Counts(),
            (Counts{{"f1@salvo.test", 1}, {"f2@salvo.test", 1}, {"f3@salvo.test", 1}}));

  // Without accounts the limit applies to everyone.
  Sink anon({"--credit-limit", "2"});
  Client c("127.0.0.1", anon.port());
  c.Ehlo();
  EXPECT_EQ(SendMessage(c, "g@salvo.test"), "250");
  EXPECT_EQ(SendMessage(c, "g@salvo.test"), "250");
  EXPECT_EQ(SendMessage(c, "g@salvo.test"), "451");
  ASSERT_EQ(anon.Stop(), 0);
  EXPECT_EQ(anon.Record()["g@salvo.test"].count, 2);
}

TEST(SalvoSink, CleanExitOnSigtermAndSigintWithOpenConnections) {
  for (int sig : {SIGTERM, SIGINT}) {
    Sink sink({});
    Client idle("127.0.0.1", sink.port());
    EXPECT_EQ(Code(idle.Reply()), "220");
    Client mid("127.0.0.1", sink.port());
    mid.Reply();
    mid.Send("EHLO x\r\nMAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\nDATA\r\npartial body");
    mid.Reply();
    // Exits by itself on the signal (Stop() answers -1 if it had to be killed) with status 0.
    EXPECT_EQ(sink.Stop(sig), 0) << sink.Log();
    EXPECT_EQ(sink.StatsField("connections"), 2) << sink.Stats();
    EXPECT_EQ(sink.StatsField("messages"), 0);
    EXPECT_TRUE(sink.Record().empty());
    EXPECT_NE(sink.Log().find("salvo-sink: 0 messages"), std::string::npos) << sink.Log();
  }
}

TEST(SalvoSink, GarbageClientCannotGrowMemory) {
  Sink sink({});
  Client c("127.0.0.1", sink.port());
  c.Reply();
  std::string junk(1 << 20, 'A');
  for (int i = 0; i < 256; ++i) c.Send(junk);  // 256 MB without a line end
  c.Send("\r\nNOOP\r\n");
  EXPECT_EQ(c.Reply(), "500 5.5.2 Line too long\r\n");
  EXPECT_EQ(c.Reply(), "250 2.0.0 Ok\r\n");
  // The sink never held more than a line (plus its fixed receive buffers): peak RSS stays far
  // below what it was sent.
  std::string status = ReadFile("/proc/" + std::to_string(sink.pid()) + "/status");
  size_t p = status.find("VmHWM:");
  ASSERT_NE(p, std::string::npos);
  long hwm_kb = std::strtol(status.c_str() + p + 6, nullptr, 10);
  EXPECT_LT(hwm_kb, 96 * 1024) << status;
  ASSERT_EQ(sink.Stop(), 0);
  EXPECT_EQ(sink.StatsField("500"), 1);
}

TEST(SalvoSink, RejectsBadOptionsWithAMessage) {
  RunResult r = RunProcess({SinkBin(), "--listen", "127.0.0.1:1", "--faults", "550-5.1.1:x"}, "", seconds(10));
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("--faults"), std::string::npos) << r.err;
  r = RunProcess({SinkBin(), "--listen", "127.0.0.1:1", "--tls-cert", "/nonexistent", "--tls-key", "/nonexistent"},
                 "", seconds(10));
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("--tls-cert"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace salvo::test
