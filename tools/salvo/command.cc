#include "tools/salvo/command.h"

#include <filesystem>

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

int CommandContext::Fail(const absl::Status& status, int code) {
  std::fprintf(err, "salvo: %s\n", std::string(status.message()).c_str());
  return code;
}

}  // namespace salvo
