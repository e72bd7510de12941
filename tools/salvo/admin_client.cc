// The CLI side of the admin socket: when `salvo serve` owns the config's data_dir, a command is
// sent to it (argv, cwd, stdin for "-") and its output relayed live. See admin_protocol.h.
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>

#include "tools/salvo/admin_protocol.h"
#include "tools/salvo/command.h"

namespace salvo {
namespace {

// Connects to a live daemon socket, or -1 (no socket, stale socket, path too long).
int ConnectAdmin(const std::string& path) {
  sockaddr_un addr;
  std::memset(&addr, 0, sizeof addr);
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof addr.sun_path) return -1;
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

}  // namespace

std::optional<int> ForwardToDaemon(CommandContext& ctx, const std::string& config_path) {
  if (ctx.daemon != nullptr) return std::nullopt;
  auto config = ctx.LoadConfigOnce(config_path);
  if (!config.ok()) return std::nullopt;  // the local run reports the config error
  int fd = ConnectAdmin(AdminSocketPath((*config)->data_dir));
  if (fd < 0) return std::nullopt;

  AdminRequest req;
  req.cwd = ctx.cwd;
  req.argv = ctx.argv;
  for (size_t i = 1; i < ctx.argv.size(); ++i)
    if (ctx.argv[i] == "-") req.has_stdin = true;
  if (req.has_stdin) {
    char buf[65536];
    size_t n;
    while ((n = std::fread(buf, 1, sizeof buf, ctx.in)) > 0) {
      req.stdin_data.append(buf, n);
      if (req.stdin_data.size() > kMaxAdminRequest - 1024 * 1024) {
        ::close(fd);
        std::fprintf(ctx.err, "salvo: standard input too large to forward to salvo serve\n");
        return 1;
      }
    }
  }
  if (!SendAll(fd, EncodeAdminRequest(req))) {
    ::close(fd);
    std::fprintf(ctx.err, "salvo: cannot send the command to salvo serve\n");
    return 1;
  }
  std::string data;
  for (;;) {
    char hdr[5];
    if (!RecvAll(fd, hdr, sizeof hdr)) break;
    uint32_t len = 0;
    for (int i = 0; i < 4; ++i) len |= static_cast<uint32_t>(static_cast<uint8_t>(hdr[1 + i])) << (8 * i);
    if (len > kMaxAdminFrame) break;
    data.resize(len);
    if (len && !RecvAll(fd, data.data(), len)) break;
    if (hdr[0] == 'x' && len == 4) {
      uint32_t code = 0;
      for (int i = 0; i < 4; ++i) code |= static_cast<uint32_t>(static_cast<uint8_t>(data[i])) << (8 * i);
      ::close(fd);
      return static_cast<int>(code);
    }
    FILE* to = hdr[0] == 'e' ? ctx.err : ctx.out;
    std::fwrite(data.data(), 1, data.size(), to);
    std::fflush(to);
  }
  ::close(fd);
  std::fprintf(ctx.err, "salvo: lost the connection to salvo serve before the command finished\n");
  return 1;
}

}  // namespace salvo
