// shard/: one SMTP submission connection: an accepted socket (RingStream, TLS over memory BIOs)
// driving engine/smtp/server_session.h. What the session waits for (credentials, a recipient's
// suppression check, the queue's durable Enqueue) runs on the server's BlockingPool; the
// connection keeps what the client pipelined meanwhile (bounded) and goes on when the answer
// is posted back. Timeouts: `timeout` between commands, `data_timeout` for one message's DATA;
// then 421 and close. Loop thread only.
#pragma once

#include <cstdint>
#include <string>

#include "engine/smtp/server_session.h"
#include "shard/stream.h"

namespace salvo {

class SubmissionServer;

// The answer of a blocking check, posted back to the connection.
struct SubmissionReply {
  int code = 451;
  std::string text;
  std::string key_name;   // AUTH accepted: the API key's name and route
  std::string key_route;
};

class SubmissionConn final : public RingStream {
 public:
  SubmissionConn(SubmissionServer* server, uint64_t id, bool implicit_tls);
  ~SubmissionConn() override;

  void Start(int fd, std::string peer_ip);
  // Server stopping: 421 now, or once the pending answer is sent.
  void Shutdown();
  void OnResolved(SubmissionReply reply);

 private:
  void OnConnected(absl::Status) override {}
  void OnTlsReady(absl::Status status) override;
  void OnData(std::string_view bytes) override;
  void OnWritten() override;
  void OnStreamError(std::string reason) override;
  void OnFinished() override;

  void Process(std::string_view in);
  void FlushReplies();
  void Dispatch();
  void ArmTimer(int64_t deadline_ns);
  void OnTimer();
  void CloseAfterWrite();

  SubmissionServer* server_;
  uint64_t id_;
  bool implicit_tls_;
  SmtpServerSession session_;
  std::string peer_ip_;
  std::string pending_in_;  // received while waiting for an answer (bounded)
  bool job_running_ = false;
  bool shutting_down_ = false;
  bool close_after_write_ = false;
  std::string key_name_, key_route_;
  uint64_t messages_ = 0;
  size_t unsent_ = 0;  // reply bytes written since the last OnWritten()
  uint64_t seen_progress_ = 0;
  int64_t last_progress_ns_ = 0;
  uint64_t timer_ = 0;
};

}  // namespace salvo
