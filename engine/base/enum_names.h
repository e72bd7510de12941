// Names of small enums, one {value, name} table per enum, so that printing a value and parsing
// its name cannot disagree. Used for the Name()/Parse() pairs of suppression reasons, outcomes,
// feedback classes, webhook providers, account reply classes, TLS modes and campaign states.
#pragma once

#include <cstddef>
#include <string_view>
#include <utility>

namespace salvo {

template <typename E>
using EnumName = std::pair<E, std::string_view>;

// The name of `v` in `table`; `fallback` when the table does not list it.
template <typename E, size_t N>
constexpr std::string_view NameIn(const EnumName<E> (&table)[N], E v, std::string_view fallback) {
  for (const auto& [value, name] : table)
    if (value == v) return name;
  return fallback;
}

// The value named `s` in `table` to *out; false (and *out unchanged) when no name matches.
template <typename E, size_t N>
constexpr bool ValueIn(const EnumName<E> (&table)[N], std::string_view s, E* out) {
  for (const auto& [value, name] : table) {
    if (name != s) continue;
    *out = value;
    return true;
  }
  return false;
}

}  // namespace salvo
