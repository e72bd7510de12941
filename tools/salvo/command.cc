#include "tools/salvo/command.h"

#include <filesystem>
#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "engine/base/status_macros.h"

namespace salvo {

std::string CommandContext::Path(const std::string& p) const {
  if (p.empty() || p == "-" || p[0] == '/') return p;
  return (std::filesystem::path(cwd) / p).lexically_normal().string();
}

absl::StatusOr<const Config*> CommandContext::LoadConfigOnce(const std::string& path) {
  if (!config) {
    ASSIGN_OR_RETURN(Config c, LoadConfig(Path(path)));
    config = std::move(c);
  }
  return &*config;
}

absl::StatusOr<Store*> CommandContext::OpenStoreOnce(const Config& cfg) {
  if (shared_store) return shared_store;
  if (!owned_store) {
    StoreOptions o;
    o.data_dir = cfg.data_dir;
    ASSIGN_OR_RETURN(owned_store, Store::Open(o));
  }
  return owned_store.get();
}

absl::StatusOr<std::string> CommandContext::ReadMessageArg(const std::string& file,
                                                         size_t max_bytes) {
  std::string bytes;
  if (file == "-") {
    char buf[65536];
    size_t n;
    while ((n = std::fread(buf, 1, sizeof buf, in)) > 0) {
      bytes.append(buf, n);
      if (bytes.size() > max_bytes) break;
    }
  } else {
    std::ifstream f(Path(file), std::ios::binary);
    if (!f) return absl::NotFoundError(absl::StrCat("cannot read ", Path(file)));
    std::ostringstream ss;
    ss << f.rdbuf();
    bytes = ss.str();
  }
  if (bytes.size() > max_bytes)
    return absl::InvalidArgumentError(
        absl::StrCat(file, ": message larger than ", max_bytes, " bytes"));
  if (bytes.empty()) return absl::InvalidArgumentError(absl::StrCat(file, ": empty message"));
  return bytes;
}

int CommandContext::Fail(const absl::Status& status, int code) {
  std::fprintf(err, "salvo: %s\n", std::string(status.message()).c_str());
  return code;
}

}  // namespace salvo
