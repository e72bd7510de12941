#include "engine/preflight/partners.h"

#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "engine/base/strings.h"
#include "engine/preflight/partners_tsv.h"

namespace salvo {
namespace {

const std::vector<Partner>& Partners() {
  static const std::vector<Partner>* table = [] {
    auto* t = new std::vector<Partner>;
    for (absl::string_view line : absl::StrSplit(kPartnersTsv, '\n')) {
      if (line.empty() || line[0] == '#') continue;
      std::vector<std::string> f = absl::StrSplit(line, '\t');
      if (f.size() == 3) t->push_back({f[0], f[1], f[2]});
    }
    return t;
  }();
  return *table;
}

}  // namespace

const Partner* PartnerForHost(std::string_view host) {
  const std::string h = AsciiLower(TrimRight(host, "."));
  for (const Partner& p : Partners())
    if (h == p.host_suffix || absl::EndsWith(h, absl::StrCat(".", p.host_suffix))) return &p;
  return nullptr;
}

}  // namespace salvo
