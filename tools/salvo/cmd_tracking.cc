// salvo tracking rotate-key -c salvo.toml: a new random [tracking] key in secret_file; the old
// one moves to the key ring file next to it (`<secret_file>.previous`, newest first), so links,
// unsubscribe tokens and bounce tags of mail already sent keep verifying. Both files are
// replaced atomically (write, fsync, rename) with mode 0600; the ring is written first, so a
// crash in between leaves the old key in both places, never in neither. A running `salvo serve`
// verifies with the new ring after SIGHUP or a restart.
#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <filesystem>
#include <memory>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "engine/base/file.h"
#include "engine/base/status_macros.h"
#include "engine/config/tracking_keys.h"
#include "engine/links/token.h"
#include "tools/salvo/command.h"

namespace salvo {
namespace {

// Previous keys kept in the ring file; older ones are dropped (and named) at rotation.
constexpr size_t kMaxPreviousKeys = 32;

// Writes `content` to `path` through a fresh 0600 temporary file, fsynced, then renamed.
[[nodiscard]] absl::Status WriteSecretAtomic(const std::string& path, const std::string& content) {
  const std::string tmp = absl::StrCat(path, ".tmp.", ::getpid());
  ::unlink(tmp.c_str());
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0)
    return absl::PermissionDeniedError(absl::StrCat("cannot write ", tmp, ": ", std::strerror(errno)));
  bool ok = ::write(fd, content.data(), content.size()) == static_cast<ssize_t>(content.size());
  ok = ::fsync(fd) == 0 && ok;
  ok = ::close(fd) == 0 && ok;
  if (!ok || ::rename(tmp.c_str(), path.c_str()) != 0) {
    const int e = errno;
    ::unlink(tmp.c_str());
    return absl::UnavailableError(absl::StrCat("cannot write ", path, ": ", std::strerror(e)));
  }
  const std::string dir = std::filesystem::path(path).parent_path().string();
  const int dfd = ::open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    (void)::fsync(dfd);  // the renames survive a power cut
    ::close(dfd);
  }
  return absl::OkStatus();
}

[[nodiscard]] absl::Status RotateKey(CommandContext& ctx, const Config& config) {
  if (!config.tracking || config.tracking->secret_file.empty())
    return absl::FailedPreconditionError(
        absl::StrCat(config.path, ": no [tracking] secret_file to rotate"));
  const std::string& secret_file = config.tracking->secret_file;
  const std::string ring_file = PreviousKeysPath(secret_file);
  ASSIGN_OR_RETURN(std::string current, ReadSecretFile(secret_file));
  std::vector<std::string> previous{current};
  absl::StatusOr<std::string> ring = ReadFile(ring_file, 1 << 20, "key ring file");
  if (ring.ok()) {
    for (std::string& k : ParseKeyLines(*ring)) previous.push_back(std::move(k));
  } else if (std::filesystem::exists(ring_file)) {
    return ring.status();
  }
  while (previous.size() > kMaxPreviousKeys) {
    std::fprintf(ctx.err, "salvo: dropping the oldest previous key (id %08x): more than %zu\n",
                 TokenKeyId(previous.back()), kMaxPreviousKeys);
    previous.pop_back();
  }
  unsigned char raw[32];
  if (RAND_bytes(raw, sizeof raw) != 1) return absl::InternalError("RAND_bytes failed");
  std::string fresh = absl::BytesToHexString(
      absl::string_view(reinterpret_cast<const char*>(raw), sizeof raw));
  OPENSSL_cleanse(raw, sizeof raw);
  RETURN_IF_ERROR(WriteSecretAtomic(ring_file, absl::StrJoin(previous, "\n") + "\n"));
  RETURN_IF_ERROR(WriteSecretAtomic(secret_file, fresh + "\n"));
  std::fprintf(ctx.out,
               "new tracking key %08x in %s (mode 0600)\n"
               "previous key %08x moved to %s (%zu previous key(s) still verify)\n"
               "send SIGHUP to salvo serve (or restart it) to verify with the new ring\n",
               TokenKeyId(fresh), secret_file.c_str(), TokenKeyId(current), ring_file.c_str(),
               previous.size());
  OPENSSL_cleanse(fresh.data(), fresh.size());
  OPENSSL_cleanse(current.data(), current.size());
  return absl::OkStatus();
}

}  // namespace

void RegisterTrackingCommands(CLI::App& app, CommandContext& ctx, int* rc) {
  auto config = std::make_shared<std::string>("salvo.toml");
  CLI::App* tracking = app.add_subcommand("tracking", "Tracking keys");
  tracking->require_subcommand(1);
  CLI::App* rotate = tracking->add_subcommand(
      "rotate-key", "Write a new [tracking] key; the old one keeps verifying (key ring file)");
  rotate->add_option("-c,--config", *config, "salvo.toml");
  rotate->callback([&ctx, rc, config] {
    auto c = ctx.LoadConfigOnce(*config);
    if (!c.ok()) {
      *rc = ctx.Fail(c.status(), 2);
      return;
    }
    absl::Status st = RotateKey(ctx, **c);
    *rc = st.ok() ? 0 : ctx.Fail(st);
  });
}

}  // namespace salvo
