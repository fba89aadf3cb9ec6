// Ballot CSV writing and range-parallel parsing (see csv_format.h).
#include "engine/io/csv/csv_format.h"

#include <algorithm>
#include <bit>
#include <charconv>
#include <cstring>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "engine/base/bytes.h"
#include "engine/base/check.h"

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

// Bytes scanned within one record between two reports of its progress (ParseRecord).
constexpr size_t kScanChunk = size_t{4} << 20;

// The offset after the line break at or after p (or size), told to `scanned` a chunk at a
// time.
template <typename Scanned>
size_t SkipToLineEnd(const uint8_t* data, size_t size, size_t p, uint64_t* line_breaks,
                     Scanned&& scanned) {
  while (true) {
    const size_t stop = std::min(size, p + kScanChunk);
    const void* newline = std::memchr(data + p, '\n', stop - p);
    if (newline != nullptr) {
      ++*line_breaks;
      return static_cast<const uint8_t*>(newline) - data + 1;
    }
    if (stop == size) return size;
    p = stop;
    scanned(p);
  }
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
  absl::string_view header = text.substr(
      offset, line_end == absl::string_view::npos ? absl::string_view::npos : line_end - offset);
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
    return absl::InvalidArgumentError(
        absl::StrCat(file_name, ": byte ", offset, ": not a ballot file: expected the header \"",
                     kCsvHeader, "\", got \"", shown, header.size() > 40 ? "...\"" : "\""));
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

CsvRangeParser::CsvRangeParser(const Election& election, BatchSink sink, bool fast_paths,
                               Kernel kernel)
    : CsvRangeParser(election, std::move(sink), fast_paths, kernel, Buffers{}) {}

CsvRangeParser::CsvRangeParser(const Election& election, BatchSink sink, bool fast_paths,
                               Kernel kernel, Buffers buffers)
    : election_(election),
      sink_(std::move(sink)),
      fast_paths_(fast_paths),
      plain_run_(csv_internal::PlainRunFor(kernel)),
      batch_records_(buffers.batch_records) {
  CANVASS_CHECK(buffers.chunk_bytes % csv_internal::kBlockBytes == 0 && buffers.chunk_bytes > 0 &&
                buffers.chunk_bytes <= csv_internal::kChunkBytes);
  CANVASS_CHECK(buffers.batch_records >= 8 && buffers.batch_records <= kDefaultBatchSize);
  plain_.chunk_bytes = buffers.chunk_bytes;
  plain_.election = &election;
  plain_.sink = &sink_;
  plain_.mixed_sink = &mixed_sink_;
  const std::vector<Choice>& choices = election.contest().choices;
  // Longer than any id, code or serial (20 digits): a field cut to this length still
  // matches nothing, as the whole field would not.
  size_t longest = 20;
  for (const Station& station : election.stations) longest = std::max(longest, station.id.size());
  for (const Choice& choice : choices) longest = std::max(longest, choice.code.size());
  field_keep_ = longest + 1;
  for (size_t c = 0; c < choices.size(); ++c) {
    if (choices[c].code.size() > 7) continue;
    CodeWord code;
    PackWord(choices[c].code + "\n", &code.word, &code.mask);
    code.length = static_cast<uint32_t>(choices[c].code.size() + 1);
    code.choice = static_cast<ChoiceIndex>(c);
    code_words_.push_back(code);
  }
  // The perfect hash for the structural path: keys are the codes with their line breaks.
  std::vector<std::pair<uint64_t, ChoiceIndex>> keys;
  for (size_t c = 0; c < choices.size(); ++c) {
    for (const char* line_end : {"\n", "\r\n"}) {
      const std::string key = choices[c].code + line_end;
      if (choices[c].code.empty() || key.size() > 8) continue;
      uint64_t word = 0, mask = 0;
      PackWord(key, &word, &mask);
      keys.emplace_back(word, static_cast<ChoiceIndex>(c));
    }
  }
  // As few slots as a multiplier can be found for: up to 16 slots are looked up in vector
  // registers, up to 64 with a gather (the choices always fit one register).
  for (int bits = 3; bits <= 12 && plain_.code_words.empty() && !keys.empty(); ++bits) {
    if ((size_t{1} << bits) < keys.size()) continue;
    std::vector<uint64_t> words(size_t{1} << bits, 0);
    std::vector<ChoiceIndex> slot_choices(size_t{1} << bits, 0);
    for (uint64_t attempt = 1; attempt <= 20000; ++attempt) {
      const uint64_t multiplier = Mix64(attempt) | 1;
      std::fill(words.begin(), words.end(), 0);
      bool collision = false;
      for (const auto& [word, choice] : keys) {
        const size_t slot = (word * multiplier) >> (64 - bits);
        if (words[slot] != 0) {
          collision = true;
          break;
        }
        words[slot] = word;
        slot_choices[slot] = choice;
      }
      if (collision) continue;
      plain_.code_words = std::move(words);
      plain_.code_choices = std::move(slot_choices);
      plain_.code_multiplier = multiplier;
      plain_.code_shift = 64 - bits;
      break;
    }
  }
  // The perfect hash for stations: keys are the roster's ids of up to 7 bytes with their
  // ','. The table has at least four slots a key; of the multipliers tried, the one that
  // leaves the fewest keys out wins (a key that shares its slot with an earlier one is
  // left out: its lines take the general path, slower but the same outcome).
  std::vector<std::pair<uint64_t, StationIndex>> station_keys;
  for (size_t s = 0; s < election.stations.size(); ++s) {
    const std::string& id = election.stations[s].id;
    if (id.empty() || id.size() > 7 || id.find_first_of(",\"\r\n") != std::string::npos) continue;
    uint64_t word = 0, mask = 0;
    PackWord(id + ",", &word, &mask);
    station_keys.emplace_back(word, static_cast<StationIndex>(s));
  }
  if (!station_keys.empty()) {
    int bits = 4;
    while (bits < 16 && (size_t{1} << bits) < 4 * station_keys.size()) ++bits;
    const size_t slots = size_t{1} << bits;
    const uint64_t attempts =
        std::clamp<uint64_t>((uint64_t{1} << 22) / station_keys.size(), 8, 512);
    std::vector<uint64_t> words(slots);
    std::vector<StationIndex> indexes(slots);
    size_t best_left_out = station_keys.size() + 1;
    for (uint64_t attempt = 1; attempt <= attempts && best_left_out > 0; ++attempt) {
      const uint64_t candidate = Mix64(attempt + 0x5354) | 1;
      std::fill(words.begin(), words.end(), 0);
      size_t left_out = 0;
      for (const auto& [word, station] : station_keys) {
        const size_t slot = (word * candidate) >> (64 - bits);
        if (words[slot] != 0) {
          ++left_out;
          continue;
        }
        words[slot] = word;
        indexes[slot] = station;
      }
      if (left_out < best_left_out) {
        best_left_out = left_out;
        plain_.station_words = words;
        plain_.station_indexes = indexes;
        plain_.station_multiplier = candidate;
        plain_.station_shift = 64 - bits;
      }
    }
    plain_.station_fill.assign(election.stations.size(), 0);
  }
  if (!plain_.code_words.empty() && !plain_.station_words.empty()) {
    plain_.structural.reset(new uint16_t[plain_.chunk_bytes + csv_internal::kIndexSlack]);
    plain_.AllocateStaging(batch_records_);
  }
}

void CsvRangeParser::SetCurrentStation(StationIndex station) {
  last_batch_ = &BatchFor(station);
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
  if (last_batch_->size() >= batch_records_) {
    sink_(last_batch_->View());
    last_batch_->Clear();
  }
  return q + code_length;
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
  if (last_batch_->size() >= batch_records_) {
    sink_(last_batch_->View());
    last_batch_->Clear();
  }
}

void CsvRangeParser::Flush() {
  plain_.FlushStaging();
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
  // A record of any length is read in chunks, each told to scanned_ once read (so that the
  // job may drop its pages), and its fields are kept to field_keep_ bytes: memory stays
  // bounded and time linear whatever the line's length.
  size_t reported = p;
  auto scanned = [&](size_t q) {
    if (scanned_ && q - reported >= kScanChunk) {
      scanned_(reported, q);
      reported = q;
    }
  };
  while (true) {
    Field field;
    if (p < size && data[p] == '"') {
      // Quoted: "" is an escaped quote; line breaks inside are part of the field.
      std::string* text = num_fields < 3 ? &unquoted_[num_fields] : nullptr;
      if (text) text->clear();
      auto keep = [&](const uint8_t* from, size_t n) {
        if (text == nullptr) return;
        if (num_fields == 1) {
          // The serial: leading zeros do not change it (ParseSerial), so any run of them
          // is kept as one.
          while (n > 0 && *from == '0' && (text->empty() || *text == "0")) {
            text->assign(1, '0');
            ++from;
            --n;
          }
          if (n > 0 && *text == "0") text->clear();
        }
        text->append(reinterpret_cast<const char*>(from),
                     std::min(n, field_keep_ - std::min(field_keep_, text->size())));
      };
      size_t q = p + 1;
      while (true) {
        const size_t stop = std::min(size, q + kScanChunk);
        const void* found = std::memchr(data + q, '"', stop - q);
        const size_t quote = found ? static_cast<const uint8_t*>(found) - data : stop;
        *line_breaks += std::count(data + q, data + quote, '\n');
        keep(data + q, quote - q);
        if (quote == stop && stop < size) {  // no quote in this chunk: read on
          q = stop;
          scanned(q);
          continue;
        }
        if (quote == size) {  // unterminated quote: the record runs to the end of the data
          *malformed = true;
          return size;
        }
        if (quote + 1 < size && data[quote + 1] == '"') {
          keep(data + quote, 1);
          q = quote + 2;
          continue;
        }
        p = quote + 1;
        break;
      }
      field.quoted = true;
      if (text) field.text = *text;
      // A line ends with LF or CRLF; a CR alone, even as the file's last byte, is not one.
      const bool at_end = p == size || data[p] == ',' || data[p] == '\n' ||
                          (data[p] == '\r' && p + 1 < size && data[p + 1] == '\n');
      if (!at_end) {
        *malformed = true;
        return SkipToLineEnd(data, size, p, line_breaks, scanned);
      }
      if (p < size && data[p] == '\r') ++p;
    } else {
      size_t q = p;
      while (true) {
        const size_t stop = std::min(size, q + kScanChunk);
        while (q < stop && data[q] != ',' && data[q] != '\n') {
          bad |= data[q] == '"';
          ++q;
        }
        if (q < stop || stop == size) break;
        scanned(q);
      }
      field.text = absl::string_view(reinterpret_cast<const char*>(data + p), q - p);
      if (q < size && data[q] == '\n' && absl::EndsWith(field.text, "\r")) {
        field.text.remove_suffix(1);  // CRLF line end (a CR at the end of the file is data)
      }
      if (field.text.size() > field_keep_) {
        if (num_fields == 1) {
          // The serial: its leading zeros skipped (giving their bytes back as it goes),
          // then as many digits as a serial may have and one more.
          size_t z = p;
          const size_t end = p + field.text.size();
          while (z + 1 < end && data[z] == '0') {
            const size_t stop = std::min(end - 1, z + kScanChunk);
            while (z < stop && data[z] == '0') ++z;
            if (scanned_ && z == stop) scanned_(p, z);
            if (z < stop) break;
          }
          field.text = absl::string_view(reinterpret_cast<const char*>(data + z),
                                         std::min<size_t>(end - z, 21));
        } else {
          field.text = field.text.substr(0, field_keep_);  // still matches nothing
        }
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
  plain_.indexed_chunk = nullptr;  // the index of another call's data is never reused
  size_t p = range_begin;
  if (!first_range) {
    // The first record starts after the first line break at or after range_begin - 1. The
    // search stops at the range's end: a range inside one long line (a file of zero bytes
    // as a crash leaves, a megabyte field) starts no record and reads nothing, so the time
    // to read a line is linear in its length, not in its length times its ranges. Its
    // reading is empty (begin == end), and the job skips empty readings when it checks
    // that ranges meet (engine/ingest).
    const size_t search_end = std::min(size, range_end);
    const void* newline = search_end > range_begin - 1 ? std::memchr(data + range_begin - 1, '\n',
                                                                     search_end - (range_begin - 1))
                                                       : nullptr;
    p = newline ? static_cast<const uint8_t*>(newline) - data + 1 : search_end;
  }
  result.begin = p;
  uint64_t line = 0;
  while (p < range_end && p < size) {
    const uint64_t before = result.records;
    if (fast_paths_) p = plain_run_(plain_, data, size, p, range_end, &result.records);
    line += result.records - before;  // a plain record is one line
    if (p >= range_end || p >= size) break;
    const size_t plain_end = fast_paths_ ? TryParsePlainRecord(data, size, p) : 0;
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
