// The bad-input campaign's independent counter: docs/FORMAT.md's CSV grammar and path rules
// and DESIGN.md's counting rules, spelled out byte by byte with no engine code.
#include "tests/campaign/independent_counter.h"

#include <sys/stat.h>

#include <algorithm>
#include <filesystem>
#include <limits>
#include <map>
#include <utility>

namespace canvass::campaign {
namespace {

constexpr size_t kMalformedExamples = 20;  // REPORT.md: "the first 20 malformed records"

bool HasBallotSuffix(const std::string& name) {
  if (name.size() < 4) return false;
  std::string suffix = name.substr(name.size() - 4);
  for (char& c : suffix) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return suffix == ".csv" || suffix == ".cvb";
}

// Length of the valid UTF-8 sequence at `at`, or 0 when the byte there starts none.
size_t Utf8SequenceLength(std::string_view bytes, size_t at) {
  const auto byte = [&](size_t i) { return static_cast<unsigned char>(bytes[i]); };
  const unsigned char lead = byte(at);
  size_t length = 0;
  unsigned char low = 0x80, high = 0xBF;  // the range of the second byte
  if (lead < 0x80) return 1;
  if (lead >= 0xC2 && lead <= 0xDF) {
    length = 2;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    length = 3;
    if (lead == 0xE0) low = 0xA0;   // overlong
    if (lead == 0xED) high = 0x9F;  // surrogates
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    length = 4;
    if (lead == 0xF0) low = 0x90;   // overlong
    if (lead == 0xF4) high = 0x8F;  // past U+10FFFF
  } else {
    return 0;
  }
  if (at + length > bytes.size()) return 0;
  if (byte(at + 1) < low || byte(at + 1) > high) return 0;
  for (size_t i = 2; i < length; ++i) {
    if (byte(at + i) < 0x80 || byte(at + i) > 0xBF) return 0;
  }
  return length;
}

}  // namespace

IndependentCounter::IndependentCounter(ElectionSpec election) : election_(std::move(election)) {
  for (size_t s = 0; s < election_.stations.size(); ++s) {
    station_index_[election_.stations[s].id] = s;
  }
  for (size_t c = 0; c < election_.codes.size(); ++c) choice_index_[election_.codes[c]] = c;
  station_records_.assign(election_.stations.size(), 0);
}

std::optional<uint64_t> ParseSeq(std::string_view text) {
  if (text.empty() || text.size() > 20) return std::nullopt;
  uint64_t value = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    const uint64_t digit = static_cast<uint64_t>(c - '0');
    if (value > (std::numeric_limits<uint64_t>::max() - digit) / 10) return std::nullopt;
    value = value * 10 + digit;
  }
  return value;
}

bool IndependentCounter::AddCsv(const std::string& path, std::string_view bytes) {
  size_t pos = bytes.substr(0, 3) == "\xEF\xBB\xBF" ? 3 : 0;
  constexpr std::string_view kHeader = "station,seq,choice";
  if (bytes.substr(pos, kHeader.size()) != kHeader) return false;
  pos += kHeader.size();
  // FORMAT.md's prose decides a file that ends right after its header: it has the header,
  // so it is a ballot file without records (the grammar's EOL after it is left open).
  if (pos == bytes.size()) return true;
  if (bytes.substr(pos, 1) == "\n") {
    pos += 1;
  } else if (bytes.substr(pos, 2) == "\r\n") {
    pos += 2;
  } else {
    return false;
  }
  const size_t size = bytes.size();
  uint64_t line = 2;  // the header is line 1
  while (pos < size) {
    // A blank line (LF or CR LF alone) is not a record, but it is a line.
    if (bytes[pos] == '\n' || bytes.substr(pos, 2) == "\r\n") {
      pos += bytes[pos] == '\n' ? 1 : 2;
      ++line;
      continue;
    }
    const uint64_t first_line = line;
    std::vector<std::string> fields;
    bool malformed = false;
    bool record_done = false;
    while (!record_done) {
      std::string field;
      if (pos < size && bytes[pos] == '"') {
        ++pos;
        bool closed = false;
        while (pos < size) {
          const char c = bytes[pos++];
          if (c != '"') {
            if (c == '\n') ++line;
            field += c;
          } else if (pos < size && bytes[pos] == '"') {
            field += '"';
            ++pos;
          } else {
            closed = true;
            break;
          }
        }
        if (!closed) {  // an unterminated quote runs to the end of the file
          malformed = true;
          record_done = true;
        } else if (pos == size) {
          record_done = true;
        } else if (bytes[pos] == ',') {
          ++pos;
        } else if (bytes[pos] == '\n' || bytes.substr(pos, 2) == "\r\n") {
          pos += bytes[pos] == '\n' ? 1 : 2;
          ++line;
          record_done = true;
        } else {  // bytes after a closing quote: the rest of the line belongs to this record
          malformed = true;
          const size_t line_end = bytes.find('\n', pos);
          pos = line_end == std::string_view::npos ? size : line_end + 1;
          if (line_end != std::string_view::npos) ++line;
          record_done = true;
        }
      } else {
        while (pos < size && bytes[pos] != ',' && bytes[pos] != '\n') {
          if (bytes[pos] == '"') malformed = true;  // a plain field holding a quote
          field += bytes[pos++];
        }
        if (pos == size) {  // a CR that is the file's last byte is data
          record_done = true;
        } else if (bytes[pos] == ',') {
          ++pos;
        } else {  // LF, after an optional CR that belongs to the line end
          if (!field.empty() && field.back() == '\r') field.pop_back();
          ++pos;
          ++line;
          record_done = true;
        }
      }
      fields.push_back(std::move(field));
    }
    AddCsvRecord(path, first_line, malformed, fields);
  }
  return true;
}

void IndependentCounter::AddCsvRecord(const std::string& path, uint64_t line, bool malformed,
                                      const std::vector<std::string>& fields) {
  ++read_;
  std::optional<uint64_t> seq;
  if (!malformed && fields.size() == 3) seq = ParseSeq(fields[1]);
  malformed = malformed || fields.size() != 3 || !seq.has_value() ||
              std::any_of(fields.begin(), fields.end(), [](auto& f) { return f.empty(); });
  if (malformed) {
    AddMalformed(path + ":" + std::to_string(line));
    return;
  }
  const auto station = station_index_.find(fields[0]);
  if (station == station_index_.end()) {
    ++early_rejected_[kUnknownStation];
    return;
  }
  ++station_records_[station->second];
  const auto choice = choice_index_.find(fields[2]);
  if (choice == choice_index_.end()) {
    ++early_rejected_[kUnknownChoice];
    return;
  }
  if (*seq == 0 || *seq > election_.stations[station->second].capacity) {
    ++early_rejected_[kBadSeq];
    return;
  }
  AddWellFormed(station->second, *seq, choice->second);
}

void IndependentCounter::AddCvbBlock(const std::string& path, uint64_t offset, uint32_t station,
                                     const std::vector<CvbRecord>& records, uint32_t malformed) {
  // REPORT.md names a cvb example by "the block holding damaged records": one per block.
  read_ += malformed;
  early_rejected_[kMalformed] += malformed;
  if (malformed > 0 && malformed_examples_.size() < kMalformedExamples) {
    malformed_examples_.push_back(path + "@" + std::to_string(offset));
  }
  for (const CvbRecord& record : records) {
    ++read_;
    if (station == kCvbNoStation || station >= election_.stations.size()) {
      ++early_rejected_[kUnknownStation];
      continue;
    }
    ++station_records_[station];
    if (record.choice >= election_.codes.size()) {
      ++early_rejected_[kUnknownChoice];
      continue;
    }
    if (record.seq == 0 || record.seq > election_.stations[station].capacity) {
      ++early_rejected_[kBadSeq];
      continue;
    }
    AddWellFormed(station, record.seq, record.choice);
  }
}

void IndependentCounter::AddMalformed(std::string example) {
  ++early_rejected_[kMalformed];
  if (malformed_examples_.size() < kMalformedExamples) {
    malformed_examples_.push_back(std::move(example));
  }
}

void IndependentCounter::AddWellFormed(size_t station, uint64_t seq, size_t choice) {
  copies_[{station, seq}].push_back(choice);
}

ExpectedTally IndependentCounter::Finish() const {
  ExpectedTally tally;
  tally.read = read_;
  tally.rejected = early_rejected_;
  tally.totals.assign(election_.codes.size(), 0);
  tally.station_counted.assign(election_.stations.size(),
                               std::vector<uint64_t>(election_.codes.size(), 0));
  tally.station_records = station_records_;
  tally.malformed_examples = malformed_examples_;
  for (const auto& [identity, choices] : copies_) {
    const bool agree = std::all_of(choices.begin(), choices.end(),
                                   [&](size_t choice) { return choice == choices.front(); });
    if (agree) {  // the first copy counts, every extra copy is a duplicate
      ++tally.counted;
      ++tally.totals[choices.front()];
      ++tally.station_counted[identity.first][choices.front()];
      tally.rejected[kDuplicate] += choices.size() - 1;
    } else {  // copies that disagree: none counts
      tally.rejected[kConflict] += choices.size();
    }
  }
  return tally;
}

ExpandedPaths ExpandPaths(const std::vector<std::string>& arguments) {
  ExpandedPaths expanded;
  std::map<std::pair<dev_t, ino_t>, std::string> first_given;
  const auto take_file = [&](const std::string& path, const struct stat& status) {
    const auto [it, inserted] = first_given.emplace(std::pair(status.st_dev, status.st_ino), path);
    if (!inserted) {
      expanded.read_once.emplace_back(path, it->second);
      return;
    }
    expanded.files.push_back(path);
    expanded.bytes += static_cast<uint64_t>(status.st_size);
  };
  for (const std::string& argument : arguments) {
    struct stat status;
    if (stat(argument.c_str(), &status) != 0) continue;  // the campaign names no missing path
    if (!S_ISDIR(status.st_mode)) {  // a file is read as given, whatever its name
      take_file(argument, status);
      continue;
    }
    std::vector<std::string> names;
    for (const auto& entry : std::filesystem::directory_iterator(argument)) {
      names.push_back(entry.path().filename().string());
    }
    std::sort(names.begin(), names.end());
    for (const std::string& name : names) {
      if (name == "manifest.json") continue;
      const std::string path = argument + "/" + name;
      struct stat target;
      if (stat(path.c_str(), &target) != 0) {
        expanded.skipped.emplace_back(path, "a link to nothing");
      } else if (S_ISDIR(target.st_mode)) {
        expanded.skipped.emplace_back(path, "a folder (folders are not read recursively)");
      } else if (!S_ISREG(target.st_mode)) {
        expanded.skipped.emplace_back(path, "not a regular file");
      } else if (!HasBallotSuffix(name)) {
        expanded.skipped.emplace_back(path, "not a .csv or .cvb file");
      } else {
        take_file(path, target);
      }
    }
  }
  return expanded;
}

std::string JsonSafe(std::string_view bytes) {
  std::string safe;
  for (size_t at = 0; at < bytes.size();) {
    const size_t length = Utf8SequenceLength(bytes, at);
    if (length == 0) {
      safe += "\xEF\xBF\xBD";
      ++at;
    } else {
      safe.append(bytes.substr(at, length));
      at += length;
    }
  }
  return safe;
}

}  // namespace canvass::campaign
