// [[responder]] / [[delivery]] parsing and checks; see responder_config.h.
#define TOML_HEADER_ONLY 1
#define TOML_EXCEPTIONS 0
#include "engine/config/responder_config.h"

#include <iterator>
#include <set>

#include "absl/strings/str_cat.h"
#include "engine/base/enum_names.h"
#include "engine/base/status_macros.h"
#include "engine/base/strings.h"
#include "engine/config/config.h"
#include "engine/config/table_reader.h"
#include "engine/policy/segment.h"

namespace salvo {
namespace {

constexpr EnumName<ResponderKind> kKinds[] = {{ResponderKind::kConfirmation, "confirmation"},
                                              {ResponderKind::kMarketing, "marketing"},
                                              {ResponderKind::kDoubleOptIn, "double_opt_in"}};
static_assert(std::size(kKinds) == static_cast<size_t>(ResponderKind::kDoubleOptIn) + 1);

void ReadResponder(TableReader& r, Config* c, ResponderConfig* ro) {
  const toml::table& t = r.table();
  ro->line = static_cast<int>(t.source().begin.line);
  r.Str("name", &ro->name);
  r.Str("list", &ro->list);
  r.Str("template", &ro->template_file);
  r.Str("route", &ro->route);
  std::string kind = "confirmation";
  r.Str("kind", &kind);
  r.Dur("delay", &ro->delay);
  r.Str("segment", &ro->segment);
  r.Str("after", &ro->after);
  r.Finish();
  if (r.ok() && !ValueIn(kKinds, kind, &ro->kind))
    r.Error(*t.get("kind"), "kind", "must be confirmation, marketing or double_opt_in");
  if (r.ok() && !ro->after.empty() && ro->after != "confirmed")
    r.Error(*t.get("after"), "after", "must be \"confirmed\" (or absent)");
  if (r.ok() && !ro->segment.empty()) {
    if (auto seg = Segment::Compile(ro->segment); !seg.ok())
      r.Error(*t.get("segment"), "segment", std::string(seg.status().message()));
  }
  ro->template_file = c->Resolve(ro->template_file);
}

void ReadDelivery(TableReader& r, Config* c, DeliveryConfig* d) {
  d->line = static_cast<int>(r.table().source().begin.line);
  r.Str("name", &d->name);
  r.Str("list", &d->list);
  r.StrList("to", &d->to);
  r.Str("template", &d->template_file);
  r.Str("route", &d->route);
  r.Finish();
  d->template_file = c->Resolve(d->template_file);
}

// "salvo.toml:12: [[responder]] "dk-welcome": " — the prefix of every check's message.
std::string Where(const Config& c, std::string_view section, int line, std::string_view name) {
  return absl::StrCat(c.path, ":", line, ": [[", Av(section), "]] \"", SanitizeForLog(name, 64),
                      "\": ");
}

[[nodiscard]] absl::Status CheckCommon(const Config& c, std::string_view section, int line,
                                       const std::string& name, const std::string& list,
                                       const std::string& route, const std::string& tmpl,
                                       std::set<std::string>* names) {
  const std::string w = Where(c, section, line, name);
  if (!IsNameToken(name, 64))
    return absl::InvalidArgumentError(
        absl::StrCat(c.path, ":", line, ": [[", Av(section), "]] needs a name of 1-64 characters of "
                     "A-Z a-z 0-9 . _ -"));
  if (!names->insert(name).second)
    return absl::InvalidArgumentError(absl::StrCat(w, "defined twice"));
  if (list.empty()) return absl::InvalidArgumentError(absl::StrCat(w, "needs \"list\""));
  if (tmpl.empty()) return absl::InvalidArgumentError(absl::StrCat(w, "needs \"template\""));
  if (route.empty()) return absl::InvalidArgumentError(absl::StrCat(w, "needs \"route\""));
  const RouteConfig* r = c.FindRoute(route);
  if (r == nullptr)
    return absl::InvalidArgumentError(
        absl::StrCat(w, "\"route\" names \"", SanitizeForLog(route, 64), "\", which no [[route]] defines"));
  if (r->purpose != "responder")
    return absl::InvalidArgumentError(absl::StrCat(w, "\"route\" \"", route, "\" has purpose = \"",
                                                   r->purpose, "\"; it must be \"responder\""));
  return absl::OkStatus();
}

}  // namespace

std::string_view ResponderKindName(ResponderKind k) { return NameIn(kKinds, k, "?"); }

void ParseResponderSections(TableReader* root, Config* c) {
  root->ForEachTable("responder", [&](TableReader& r) {
    ResponderConfig ro;
    ReadResponder(r, c, &ro);
    c->responders.push_back(std::move(ro));
  });
  root->ForEachTable("delivery", [&](TableReader& r) {
    DeliveryConfig d;
    ReadDelivery(r, c, &d);
    c->deliveries.push_back(std::move(d));
  });
}

absl::Status ValidateResponders(const Config& c) {
  std::set<std::string> names, doi_lists;
  for (const ResponderConfig& r : c.responders) {
    RETURN_IF_ERROR(CheckCommon(c, "responder", r.line, r.name, r.list, r.route, r.template_file,
                                &names));
    if (r.kind == ResponderKind::kDoubleOptIn) doi_lists.insert(r.list);
  }
  for (const ResponderConfig& r : c.responders) {
    if (r.after.empty()) continue;
    const std::string w = Where(c, "responder", r.line, r.name);
    if (r.kind != ResponderKind::kMarketing)
      return absl::InvalidArgumentError(
          absl::StrCat(w, "\"after\" = \"confirmed\" needs kind = \"marketing\""));
    if (!doi_lists.count(r.list))
      return absl::InvalidArgumentError(absl::StrCat(
          w, "\"after\" = \"confirmed\" but list \"", r.list, "\" has no double_opt_in responder"));
  }
  names.clear();
  for (const DeliveryConfig& d : c.deliveries) {
    RETURN_IF_ERROR(CheckCommon(c, "delivery", d.line, d.name, d.list, d.route, d.template_file,
                                &names));
    if (d.to.empty())
      return absl::InvalidArgumentError(
          absl::StrCat(Where(c, "delivery", d.line, d.name), "needs \"to\" (one or more addresses)"));
  }
  return absl::OkStatus();
}

absl::Status LoadResponderTemplates(Config* c) {
  auto load = [&](std::string_view section, const std::string& name, const std::string& file,
                  int line, CampaignConfig* out) -> absl::Status {
    auto t = LoadCampaignTemplate(file, name);
    if (!t.ok())
      return absl::InvalidArgumentError(absl::StrCat(Where(*c, section, line, name), "template: ",
                                                     t.status().message()));
    *out = *std::move(t);
    return absl::OkStatus();
  };
  for (ResponderConfig& r : c->responders)
    RETURN_IF_ERROR(load("responder", r.name, r.template_file, r.line, &r.tmpl));
  for (DeliveryConfig& d : c->deliveries)
    RETURN_IF_ERROR(load("delivery", d.name, d.template_file, d.line, &d.tmpl));
  return absl::OkStatus();
}

}  // namespace salvo
