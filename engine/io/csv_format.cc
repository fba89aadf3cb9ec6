// Ballot CSV writing and range-parallel parsing (see csv_format.h).
#include "engine/io/csv_format.h"

#include <algorithm>
#include <bit>
#include <charconv>
#include <cstring>

#if defined(__AVX512BW__) || defined(__AVX2__)
#include <immintrin.h>
#elif defined(__SSE2__)
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

// The structural pass works on chunks of this many bytes, so that offsets fit 16 bits
// and the index (at most one entry per byte) stays in the first-level cache.
constexpr size_t kChunkBytes = 8192;
constexpr size_t kBlockBytes = 64;
// Index entries a block may write past the count it reports (whole vectors are stored).
constexpr size_t kIndexSlack = 64;
// How far ahead of the scan the input is prefetched (a hint: never faults).
[[maybe_unused]] constexpr size_t kPrefetchBytes = 2048;

// Appends an entry for every ',' and '\n' in `blocks` 64-byte blocks of `chunk` to
// `index`: the byte's offset from `chunk` times two, plus one for a line break. Returns
// how many; writes up to kIndexSlack entries past that count.
size_t BuildStructuralIndex(const uint8_t* chunk, size_t blocks, uint16_t* index) {
  size_t count = 0;
#if defined(__AVX512BW__) && defined(__AVX512VBMI2__)
  const __m512i comma = _mm512_set1_epi8(',');
  const __m512i newline = _mm512_set1_epi8('\n');
  const __m512i one = _mm512_set1_epi16(1);
  __m512i low = _mm512_set_epi16(62, 60, 58, 56, 54, 52, 50, 48, 46, 44, 42, 40, 38, 36, 34, 32, 30,
                                 28, 26, 24, 22, 20, 18, 16, 14, 12, 10, 8, 6, 4, 2, 0);
  __m512i high = _mm512_add_epi16(low, _mm512_set1_epi16(64));
  const __m512i step = _mm512_set1_epi16(static_cast<int16_t>(2 * kBlockBytes));
  for (size_t block = 0; block < blocks; ++block) {
    _mm_prefetch(reinterpret_cast<const char*>(chunk + block * kBlockBytes + kPrefetchBytes),
                 _MM_HINT_T0);
    const __m512i bytes = _mm512_loadu_si512(chunk + block * kBlockBytes);
    const uint64_t breaks = _mm512_cmpeq_epi8_mask(bytes, newline);
    const uint64_t mask = _mm512_cmpeq_epi8_mask(bytes, comma) | breaks;
    const auto mask_low = static_cast<__mmask32>(mask);
    const auto mask_high = static_cast<__mmask32>(mask >> 32);
    const __m512i entries_low =
        _mm512_mask_add_epi16(low, static_cast<__mmask32>(breaks), low, one);
    const __m512i entries_high =
        _mm512_mask_add_epi16(high, static_cast<__mmask32>(breaks >> 32), high, one);
    _mm512_storeu_si512(index + count, _mm512_maskz_compress_epi16(mask_low, entries_low));
    count += static_cast<size_t>(std::popcount(static_cast<uint32_t>(mask_low)));
    _mm512_storeu_si512(index + count, _mm512_maskz_compress_epi16(mask_high, entries_high));
    count += static_cast<size_t>(std::popcount(static_cast<uint32_t>(mask_high)));
    low = _mm512_add_epi16(low, step);
    high = _mm512_add_epi16(high, step);
  }
#else
  for (size_t block = 0; block < blocks; ++block) {
    const uint8_t* bytes = chunk + block * kBlockBytes;
    uint64_t commas = 0, breaks = 0;
#if defined(__AVX2__)
    for (int half = 0; half < 2; ++half) {
      const __m256i v = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(bytes + 32 * half));
      commas |= static_cast<uint64_t>(static_cast<uint32_t>(
                    _mm256_movemask_epi8(_mm256_cmpeq_epi8(v, _mm256_set1_epi8(',')))))
                << (32 * half);
      breaks |= static_cast<uint64_t>(static_cast<uint32_t>(
                    _mm256_movemask_epi8(_mm256_cmpeq_epi8(v, _mm256_set1_epi8('\n')))))
                << (32 * half);
    }
#elif defined(__SSE2__)
    for (int quarter = 0; quarter < 4; ++quarter) {
      const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(bytes + 16 * quarter));
      commas |= static_cast<uint64_t>(
                    static_cast<uint32_t>(_mm_movemask_epi8(_mm_cmpeq_epi8(v, _mm_set1_epi8(',')))))
                << (16 * quarter);
      breaks |= static_cast<uint64_t>(static_cast<uint32_t>(
                    _mm_movemask_epi8(_mm_cmpeq_epi8(v, _mm_set1_epi8('\n')))))
                << (16 * quarter);
    }
#else
    for (size_t i = 0; i < kBlockBytes; ++i) {
      commas |= static_cast<uint64_t>(bytes[i] == ',') << i;
      breaks |= static_cast<uint64_t>(bytes[i] == '\n') << i;
    }
#endif
    // Eight entries at a time without a branch per bit (the count says how many are real).
    uint64_t mask = commas | breaks;
    const auto base = static_cast<uint32_t>(block * kBlockBytes);
    const int bits = std::popcount(mask);
    uint16_t* out = index + count;
    for (int i = 0; i < bits; i += 8) {
      for (int j = 0; j < 8; ++j) {
        const int bit = std::countr_zero(mask) & 63;
        out[i + j] =
            static_cast<uint16_t>(2 * (base + static_cast<uint32_t>(bit)) + ((breaks >> bit) & 1));
        mask &= mask - 1;
      }
    }
    count += static_cast<size_t>(bits);
  }
#endif
  return count;
}

// A serial's last `digits` (1 to 8) decimal digits, which end just before byte 8 of `word`
// (the little-endian load of the 8 bytes before the serial's end). Sets *bad when one of
// those bytes is not a digit. Bytes before the digits are treated as leading zeros.
uint64_t ConvertDigits(uint64_t word, uint32_t digits, uint64_t* bad) {
  constexpr uint64_t kZeros = 0x3030303030303030ULL;
  const uint64_t keep = ~uint64_t{0} << (8 * (8 - digits));
  const uint64_t x = ((word & keep) | (kZeros & ~keep)) - kZeros;
  // A byte below '0' sets its top bit in x; above '9', in x + 0x76. The lowest bad byte
  // is always flagged (no borrow or carry reaches it from the valid bytes below).
  *bad |= (x | (x + 0x7676767676767676ULL)) & 0x8080808080808080ULL;
  uint64_t value = ((x & 0x0F0F0F0F0F0F0F0FULL) * 2561) >> 8;
  value = ((value & 0x00FF00FF00FF00FFULL) * 6553601) >> 16;
  return ((value & 0x0000FFFF0000FFFFULL) * 42949672960001ULL) >> 32;
}

uint64_t Mix64(uint64_t x) {  // splitmix64's finalizer: multiplier candidates
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
  return x ^ (x >> 31);
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

CsvRangeParser::CsvRangeParser(const Election& election, BatchSink sink, bool fast_paths)
    : election_(election), sink_(std::move(sink)), fast_paths_(fast_paths) {
  const std::vector<Choice>& choices = election.contest().choices;
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
  for (int bits = 3; bits <= 12 && code_table_words_.empty() && !keys.empty(); ++bits) {
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
      code_table_words_ = std::move(words);
      code_table_choices_ = std::move(slot_choices);
      code_multiplier_ = multiplier;
      code_shift_ = 64 - bits;
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
        station_table_words_ = words;
        station_table_indexes_ = indexes;
        station_multiplier_ = candidate;
        station_shift_ = 64 - bits;
      }
    }
    station_fill_.assign(election.stations.size(), 0);
  }
  if (!code_table_words_.empty() && !station_table_words_.empty()) {
    structural_.reset(new uint16_t[kChunkBytes + kIndexSlack]);
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
  if (last_batch_->size() >= kDefaultBatchSize) {
    sink_(last_batch_->View());
    last_batch_->Clear();
  }
  return q + code_length;
}

void CsvRangeParser::FlushStaging() {
  const size_t n = staged_;
  staged_ = 0;
  if (n == 0) return;
  const StationIndex* const stations = staged_station_.get();
  size_t changes = 0;
  for (size_t i = 1; i < n; ++i) changes += stations[i] != stations[i - 1];  // vectorized
  if (changes < n / 64) {
    // Long runs of one station (station-sorted files, a range across two of them): each
    // run is handed on where it lies, without a copy.
    size_t begin = 0;
    for (size_t i = 1; i <= n; ++i) {
      if (i < n && stations[i] == stations[begin]) continue;
      sink_(BatchView{stations[begin], staged_seq_.get() + begin, staged_choice_.get() + begin,
                      i - begin});
      begin = i;
    }
    return;
  }
  // Stations interleaved: a counting sort into one station-homogeneous group per station,
  // in the order the stations first appear. Costs O(records), whatever the roster's size.
  std::vector<StationIndex>& present = present_stations_;
  present.clear();
  for (size_t i = 0; i < n; ++i) {
    if (station_fill_[stations[i]]++ == 0) present.push_back(stations[i]);
  }
  uint32_t offset = 0;
  for (StationIndex station : present) {
    const uint32_t count = station_fill_[station];
    station_fill_[station] = offset;  // now where the station's next record goes
    offset += count;
  }
  for (size_t i = 0; i < n; ++i) {
    const uint32_t to = station_fill_[stations[i]]++;
    grouped_seq_[to] = staged_seq_[i];
    grouped_choice_[to] = staged_choice_[i];
  }
  uint32_t begin = 0;
  for (StationIndex station : present) {
    const uint32_t end = station_fill_[station];
    sink_(
        BatchView{station, grouped_seq_.get() + begin, grouped_choice_.get() + begin, end - begin});
    station_fill_[station] = 0;
    begin = end;
  }
}

#if defined(__AVX512BW__) && defined(__AVX512VBMI__) && defined(__AVX512DQ__)
#define CANVASS_CSV_VECTOR_LINES 1
namespace {

// Eight plain lines at once, one per 64-bit lane: their structural entries (24 from
// `entries`) are spread into lanes, the 8-byte words they need are gathered, and every
// check and conversion of the scalar loop runs lane-wise. Stores the serials and choices
// and returns true only when all eight lines are plain; otherwise stores nothing.
struct LineGroupConstants {
  __m512i comma1_lanes, comma2_lanes, break_lanes;  // permutations of the 24 entries
  __m512i line_limit;
  __m512i station_multiplier;  // the station table's perfect hash
  int station_shift;
  const uint64_t* station_words;
  const StationIndex* station_indexes;
  __m512i multiplier, choices;
  __m512i words_low, words_high;  // the table's words when it has 8 or 16 slots
  int shift;
  const uint64_t* table_words;
};

inline __m512i ConvertDigitLanes(__m512i words, __m512i digits, __mmask8* bad, __mmask8 lanes) {
  const __m512i zeros = _mm512_set1_epi8('0');
  const __m512i keep = _mm512_sllv_epi64(
      _mm512_set1_epi64(-1), _mm512_slli_epi64(_mm512_sub_epi64(_mm512_set1_epi64(8), digits), 3));
  // (words & keep) | (zeros & ~keep), minus '0' in every byte.
  const __m512i x = _mm512_sub_epi8(_mm512_ternarylogic_epi64(keep, words, zeros, 0xCA), zeros);
  // A byte that is not a digit is above 9 once '0' is taken away (as unsigned).
  *bad |= static_cast<__mmask8>(_mm512_mask_cmpneq_epi64_mask(
      lanes, _mm512_setzero_si512(),
      _mm512_movm_epi8(_mm512_cmpgt_epu8_mask(x, _mm512_set1_epi8(9)))));
  const __m512i pairs = _mm512_maddubs_epi16(x, _mm512_set1_epi16(0x010A));       // d0*10 + d1
  const __m512i quads = _mm512_madd_epi16(pairs, _mm512_set1_epi32(0x00010064));  // *100 + next
  return _mm512_add_epi64(_mm512_mul_epu32(quads, _mm512_set1_epi64(10000)),
                          _mm512_srli_epi64(quads, 32));
}

// Looks the lanes' code keys up; when no lane is bad, stores the serials and choices.
inline bool StoreCodes(const LineGroupConstants& c, __m512i key, __m512i seq, __mmask8 bad,
                       uint64_t* seq_out, ChoiceIndex* choice_out) {
  const __m512i slot = _mm512_srli_epi64(_mm512_mullo_epi64(key, c.multiplier), c.shift);
  __m512i slot_words;
  if (c.shift == 61) {
    slot_words = _mm512_permutexvar_epi64(slot, c.words_low);
  } else if (c.shift == 60) {
    slot_words = _mm512_permutex2var_epi64(c.words_low, slot, c.words_high);
  } else {
    slot_words = _mm512_i64gather_epi64(slot, reinterpret_cast<const long long*>(c.table_words), 8);
  }
  bad |= _mm512_cmpneq_epi64_mask(slot_words, key);
  if (bad != 0) return false;
  const __m512i choice = _mm512_maskz_permutexvar_epi8(0x0101010101010101ULL, slot, c.choices);
  _mm512_storeu_si512(seq_out, seq);
  _mm_storel_epi64(reinterpret_cast<__m128i*>(choice_out), _mm512_cvtepi64_epi8(choice));
  return true;
}

inline bool ParseLineGroup(const LineGroupConstants& c, const uint8_t* chunk,
                           const uint16_t* entries, uint32_t start, uint64_t* seq_out,
                           ChoiceIndex* choice_out, StationIndex* station_out,
                           uint32_t* next_start) {
  const __m512i raw = _mm512_loadu_si512(entries);
  const __mmask32 lane_words = 0x11111111;  // the low 16 bits of each 64-bit lane
  const __m512i comma1 = _mm512_maskz_permutexvar_epi16(lane_words, c.comma1_lanes, raw);
  const __m512i comma2 = _mm512_maskz_permutexvar_epi16(lane_words, c.comma2_lanes, raw);
  const __m512i line_break = _mm512_maskz_permutexvar_epi16(lane_words, c.break_lanes, raw);
  const __m512i one = _mm512_set1_epi64(1);
  // Entry kinds: the two commas even, the line break odd.
  __mmask8 bad = _mm512_test_epi64_mask(_mm512_or_si512(comma1, comma2), one) |
                 _mm512_testn_epi64_mask(line_break, one);
  const __m512i a = _mm512_srli_epi64(comma1, 1);
  const __m512i b = _mm512_srli_epi64(comma2, 1);
  const __m512i n = _mm512_srli_epi64(line_break, 1);
  // Line starts: `start`, then each line break + 1.
  const __m512i starts = _mm512_add_epi64(
      _mm512_alignr_epi64(n, _mm512_set1_epi64(static_cast<int64_t>(start) - 1), 7), one);
  // The station's id and its ',': 2 to 8 bytes, looked up in the station table.
  const __m512i station_length = _mm512_sub_epi64(_mm512_add_epi64(a, one), starts);
  bad |= _mm512_cmpgt_epu64_mask(_mm512_sub_epi64(station_length, _mm512_set1_epi64(2)),
                                 _mm512_set1_epi64(6)) |
         _mm512_cmpge_epu64_mask(starts, c.line_limit);
  const __m512i digits = _mm512_sub_epi64(_mm512_sub_epi64(b, a), one);
  const __m512i code_length = _mm512_sub_epi64(n, b);  // code + line break
  bad |= _mm512_cmpgt_epu64_mask(_mm512_sub_epi64(digits, one), _mm512_set1_epi64(15)) |
         _mm512_cmpgt_epu64_mask(code_length, _mm512_set1_epi64(8));
  const auto* base = reinterpret_cast<const long long*>(chunk);
  const __m512i eight = _mm512_set1_epi64(8);
  const __m512i station_key = _mm512_and_si512(
      _mm512_i64gather_epi64(starts, base, 1),
      _mm512_srlv_epi64(
          _mm512_set1_epi64(-1),
          _mm512_sub_epi64(_mm512_set1_epi64(64),
                           _mm512_slli_epi64(_mm512_min_epu64(station_length, eight), 3))));
  // Every slot lies inside the table, whatever the lane holds: the shift bounds it.
  const __m512i station_slot =
      _mm512_srli_epi64(_mm512_mullo_epi64(station_key, c.station_multiplier), c.station_shift);
  bad |= _mm512_cmpneq_epi64_mask(
      _mm512_i64gather_epi64(station_slot, reinterpret_cast<const long long*>(c.station_words), 8),
      station_key);
  const __m512i low_words = _mm512_i64gather_epi64(_mm512_sub_epi64(b, eight), base, 1);
  const __m512i low_digits = _mm512_min_epu64(_mm512_max_epu64(digits, one), eight);
  __m512i seq = ConvertDigitLanes(low_words, low_digits, &bad, 0xFF);
  const __mmask8 long_serials = _mm512_cmpgt_epu64_mask(digits, eight) & ~bad;
  if (long_serials != 0) {
    const __m512i high_words = _mm512_mask_i64gather_epi64(
        _mm512_setzero_si512(), long_serials, _mm512_sub_epi64(b, _mm512_set1_epi64(16)), base, 1);
    const __m512i high_digits =
        _mm512_min_epu64(_mm512_max_epu64(_mm512_sub_epi64(digits, eight), one), eight);
    const __m512i high = ConvertDigitLanes(high_words, high_digits, &bad, long_serials);
    seq = _mm512_mask_add_epi64(seq, long_serials, seq,
                                _mm512_mul_epu32(high, _mm512_set1_epi64(100000000)));
  }
  const __m512i code_words = _mm512_i64gather_epi64(_mm512_add_epi64(b, one), base, 1);
  const __m512i key_bytes = _mm512_min_epu64(code_length, eight);
  const __m512i key = _mm512_and_si512(
      code_words,
      _mm512_srlv_epi64(_mm512_set1_epi64(-1),
                        _mm512_sub_epi64(_mm512_set1_epi64(64), _mm512_slli_epi64(key_bytes, 3))));
  if (!StoreCodes(c, key, seq, bad, seq_out, choice_out)) return false;
  _mm256_storeu_si256(reinterpret_cast<__m256i*>(station_out),
                      _mm512_i64gather_epi32(station_slot, c.station_indexes, 4));
  *next_start = static_cast<uint32_t>(entries[23] >> 1) + 1;
  return true;
}

// The layout of eight consecutive lines of one length: the current station, a serial of
// `digits` digits, a code of `code - 1` bytes and its line break. Such lines need no
// structural index: each sits at a fixed offset, so one vector compare per 64 bytes
// checks that the commas and line breaks are exactly where the layout puts them (and
// nowhere else), another that the station's bytes are there, and byte permutes pull each
// line's serial and code into a lane. Four lines are read per 128-byte window (lengths up
// to 32 bytes), two windows per group.
struct FixedLayout {
  uint32_t digits = 0, code = 0, length = 0;  // length 0: none
  __m512i digit_index, code_index, digit_count;
  __m512i station_bytes[2];
  uint64_t station_care[2], commas[2], breaks[2], care[2];
  __mmask64 code_bytes;
};

bool BuildFixedLayout(absl::string_view station_id, uint32_t digits, uint32_t code,
                      FixedLayout* layout) {
  const uint32_t station_length = static_cast<uint32_t>(station_id.size()) + 1;  // with ','
  const uint32_t length = station_length + digits + 1 + code;
  layout->length = 0;
  if (digits < 1 || digits > 8 || code < 2 || code > 8 || length > 32) return false;
  uint8_t digit_index[64], code_index[64], station[128] = {};
  uint64_t station_care[2] = {}, commas[2] = {}, breaks[2] = {}, care[2] = {};
  uint64_t code_bytes = 0;
  auto set = [](uint64_t* mask, uint32_t bit) { mask[bit / 64] |= uint64_t{1} << (bit % 64); };
  for (uint32_t lane = 0; lane < 8; ++lane) {
    const uint32_t base = (lane % 4) * length;
    for (uint32_t k = 0; k < 8; ++k) {
      const int digit_at = static_cast<int>(base + station_length + digits + k) - 8;
      digit_index[lane * 8 + k] = static_cast<uint8_t>(std::max(digit_at, 0));
      code_index[lane * 8 + k] =
          static_cast<uint8_t>(k < code ? base + station_length + digits + 1 + k : 0);
      if (k < code) code_bytes |= uint64_t{1} << (lane * 8 + k);
    }
  }
  for (uint32_t line = 0; line < 4; ++line) {
    const uint32_t base = line * length;
    for (uint32_t i = 0; i + 1 < station_length; ++i) {
      station[base + i] = static_cast<uint8_t>(station_id[i]);
      set(station_care, base + i);
    }
    set(commas, base + station_length - 1);
    set(commas, base + station_length + digits);
    set(breaks, base + length - 1);
  }
  for (uint32_t bit = 0; bit < 4 * length; ++bit) set(care, bit);
  layout->digits = digits;
  layout->code = code;
  layout->length = length;
  layout->digit_index = _mm512_loadu_si512(digit_index);
  layout->code_index = _mm512_loadu_si512(code_index);
  layout->digit_count = _mm512_set1_epi64(digits);
  layout->station_bytes[0] = _mm512_loadu_si512(station);
  layout->station_bytes[1] = _mm512_loadu_si512(station + 64);
  for (int half = 0; half < 2; ++half) {
    layout->station_care[half] = station_care[half];
    layout->commas[half] = commas[half];
    layout->breaks[half] = breaks[half];
    layout->care[half] = care[half];
  }
  layout->code_bytes = code_bytes;
  return true;
}

// Eight lines of `layout` from `line` on; stores them and returns true only when every
// one is plain.
inline bool ParseFixedGroup(const LineGroupConstants& c, const FixedLayout& layout,
                            const uint8_t* line, uint64_t* seq_out, ChoiceIndex* choice_out) {
  const __m512i comma = _mm512_set1_epi8(',');
  const __m512i newline = _mm512_set1_epi8('\n');
  uint64_t wrong = 0;
  __m512i digits = _mm512_setzero_si512(), key = _mm512_setzero_si512();
  for (int half = 0; half < 2; ++half) {
    const uint8_t* window = line + half * 4 * layout.length;
    const __m512i low = _mm512_loadu_si512(window);
    const __m512i high = _mm512_loadu_si512(window + 64);
    wrong |= ((_mm512_cmpeq_epi8_mask(low, comma) ^ layout.commas[0]) |
              (_mm512_cmpeq_epi8_mask(low, newline) ^ layout.breaks[0])) &
             layout.care[0];
    wrong |= ((_mm512_cmpeq_epi8_mask(high, comma) ^ layout.commas[1]) |
              (_mm512_cmpeq_epi8_mask(high, newline) ^ layout.breaks[1])) &
             layout.care[1];
    wrong |= _mm512_mask_cmpneq_epi8_mask(layout.station_care[0], low, layout.station_bytes[0]) |
             _mm512_mask_cmpneq_epi8_mask(layout.station_care[1], high, layout.station_bytes[1]);
    const __mmask64 lanes = half == 0 ? 0x00000000FFFFFFFFULL : 0xFFFFFFFF00000000ULL;
    digits = _mm512_or_si512(digits,
                             _mm512_maskz_permutex2var_epi8(lanes, low, layout.digit_index, high));
    key = _mm512_or_si512(key, _mm512_maskz_permutex2var_epi8(lanes & layout.code_bytes, low,
                                                              layout.code_index, high));
  }
  __mmask8 bad = wrong != 0 ? 0xFF : 0;
  const __m512i seq = ConvertDigitLanes(digits, layout.digit_count, &bad, 0xFF);
  return StoreCodes(c, key, seq, bad, seq_out, choice_out);
}

}  // namespace
#endif

size_t CsvRangeParser::ParsePlainRun(const uint8_t* data, size_t size, size_t p, size_t range_end,
                                     uint64_t* records) {
  // Every load below stays inside the data: chunks end 16 bytes before it, and a line
  // reads at most 8 bytes past its second comma (which lies below its line break), and
  // at most 16 bytes before that comma (which lies after the line's start, p >= 16).
  if (station_table_words_.empty() || code_table_words_.empty() || p < 16 ||
      size < 16 + kBlockBytes) {
    return p;
  }
  const uint64_t* const table_words = code_table_words_.data();
  const ChoiceIndex* const table_choices = code_table_choices_.data();
  const uint64_t multiplier = code_multiplier_;
  const int shift = code_shift_;
  const uint64_t* const station_words = station_table_words_.data();
  const StationIndex* const station_indexes = station_table_indexes_.data();
  const uint64_t station_multiplier = station_multiplier_;
  const int station_shift = station_shift_;
  uint16_t* const index = structural_.get();
  const size_t data_end = size - 16;
#if defined(CANVASS_CSV_VECTOR_LINES)
  const bool vector_lines = code_table_words_.size() <= 64;
  LineGroupConstants group;
  if (vector_lines) {
    int16_t comma1[32] = {}, comma2[32] = {}, breaks[32] = {};
    for (int line = 0; line < 8; ++line) {
      comma1[4 * line] = static_cast<int16_t>(3 * line);
      comma2[4 * line] = static_cast<int16_t>(3 * line + 1);
      breaks[4 * line] = static_cast<int16_t>(3 * line + 2);
    }
    group.comma1_lanes = _mm512_loadu_si512(comma1);
    group.comma2_lanes = _mm512_loadu_si512(comma2);
    group.break_lanes = _mm512_loadu_si512(breaks);
    group.station_multiplier = _mm512_set1_epi64(static_cast<int64_t>(station_multiplier));
    group.station_shift = station_shift;
    group.station_words = station_words;
    group.station_indexes = station_indexes;
    group.multiplier = _mm512_set1_epi64(static_cast<int64_t>(multiplier));
    ChoiceIndex choices[64] = {};
    uint64_t words[16] = {};
    std::copy(code_table_choices_.begin(), code_table_choices_.end(), choices);
    std::copy_n(code_table_words_.begin(), std::min<size_t>(16, code_table_words_.size()), words);
    group.choices = _mm512_loadu_si512(choices);
    group.words_low = _mm512_loadu_si512(words);
    group.words_high = _mm512_loadu_si512(words + 8);
    group.shift = shift;
    group.table_words = table_words;
  }
#endif
  uint64_t parsed = 0;
#if defined(CANVASS_CSV_VECTOR_LINES)
  // The layout (station, serial digits, code bytes) of the last line of the last
  // structural pass when it ended cleanly: the next pass first tries it as a fixed layout.
  uint32_t try_digits = 0, try_code = 0;
  StationIndex try_station = kUnknownStation, layout_station = kUnknownStation;
  FixedLayout layout;
#endif
  while (p < range_end) {
#if defined(CANVASS_CSV_VECTOR_LINES)
    if (try_digits != 0) {
      if (layout.digits != try_digits || layout.code != try_code || layout.length == 0 ||
          layout_station != try_station) {
        BuildFixedLayout(election_.stations[try_station].id, try_digits, try_code, &layout);
        layout_station = try_station;
      }
      try_digits = 0;
      const size_t length = layout.length;
      // Both windows inside the data; all eight lines start before range_end.
      while (length != 0 && p + 4 * length + 128 <= data_end && p + 7 * length < range_end) {
        if (staged_ + 8 > kDefaultBatchSize) FlushStaging();
        if (!ParseFixedGroup(group, layout, data + p, staged_seq_.get() + staged_,
                             staged_choice_.get() + staged_)) {
          break;
        }
        std::fill_n(staged_station_.get() + staged_, 8, layout_station);
        staged_ += 8;
        parsed += 8;
        p += 8 * length;
      }
      if (p >= range_end) break;
    }
#endif
    // The structural index of the chunk that holds `p`: kept from the last pass while p
    // stays inside it, so that a line the general parser takes (a quoted field, a long id)
    // costs that line alone, not a new index of the chunk for every such line.
    const bool fresh =
        indexed_chunk_ == nullptr || p < indexed_begin_ || p >= indexed_begin_ + indexed_bytes_;
    if (fresh) {
      const size_t blocks = std::min(kChunkBytes, data_end - std::min(p, data_end)) / kBlockBytes;
      if (blocks == 0) break;
      indexed_chunk_ = data + p;
      indexed_begin_ = p;
      indexed_bytes_ = blocks * kBlockBytes;
      indexed_count_ = BuildStructuralIndex(indexed_chunk_, blocks, index);
    }
    const uint8_t* const chunk = indexed_chunk_;
    const size_t count = indexed_count_;
    const uint32_t first_start = static_cast<uint32_t>(p - indexed_begin_);
    // Entries are in offset order: the first one at or after the line start.
    const size_t first_k = static_cast<size_t>(
        std::lower_bound(index, index + count, static_cast<uint16_t>(2 * first_start)) - index);
    const uint32_t line_limit =
        static_cast<uint32_t>(std::min(range_end - indexed_begin_, indexed_bytes_));
    // Each plain line is exactly three entries: the comma after the station, the comma
    // after the serial, the line break. Everything is checked before one branch; the
    // first line that is not plain (or starts at range_end) ends the run.
    uint32_t start = first_start;
    size_t k = first_k;
    // The last station key looked up and found, and its station (0: none yet).
    uint64_t run_key = 0;
    StationIndex run_station = kUnknownStation;
#if defined(CANVASS_CSV_VECTOR_LINES)
    if (vector_lines) {
      group.line_limit = _mm512_set1_epi64(line_limit);
      while (k + 24 <= count) {
        if (staged_ + 8 > kDefaultBatchSize) FlushStaging();
        if (!ParseLineGroup(group, chunk, index + k, start, staged_seq_.get() + staged_,
                            staged_choice_.get() + staged_, staged_station_.get() + staged_,
                            &start)) {
          break;  // the scalar loop below takes these lines, up to the one not plain
        }
        staged_ += 8;
        k += 24;
      }
    }
#endif
    for (; k + 3 <= count; k += 3) {
      const uint32_t comma1 = index[k], comma2 = index[k + 1], line_break = index[k + 2];
      const uint32_t a = comma1 >> 1, b = comma2 >> 1, n = line_break >> 1;
      const uint32_t digits = b - a - 1;              // 1..16 on the fast path
      const uint32_t code_length = n - b;             // code + line break: 2..8
      const uint32_t station_length = a + 1 - start;  // id + ',': 2..8
      uint64_t bad =
          ((comma1 | comma2 | ~line_break) & 1) | static_cast<uint64_t>(station_length - 2 > 6) |
          static_cast<uint64_t>(digits - 1 >= 16) | static_cast<uint64_t>(code_length > 8) |
          static_cast<uint64_t>(start >= line_limit);
      const uint32_t station_bytes = std::min<uint32_t>(station_length, 8);
      const uint64_t station_key =
          Load8(chunk + start) & (~uint64_t{0} >> (64 - 8 * station_bytes));
      // The previous line's station again (a station's own file, a run of one station):
      // no table lookup. Predictable both ways: it rarely changes in a sorted file and
      // almost always in an interleaved one.
      if (station_key != run_key) {
        const size_t station_slot = (station_key * station_multiplier) >> station_shift;
        bad |= station_words[station_slot] ^ station_key;
        run_key = station_key;
        run_station = station_indexes[station_slot];
      }
      const uint32_t low_digits = std::clamp<uint32_t>(digits, 1, 8);
      uint64_t seq = ConvertDigits(Load8(chunk + b - 8), low_digits, &bad);
      if (digits > 8) {
        const uint32_t high_digits = std::min<uint32_t>(digits - 8, 8);
        seq += ConvertDigits(Load8(chunk + b - 16), high_digits, &bad) * 100000000ULL;
      }
      const uint32_t key_bytes = std::min<uint32_t>(code_length, 8);
      const uint64_t key = Load8(chunk + b + 1) & (~uint64_t{0} >> (64 - 8 * key_bytes));
      const size_t slot = (key * multiplier) >> shift;
      bad |= table_words[slot] ^ key;
      if (bad != 0) break;
      if (staged_ == kDefaultBatchSize) FlushStaging();
      staged_seq_[staged_] = seq;
      staged_choice_[staged_] = table_choices[slot];
      staged_station_[staged_] = run_station;
      ++staged_;
      start = n + 1;
    }
    parsed += (k - first_k) / 3;
    p = indexed_begin_ + start;
    // Stopped on a line that is not plain (the caller's general parser takes it).
    if (k + 3 <= count) break;
    // Ran out of entries: the line at `start` does not end inside this chunk.
    indexed_chunk_ = nullptr;
    if (start == first_start && fresh) break;  // longer than a whole chunk
#if defined(CANVASS_CSV_VECTOR_LINES)
    if (vector_lines && k >= first_k + 3 && staged_ > 0) {
      const uint32_t b = index[k - 2] >> 1;
      try_digits = b - (index[k - 3] >> 1) - 1;
      try_code = (index[k - 1] >> 1) - b;
      try_station = staged_station_[staged_ - 1];
    }
#endif
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
      // A line ends with LF or CRLF; a CR alone, even as the file's last byte, is not one.
      const bool at_end = p == size || data[p] == ',' || data[p] == '\n' ||
                          (data[p] == '\r' && p + 1 < size && data[p + 1] == '\n');
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
      if (q < size && data[q] == '\n' && absl::EndsWith(field.text, "\r")) {
        field.text.remove_suffix(1);  // CRLF line end (a CR at the end of the file is data)
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
  indexed_chunk_ = nullptr;  // the index of another call's data is never reused
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
    if (fast_paths_) p = ParsePlainRun(data, size, p, range_end, &result.records);
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
