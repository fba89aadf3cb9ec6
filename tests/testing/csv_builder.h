// Builds a ballot CSV line by line for tests, remembering the line each record starts on
// and which records were written malformed. Header-only; one owner at a time.
#ifndef CANVASS_TESTS_TESTING_CSV_BUILDER_H_
#define CANVASS_TESTS_TESTING_CSV_BUILDER_H_

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"

namespace canvass::testing {

// Appends `record` (its own line breaks included) and returns the 1-based line it starts on.
class CsvBuilder {
 public:
  CsvBuilder() : text_("station,seq,choice\n") {}
  uint64_t Add(absl::string_view record) {
    const uint64_t line = next_line_;
    text_.append(record.data(), record.size());
    next_line_ += std::count(record.begin(), record.end(), '\n');
    return line;
  }
  void AddMalformed(absl::string_view record) { malformed_lines_.push_back(Add(record)); }
  const std::string& text() const { return text_; }
  const std::vector<uint64_t>& malformed_lines() const { return malformed_lines_; }

 private:
  std::string text_;
  uint64_t next_line_ = 2;
  std::vector<uint64_t> malformed_lines_;
};

}  // namespace canvass::testing

#endif  // CANVASS_TESTS_TESTING_CSV_BUILDER_H_
