// Streaming CSV / JSONL importer. Trust: the input file is hostile; see importer.h for the limits.
// A reader cuts the input into jobs at record boundaries, one worker per core converts and
// encodes them, a writer thread stores them in file order (ImportRun below), so memory is a few
// batches plus one read buffer whatever the file size.
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
#include <deque>
#include <memory>
#include <mutex>
#include <random>
#include <thread>
#include <ctime>
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
#include "store/import_batch.h"
#include "store/import_writer.h"
#include "store/recipient_row.h"
#include "store/recipient_store.h"

namespace salvo {
namespace {

constexpr size_t kReadChunk = 4 << 20;
constexpr size_t kJobMaxBytes = 32 << 20;  // a job (batch) is cut early when its rows are large
constexpr size_t kImportMaxBatchRows = 1 << 20;
constexpr size_t kPadding = 64;  // >= SIMDJSON_PADDING
static_assert(kPadding >= simdjson::SIMDJSON_PADDING);

using Clock = std::chrono::steady_clock;

// CPU seconds of the calling thread.
double ThreadCpu() {
  timespec ts;
  ::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

double WallSince(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

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
// One import run: a pipeline of three stages.
//  - the reader (the caller's thread) reads the input, finds record boundaries, checks what is
//    fatal (binary data, a truncated quoted field, an over-long row, the header) and cuts jobs of
//    up to batch_rows data records (their raw bytes and line numbers);
//  - workers (one per core) turn a job's records into recipients (rejecting bad rows), encode
//    and sort them (ImportBatch), read what the store holds for them (ImportWriter::Check) and
//    may write its SST files ahead (ImportWriter::Prebuild);
//  - the writer thread takes jobs in file order, reports their rejects, and writes them
//    (ImportWriter::Write: one atomic unit per batch).
// At most `workers + 2` jobs exist: memory is bounded by the batch size, not the file.

// Raw records cut by the reader, then the batch a worker made of them.
struct Job {
  uint64_t seq = 0;
  std::string text;                                 // records back to back, then kPadding bytes
  std::vector<std::pair<uint32_t, uint32_t>> recs;  // (offset, length) in text
  std::vector<uint64_t> lines;                      // first line of each record
  uint64_t last_line = 0;
  enum class State { kFree, kQueued, kReady } state = State::kFree;
  // Worker results.
  std::vector<std::pair<uint64_t, std::string>> rejects;  // (line, reason), in line order
  ImportBatch batch;
  absl::Status status;

  void Clear() {
    text.clear();
    recs.clear();
    lines.clear();
    rejects.clear();
    status = absl::OkStatus();
  }
};

// Per-worker scratch for turning records into recipients.
struct WorkerScratch {
  CsvRow row;
  Recipient r;
  simdjson::dom::parser parser;
  std::vector<std::pair<std::string, std::string>> fields;
};

class ImportRun {
 public:
  ImportRun(Store* store, const std::string& name, const ImportOptions& options)
      : name_(name), options_(options) {
    std::random_device rd;
    run_.run_id = (static_cast<uint64_t>(rd()) << 32) ^ rd() ^
                  static_cast<uint64_t>(Clock::now().time_since_epoch().count());
    if (run_.run_id == 0) run_.run_id = 1;
    run_.sync = options.sync;
    batch_rows_ = std::clamp<size_t>(options.batch_rows, 1, kImportMaxBatchRows);
    writer_ = std::make_unique<ImportWriter>(store, run_, options.ingest_min_rows);
    unsigned threads = options.threads ? options.threads : std::thread::hardware_concurrency();
    workers_ = std::clamp<unsigned>(threads, 1, 16);
    jobs_.resize(workers_ + 2);
    start_ = Clock::now();
  }

  ~ImportRun() { Stop(); }

  absl::StatusOr<ImportSummary> Run(Input* in, uint64_t total_bytes) {
    RETURN_IF_ERROR(RecipientStore::ValidateListName(options_.list));
    RETURN_IF_ERROR(writer_->Init());
    total_bytes_ = total_bytes;
    for (unsigned i = 0; i < workers_; ++i) threads_.emplace_back([this] { WorkerLoop(); });
    threads_.emplace_back([this] { WriterLoop(); });
    const double reader_cpu0 = ThreadCpu();
    absl::Status s = in->Fill(name_);
    if (s.ok()) {
      // Skip a UTF-8 byte order mark.
      if (in->size() >= 3 && std::memcmp(in->begin(), "\xEF\xBB\xBF", 3) == 0) in->Consume(3);
      ImportFormat format = options_.format;
      if (format == ImportFormat::kAuto) format = Detect(in);
      format_ = format;
      s = format == ImportFormat::kJsonl ? ReadJsonl(in) : ReadCsv(in);
    }
    stages_.reader_cpu = ThreadCpu() - reader_cpu0;
    // Rows before a fatal error are stored too; the error says so.
    absl::Status ws = Submit(/*final=*/true);
    Stop();
    if (!s.ok()) {
      uint64_t stored = summary_.imported + summary_.updated + summary_.unchanged;
      if (stored == 0) return s;
      return absl::Status(s.code(), absl::StrCat(s.message(), " (", stored,
                                                 " rows before it were stored)"));
    }
    if (!ws.ok()) return ws;
    summary_.rows = rows_.load();
    summary_.rejected = rejected_;
    summary_.seconds = Seconds();
    summary_.ingested_batches = writer_->ingested_batches();
    summary_.stages = stages_;
    summary_.stages.check = writer_->check_seconds();
    summary_.stages.store = writer_->store_seconds();
    summary_.stages.rechecked_rows = writer_->rechecked_rows();
    summary_.stages.l0_wait = writer_->l0_waits() * 0.005;
    Progress(in, /*force=*/true);
    return summary_;
  }

 private:
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

  // ----- reader side -----

  // The job the reader is filling (taking a free one, waiting for it if need be).
  Job* Current() {
    if (current_ != nullptr) return current_;
    std::unique_lock<std::mutex> lock(mu_);
    for (;;) {
      for (Job& j : jobs_) {
        if (j.state == Job::State::kFree) {
          current_ = &j;
          current_->Clear();
          return current_;
        }
      }
      const auto t = Clock::now();
      free_cv_.wait(lock);
      stages_.reader_wait += WallSince(t);
    }
  }

  // Adds one data record (raw bytes) starting on `line`; hands the job over when full.
  absl::Status AddRecord(const char* p, size_t len, uint64_t line, uint64_t last_line, Input* in) {
    ++rows_;
    Job* j = Current();
    j->recs.emplace_back(static_cast<uint32_t>(j->text.size()), static_cast<uint32_t>(len));
    j->text.append(p, len);
    j->lines.push_back(line);
    j->last_line = last_line;
    if (j->recs.size() >= batch_rows_ || j->text.size() >= kJobMaxBytes) {
      RETURN_IF_ERROR(Submit(/*final=*/false));
      Progress(in, false);
    }
    return absl::OkStatus();
  }

  // Queues the current job for the workers. `final`: then waits until every job is written.
  // Returns the first error of the workers or the writer.
  absl::Status Submit(bool final) {
    std::unique_lock<std::mutex> lock(mu_);
    if (current_ != nullptr && !current_->recs.empty()) {
      current_->text.append(kPadding, '\0');
      current_->seq = submitted_++;
      current_->state = Job::State::kQueued;
      queue_.push_back(current_);
      current_ = nullptr;
      work_cv_.notify_one();
    }
    if (final) free_cv_.wait(lock, [&] { return written_ == submitted_; });
    return failure_;
  }

  void Stop() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stop_ = true;
      work_cv_.notify_all();
      ready_cv_.notify_all();
    }
    for (std::thread& t : threads_) t.join();
    threads_.clear();
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

  // ----- CSV reader -----

  absl::Status ReadCsv(Input* in) {
    uint64_t line = 1;
    CsvRow row;
    bool have_header = false;
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
      const char* record = in->begin();
      in->Consume(consumed);
      uint64_t row_line = line;
      line += newlines;
      bool blank = row.fields.size() == 1 && row.fields[0].second == 0;
      if (blank) continue;
      if (!have_header) {
        RETURN_IF_ERROR(ReadHeader(row, row_line));
        have_header = true;
        continue;
      }
      RETURN_IF_ERROR(AddRecord(record, consumed, row_line, row_line, in));
    }
    if (!have_header) return Fatal(0, "empty file: no header row");
    return absl::OkStatus();
  }

  absl::Status ReadHeader(const CsvRow& row, uint64_t line) {
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
      for (const auto& other : columns_) {
        if (other.name == c.name) {
          return Fatal(line, absl::StrCat("column \"", SanitizeForLog(c.name, 60),
                                          "\" appears twice in the header"));
        }
      }
      has_email = has_email || c.kind == ColumnKind::kEmail;
      names.push_back(SanitizeForLog(name, 40));
      columns_.push_back(std::move(c));
    }
    if (!has_email) {
      return Fatal(line, absl::StrCat("no \"email\" column in the header (columns: ",
                                      absl::StrJoin(names, ", "), ")"));
    }
    for (size_t i = 0; i < columns_.size(); ++i) order_.push_back(i);
    std::stable_sort(order_.begin(), order_.end(), [&](size_t a, size_t b) {
      const Column& x = columns_[a];
      const Column& y = columns_[b];
      bool xf = x.kind == ColumnKind::kField, yf = y.kind == ColumnKind::kField;
      if (xf != yf) return !xf;
      return xf && x.name < y.name;
    });
    return absl::OkStatus();
  }

  // ----- JSONL reader -----

  absl::Status ReadJsonl(Input* in) {
    uint64_t line = 0;
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
      if (!blank) RETURN_IF_ERROR(AddRecord(text.data(), text.size(), line, line, in));
      in->Consume(nl ? len + 1 : len);
    }
    return absl::OkStatus();
  }

  // ----- workers -----

  void WorkerLoop() {
    WorkerScratch scratch;
    for (;;) {
      Job* job;
      {
        std::unique_lock<std::mutex> lock(mu_);
        work_cv_.wait(lock, [&] { return !queue_.empty() || stop_; });
        if (queue_.empty()) return;
        job = queue_.front();
        queue_.pop_front();
      }
      const double cpu0 = ThreadCpu();
      job->status = Convert(job, &scratch);
      const double cpu1 = ThreadCpu();
      if (job->status.ok()) writer_->Check(&job->batch);
      const double cpu2 = ThreadCpu();
      if (job->status.ok()) job->status = writer_->Prebuild(&job->batch);
      const double cpu3 = ThreadCpu();
      std::lock_guard<std::mutex> lock(mu_);
      stages_.convert_cpu += cpu1 - cpu0;
      stages_.check_cpu += cpu2 - cpu1;
      stages_.prebuild_cpu += cpu3 - cpu2;
      job->state = Job::State::kReady;
      ready_cv_.notify_all();
    }
  }

  // The job's records into job->batch (bad rows into job->rejects).
  absl::Status Convert(Job* job, WorkerScratch* w) {
    job->batch.Reset(options_.list);
    for (size_t i = 0; i < job->recs.size(); ++i) {
      const char* p = job->text.data() + job->recs[i].first;
      size_t len = job->recs[i].second;
      uint64_t line = job->lines[i];
      std::string why = format_ == ImportFormat::kJsonl ? JsonToRecipient(p, len, w)
                                                        : CsvToRecipient(p, len, w);
      if (!why.empty()) {
        job->rejects.emplace_back(line, std::move(why));
        continue;
      }
      absl::Status s = job->batch.Add(w->r);
      if (!s.ok()) {
        return absl::Status(s.code(), absl::StrCat(name_, ": line ", line, ": ", s.message()));
      }
    }
    job->batch.Finish();
    return absl::OkStatus();
  }

  // One CSV record (as the reader cut it) into w->r; returns the reject reason or "".
  std::string CsvToRecipient(const char* p, size_t len, WorkerScratch* w) {
    size_t consumed = 0;
    uint32_t newlines = 0;
    CsvRow& row = w->row;
    if (ParseCsvRecord(p, p + len, /*eof=*/true, &row, &consumed, &newlines) !=
        CsvParse::kRecord) {
      return "unreadable record";  // not reached: the reader parsed the same bytes
    }
    if (row.fields.size() != columns_.size()) {
      return absl::StrCat(row.fields.size(), " fields, the header has ", columns_.size());
    }
    if (!row.problem.empty()) return row.problem;
    if (!simdjson::validate_utf8(row.arena.data(), row.arena.size())) {
      for (size_t i = 0; i < columns_.size(); ++i) {
        if (!simdjson::validate_utf8(row.Field(i).data(), row.Field(i).size())) {
          return absl::StrCat("invalid UTF-8 in column \"", columns_[i].name, "\"");
        }
      }
    }
    Recipient* r = &w->r;
    ResetRecipient(r);
    size_t slot = 0;
    for (size_t i : order_) {
      std::string why = SetRecipientValue(columns_[i].kind, columns_[i].name, row.Field(i), r,
                                          &slot);
      if (!why.empty()) return why;
    }
    r->fields.resize(slot);
    return "";
  }

  // One JSONL line into w->r; returns the reject reason or "".
  std::string JsonToRecipient(const char* p, size_t len, WorkerScratch* w) {
    // The job's text keeps at least kPadding readable bytes after every record.
    simdjson::dom::element doc;
    auto err = w->parser.parse(p, len, false).get(doc);
    if (err) return absl::StrCat("invalid JSON: ", simdjson::error_message(err));
    simdjson::dom::object obj;
    if (doc.get_object().get(obj)) return "not a JSON object";
    ResetRecipient(&w->r);
    return RecipientFromJsonObject(obj, &w->r, &w->fields);
  }

  // ----- writer -----

  void WriterLoop() {
    uint64_t next = 0;
    for (;;) {
      Job* job = nullptr;
      {
        std::unique_lock<std::mutex> lock(mu_);
        const auto t = Clock::now();
        ready_cv_.wait(lock, [&] {
          for (Job& j : jobs_) {
            if (j.state == Job::State::kReady && j.seq == next) {
              job = &j;
              return true;
            }
          }
          return stop_;
        });
        if (next > 0) stages_.writer_wait += WallSince(t);  // not the wait for the first batch
        if (job == nullptr) return;
      }
      ++next;
      for (const auto& [line, why] : job->rejects) {
        ++rejected_;
        if (options_.on_reject) options_.on_reject(line, why);
      }
      absl::Status status = job->status;
      bool failed;
      {
        std::lock_guard<std::mutex> lock(mu_);
        failed = !failure_.ok();
      }
      ImportSummary snapshot;
      bool wrote = false;
      if (status.ok() && !failed) {
        auto c = writer_->Write(&job->batch);
        if (c.ok()) {
          std::lock_guard<std::mutex> lock(mu_);
          summary_.imported += c->imported;
          summary_.updated += c->updated;
          summary_.unchanged += c->unchanged;
          summary_.duplicate += c->duplicate;
          snapshot = summary_;
          snapshot.rows = rows_.load();
          snapshot.rejected = rejected_;
          snapshot.seconds = Seconds();
          wrote = job->batch.size() + job->batch.duplicate() > 0;
        } else {
          status = absl::Status(c.status().code(),
                                absl::StrCat(name_, ": storing rows up to line ", job->last_line,
                                             ": ", c.status().message()));
        }
      }
      writer_->Discard(&job->batch);
      if (wrote && options_.on_batch) options_.on_batch(job->last_line, snapshot);
      std::lock_guard<std::mutex> lock(mu_);
      if (!status.ok() && failure_.ok()) failure_ = status;
      job->state = Job::State::kFree;
      ++written_;
      free_cv_.notify_all();
    }
  }

  std::string name_;
  const ImportOptions& options_;
  UpsertOptions run_;
  size_t batch_rows_;
  unsigned workers_;
  Clock::time_point start_;
  uint64_t total_bytes_ = 0;
  ImportFormat format_ = ImportFormat::kCsv;
  std::vector<Column> columns_;  // CSV header (set by the reader before the first job)
  std::vector<size_t> order_;    // column indices: specials first, then fields by name
  std::atomic<uint64_t> rows_{0};  // data rows read (the reader writes)
  uint64_t rejected_ = 0;          // the writer thread writes (read after it stopped)
  double last_progress_ = -1;
  std::unique_ptr<ImportWriter> writer_;

  std::mutex mu_;
  std::condition_variable free_cv_;   // a job became free / everything was written
  std::condition_variable work_cv_;   // a job was queued for the workers
  std::condition_variable ready_cv_;  // a worker finished a job
  std::vector<Job> jobs_;
  std::deque<Job*> queue_;
  Job* current_ = nullptr;  // the reader's job being filled
  uint64_t submitted_ = 0;
  uint64_t written_ = 0;
  bool stop_ = false;
  absl::Status failure_;  // the first worker or writer error
  std::vector<std::thread> threads_;

  // imported/updated/unchanged/duplicate: written by the writer thread under mu_.
  ImportSummary summary_;
  ImportSummary::Stages stages_;  // under mu_ (reader_cpu: the reader alone)
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
