// TableReader: reads the keys of one TOML table of a config file and rejects the unknown ones,
// with errors naming the file, line and key. Shared by the salvo.toml parsers (config.cc and
// the sections that live in their own files, e.g. responder_config.cc). Include only from .cc
// files that define TOML_HEADER_ONLY 1 and TOML_EXCEPTIONS 0 before it.
#pragma once

#include <limits>
#include <set>
#include <string>
#include <vector>
#include <toml++/toml.h>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "engine/config/byte_size.h"
#include "engine/config/duration.h"

namespace salvo {

// Reads the keys of one TOML table, remembering which it consumed, so that Finish() can reject
// the ones nobody asked for. The first error wins; later calls become no-ops.
class TableReader {
 public:
  TableReader(const toml::table& t, std::string prefix, const std::string& file,
              absl::Status* status)
      : t_(t), prefix_(std::move(prefix)), file_(file), status_(status) {}

  void Str(const char* key, std::string* out) {
    if (auto* n = Get(key)) {
      if (auto v = n->value<std::string>()) *out = *v;
      else Fail(*n, key, "a string");
    }
  }
  void Bool(const char* key, bool* out) {
    if (auto* n = Get(key)) {
      if (auto v = n->value<bool>()) *out = *v;
      else Fail(*n, key, "true or false");
    }
  }
  template <typename T>
  void UInt(const char* key, T* out) {
    if (auto* n = Get(key)) {
      auto v = n->value<int64_t>();
      if (v && *v >= 0 && static_cast<uint64_t>(*v) <= std::numeric_limits<T>::max() &&
          n->is_integer()) {
        *out = static_cast<T>(*v);
      } else {
        Fail(*n, key, "a non-negative integer in range");
      }
    }
  }
  void Double(const char* key, double* out) {
    if (auto* n = Get(key)) {
      if (n->is_integer() || n->is_floating_point()) {
        double v = n->value<double>().value_or(-1);
        if (v >= 0) *out = v;
        else Fail(*n, key, "a non-negative number");
      } else {
        Fail(*n, key, "a number");
      }
    }
  }
  void Dur(const char* key, absl::Duration* out) {
    if (auto* n = Get(key)) {
      if (n->is_integer()) {
        int64_t s = n->value<int64_t>().value_or(-1);
        if (s >= 0) *out = absl::Seconds(s);
        else Fail(*n, key, "a duration");
      } else if (auto v = n->value<std::string>()) {
        auto d = ParseConfigDuration(*v);
        if (d.ok()) *out = *d;
        else Error(*n, key, std::string(d.status().message()));
      } else {
        Fail(*n, key, "a duration such as \"30s\" or \"24h\"");
      }
    }
  }
  // A size: "64MB", "512KB", "1GB" or an integer of bytes (engine/config/byte_size.h).
  void Bytes(const char* key, uint64_t* out) {
    if (auto* n = Get(key)) {
      if (n->is_integer()) {
        int64_t b = n->value<int64_t>().value_or(-1);
        if (b >= 0) *out = static_cast<uint64_t>(b);
        else Fail(*n, key, "a size");
      } else if (auto v = n->value<std::string>()) {
        auto b = ParseByteSize(*v);
        if (b.ok()) *out = *b;
        else Error(*n, key, std::string(b.status().message()));
      } else {
        Fail(*n, key, "a size such as \"64MB\"");
      }
    }
  }
  void StrList(const char* key, std::vector<std::string>* out) {
    if (auto* n = Get(key)) {
      const toml::array* a = n->as_array();
      if (!a) return Fail(*n, key, "an array of strings");
      out->clear();
      for (const auto& e : *a) {
        if (auto v = e.value<std::string>()) out->push_back(*v);
        else return Fail(e, key, "an array of strings");
      }
    }
  }
  const toml::table* Table(const char* key) {
    if (auto* n = Get(key)) {
      if (auto* t = n->as_table()) return t;
      Fail(*n, key, "a table");
    }
    return nullptr;
  }
  const toml::array* Array(const char* key) {
    if (auto* n = Get(key)) {
      if (auto* a = n->as_array()) return a;
      Fail(*n, key, "an array");
    }
    return nullptr;
  }
  // When the table `key` ([key] section) is present, calls fn(reader of it), then rejects the
  // keys fn did not read.
  template <typename Fn>
  void WithTable(const char* key, Fn fn) {
    if (const toml::table* t = Table(key)) {
      TableReader r = Nested(*t, key);
      fn(r);
      r.Finish();
    }
  }
  // Calls fn(reader of the table) for each table of the array `key` ([[key]] sections), then
  // rejects the keys fn did not read, stopping at the first error; items that are not tables are
  // skipped.
  template <typename Fn>
  void ForEachTable(const char* key, Fn fn) {
    const toml::array* a = Array(key);
    if (a == nullptr) return;
    for (const auto& e : *a) {
      if (!status_->ok()) break;
      if (const toml::table* t = e.as_table()) {
        TableReader r = Nested(*t, key);
        fn(r);
        r.Finish();
      }
    }
  }

  // Rejects keys that no reader call consumed (again, harmlessly, when called twice).
  void Finish() {
    for (const auto& [k, v] : t_) {
      if (!seen_.count(std::string(k.str()))) {
        SetError(v, absl::StrCat("unknown key \"", Name(std::string(k.str())), "\""));
        return;
      }
    }
  }

  // A reader of `t`, the table under `key` of this one.
  TableReader Nested(const toml::table& t, const std::string& key) const {
    return TableReader(t, Name(key), file_, status_);
  }
  const toml::table& table() const { return t_; }
  bool ok() const { return status_->ok(); }
  // An error about the whole table, at its first line (unless an error came first).
  void TableError(const std::string& msg) { SetError(t_, msg); }
  const std::string& prefix() const { return prefix_; }
  std::string Name(const std::string& key) const {
    return prefix_.empty() ? key : absl::StrCat(prefix_, ".", key);
  }
  void Error(const toml::node& n, const char* key, const std::string& what) {
    SetError(n, absl::StrCat("\"", Name(key), "\": ", what));
  }

 private:
  const toml::node* Get(const char* key) {
    seen_.insert(key);
    if (!status_->ok()) return nullptr;
    return t_.get(key);
  }
  void Fail(const toml::node& n, const char* key, const char* expected) {
    SetError(n, absl::StrCat("\"", Name(key), "\" must be ", expected));
  }
  void SetError(const toml::node& n, const std::string& msg) {
    if (!status_->ok()) return;
    *status_ = absl::InvalidArgumentError(
        absl::StrCat(file_, ":", n.source().begin.line, ": ", msg));
  }

  const toml::table& t_;
  std::string prefix_;
  const std::string& file_;
  absl::Status* status_;
  std::set<std::string> seen_;
};

}  // namespace salvo
