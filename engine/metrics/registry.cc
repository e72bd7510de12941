// Registry, families and cell memory (see registry.h for the design). Label values are
// sanitized here before they become part of a child's identity.
#include "engine/metrics/registry.h"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <new>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "engine/base/strings.h"
#include "engine/metrics/labels.h"

namespace salvo::metrics {

namespace {

using internal::Cell;

bool ValidMetricName(std::string_view n) {
  if (n.empty()) return false;
  for (size_t i = 0; i < n.size(); ++i) {
    const char c = n[i];
    const bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':';
    if (!alpha && !(i > 0 && c >= '0' && c <= '9')) return false;
  }
  return true;
}

bool ValidLabelName(std::string_view n) {
  if (n.empty() || n.substr(0, 2) == "__") return false;
  for (size_t i = 0; i < n.size(); ++i) {
    const char c = n[i];
    const bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
    if (!alpha && !(i > 0 && c >= '0' && c <= '9')) return false;
  }
  return true;
}

// Child identity: sanitized values joined by 0xff (a byte SanitizeLabelValue never emits).
std::string KeyOf(const std::vector<std::string>& values) {
  std::string key;
  for (const std::string& v : values) {
    key.append(v);
    key.push_back('\xff');
  }
  return key;
}

uint64_t SumU64(const Cell* base) {
  uint64_t total = 0;
  for (uint32_t s = 0; s < kSlots; ++s) total += base[s * kChunkCells].load(std::memory_order_relaxed);
  return total;
}

double SumF64(const Cell* base) {
  double total = 0;
  for (uint32_t s = 0; s < kSlots; ++s) {
    total += std::bit_cast<double>(base[s * kChunkCells].load(std::memory_order_relaxed));
  }
  return total;
}

}  // namespace

void SetThreadWorker(int worker) {
  internal::tls_slot = (worker >= 0 && worker < kMaxWorkers) ? static_cast<uint32_t>(worker) + 1 : 0;
}

int ThreadWorker() {
  return internal::tls_slot == 0 ? -1 : static_cast<int>(internal::tls_slot) - 1;
}

std::string_view MetricTypeName(MetricType t) {
  switch (t) {
    case MetricType::kCounter: return "counter";
    case MetricType::kGauge: return "gauge";
    case MetricType::kHistogram: return "histogram";
  }
  return "untyped";
}

uint64_t Counter::Value() const { return base_ == nullptr ? 0 : SumU64(base_); }
double Gauge::Value() const { return base_ == nullptr ? 0 : SumF64(base_); }

uint64_t Histogram::Count() const {
  uint64_t total = 0;
  if (base_ == nullptr) return 0;
  for (uint32_t i = 0; i <= nbounds_; ++i) total += SumU64(base_ + i);
  return total;
}

double Histogram::Sum() const { return base_ == nullptr ? 0 : SumF64(base_ + nbounds_ + 1); }

// --- cell memory ---

struct Registry::Chunk {
  Chunk() {
    cells = static_cast<Cell*>(::operator new(sizeof(Cell) * kSlots * kChunkCells,
                                              std::align_val_t{64}));
    for (size_t i = 0; i < kSlots * kChunkCells; ++i) new (&cells[i]) Cell(0);
  }
  ~Chunk() { ::operator delete(cells, std::align_val_t{64}); }
  Chunk(const Chunk&) = delete;
  Chunk& operator=(const Chunk&) = delete;
  Cell* cells;  // slot s, cell i: cells[s * kChunkCells + i]
};

Cell* Registry::AllocateCellsLocked(uint32_t n) {
  if (chunks_.empty() || chunk_used_ + n > kChunkCells) {
    chunks_.push_back(std::make_unique<Chunk>());
    chunk_used_ = 0;
  }
  Cell* base = chunks_.back()->cells + chunk_used_;
  chunk_used_ += n;
  return base;
}

// --- families ---

struct Family::State {
  struct Child {
    std::vector<std::string> values;
    Cell* base;
    size_t chunk;   // index in registry chunks_
    size_t offset;  // cell offset in that chunk
  };
  absl::flat_hash_map<std::string, size_t> index;  // KeyOf(values) -> children[i]
  std::vector<Child> children;
  size_t folded_children = 0;
  uint64_t folded = 0;
};

Family::Family(Registry* registry, MetricType type, std::string name, std::string help,
               std::vector<std::string> label_names, FamilyOptions options, uint32_t cells)
    : registry_(registry),
      type_(type),
      name_(std::move(name)),
      help_(std::move(help)),
      label_names_(std::move(label_names)),
      options_(std::move(options)),
      cells_(cells),
      state_(std::make_unique<State>()) {
  for (const std::string& l : label_names_) {
    bounded_.push_back(std::find(options_.bounded_labels.begin(), options_.bounded_labels.end(),
                                 l) != options_.bounded_labels.end());
  }
}

Family::~Family() = default;

size_t Family::children() const {
  std::lock_guard<std::mutex> lock(registry_->mu_);
  return state_->children.size();
}

uint64_t Family::folded() const {
  std::lock_guard<std::mutex> lock(registry_->mu_);
  return state_->folded;
}

Cell* Family::Resolve(std::span<const std::string_view> values) {
  if (values.size() != label_names_.size()) {
    assert(false && "metrics: wrong number of label values");
    return nullptr;
  }
  std::vector<std::string> v;
  v.reserve(values.size());
  for (std::string_view s : values) v.push_back(SanitizeLabelValue(s));
  std::string key = KeyOf(v);

  std::lock_guard<std::mutex> lock(registry_->mu_);
  State& st = *state_;
  auto it = st.index.find(key);
  if (it != st.index.end()) return st.children[it->second].base;
  bool folding = false;
  if (st.children.size() >= options_.max_children) {
    folding = true;
    ++st.folded;
    const bool all = st.folded_children >= kOverflowChildren;
    for (size_t i = 0; i < v.size(); ++i) {
      if (all || !bounded_[i]) v[i] = std::string(kOther);
    }
    key = KeyOf(v);
    it = st.index.find(key);
    if (it != st.index.end()) return st.children[it->second].base;
    if (!all) ++st.folded_children;
  }
  (void)folding;
  Cell* base = registry_->AllocateCellsLocked(cells_);
  const size_t chunk = registry_->chunks_.size() - 1;
  const size_t offset = static_cast<size_t>(base - registry_->chunks_.back()->cells);
  st.children.push_back(State::Child{std::move(v), base, chunk, offset});
  st.index.emplace(std::move(key), st.children.size() - 1);
  return base;
}

Counter CounterFamily::WithLabels(std::span<const std::string_view> values) {
  return Counter(Resolve(values));
}

uint64_t CounterFamily::Total(std::string_view label, std::string_view value) const {
  size_t li = label_names_.size();
  if (!label.empty()) {
    li = static_cast<size_t>(std::find(label_names_.begin(), label_names_.end(), label) -
                             label_names_.begin());
    if (li == label_names_.size()) return 0;
  }
  std::lock_guard<std::mutex> lock(registry_->mu_);
  uint64_t total = 0;
  for (const State::Child& c : state_->children) {
    if (li < label_names_.size() && c.values[li] != value) continue;
    total += SumU64(c.base);
  }
  return total;
}

Gauge GaugeFamily::WithLabels(std::span<const std::string_view> values) {
  return Gauge(Resolve(values));
}

HistogramFamily::HistogramFamily(Registry* registry, std::string name, std::string help,
                                 std::vector<std::string> label_names, FamilyOptions options,
                                 std::vector<double> bounds)
    : Family(registry, MetricType::kHistogram, std::move(name), std::move(help),
             std::move(label_names), std::move(options),
             static_cast<uint32_t>(bounds.size()) + 2),
      bounds_(std::move(bounds)) {}

Histogram HistogramFamily::WithLabels(std::span<const std::string_view> values) {
  Cell* base = Resolve(values);
  if (base == nullptr) return Histogram();
  return Histogram(base, bounds_.data(), static_cast<uint32_t>(bounds_.size()));
}

// --- registry ---

Registry::Registry() = default;
Registry::~Registry() = default;

Family* Registry::FindLocked(std::string_view name) const {
  for (const auto& f : families_) {
    if (f->name() == name) return f.get();
  }
  return nullptr;
}

namespace {

[[nodiscard]] absl::Status CheckNames(std::string_view name, const std::vector<std::string>& labels,
                        MetricType type) {
  if (!ValidMetricName(name)) {
    return absl::InvalidArgumentError(absl::StrCat("metrics: invalid metric name \"", Av(name), "\""));
  }
  if (type == MetricType::kCounter &&
      (name.size() < 6 || name.substr(name.size() - 6) != "_total")) {
    return absl::InvalidArgumentError(
        absl::StrCat("metrics: counter \"", Av(name), "\" must end in _total"));
  }
  for (size_t i = 0; i < labels.size(); ++i) {
    if (!ValidLabelName(labels[i])) {
      return absl::InvalidArgumentError(absl::StrCat("metrics: ", Av(name),
                                                     ": invalid label name \"", labels[i], "\""));
    }
    if (type == MetricType::kHistogram && labels[i] == "le") {
      return absl::InvalidArgumentError(
          absl::StrCat("metrics: ", Av(name), ": histogram label \"le\" is reserved"));
    }
    for (size_t j = 0; j < i; ++j) {
      if (labels[j] == labels[i]) {
        return absl::InvalidArgumentError(
            absl::StrCat("metrics: ", Av(name), ": duplicate label \"", labels[i], "\""));
      }
    }
  }
  return absl::OkStatus();
}

}  // namespace

template <typename F>
[[nodiscard]] static absl::StatusOr<F*> Existing(Family* f, MetricType type,
                                   const std::vector<std::string>& labels) {
  if (f->type() != type || f->label_names() != labels) {
    return absl::InvalidArgumentError(absl::StrCat(
        "metrics: \"", f->name(), "\" is already registered with another type or labels"));
  }
  return static_cast<F*>(f);
}

absl::StatusOr<CounterFamily*> Registry::AddCounter(std::string_view name, std::string_view help,
                                                    std::vector<std::string> label_names,
                                                    FamilyOptions options) {
  if (absl::Status s = CheckNames(name, label_names, MetricType::kCounter); !s.ok()) return s;
  std::lock_guard<std::mutex> lock(mu_);
  if (Family* f = FindLocked(name)) {
    return Existing<CounterFamily>(f, MetricType::kCounter, label_names);
  }
  auto* f = new CounterFamily(this, MetricType::kCounter, std::string(name), std::string(help),
                              std::move(label_names), std::move(options), 1);
  families_.emplace_back(f);
  return f;
}

absl::StatusOr<GaugeFamily*> Registry::AddGauge(std::string_view name, std::string_view help,
                                                std::vector<std::string> label_names,
                                                FamilyOptions options) {
  if (absl::Status s = CheckNames(name, label_names, MetricType::kGauge); !s.ok()) return s;
  std::lock_guard<std::mutex> lock(mu_);
  if (Family* f = FindLocked(name)) return Existing<GaugeFamily>(f, MetricType::kGauge, label_names);
  auto* f = new GaugeFamily(this, MetricType::kGauge, std::string(name), std::string(help),
                            std::move(label_names), std::move(options), 1);
  families_.emplace_back(f);
  return f;
}

absl::StatusOr<HistogramFamily*> Registry::AddHistogram(std::string_view name,
                                                        std::string_view help,
                                                        std::vector<std::string> label_names,
                                                        std::vector<double> bounds,
                                                        FamilyOptions options) {
  if (absl::Status s = CheckNames(name, label_names, MetricType::kHistogram); !s.ok()) return s;
  if (bounds.empty() || bounds.size() > 64) {
    return absl::InvalidArgumentError(
        absl::StrCat("metrics: ", Av(name), ": histogram needs 1 to 64 bucket bounds"));
  }
  for (size_t i = 0; i < bounds.size(); ++i) {
    if (!std::isfinite(bounds[i]) || (i > 0 && !(bounds[i] > bounds[i - 1]))) {
      return absl::InvalidArgumentError(absl::StrCat(
          "metrics: ", Av(name), ": bucket bounds must be finite and strictly increasing"));
    }
  }
  std::lock_guard<std::mutex> lock(mu_);
  if (Family* f = FindLocked(name)) {
    auto r = Existing<HistogramFamily>(f, MetricType::kHistogram, label_names);
    if (r.ok() && (*r)->bounds() != bounds) {
      return absl::InvalidArgumentError(
          absl::StrCat("metrics: \"", Av(name), "\" is already registered with other buckets"));
    }
    return r;
  }
  auto* f = new HistogramFamily(this, std::string(name), std::string(help), std::move(label_names),
                                std::move(options), std::move(bounds));
  families_.emplace_back(f);
  return f;
}

size_t Registry::families() const {
  std::lock_guard<std::mutex> lock(mu_);
  return families_.size();
}

std::vector<FamilySnapshot> Registry::Snapshot() const {
  std::lock_guard<std::mutex> lock(mu_);
  // Sum the slots chunk by chunk, reading each slot's region sequentially (cache friendly), as
  // integers and as doubles; each child then picks the interpretation of its cells.
  const size_t ncells = chunks_.size() * kChunkCells;
  std::vector<uint64_t> u(ncells, 0);
  std::vector<double> d(ncells, 0.0);
  for (size_t c = 0; c < chunks_.size(); ++c) {
    const Cell* cells = chunks_[c]->cells;
    const size_t used = (c + 1 == chunks_.size()) ? chunk_used_ : kChunkCells;
    uint64_t* uo = u.data() + c * kChunkCells;
    double* dout = d.data() + c * kChunkCells;
    for (uint32_t s = 0; s < kSlots; ++s) {
      const Cell* region = cells + s * kChunkCells;
      for (size_t i = 0; i < used; ++i) {
        const uint64_t bits = region[i].load(std::memory_order_relaxed);
        uo[i] += bits;
        dout[i] += std::bit_cast<double>(bits);
      }
    }
  }

  std::vector<FamilySnapshot> out;
  out.reserve(families_.size());
  for (const auto& f : families_) {
    FamilySnapshot fs;
    fs.name = f->name();
    fs.help = f->help();
    fs.type = f->type();
    fs.label_names = f->label_names();
    if (f->type() == MetricType::kHistogram) {
      fs.bounds = static_cast<const HistogramFamily*>(f.get())->bounds();
    }
    const uint32_t nb = static_cast<uint32_t>(fs.bounds.size());
    fs.children.reserve(f->state_->children.size());
    for (const Family::State::Child& c : f->state_->children) {
      ChildSnapshot cs;
      cs.label_values = c.values;
      const size_t at = c.chunk * kChunkCells + c.offset;
      switch (f->type()) {
        case MetricType::kCounter:
          cs.value = static_cast<double>(u[at]);
          break;
        case MetricType::kGauge:
          cs.value = d[at];
          break;
        case MetricType::kHistogram: {
          uint64_t cumulative = 0;
          cs.buckets.reserve(nb + 1);
          for (uint32_t i = 0; i <= nb; ++i) {
            cumulative += u[at + i];
            cs.buckets.push_back(cumulative);
          }
          cs.count = cumulative;
          cs.sum = d[at + nb + 1];
          break;
        }
      }
      fs.children.push_back(std::move(cs));
    }
    std::sort(fs.children.begin(), fs.children.end(),
              [](const ChildSnapshot& a, const ChildSnapshot& b) {
                return a.label_values < b.label_values;
              });
    out.push_back(std::move(fs));
  }
  return out;
}

Registry& DefaultRegistry() {
  static Registry* registry = new Registry();
  return *registry;
}

}  // namespace salvo::metrics
