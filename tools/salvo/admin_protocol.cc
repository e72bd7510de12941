// Admin socket framing. See admin_protocol.h.
#include "tools/salvo/admin_protocol.h"

#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>

namespace salvo {
namespace {

void PutU32(std::string* out, uint32_t v) {
  for (int i = 0; i < 4; ++i) out->push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

void PutStr(std::string* out, std::string_view s) {
  PutU32(out, static_cast<uint32_t>(s.size()));
  out->append(s);
}

bool GetU32(std::string_view* in, uint32_t* v) {
  if (in->size() < 4) return false;
  *v = 0;
  for (int i = 0; i < 4; ++i) *v |= static_cast<uint32_t>(static_cast<uint8_t>((*in)[i])) << (8 * i);
  in->remove_prefix(4);
  return true;
}

bool GetStr(std::string_view* in, std::string* s) {
  uint32_t n;
  if (!GetU32(in, &n) || n > in->size()) return false;
  s->assign(in->data(), n);
  in->remove_prefix(n);
  return true;
}

}  // namespace

std::string AdminSocketPath(const std::string& data_dir) { return data_dir + "/salvo.sock"; }

std::string EncodeAdminRequest(const AdminRequest& r) {
  std::string payload;
  PutStr(&payload, r.cwd);
  PutU32(&payload, static_cast<uint32_t>(r.argv.size()));
  for (const std::string& a : r.argv) PutStr(&payload, a);
  payload.push_back(r.has_stdin ? 1 : 0);
  PutStr(&payload, r.stdin_data);
  std::string out;
  PutU32(&out, static_cast<uint32_t>(payload.size()));
  out += payload;
  return out;
}

[[nodiscard]] absl::StatusOr<AdminRequest> DecodeAdminRequest(std::string_view in) {
  AdminRequest r;
  uint32_t argc;
  if (!GetStr(&in, &r.cwd) || !GetU32(&in, &argc) || argc > 4096)
    return absl::InvalidArgumentError("admin request: bad header");
  for (uint32_t i = 0; i < argc; ++i) {
    std::string a;
    if (!GetStr(&in, &a)) return absl::InvalidArgumentError("admin request: bad argument");
    r.argv.push_back(std::move(a));
  }
  if (in.empty()) return absl::InvalidArgumentError("admin request: truncated");
  r.has_stdin = in[0] != 0;
  in.remove_prefix(1);
  if (!GetStr(&in, &r.stdin_data)) return absl::InvalidArgumentError("admin request: bad stdin");
  return r;
}

bool SendAll(int fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

bool RecvAll(int fd, char* buf, size_t n) {
  while (n > 0) {
    ssize_t r = ::recv(fd, buf, n, 0);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return false;
    buf += r;
    n -= static_cast<size_t>(r);
  }
  return true;
}

bool SendFrame(int fd, char type, std::string_view data) {
  std::string frame;
  frame.reserve(5 + data.size());
  frame.push_back(type);
  PutU32(&frame, static_cast<uint32_t>(data.size()));
  frame.append(data);
  return SendAll(fd, frame);
}

}  // namespace salvo
