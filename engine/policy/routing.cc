// Route selection and two-level egress picking (see routing.h).
#include "engine/policy/routing.h"

#include "absl/strings/str_cat.h"
#include "engine/base/strings.h"

namespace salvo {

[[nodiscard]]
absl::StatusOr<const RouteConfig*> SelectRoute(const Config& config, std::string_view route_name,
                                               std::string_view list) {
  if (!route_name.empty()) {
    const RouteConfig* r = config.FindRoute(route_name);
    if (!r)
      return absl::NotFoundError(
          absl::StrCat("campaign route \"", Av(route_name), "\" is not defined in ", config.path));
    return r;
  }
  for (const auto& r : config.routes)
    for (const auto& l : r.lists)
      if (l == list) return &r;
  for (const auto& r : config.routes)
    if (r.is_default) {
      if (r.purpose == "responder")
        return absl::FailedPreconditionError(absl::StrCat(
            "the default route \"", r.name, "\" is a responder route; give the campaign a bulk route"));
      return &r;
    }
  return absl::NotFoundError(absl::StrCat("no route for list \"", Av(list), "\": add `route =` to ",
                                          "the campaign, a route with lists = [\"", Av(list),
                                          "\"] or a default route to ", config.path));
}

EgressPicker::EgressPicker(const std::vector<uint32_t>& account_weights,
                           const std::vector<size_t>& ip_counts)
    : accounts_(account_weights) {
  for (size_t n : ip_counts) ips_.emplace_back(std::vector<uint32_t>(n, 1));
}

}  // namespace salvo
