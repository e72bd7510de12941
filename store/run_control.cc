// File-based control channel for a running in-process send (see run_control.h).
#include "engine/base/clock.h"
#include "store/run_control.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <algorithm>
#include <cctype>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/ascii.h"
#include "engine/base/file.h"
#include "engine/base/strings.h"

namespace salvo {
namespace fs = std::filesystem;
namespace {

constexpr size_t kMaxFile = 16 << 20;

[[nodiscard]] absl::Status WriteAtomic(const std::string& path, const std::string& content) {
  static std::atomic<uint64_t> seq{0};
  std::error_code ec;
  fs::create_directories(fs::path(path).parent_path(), ec);
  std::string tmp = absl::StrCat(path, ".tmp.", getpid(), ".", seq++);
  {
    std::ofstream f(tmp, std::ios::binary | std::ios::trunc);
    if (!f) return absl::UnavailableError(absl::StrCat("cannot write ", tmp));
    f << content;
    if (!f.flush()) return absl::UnavailableError(absl::StrCat("cannot write ", tmp));
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    ::unlink(tmp.c_str());
    return absl::UnavailableError(absl::StrCat("cannot rename ", tmp, " to ", path));
  }
  return absl::OkStatus();
}

[[nodiscard]] absl::StatusOr<std::string> ReadSmall(const std::string& path) {
  return ReadFile(path, kMaxFile, "run file");
}

std::string ControlDir(const std::string& data_dir) { return RunDir(data_dir) + "/control"; }

bool ValidId(const std::string& id) {
  if (id.empty() || id.size() > 64) return false;
  for (char c : id)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-'))
      return false;
  return id != "." && id != "..";
}

}  // namespace

std::string RunDir(const std::string& data_dir) { return data_dir + "/run"; }

CampaignRunLock& CampaignRunLock::operator=(CampaignRunLock&& o) noexcept {
  if (this != &o) {
    Release();
    fd_ = o.fd_;
    o.fd_ = -1;
  }
  return *this;
}

void CampaignRunLock::Release() {
  if (fd_ < 0) return;
  // The file stays (unlinking a lock file races with a process that has it open); its content
  // is emptied so that nothing stale is shown.
  (void)::ftruncate(fd_, 0);
  ::flock(fd_, LOCK_UN);
  ::close(fd_);
  fd_ = -1;
}

[[nodiscard]] absl::StatusOr<CampaignRunLock> LockCampaignRun(const std::string& data_dir,
                                                const std::string& campaign, absl::Time now) {
  if (!ValidId(campaign))
    return absl::InvalidArgumentError(absl::StrCat("invalid campaign id \"", campaign, "\""));
  std::error_code ec;
  fs::create_directories(RunDir(data_dir), ec);
  const std::string path = absl::StrCat(RunDir(data_dir), "/", campaign, ".lock");
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0)
    return absl::UnavailableError(absl::StrCat("cannot open ", path, ": ", std::strerror(errno)));
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    const int e = errno;
    char buf[128];
    const ssize_t n = ::pread(fd, buf, sizeof buf - 1, 0);
    ::close(fd);
    if (e != EWOULDBLOCK)
      return absl::UnavailableError(absl::StrCat("cannot lock ", path, ": ", std::strerror(e)));
    // "pid since": written by a salvo process; parsed strictly, shown only when it parses.
    std::string holder(buf, n > 0 ? static_cast<size_t>(n) : 0);
    absl::StripTrailingAsciiWhitespace(&holder);
    std::vector<std::string> parts = absl::StrSplit(holder, ' ');
    int64_t pid = 0, since = 0;
    if (parts.size() == 2 && absl::SimpleAtoi(parts[0], &pid) && absl::SimpleAtoi(parts[1], &since))
      return absl::FailedPreconditionError(absl::StrCat(
          "campaign ", campaign, " is already running (since ",
          FormatUnixTime(since),
          ", pid ", pid, ")"));
    return absl::FailedPreconditionError(
        absl::StrCat("campaign ", campaign, " is already running (lock ", path, " is held)"));
  }
  const std::string me = absl::StrCat(getpid(), " ", absl::ToUnixSeconds(now), "\n");
  if (::ftruncate(fd, 0) != 0 ||
      ::pwrite(fd, me.data(), me.size(), 0) != static_cast<ssize_t>(me.size())) {
    const int e = errno;
    ::close(fd);
    return absl::UnavailableError(absl::StrCat("cannot write ", path, ": ", std::strerror(e)));
  }
  return CampaignRunLock(fd);
}
std::string StatusFilePath(const std::string& data_dir, const std::string& campaign) {
  return absl::StrCat(RunDir(data_dir), "/", campaign, ".status.json");
}

[[nodiscard]] absl::Status WriteStatusFile(const std::string& data_dir, const std::string& campaign,
                             const std::string& json) {
  if (!ValidId(campaign)) return absl::InvalidArgumentError("invalid campaign id");
  return WriteAtomic(StatusFilePath(data_dir, campaign), json);
}

void RemoveStatusFile(const std::string& data_dir, const std::string& campaign) {
  if (ValidId(campaign)) ::unlink(StatusFilePath(data_dir, campaign).c_str());
}

[[nodiscard]] absl::StatusOr<std::string> ReadStatusFile(const std::string& data_dir,
                                           const std::string& campaign) {
  if (!ValidId(campaign)) return absl::InvalidArgumentError("invalid campaign id");
  return ReadSmall(StatusFilePath(data_dir, campaign));
}

std::vector<std::string> RunningSends(const std::string& data_dir) {
  std::vector<std::string> out;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(RunDir(data_dir), ec)) {
    std::string name = e.path().filename().string();
    const std::string suffix = ".status.json";
    if (name.size() <= suffix.size() || name.substr(name.size() - suffix.size()) != suffix) continue;
    auto content = ReadSmall(e.path().string());
    if (!content.ok()) continue;
    size_t p = content->find("\"pid\":");
    if (p == std::string::npos) continue;
    int pid = std::atoi(content->c_str() + p + 6);
    if (pid > 0 && (::kill(pid, 0) == 0 || errno == EPERM))
      out.push_back(name.substr(0, name.size() - suffix.size()));
  }
  return out;
}

[[nodiscard]]
absl::Status RequestCampaignControl(const std::string& data_dir, const std::string& campaign,
                                    const std::string& action, const std::string& reason) {
  if (!ValidId(campaign)) return absl::InvalidArgumentError("invalid campaign id");
  if (action != "pause" && action != "cancel")
    return absl::InvalidArgumentError(absl::StrCat("unknown control action ", action));
  return WriteAtomic(absl::StrCat(ControlDir(data_dir), "/", campaign, ".", action),
                     SanitizeForLog(reason, 512));
}

[[nodiscard]] absl::Status QueueSuppressions(const std::string& data_dir,
                               const std::vector<SuppressionEntry>& entries) {
  std::string body;
  for (const auto& e : entries) {
    auto clean = [](const std::string& s) {
      std::string o = SanitizeForLog(s, 512);
      for (char& c : o)
        if (c == '\t' || c == '\n' || c == '\r') c = ' ';
      return o;
    };
    absl::StrAppend(&body, clean(e.key), "\t", Av(SuppressionReasonName(e.reason)), "\t",
                    clean(e.source), "\t", clean(e.detail), "\n");
  }
  auto now = std::chrono::system_clock::now().time_since_epoch().count();
  static std::atomic<uint64_t> seq{0};
  return WriteAtomic(absl::StrCat(ControlDir(data_dir), "/suppress-", now, "-", getpid(), "-",
                                  seq++, ".tsv"),
                     body);
}

[[nodiscard]] absl::StatusOr<ControlRequests> TakeControlRequests(const std::string& data_dir,
                                                    const std::string& campaign) {
  ControlRequests req;
  std::error_code ec;
  const std::string dir = ControlDir(data_dir);
  if (!fs::exists(dir, ec)) return req;
  std::vector<fs::path> files;
  for (const auto& e : fs::directory_iterator(dir, ec)) files.push_back(e.path());
  std::sort(files.begin(), files.end());
  for (const auto& p : files) {
    std::string name = p.filename().string();
    if (name.find(".tmp.") != std::string::npos) continue;
    if (name == campaign + ".pause" || name == campaign + ".cancel") {
      auto content = ReadSmall(p.string());
      ::unlink(p.c_str());
      if (name == campaign + ".pause") {
        req.pause = true;
        req.pause_reason = content.ok() ? SanitizeForLog(*content, 512) : "";
      } else {
        req.cancel = true;
      }
      continue;
    }
    if (name.rfind("suppress-", 0) == 0 && name.size() > 4 &&
        name.substr(name.size() - 4) == ".tsv") {
      auto content = ReadSmall(p.string());
      ::unlink(p.c_str());
      if (!content.ok()) continue;
      for (absl::string_view line : absl::StrSplit(*content, '\n')) {
        if (line.empty()) continue;
        std::vector<absl::string_view> f = absl::StrSplit(line, '\t');
        if (f.size() < 2) continue;
        SuppressionEntry e;
        e.key = std::string(f[0]);
        if (!ParseSuppressionReason(Sv(f[1]), &e.reason)) e.reason = SuppressionReason::kManual;
        if (f.size() > 2) e.source = std::string(f[2]);
        if (f.size() > 3) e.detail = std::string(f[3]);
        req.suppressions.push_back(std::move(e));
      }
    }
  }
  return req;
}

}  // namespace salvo
