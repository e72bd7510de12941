// Synthetic opt-in recipients as CSV, deterministic per (seed, row index): row i is the same in
// every run, so generators can write any slice in parallel or resume. Used by gen_recipients and
// import_bench. Addresses are unique per row index.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace salvo::perf {

struct GenOptions {
  uint64_t count = 0;
  uint64_t no_consent_every = 0;  // every K-th row has no consent (0: all consented)
  std::vector<std::string> domains = {"example.test"};
  uint64_t seed = 1;
};

// "email,first_name,last_name,country,plan,signup_date,opted_in_at,consent_source,consent_ip\n"
void AppendCsvHeader(std::string* out);
// Appends rows [from, to) (0-based data row indices), one CSV line each, LF-terminated.
void AppendCsvRows(const GenOptions& options, uint64_t from, uint64_t to, std::string* out);

}  // namespace salvo::perf
