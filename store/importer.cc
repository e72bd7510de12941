// Streaming CSV / JSONL importer. Trust: the input file is hostile; see importer.h for the limits.
// One thread parses and converts rows into a batch while a writer thread upserts the previous
// batch, so memory is two batches plus one read buffer whatever the file size.
#include "store/importer.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <mutex>
#include <random>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "engine/base/address.h"
#include "engine/base/shard.h"
#include "engine/base/rfc3339.h"
#include "engine/base/status_macros.h"
#include "engine/base/strings.h"
#include "simdjson.h"
#include "store/csv.h"
#include "store/recipient_row.h"
#include "store/recipient_store.h"

namespace salvo {
namespace {

constexpr size_t kReadChunk = 4 << 20;
constexpr size_t kPadding = 64;  // >= SIMDJSON_PADDING
static_assert(kPadding >= simdjson::SIMDJSON_PADDING);

using Clock = std::chrono::steady_clock;

// ---------------------------------------------------------------------------------------------
// Buffered input with simdjson padding after the data.

class Input {
 public:
  Input(int fd, std::string_view mem) : fd_(fd) {
    size_t cap = fd >= 0 ? kReadChunk + kImportMaxRowBytes : mem.size();
    buf_.resize(cap + kPadding);
    if (fd < 0) {
      std::memcpy(buf_.data(), mem.data(), mem.size());
      end_ = mem.size();
      eof_ = true;
    }
  }
  const char* begin() const { return buf_.data() + pos_; }
  const char* end() const { return buf_.data() + end_; }
  size_t size() const { return end_ - pos_; }
  bool eof() const { return eof_; }
  uint64_t consumed() const { return consumed_; }
  void Consume(size_t n) {
    pos_ += n;
    consumed_ += n;
  }
  // Moves the unconsumed tail to the front and reads until the buffer is full or EOF.
  absl::Status Fill(const std::string& name) {
    if (eof_) return absl::OkStatus();
    if (pos_ > 0) {
      std::memmove(buf_.data(), buf_.data() + pos_, end_ - pos_);
      end_ -= pos_;
      pos_ = 0;
    }
    size_t cap = buf_.size() - kPadding;
    while (end_ < cap) {
      ssize_t n = ::read(fd_, buf_.data() + end_, cap - end_);
      if (n < 0) {
        if (errno == EINTR) continue;
        return absl::UnavailableError(absl::StrCat(name, ": read error: ", std::strerror(errno)));
      }
      if (n == 0) {
        eof_ = true;
        break;
      }
      end_ += n;
    }
    return absl::OkStatus();
  }

 private:
  int fd_;
  std::vector<char> buf_;
  size_t pos_ = 0;
  size_t end_ = 0;
  bool eof_ = false;
  uint64_t consumed_ = 0;
};

// A CSV column: its name (lowercased for the consent columns) and what it is.
struct Column {
  std::string name;
  ColumnKind kind = ColumnKind::kField;
};

void ResetRecipient(Recipient* r) {
  r->address.clear();
  r->key.clear();
  r->consent.opted_in_at.clear();
  r->consent.source.clear();
  r->consent.ip.clear();
}

// ---------------------------------------------------------------------------------------------
// One import run: the parser side (caller's thread) and the writer thread.

class ImportRun {
 public:
  ImportRun(Store* store, const std::string& name, const ImportOptions& options)
      : rs_(store), name_(name), options_(options) {
    std::random_device rd;
    run_.run_id = (static_cast<uint64_t>(rd()) << 32) ^ rd() ^
                  static_cast<uint64_t>(Clock::now().time_since_epoch().count());
    if (run_.run_id == 0) run_.run_id = 1;
    run_.sync = options.sync;
    batch_rows_ = std::max<size_t>(1, options.batch_rows);
    for (auto& b : batches_) b.rows.resize(batch_rows_);
    start_ = Clock::now();
  }

  ~ImportRun() { StopWriter(); }

  absl::StatusOr<ImportSummary> Run(Input* in, uint64_t total_bytes) {
    RETURN_IF_ERROR(RecipientStore::ValidateListName(options_.list));
    total_bytes_ = total_bytes;
    writer_ = std::thread([this] { WriterLoop(); });
    RETURN_IF_ERROR(in->Fill(name_));
    // Skip a UTF-8 byte order mark.
    if (in->size() >= 3 && std::memcmp(in->begin(), "\xEF\xBB\xBF", 3) == 0) in->Consume(3);
    ImportFormat format = options_.format;
    if (format == ImportFormat::kAuto) format = Detect(in);
    absl::Status s = format == ImportFormat::kJsonl ? ParseJsonl(in) : ParseCsv(in);
    // Rows before a fatal error are stored too; the error says so.
    absl::Status fs = Flush(/*final=*/true);
    StopWriter();
    if (!s.ok()) {
      uint64_t stored = summary_.imported + summary_.updated + summary_.unchanged;
      if (stored == 0) return s;
      return absl::Status(s.code(), absl::StrCat(s.message(), " (", stored,
                                                 " rows before it were stored)"));
    }
    if (!fs.ok()) return fs;
    if (!writer_status_.ok()) return writer_status_;
    summary_.rows = rows_.load();
    summary_.rejected = rejected_.load();
    summary_.seconds = Seconds();
    Progress(in, /*force=*/true);
    return summary_;
  }

 private:
  struct Batch {
    std::vector<Recipient> rows;
    PreparedBatch prepared;
    size_t used = 0;
    uint64_t last_line = 0;
  };

  double Seconds() const { return std::chrono::duration<double>(Clock::now() - start_).count(); }

  ImportFormat Detect(Input* in) {
    auto ends_with = [&](std::string_view suffix) {
      return name_.size() >= suffix.size() &&
             AsciiLower(std::string_view(name_).substr(name_.size() - suffix.size())) == suffix;
    };
    if (ends_with(".jsonl") || ends_with(".ndjson") || ends_with(".json")) {
      return ImportFormat::kJsonl;
    }
    if (ends_with(".csv")) return ImportFormat::kCsv;
    const char* p = in->begin();
    while (p < in->end() && (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')) ++p;
    return (p < in->end() && *p == '{') ? ImportFormat::kJsonl : ImportFormat::kCsv;
  }

  absl::Status Fatal(uint64_t line, std::string_view what) {
    if (line == 0) return absl::InvalidArgumentError(absl::StrCat(name_, ": ", Av(what)));
    return absl::InvalidArgumentError(absl::StrCat(name_, ": line ", line, ": ", Av(what)));
  }

  void Reject(uint64_t line, std::string_view reason) {
    ++rejected_;
    if (options_.on_reject) options_.on_reject(line, reason);
  }

  Recipient* NextSlot() {
    Batch& b = batches_[current_];
    if (b.used >= b.rows.size()) b.rows.resize(batch_rows_);
    Recipient* r = &b.rows[b.used];
    ResetRecipient(r);
    return r;
  }

  // Keeps the row just filled in NextSlot().
  absl::Status Commit(uint64_t line, Input* in) {
    Batch& b = batches_[current_];
    Recipient& r = b.rows[b.used];
    r.shard = ShardOf(r.key);
    ++b.used;
    b.last_line = line;
    if (b.used >= batch_rows_) {
      RETURN_IF_ERROR(Flush(/*final=*/false));
      Progress(in, false);
    }
    return absl::OkStatus();
  }

  // Hands the current batch to the writer (waiting for it to finish the previous one).
  absl::Status Flush(bool final) {
    Batch& b = batches_[current_];
    b.rows.resize(b.used);
    // Sorting, deduplication and encoding happen here, while the writer stores the previous batch.
    RETURN_IF_ERROR(RecipientStore::Prepare(options_.list, b.rows, &b.prepared));
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [&] { return pending_ < 0; });
    if (!writer_status_.ok()) return writer_status_;
    if (b.used == 0 && !final) return absl::OkStatus();
    pending_ = current_;
    current_ = 1 - current_;
    cv_.notify_all();
    if (final) {
      cv_.wait(lock, [&] { return pending_ < 0; });
      return writer_status_;
    }
    return absl::OkStatus();
  }

  void StopWriter() {
    if (!writer_.joinable()) return;
    {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait(lock, [&] { return pending_ < 0; });
      stop_ = true;
      cv_.notify_all();
    }
    writer_.join();
  }

  void WriterLoop() {
    for (;;) {
      int which;
      {
        std::unique_lock<std::mutex> lock(mu_);
        cv_.wait(lock, [&] { return pending_ >= 0 || stop_; });
        if (pending_ < 0) return;
        which = pending_;
      }
      Batch& b = batches_[which];
      absl::Status status;
      ImportSummary snapshot;
      if (!b.rows.empty()) {
        auto c = rs_.UpsertPrepared(b.prepared, run_);
        if (c.ok()) {
          std::lock_guard<std::mutex> lock(mu_);
          summary_.imported += c->imported;
          summary_.updated += c->updated;
          summary_.unchanged += c->unchanged;
          summary_.duplicate += c->duplicate;
          snapshot = summary_;
          snapshot.rows = rows_.load();
          snapshot.rejected = rejected_.load();
          snapshot.seconds = Seconds();
        } else {
          status = absl::Status(c.status().code(),
                                absl::StrCat(name_, ": storing rows up to line ", b.last_line, ": ",
                                             c.status().message()));
        }
      }
      if (status.ok() && !b.rows.empty() && options_.on_batch) {
        options_.on_batch(b.last_line, snapshot);
      }
      std::lock_guard<std::mutex> lock(mu_);
      if (!status.ok()) writer_status_ = status;
      b.used = 0;
      pending_ = -1;
      cv_.notify_all();
    }
  }

  void Progress(Input* in, bool force) {
    if (!options_.on_progress) return;
    ImportProgress p;
    p.rows = rows_;
    p.bytes = in->consumed();
    p.total_bytes = total_bytes_;
    p.seconds = Seconds();
    if (!force && p.seconds - last_progress_ < 0.2) return;
    last_progress_ = p.seconds;
    options_.on_progress(p);
  }

  // ----- CSV -----

  absl::Status ParseCsv(Input* in) {
    uint64_t line = 1;
    CsvRow row;
    bool have_header = false;
    std::vector<Column> columns;
    std::vector<size_t> order;  // column indices: specials first, then fields by name
    for (;;) {
      size_t consumed = 0;
      uint32_t newlines = 0;
      CsvParse pr = CsvParse::kNeedMore;
      if (in->size() > 0 || in->eof()) {
        if (in->size() == 0) break;  // eof, nothing left
        pr = ParseCsvRecord(in->begin(), in->end(), in->eof(), &row, &consumed, &newlines);
      }
      if (pr == CsvParse::kNeedMore) {
        if (in->size() > kImportMaxRowBytes) {
          return Fatal(line, absl::StrCat("row longer than ", kImportMaxRowBytes,
                                          " bytes (an unterminated quoted field?)"));
        }
        RETURN_IF_ERROR(in->Fill(name_));
        continue;
      }
      if (pr == CsvParse::kBinary) {
        return Fatal(line, "binary data (NUL byte): not a CSV file");
      }
      if (pr == CsvParse::kUnterminated) {
        return Fatal(line, "file ends inside a quoted field (truncated file?)");
      }
      if (consumed > kImportMaxRowBytes) {
        return Fatal(line, absl::StrCat("row longer than ", kImportMaxRowBytes, " bytes"));
      }
      in->Consume(consumed);
      uint64_t row_line = line;
      line += newlines;
      bool blank = row.fields.size() == 1 && row.fields[0].second == 0;
      if (blank) continue;
      if (!have_header) {
        RETURN_IF_ERROR(ReadHeader(row, row_line, &columns, &order));
        have_header = true;
        continue;
      }
      ++rows_;
      RETURN_IF_ERROR(CsvRowToRecipient(row, row_line, columns, order, in));
    }
    if (!have_header) return Fatal(0, "empty file: no header row");
    return absl::OkStatus();
  }

  absl::Status ReadHeader(const CsvRow& row, uint64_t line, std::vector<Column>* columns,
                          std::vector<size_t>* order) {
    if (!simdjson::validate_utf8(row.arena.data(), row.arena.size())) {
      return Fatal(line, "header row is not UTF-8 text: not a CSV file");
    }
    if (row.fields.size() > kImportMaxColumns) {
      return Fatal(line, absl::StrCat("more than ", kImportMaxColumns, " columns"));
    }
    bool has_email = false;
    std::vector<std::string> names;
    for (size_t i = 0; i < row.fields.size(); ++i) {
      std::string_view name = Trim(row.Field(i), kBlanks);
      if (name.empty()) return Fatal(line, absl::StrCat("column ", i + 1, " has no name"));
      if (name.size() > kImportMaxFieldName || HasControlChar(name)) {
        return Fatal(line, absl::StrCat("column ", i + 1, " has an invalid name \"",
                                        SanitizeForLog(name, 60), "\""));
      }
      Column c;
      std::string lower = AsciiLower(name);
      c.kind = ColumnKindOf(lower);
      c.name = c.kind == ColumnKind::kField ? std::string(name) : lower;
      for (const auto& other : *columns) {
        if (other.name == c.name) {
          return Fatal(line, absl::StrCat("column \"", SanitizeForLog(c.name, 60),
                                          "\" appears twice in the header"));
        }
      }
      has_email = has_email || c.kind == ColumnKind::kEmail;
      names.push_back(SanitizeForLog(name, 40));
      columns->push_back(std::move(c));
    }
    if (!has_email) {
      return Fatal(line, absl::StrCat("no \"email\" column in the header (columns: ",
                                      absl::StrJoin(names, ", "), ")"));
    }
    for (size_t i = 0; i < columns->size(); ++i) order->push_back(i);
    std::stable_sort(order->begin(), order->end(), [&](size_t a, size_t b) {
      const Column& x = (*columns)[a];
      const Column& y = (*columns)[b];
      bool xf = x.kind == ColumnKind::kField, yf = y.kind == ColumnKind::kField;
      if (xf != yf) return !xf;
      return xf && x.name < y.name;
    });
    return absl::OkStatus();
  }

  absl::Status CsvRowToRecipient(const CsvRow& row, uint64_t line,
                                 const std::vector<Column>& columns,
                                 const std::vector<size_t>& order, Input* in) {
    if (row.fields.size() != columns.size()) {
      Reject(line, absl::StrCat(row.fields.size(), " fields, the header has ", columns.size()));
      return absl::OkStatus();
    }
    if (!row.problem.empty()) {
      Reject(line, row.problem);
      return absl::OkStatus();
    }
    if (!simdjson::validate_utf8(row.arena.data(), row.arena.size())) {
      for (size_t i = 0; i < columns.size(); ++i) {
        if (!simdjson::validate_utf8(row.Field(i).data(), row.Field(i).size())) {
          Reject(line, absl::StrCat("invalid UTF-8 in column \"", columns[i].name, "\""));
          return absl::OkStatus();
        }
      }
    }
    Recipient* r = NextSlot();
    size_t slot = 0;
    for (size_t i : order) {
      std::string why = SetRecipientValue(columns[i].kind, columns[i].name, row.Field(i), r, &slot);
      if (!why.empty()) {
        Reject(line, why);
        return absl::OkStatus();
      }
    }
    r->fields.resize(slot);
    return Commit(line, in);
  }

  // ----- JSONL -----

  absl::Status ParseJsonl(Input* in) {
    uint64_t line = 0;
    simdjson::dom::parser parser;
    std::vector<std::pair<std::string, std::string>> fields;
    for (;;) {
      const char* nl = static_cast<const char*>(std::memchr(in->begin(), '\n', in->size()));
      if (nl == nullptr && !in->eof()) {
        if (in->size() > kImportMaxRowBytes) {
          return Fatal(line + 1, absl::StrCat("line longer than ", kImportMaxRowBytes, " bytes"));
        }
        RETURN_IF_ERROR(in->Fill(name_));
        continue;
      }
      if (nl == nullptr && in->size() == 0) break;
      size_t len = nl ? static_cast<size_t>(nl - in->begin()) : in->size();
      ++line;
      if (len > kImportMaxRowBytes) {
        return Fatal(line, absl::StrCat("line longer than ", kImportMaxRowBytes, " bytes"));
      }
      std::string_view text(in->begin(), len);
      if (std::memchr(text.data(), '\0', text.size()) != nullptr) {
        return Fatal(line, "binary data (NUL byte): not a JSONL file");
      }
      if (!text.empty() && text.back() == '\r') text.remove_suffix(1);
      bool blank = Trim(text, kBlanks).empty();
      if (!blank) {
        ++rows_;
        RETURN_IF_ERROR(JsonLineToRecipient(&parser, text, line, &fields, in));
      }
      in->Consume(nl ? len + 1 : len);
    }
    return absl::OkStatus();
  }

  absl::Status JsonLineToRecipient(simdjson::dom::parser* parser, std::string_view text,
                                   uint64_t line,
                                   std::vector<std::pair<std::string, std::string>>* fields,
                                   Input* in) {
    // The Input buffer keeps kPadding readable bytes after every line.
    simdjson::dom::element doc;
    auto err = parser->parse(text.data(), text.size(), false).get(doc);
    if (err) {
      Reject(line, absl::StrCat("invalid JSON: ", simdjson::error_message(err)));
      return absl::OkStatus();
    }
    simdjson::dom::object obj;
    if (doc.get_object().get(obj)) {
      Reject(line, "not a JSON object");
      return absl::OkStatus();
    }
    Recipient* r = NextSlot();
    std::string why = RecipientFromJsonObject(obj, r, fields);
    if (!why.empty()) {
      Reject(line, why);
      return absl::OkStatus();
    }
    return Commit(line, in);
  }

  RecipientStore rs_;
  std::string name_;
  const ImportOptions& options_;
  UpsertOptions run_;
  size_t batch_rows_;
  Clock::time_point start_;
  uint64_t total_bytes_ = 0;
  std::atomic<uint64_t> rows_{0};      // data rows read (parser thread writes)
  std::atomic<uint64_t> rejected_{0};
  double last_progress_ = -1;

  Batch batches_[2];
  int current_ = 0;

  std::mutex mu_;
  std::condition_variable cv_;
  int pending_ = -1;  // batch index handed to the writer, -1: writer idle
  bool stop_ = false;
  absl::Status writer_status_;
  std::thread writer_;

  // imported/updated/unchanged/duplicate: written by the writer thread under mu_.
  ImportSummary summary_;
};

}  // namespace

bool IsRfc3339(std::string_view s) {
  return ParseRfc3339Micros(s, Rfc3339Form::kDateTime).has_value();
}

absl::StatusOr<ImportSummary> Importer::ImportFile(const std::string& path,
                                                   const ImportOptions& options) {
  if (path == "-") return ImportFd(STDIN_FILENO, "<stdin>", options);
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    return absl::NotFoundError(absl::StrCat("cannot open ", path, ": ", std::strerror(errno)));
  }
  struct stat st;
  if (::fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
    ::close(fd);
    return absl::InvalidArgumentError(absl::StrCat(path, " is a directory"));
  }
  auto r = ImportFd(fd, path, options);
  ::close(fd);
  return r;
}

absl::StatusOr<ImportSummary> Importer::ImportFd(int fd, const std::string& name,
                                                 const ImportOptions& options) {
  struct stat st;
  uint64_t total = 0;
  if (::fstat(fd, &st) == 0 && S_ISREG(st.st_mode)) total = st.st_size;
  Input in(fd, {});
  ImportRun run(store_, name, options);
  return run.Run(&in, total);
}

absl::StatusOr<ImportSummary> Importer::ImportString(std::string_view data,
                                                     const std::string& name,
                                                     const ImportOptions& options) {
  Input in(-1, data);
  ImportRun run(store_, name, options);
  return run.Run(&in, data.size());
}

}  // namespace salvo
