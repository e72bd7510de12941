// The admin socket protocol between the CLI and `salvo serve` (a unix stream socket,
// data_dir/salvo.sock, mode 0600 — local users with access to data_dir only).
//
//   request  (client -> daemon), once:  u32 length, then: string cwd, u32 argc, argc strings,
//                                       u8 has_stdin, string stdin   (string = u32 length + bytes)
//   response (daemon -> client), many:  u8 type, u32 length, bytes
//            type 'o' stdout text, 'e' stderr text, 'x' exit code (4 bytes, little endian)
// All integers little endian. Trust: each side bounds what it reads (kMaxAdminRequest).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace salvo {

inline constexpr uint32_t kMaxAdminRequest = 512u << 20;  // stdin content included
inline constexpr uint32_t kMaxAdminFrame = 16u << 20;

struct AdminRequest {
  std::string cwd;
  std::vector<std::string> argv;
  bool has_stdin = false;
  std::string stdin_data;
};

std::string AdminSocketPath(const std::string& data_dir);

std::string EncodeAdminRequest(const AdminRequest& r);  // with the leading u32 length
[[nodiscard]]
absl::StatusOr<AdminRequest> DecodeAdminRequest(std::string_view payload);  // without it

// Blocking helpers on a socket; false on error / EOF. Send never raises SIGPIPE.
bool SendAll(int fd, std::string_view data);
bool RecvAll(int fd, char* buf, size_t n);
// Sends one response frame.
bool SendFrame(int fd, char type, std::string_view data);

}  // namespace salvo
