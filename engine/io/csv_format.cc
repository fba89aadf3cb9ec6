// Ballot CSV writing and range-parallel parsing (see csv_format.h).
#include "engine/io/csv_format.h"

#include <algorithm>
#include <charconv>
#include <cstring>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace canvass {
namespace {

constexpr absl::string_view kBom = "\xEF\xBB\xBF";

bool ParseSerial(absl::string_view text, uint64_t* seq) {
  if (text.empty()) return false;
  for (char c : text) {
    if (c < '0' || c > '9') return false;
  }
  // Leading zeros do not change the value: "0000000000000000000010" is serial 10.
  while (text.size() > 1 && text.front() == '0') text.remove_prefix(1);
  if (text.size() > 20) return false;
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), *seq);
  return error == std::errc() && end == text.data() + text.size();
}

size_t SkipToLineEnd(const uint8_t* data, size_t size, size_t p, uint64_t* line_breaks) {
  const void* newline = std::memchr(data + p, '\n', size - p);
  if (newline == nullptr) return size;
  ++*line_breaks;
  return static_cast<const uint8_t*>(newline) - data + 1;
}

}  // namespace

void AppendCsvHeader(std::string* out) { absl::StrAppend(out, kCsvHeader, "\n"); }

void AppendCsvRecord(absl::string_view station, uint64_t seq, absl::string_view choice,
                     std::string* out) {
  absl::StrAppend(out, station, ",", seq, ",", choice, "\n");
}

void AppendDamagedCsvRecord(absl::string_view station, uint64_t seq, absl::string_view choice,
                            uint64_t variant, std::string* out) {
  switch (variant % 4) {
    case 0:
      absl::StrAppend(out, station, ",", seq, "\n");  // a field missing
      break;
    case 1:
      absl::StrAppend(out, station, ",", seq, "x,", choice, "\n");  // not a number
      break;
    case 2:
      absl::StrAppend(out, station, ",", seq, ",", choice, ",", choice, "\n");  // extra field
      break;
    default:
      absl::StrAppend(out, station, ",,", choice, "\n");  // empty serial
      break;
  }
}

absl::StatusOr<size_t> CheckCsvHeader(absl::string_view file_name, const uint8_t* data,
                                      size_t size) {
  absl::string_view text(reinterpret_cast<const char*>(data), size);
  size_t offset = 0;
  if (absl::StartsWith(text, kBom)) offset = kBom.size();
  const size_t line_end = text.find('\n', offset);
  absl::string_view header = text.substr(offset, line_end == absl::string_view::npos
                                                     ? absl::string_view::npos
                                                     : line_end - offset);
  if (absl::EndsWith(header, "\r")) header.remove_suffix(1);
  // RFC 4180 allows the header's fields to be quoted too.
  std::string unquoted;
  if (header.find('"') != absl::string_view::npos) {
    bool quoted = false;
    for (size_t i = 0; i < header.size(); ++i) {
      const char c = header[i];
      if (c == '"' && quoted && i + 1 < header.size() && header[i + 1] == '"') {
        unquoted.push_back('"');
        ++i;
      } else if (c == '"') {
        quoted = !quoted;
      } else {
        unquoted.push_back(c);
      }
    }
    if (!quoted && unquoted == kCsvHeader) header = kCsvHeader;
  }
  if (header != kCsvHeader) {
    std::string shown(header.substr(0, 40));
    for (char& c : shown) {
      if (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) >= 0x7f) c = '?';
    }
    return absl::InvalidArgumentError(absl::StrCat(
        file_name, ": byte ", offset, ": not a ballot file: expected the header \"", kCsvHeader,
        "\", got \"", shown, header.size() > 40 ? "...\"" : "\""));
  }
  return line_end == absl::string_view::npos ? size : line_end + 1;
}

namespace {

uint64_t Load8(const uint8_t* data) {
  uint64_t word;
  std::memcpy(&word, data, sizeof(word));
  return word;
}

// `text` (at most 8 bytes) as a little-endian word and the mask of its bytes.
void PackWord(absl::string_view text, uint64_t* word, uint64_t* mask) {
  *word = 0;
  std::memcpy(word, text.data(), text.size());
  *mask = text.size() >= 8 ? ~uint64_t{0} : (uint64_t{1} << (8 * text.size())) - 1;
}

// A serial of 1 to 7 digits at `data`, in a few word operations (SWAR): find the first
// byte that is not a digit, pad the digits with leading '0's to eight, and fold pairs,
// quads and octets with multiplies. Returns the number of digits, 0 when `data` does not
// start with a digit, or 8 when all eight bytes are digits (the caller's slow path).
// Requires: 8 readable bytes at `data`.
int ParseShortSerial(const uint8_t* data, uint64_t* value) {
  const uint64_t chunk = Load8(data);
  const uint64_t high = chunk & 0xF0F0F0F0F0F0F0F0ULL;
  const uint64_t plus6 = (chunk + 0x0606060606060606ULL) & 0xF0F0F0F0F0F0F0F0ULL;
  const uint64_t not_digit = (high ^ 0x3030303030303030ULL) | (plus6 ^ 0x3030303030303030ULL);
  if (not_digit == 0) return 8;
  const int length = __builtin_ctzll(not_digit) / 8;
  if (length == 0) return 0;
  uint64_t digits = (chunk << (8 * (8 - length))) | (0x3030303030303030ULL >> (8 * length));
  digits -= 0x3030303030303030ULL;
  digits = digits * 10 + (digits >> 8);
  *value = (((digits & 0x000000FF000000FFULL) * 0x000F424000000064ULL) +
            (((digits >> 16) & 0x000000FF000000FFULL) * 0x0000271000000001ULL)) >>
           32;
  return length;
}

}  // namespace

uint32_t CsvRangeParser::MatchCode(const uint8_t* data, uint32_t* length) const {
  // Every code is tried, without branches on which one matches (choices come in random
  // order, so an early exit would mispredict on most records). Codes carry their '\n',
  // so at most one matches.
  const uint64_t word = Load8(data);
  uint32_t found = 0, matched_length = 0;
  for (const CodeWord& code : code_words_) {
    const uint32_t hit = ((word ^ code.word) & code.mask) == 0;
    found |= hit * (code.choice + 1u);
    matched_length |= hit * code.length;
  }
  *length = matched_length;
  return found;
}

CsvRangeParser::CsvRangeParser(const Election& election, BatchSink sink)
    : election_(election), sink_(std::move(sink)) {
  const std::vector<Choice>& choices = election.contest().choices;
  for (size_t c = 0; c < choices.size(); ++c) {
    if (choices[c].code.size() > 7) continue;
    CodeWord code;
    PackWord(choices[c].code + "\n", &code.word, &code.mask);
    code.length = static_cast<uint32_t>(choices[c].code.size() + 1);
    code.choice = static_cast<ChoiceIndex>(c);
    code_words_.push_back(code);
  }
}

void CsvRangeParser::SetCurrentStation(StationIndex station) {
  last_batch_ = &BatchFor(station);
  current_station_ = station;
  station_length_ = 0;
  if (station == kUnknownStation) {
    last_station_id_ = "";
    return;
  }
  last_station_id_ = election_.stations[station].id;
  if (last_station_id_.size() <= 7) {
    PackWord(absl::StrCat(last_station_id_, ","), &station_word_, &station_mask_);
    station_length_ = last_station_id_.size() + 1;
  }
}

size_t CsvRangeParser::TryParsePlainRecord(const uint8_t* data, size_t size, size_t p) {
  // Every load below stays inside the data: a plain record is at most 7 + 20 + 8 bytes.
  if (station_length_ == 0 || p + 40 > size) return 0;
  if (((Load8(data + p) ^ station_word_) & station_mask_) != 0) return 0;
  size_t q = p + station_length_;
  uint64_t seq = 0;
  const int length = ParseShortSerial(data + q, &seq);
  if (length == 0) return 0;
  if (length < 8) {
    q += static_cast<size_t>(length);
  } else {
    // Up to 19 digits cannot overflow; longer serials take the general path. The loop
    // stops there, inside the 40 bytes checked above, however long the digit run is.
    const size_t digits_end = q + 19;
    uint32_t digit;
    while (q < digits_end && (digit = static_cast<uint32_t>(data[q]) - '0') <= 9) {
      seq = seq * 10 + digit;
      ++q;
    }
    if (static_cast<uint32_t>(data[q]) - '0' <= 9) return 0;
  }
  if (data[q] != ',') return 0;
  ++q;
  uint32_t code_length = 0;
  const uint32_t found = MatchCode(data + q, &code_length);
  if (found == 0) return 0;
  last_batch_->seq.push_back(seq);
  last_batch_->choice.push_back(static_cast<ChoiceIndex>(found - 1));
  if (last_batch_->size() >= kDefaultBatchSize) {
    sink_(last_batch_->View());
    last_batch_->Clear();
  }
  return q + code_length;
}

void CsvRangeParser::FlushStaging() {
  if (staged_ > 0) {
    sink_(BatchView{staging_station_, staged_seq_.get(), staged_choice_.get(), staged_});
  }
  staged_ = 0;
}

size_t CsvRangeParser::ParsePlainRun(const uint8_t* data, size_t size, size_t p,
                                     size_t range_end, uint64_t* records) {
  if (station_length_ == 0 || size < 64) return p;
  if (current_station_ != staging_station_) {
    FlushStaging();
    staging_station_ = current_station_;
  }
  const uint64_t station_word = station_word_, station_mask = station_mask_;
  const size_t station_length = station_length_;
  // Every 8-byte load of a line stays inside the data: lines are only taken when their
  // line break lies below scan_end.
  const size_t scan_end = size - 48;
  uint64_t parsed = 0;
  // Line breaks are found first, 16 bytes per compare, so that each line's start is
  // known without parsing the line before it: the lines then parse independently and
  // the processor overlaps them, instead of waiting on one long chain of dependent loads.
  constexpr size_t kMaxLines = 256;
  uint32_t ends[kMaxLines];
  while (p < range_end && p < scan_end) {
    size_t lines = 0;
    size_t block = p & ~size_t{15};
    while (lines < kMaxLines && block < scan_end) {
#if defined(__SSE2__)
      const __m128i bytes = _mm_loadu_si128(reinterpret_cast<const __m128i*>(data + block));
      uint32_t mask = static_cast<uint32_t>(
          _mm_movemask_epi8(_mm_cmpeq_epi8(bytes, _mm_set1_epi8('\n'))));
#else
      uint32_t mask = 0;
      for (int i = 0; i < 16; ++i) mask |= static_cast<uint32_t>(data[block + i] == '\n') << i;
#endif
      if (block < p) mask &= ~((1u << (p - block)) - 1);  // breaks before p belong to earlier lines
      while (mask != 0 && lines < kMaxLines) {
        const size_t end = block + static_cast<size_t>(__builtin_ctz(mask));
        mask &= mask - 1;
        if (end >= scan_end) break;
        ends[lines++] = static_cast<uint32_t>(end - p);
      }
      block += 16;
      if (lines > 0 && p + ends[lines - 1] + 1 >= range_end) break;
    }
    if (lines == 0) break;
    size_t start = p;
    for (size_t i = 0; i < lines; ++i) {
      const size_t end = p + ends[i];
      if (start >= range_end) break;
      if (((Load8(data + start) ^ station_word) & station_mask) != 0) goto done;
      const size_t q = start + station_length;
      uint64_t digits = 0;
      const int length = ParseShortSerial(data + q, &digits);
      if (length == 0 || length == 8 || data[q + length] != ',') goto done;
      const size_t code_start = q + static_cast<size_t>(length) + 1;
      uint32_t code_length = 0;
      const uint32_t found = MatchCode(data + code_start, &code_length);
      // The code with its '\n' must end exactly at this line's break.
      if (found == 0 || code_start + code_length != end + 1) goto done;
      staged_seq_[staged_] = digits;
      staged_choice_[staged_] = static_cast<ChoiceIndex>(found - 1);
      if (++staged_ == kDefaultBatchSize) FlushStaging();
      ++parsed;
      start = end + 1;
    }
    p = start;
    continue;
  done:
    *records += parsed;
    return start;
  }
  *records += parsed;
  return p;
}

BallotBatch& CsvRangeParser::BatchFor(StationIndex station) {
  BallotBatch& batch = batches_[station];
  batch.station = station;
  return batch;
}

void CsvRangeParser::Emit(absl::string_view station_id, uint64_t seq, absl::string_view code) {
  if (last_batch_ == nullptr || station_id != last_station_id_) {
    // Cache only roster ids: their storage outlives the parser, the file's may not.
    SetCurrentStation(election_.FindStation(station_id).value_or(kUnknownStation));
  }
  std::optional<ChoiceIndex> choice = election_.contest().FindChoice(code);
  last_batch_->seq.push_back(seq);
  last_batch_->choice.push_back(choice.value_or(kUnknownChoice));
  if (last_batch_->size() >= kDefaultBatchSize) {
    sink_(last_batch_->View());
    last_batch_->Clear();
  }
}

void CsvRangeParser::Flush() {
  FlushStaging();
  for (auto& [station, batch] : batches_) {
    if (batch.size() > 0) sink_(batch.View());
    batch.Clear();
  }
  // Files that mix many stations would otherwise keep a full batch of capacity per
  // station alive on every thread; memory stays bounded by the range size instead.
  if (batches_.size() > 64) {
    batches_.clear();
    last_batch_ = nullptr;
    station_length_ = 0;
    last_station_id_ = "";
  }
}

size_t CsvRangeParser::ParseRecord(const uint8_t* data, size_t size, size_t p, bool* blank,
                                   bool* malformed, uint64_t* line_breaks) {
  *blank = false;
  *malformed = false;
  if (data[p] == '\n' || (data[p] == '\r' && p + 1 < size && data[p + 1] == '\n')) {
    *blank = true;
    ++*line_breaks;
    return p + (data[p] == '\n' ? 1 : 2);
  }
  Field fields[3];
  int num_fields = 0;
  bool bad = false;
  while (true) {
    Field field;
    if (p < size && data[p] == '"') {
      // Quoted: "" is an escaped quote; line breaks inside are part of the field.
      std::string* text = num_fields < 3 ? &unquoted_[num_fields] : nullptr;
      if (text) text->clear();
      size_t q = p + 1;
      while (true) {
        const void* found = std::memchr(data + q, '"', size - q);
        const size_t quote = found ? static_cast<const uint8_t*>(found) - data : size;
        *line_breaks += std::count(data + q, data + quote, '\n');
        if (text) text->append(reinterpret_cast<const char*>(data + q), quote - q);
        if (quote == size) {  // unterminated quote: the record runs to the end of the data
          *malformed = true;
          return size;
        }
        if (quote + 1 < size && data[quote + 1] == '"') {
          if (text) text->push_back('"');
          q = quote + 2;
          continue;
        }
        p = quote + 1;
        break;
      }
      field.quoted = true;
      if (text) field.text = *text;
      const bool at_end = p == size || data[p] == ',' || data[p] == '\n' ||
                          (data[p] == '\r' && p + 1 < size && data[p + 1] == '\n') ||
                          (data[p] == '\r' && p + 1 == size);
      if (!at_end) {
        *malformed = true;
        return SkipToLineEnd(data, size, p, line_breaks);
      }
      if (p < size && data[p] == '\r') ++p;
    } else {
      size_t q = p;
      while (q < size && data[q] != ',' && data[q] != '\n') {
        bad |= data[q] == '"';
        ++q;
      }
      field.text = absl::string_view(reinterpret_cast<const char*>(data + p), q - p);
      if ((q == size || data[q] == '\n') && absl::EndsWith(field.text, "\r")) {
        field.text.remove_suffix(1);  // CRLF line end
      }
      p = q;
    }
    if (num_fields < 3) fields[num_fields] = field;
    ++num_fields;
    if (p < size && data[p] == ',') {
      ++p;
      continue;
    }
    if (p < size) {
      ++*line_breaks;  // data[p] == '\n'
      ++p;
    }
    break;
  }
  uint64_t seq = 0;
  if (bad || num_fields != 3 || fields[0].text.empty() || fields[2].text.empty() ||
      !ParseSerial(fields[1].text, &seq)) {
    *malformed = true;
    return p;
  }
  Emit(fields[0].text, seq, fields[2].text);
  return p;
}

CsvRangeResult CsvRangeParser::Parse(const uint8_t* data, size_t size, size_t range_begin,
                                     size_t range_end, bool first_range) {
  CsvRangeResult result;
  size_t p = range_begin;
  if (!first_range) {
    // The first record starts after the first line break at or after range_begin - 1.
    const void* newline = std::memchr(data + range_begin - 1, '\n', size - (range_begin - 1));
    p = newline ? static_cast<const uint8_t*>(newline) - data + 1 : size;
  }
  result.begin = p;
  uint64_t line = 0;
  while (p < range_end && p < size) {
    const uint64_t before = result.records;
    p = ParsePlainRun(data, size, p, range_end, &result.records);
    line += result.records - before;  // a plain record is one line
    if (p >= range_end || p >= size) break;
    const size_t plain_end = TryParsePlainRecord(data, size, p);
    if (plain_end != 0) {
      ++result.records;
      ++line;
      p = plain_end;
      continue;
    }
    bool blank = false, malformed = false;
    const uint64_t line_of_record = line;
    p = ParseRecord(data, size, p, &blank, &malformed, &line);
    if (blank) continue;
    ++result.records;
    if (malformed) {
      ++result.malformed;
      if (result.malformed_lines.size() < CsvRangeResult::kMaxMalformedExamples) {
        result.malformed_lines.push_back(line_of_record);
      }
    }
  }
  result.end = std::max<uint64_t>(p, result.begin);
  result.line_breaks = line;
  return result;
}

}  // namespace canvass
