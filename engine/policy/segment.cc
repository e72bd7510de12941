// Recursive-descent parser and evaluator for segment expressions (see segment.h).
#include "engine/policy/segment.h"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <iterator>
#include <utility>

#include "absl/strings/str_cat.h"
#include "engine/base/rfc3339.h"
#include "engine/base/status_macros.h"
#include "engine/base/strings.h"

namespace salvo {
namespace {

bool IsWordChar(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' || c == '-' ||
         c == ':' || c == '+' || c == '@';
}

}  // namespace

std::optional<double> ParseNumber(std::string_view s) {
  if (s.empty() || s.size() > 64) return std::nullopt;
  char c0 = s[0];
  if (!(std::isdigit(static_cast<unsigned char>(c0)) || c0 == '-' || c0 == '+' || c0 == '.'))
    return std::nullopt;
  std::string tmp(s);
  char* end = nullptr;
  errno = 0;
  double v = std::strtod(tmp.c_str(), &end);
  if (end != tmp.c_str() + tmp.size() || errno == ERANGE) return std::nullopt;
  // Reject hex, inf and nan, which strtod accepts.
  for (char c : tmp)
    if (!(std::isdigit(static_cast<unsigned char>(c)) || c == '-' || c == '+' || c == '.' ||
          c == 'e' || c == 'E'))
      return std::nullopt;
  return v;
}

class SegmentParser {
 public:
  SegmentParser(std::string_view text, Segment* seg) : s_(text), seg_(seg) {}

  absl::Status Parse() {
    SkipSpace();
    if (pos_ == s_.size()) return absl::OkStatus();
    int root;
    RETURN_IF_ERROR(ParseOr(&root));
    SkipSpace();
    if (pos_ != s_.size()) return Error("expected 'and', 'or' or end of expression");
    seg_->root_ = root;
    return absl::OkStatus();
  }

 private:
  absl::Status Error(std::string_view what) const {
    return absl::InvalidArgumentError(absl::StrCat("segment:1:", pos_ + 1, ": ", Av(what)));
  }
  void SkipSpace() {
    while (pos_ < s_.size() && std::isspace(static_cast<unsigned char>(s_[pos_]))) ++pos_;
  }
  // Consumes keyword `kw` when it is the next word (case-insensitive).
  bool Keyword(std::string_view kw) {
    SkipSpace();
    if (s_.size() - pos_ < kw.size()) return false;
    for (size_t i = 0; i < kw.size(); ++i)
      if (std::tolower(static_cast<unsigned char>(s_[pos_ + i])) != kw[i]) return false;
    size_t after = pos_ + kw.size();
    if (after < s_.size() && IsWordChar(s_[after])) return false;
    pos_ = after;
    return true;
  }
  bool Punct(std::string_view p) {
    SkipSpace();
    if (s_.substr(pos_, p.size()) != p) return false;
    pos_ += p.size();
    return true;
  }
  int Add(Segment::Node n) {
    seg_->nodes_.push_back(std::move(n));
    return static_cast<int>(seg_->nodes_.size() - 1);
  }
  // operand (keyword operand)*, left-associative: `or` over ParseAnd, `and` over ParseNot.
  absl::Status ParseChain(std::string_view keyword, Segment::Op op,
                          absl::Status (SegmentParser::*operand)(int*), int* out) {
    int lhs;
    RETURN_IF_ERROR((this->*operand)(&lhs));
    while (Keyword(keyword)) {
      int rhs;
      RETURN_IF_ERROR((this->*operand)(&rhs));
      lhs = Add({op, "", {}, lhs, rhs});
    }
    *out = lhs;
    return absl::OkStatus();
  }
  absl::Status ParseOr(int* out) {
    return ParseChain("or", Segment::Op::kOr, &SegmentParser::ParseAnd, out);
  }
  absl::Status ParseAnd(int* out) {
    return ParseChain("and", Segment::Op::kAnd, &SegmentParser::ParseNot, out);
  }
  absl::Status ParseNot(int* out) {
    if (++depth_ > 100) return Error("expression nested too deeply");
    absl::Status st;
    if (Keyword("not")) {
      int inner;
      st = ParseNot(&inner);
      if (st.ok()) *out = Add({Segment::Op::kNot, "", {}, inner, -1});
    } else {
      st = ParsePrimary(out);
    }
    --depth_;
    return st;
  }
  absl::Status ParsePrimary(int* out) {
    SkipSpace();
    if (pos_ == s_.size()) return Error("expected field name");
    if (Punct("(")) {
      RETURN_IF_ERROR(ParseOr(out));
      if (!Punct(")")) return Error("expected ')'");
      return absl::OkStatus();
    }
    std::string field;
    RETURN_IF_ERROR(ParseField(&field));
    Segment::Node n{Segment::Op::kEq, field, {}, -1, -1};
    SkipSpace();
    // Comparisons, two-character ones first so that "<=" is not read as "<".
    using Op = Segment::Op;
    static constexpr std::pair<std::string_view, Op> kComparisons[] = {
        {"!=", Op::kNe}, {"<=", Op::kLe}, {">=", Op::kGe},
        {"=", Op::kEq},  {"<", Op::kLt},  {">", Op::kGt}};
    const auto* cmp = std::find_if(std::begin(kComparisons), std::end(kComparisons),
                                   [&](const auto& c) { return Punct(c.first); });
    if (cmp != std::end(kComparisons)) {
      n.op = cmp->second;
    } else if (Keyword("exists")) {
      n.op = Segment::Op::kExists;
      *out = Add(std::move(n));
      return absl::OkStatus();
    } else if (Keyword("in")) {
      n.op = Segment::Op::kIn;
      if (!Punct("[")) return Error("expected '['");
      if (!Punct("]")) {
        do {
          Segment::Literal lit;
          RETURN_IF_ERROR(ParseValue(&lit));
          n.values.push_back(std::move(lit));
        } while (Punct(","));
        if (!Punct("]")) return Error("expected ',' or ']'");
      }
      *out = Add(std::move(n));
      return absl::OkStatus();
    } else {
      return Error("expected operator (=, !=, <, >, <=, >=, in, exists)");
    }
    Segment::Literal lit;
    RETURN_IF_ERROR(ParseValue(&lit));
    n.values.push_back(std::move(lit));
    *out = Add(std::move(n));
    return absl::OkStatus();
  }
  absl::Status ParseField(std::string* out) {
    SkipSpace();
    size_t start = pos_;
    while (pos_ < s_.size() && (std::isalnum(static_cast<unsigned char>(s_[pos_])) ||
                                s_[pos_] == '_' || s_[pos_] == '-' || s_[pos_] == '.'))
      ++pos_;
    if (pos_ == start) return Error("expected field name");
    *out = std::string(s_.substr(start, pos_ - start));
    return absl::OkStatus();
  }
  absl::Status ParseValue(Segment::Literal* lit) {
    SkipSpace();
    if (pos_ == s_.size()) return Error("expected value");
    char q = s_[pos_];
    if (q == '"' || q == '\'') {
      size_t start = pos_;
      ++pos_;
      std::string v;
      while (pos_ < s_.size() && s_[pos_] != q) {
        if (s_[pos_] == '\\' && pos_ + 1 < s_.size()) ++pos_;
        v.push_back(s_[pos_++]);
      }
      if (pos_ == s_.size()) {
        pos_ = start;
        return Error("unterminated string");
      }
      ++pos_;
      lit->text = std::move(v);
    } else {
      size_t start = pos_;
      while (pos_ < s_.size() && IsWordChar(s_[pos_])) ++pos_;
      if (pos_ == start) return Error("expected value");
      lit->text = std::string(s_.substr(start, pos_ - start));
      if (lit->text == "and" || lit->text == "or" || lit->text == "not") {
        pos_ = start;
        return Error("expected value");
      }
    }
    lit->number = ParseNumber(lit->text);
    lit->time_us = ParseRfc3339Micros(lit->text, Rfc3339Form::kDateOrDateTime);
    return absl::OkStatus();
  }

  std::string_view s_;
  Segment* seg_;
  size_t pos_ = 0;
  int depth_ = 0;
};

absl::StatusOr<Segment> Segment::Compile(std::string_view expr) {
  if (expr.size() > kMaxLength)
    return absl::InvalidArgumentError(
        absl::StrCat("segment: expression longer than ", kMaxLength, " bytes"));
  Segment seg;
  SegmentParser p(expr, &seg);
  absl::Status st = p.Parse();
  if (!st.ok()) return st;
  return seg;
}

namespace {

const std::string* FieldOf(const Recipient& r, std::string_view name) {
  if (name == "opted_in_at") return r.consent.opted_in_at.empty() ? nullptr : &r.consent.opted_in_at;
  if (name == "consent_source") return r.consent.source.empty() ? nullptr : &r.consent.source;
  if (name == "consent_ip") return r.consent.ip.empty() ? nullptr : &r.consent.ip;
  return r.Field(name);
}

// -1, 0, 1 or nullopt when the two are not comparable as numbers or times.
std::optional<int> Compare(const std::string& v, const Segment::Literal& lit) {
  if (lit.number) {
    if (auto n = ParseNumber(v)) return *n < *lit.number ? -1 : (*n > *lit.number ? 1 : 0);
  }
  if (lit.time_us) {
    if (auto t = ParseRfc3339Micros(v, Rfc3339Form::kDateOrDateTime))
      return *t < *lit.time_us ? -1 : (*t > *lit.time_us ? 1 : 0);
  }
  return std::nullopt;
}

}  // namespace

bool Segment::Matches(const Recipient& r) const {
  if (root_ < 0) return true;
  return Eval(root_, r);
}

bool Segment::Eval(int i, const Recipient& r) const {
  const Node& n = nodes_[i];
  switch (n.op) {
    case Op::kAnd: return Eval(n.lhs, r) && Eval(n.rhs, r);
    case Op::kOr: return Eval(n.lhs, r) || Eval(n.rhs, r);
    case Op::kNot: return !Eval(n.lhs, r);
    default: break;
  }
  const std::string* v = FieldOf(r, n.field);
  switch (n.op) {
    case Op::kExists: return v != nullptr;
    case Op::kEq: return v && *v == n.values[0].text;
    case Op::kNe: return !v || *v != n.values[0].text;
    case Op::kIn:
      if (!v) return false;
      for (const auto& lit : n.values)
        if (*v == lit.text) return true;
      return false;
    case Op::kLt:
    case Op::kGt:
    case Op::kLe:
    case Op::kGe: {
      if (!v) return false;
      auto c = Compare(*v, n.values[0]);
      if (!c) return false;
      if (n.op == Op::kLt) return *c < 0;
      if (n.op == Op::kGt) return *c > 0;
      if (n.op == Op::kLe) return *c <= 0;
      return *c >= 0;
    }
    default: return false;
  }
}

}  // namespace salvo
