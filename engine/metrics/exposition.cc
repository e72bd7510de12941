// Prometheus text format 0.0.4 rendering of registry snapshots. Label values were sanitized when
// the child was created; here they are escaped.
#include "engine/metrics/exposition.h"

#include <charconv>
#include <cmath>

#include "engine/metrics/labels.h"

namespace salvo::metrics {

std::string FormatValue(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  if (v == std::floor(v) && std::fabs(v) < 1e15) {
    return std::to_string(static_cast<long long>(v));
  }
  char buf[64];
  auto r = std::to_chars(buf, buf + sizeof(buf), v);
  return std::string(buf, r.ptr);
}

namespace {

// Appends `{a="x",b="y"}` (with an optional extra `le` pair); nothing when there are no labels.
void AppendLabels(std::string& out, const std::vector<std::string>& names,
                  const std::vector<std::string>& values, std::string_view le = {}) {
  if (names.empty() && le.empty()) return;
  out.push_back('{');
  bool first = true;
  for (size_t i = 0; i < names.size() && i < values.size(); ++i) {
    if (!first) out.push_back(',');
    first = false;
    out.append(names[i]);
    out.append("=\"");
    out.append(EscapeLabelValue(values[i]));
    out.push_back('"');
  }
  if (!le.empty()) {
    if (!first) out.push_back(',');
    out.append("le=\"");
    out.append(le);
    out.push_back('"');
  }
  out.push_back('}');
}

void AppendSample(std::string& out, std::string_view name, std::string_view suffix,
                  const std::vector<std::string>& names, const std::vector<std::string>& values,
                  double v, std::string_view le = {}) {
  out.append(name);
  out.append(suffix);
  AppendLabels(out, names, values, le);
  out.push_back(' ');
  out.append(FormatValue(v));
  out.push_back('\n');
}

}  // namespace

std::string RenderText(const std::vector<FamilySnapshot>& families) {
  std::string out;
  for (const FamilySnapshot& f : families) {
    out.append("# HELP ").append(f.name).append(" ").append(EscapeHelp(f.help)).append("\n");
    out.append("# TYPE ").append(f.name).append(" ").append(MetricTypeName(f.type)).append("\n");
    for (const ChildSnapshot& c : f.children) {
      if (f.type != MetricType::kHistogram) {
        AppendSample(out, f.name, "", f.label_names, c.label_values, c.value);
        continue;
      }
      for (size_t i = 0; i < c.buckets.size(); ++i) {
        const std::string le = i < f.bounds.size() ? FormatValue(f.bounds[i]) : "+Inf";
        AppendSample(out, f.name, "_bucket", f.label_names, c.label_values,
                     static_cast<double>(c.buckets[i]), le);
      }
      AppendSample(out, f.name, "_sum", f.label_names, c.label_values, c.sum);
      AppendSample(out, f.name, "_count", f.label_names, c.label_values,
                   static_cast<double>(c.count));
    }
  }
  return out;
}

std::string RenderText(const Registry& registry) { return RenderText(registry.Snapshot()); }

}  // namespace salvo::metrics
