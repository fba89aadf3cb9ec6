// NIST CVR JSON: a scanner of the report's top level that finds each record's span in
// one pass, and a decoder of one record with simdjson's DOM API (On Demand for the
// diagnosis of a record the DOM parse rejects).
#include <cstring>
#include <memory>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif
#if defined(__x86_64__) || defined(_M_X64)
#include <immintrin.h>
#endif
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "engine/base/kernel.h"
#include "engine/io/nist/cvr_reader.h"
#include "engine/io/nist/internal/cvr_formats.h"
#include "engine/io/nist/internal/ondemand.h"
#include "simdjson.h"

namespace canvass {
namespace {

bool IsSpace(char c) { return c == ' ' || c == '\n' || c == '\r' || c == '\t'; }

// 64 bytes classified at once: bit i of each mask is byte i. SSE2 is part of x86-64 (the
// portable kernel); the avx2 and avx512 kernels classify 32 and 64 bytes an instruction;
// elsewhere a plain loop gives the same masks.
struct BlockMasks {
  uint64_t quote = 0;
  uint64_t backslash = 0;
  uint64_t open = 0;   // '{' or '['
  uint64_t close = 0;  // '}' or ']'
};

// The number of bits set, inline: the portable build has no POPCNT, and std::popcount
// there is a call into libgcc (6% of a job's time when the scanner used it).
inline uint32_t BitCount(uint64_t x) {
  x -= (x >> 1) & 0x5555555555555555ULL;
  x = (x & 0x3333333333333333ULL) + ((x >> 2) & 0x3333333333333333ULL);
  x = (x + (x >> 4)) & 0x0f0f0f0f0f0f0f0fULL;
  return static_cast<uint32_t>((x * 0x0101010101010101ULL) >> 56);
}

// '{' and '[' (and '}' and ']') differ in bit 5 only: one compare of byte | 0x20 finds both.
BlockMasks ClassifyPortable(const char* block) {
  BlockMasks masks;
#if defined(__SSE2__)
  const __m128i case_bit = _mm_set1_epi8(0x20);
  for (int part = 0; part < 4; ++part) {
    const __m128i bytes = _mm_loadu_si128(reinterpret_cast<const __m128i*>(block + 16 * part));
    const __m128i folded = _mm_or_si128(bytes, case_bit);
    auto mask_of = [&](__m128i in, char c) {
      return static_cast<uint64_t>(
                 static_cast<uint16_t>(_mm_movemask_epi8(_mm_cmpeq_epi8(in, _mm_set1_epi8(c)))))
             << (16 * part);
    };
    masks.quote |= mask_of(bytes, '"');
    masks.backslash |= mask_of(bytes, '\\');
    masks.open |= mask_of(folded, '{');
    masks.close |= mask_of(folded, '}');
  }
#else
  for (int i = 0; i < 64; ++i) {
    const uint64_t bit = uint64_t{1} << i;
    switch (block[i]) {
      case '"':
        masks.quote |= bit;
        break;
      case '\\':
        masks.backslash |= bit;
        break;
      case '{':
      case '[':
        masks.open |= bit;
        break;
      case '}':
      case ']':
        masks.close |= bit;
        break;
      default:
        break;
    }
  }
#endif
  return masks;
}

#if defined(CANVASS_X86_KERNELS)
CANVASS_TARGET_REGION(CANVASS_AVX2_TARGET)
BlockMasks ClassifyAvx2(const char* block) {
  BlockMasks masks;
  const __m256i case_bit = _mm256_set1_epi8(0x20);
  for (int part = 0; part < 2; ++part) {
    const __m256i bytes = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(block + 32 * part));
    const __m256i folded = _mm256_or_si256(bytes, case_bit);
    auto mask_of = [&](__m256i in, char c) {
      return static_cast<uint64_t>(static_cast<uint32_t>(
                 _mm256_movemask_epi8(_mm256_cmpeq_epi8(in, _mm256_set1_epi8(c)))))
             << (32 * part);
    };
    masks.quote |= mask_of(bytes, '"');
    masks.backslash |= mask_of(bytes, '\\');
    masks.open |= mask_of(folded, '{');
    masks.close |= mask_of(folded, '}');
  }
  return masks;
}
CANVASS_UNTARGET_REGION

CANVASS_TARGET_REGION(CANVASS_AVX512_TARGET)
BlockMasks ClassifyAvx512(const char* block) {
  const __m512i bytes = _mm512_loadu_si512(block);
  const __m512i folded = _mm512_or_si512(bytes, _mm512_set1_epi8(0x20));
  BlockMasks masks;
  masks.quote = _mm512_cmpeq_epi8_mask(bytes, _mm512_set1_epi8('"'));
  masks.backslash = _mm512_cmpeq_epi8_mask(bytes, _mm512_set1_epi8('\\'));
  masks.open = _mm512_cmpeq_epi8_mask(folded, _mm512_set1_epi8('{'));
  masks.close = _mm512_cmpeq_epi8_mask(folded, _mm512_set1_epi8('}'));
  return masks;
}
CANVASS_UNTARGET_REGION
#endif

using ClassifyFunction = BlockMasks (*)(const char* block);

// The classifier of the process's kernel (base/kernel.h), chosen once.
ClassifyFunction ActiveClassify() {
  static const ClassifyFunction chosen = [] {
#if defined(CANVASS_X86_KERNELS)
    switch (ActiveKernel()) {
      case Kernel::kAvx512:
        return &ClassifyAvx512;
      case Kernel::kAvx2:
        return &ClassifyAvx2;
      case Kernel::kPortable:
        break;
    }
#endif
    return &ClassifyPortable;
  }();
  return chosen;
}

// Bit i set when an odd number of bits at or below i are set.
uint64_t PrefixXor(uint64_t x) {
  x ^= x << 1;
  x ^= x << 2;
  x ^= x << 4;
  x ^= x << 8;
  x ^= x << 16;
  x ^= x << 32;
  return x;
}

// The top level of a CVR JSON report, walked once, in order:
//   { "key": value, ..., "CVR": [ {record}, {record}, ... ], ... }
class JsonCvrScanner final : public CvrScanner {
 public:
  JsonCvrScanner(std::string name, absl::string_view text, const JsonRecordArray& array)
      : name_(std::move(name)), text_(text), array_(array), classify_(ActiveClassify()) {}

  absl::StatusOr<bool> Next(uint64_t max_bytes, std::vector<CvrSpan>* spans) override;
  std::string Definition() const override;
  bool Synthetic() const override { return synthetic_; }
  bool DeclaresInvalidFigure() const override { return invalid_figure_; }

 private:
  enum class State { kStart, kKeys, kRecords, kDone };

  absl::Status Error(uint64_t offset, absl::string_view what) const {
    if (offset >= text_.size()) {
      return absl::DataLossError(absl::StrCat(name_, ": truncated at byte ", text_.size(), " (",
                                              LineColumn(text_, text_.size()), "): ", what));
    }
    return absl::DataLossError(
        absl::StrCat(name_, ": byte ", offset, " (", LineColumn(text_, offset), "): ", what));
  }
  void SkipSpace() {
    while (pos_ < text_.size() && IsSpace(text_[pos_])) ++pos_;
  }
  // Past the string starting at pos_ (a '"'), or an error.
  absl::Status SkipString();
  // Past the value starting at pos_ (objects and arrays matched, strings skipped).
  absl::Status SkipValue();
  absl::Status NextKey(bool* more);
  // Classifies the next 64 bytes of the "CVR" array and appends the records that end in
  // them; at the array's ']' returns to the keys after it. Structure is found as simdjson
  // finds it: quote, backslash and bracket masks per block, escapes by the parity of
  // backslash runs, strings by a prefix xor of the quotes, carried from block to block.
  absl::Status ScanRecordBlock(std::vector<CvrSpan>* spans, uint64_t* taken);
  // Checks the bytes between the last record (or the '[') and `at`: white space, and one
  // ',' exactly when a record came before.
  absl::Status CheckGap(uint64_t at, bool array_end) const;

  // "CVR[i]" (or the array's own name) for messages.
  std::string Record(uint64_t i) const { return absl::StrCat(array_.key, "[", i, "]"); }

  std::string name_;
  absl::string_view text_;
  const JsonRecordArray array_;
  uint64_t pos_ = 0;
  State state_ = State::kStart;
  bool seen_records_ = false;
  uint64_t records_ = 0;
  std::vector<std::pair<std::string, absl::string_view>> definition_;
  // The record scan: the next block, the depth within the array, the carries.
  uint64_t block_ = 0;
  uint32_t depth_ = 0;
  uint64_t in_string_ = 0;     // all ones when the previous block ended inside a string
  uint64_t next_escaped_ = 0;  // 1 when the next block's first byte is escaped
  uint64_t record_begin_ = 0;
  uint64_t last_end_ = 0;
  bool after_comma_ = false;  // the last top-level value was followed by a ','
  bool synthetic_ = false;
  bool invalid_figure_ = false;
  ClassifyFunction classify_;
  uint64_t closing_brace_ = 0;
};

absl::Status JsonCvrScanner::SkipString() {
  const uint64_t start = pos_;
  ++pos_;
  while (true) {
    const void* quote = std::memchr(text_.data() + pos_, '"', text_.size() - pos_);
    if (quote == nullptr) return Error(text_.size(), "a string does not end");
    uint64_t at = static_cast<const char*>(quote) - text_.data();
    uint64_t backslashes = 0;
    while (at - backslashes > start && text_[at - backslashes - 1] == '\\') ++backslashes;
    pos_ = at + 1;
    if (backslashes % 2 == 0) return absl::OkStatus();
  }
}

absl::Status JsonCvrScanner::SkipValue() {
  SkipSpace();
  if (pos_ >= text_.size()) return Error(pos_, "expected a value");
  const char first = text_[pos_];
  if (first == '"') return SkipString();
  if (first != '{' && first != '[') {
    const uint64_t start = pos_;
    while (pos_ < text_.size() && !IsSpace(text_[pos_]) && text_[pos_] != ',' &&
           text_[pos_] != '}' && text_[pos_] != ']') {
      ++pos_;
    }
    if (pos_ == start)
      return Error(pos_, absl::StrCat("expected a value, found '", std::string(1, first), "'"));
    return absl::OkStatus();
  }
  std::string open;  // the brackets still open, innermost last
  const uint64_t value_start = pos_;
  while (pos_ < text_.size()) {
    const char c = text_[pos_];
    if (c == '"') {
      absl::Status status = SkipString();
      if (!status.ok()) return status;
      continue;
    }
    if (c == '{' || c == '[') {
      open.push_back(c);
    } else if (c == '}' || c == ']') {
      if (open.empty() || open.back() != (c == '}' ? '{' : '[')) {
        return Error(pos_, absl::StrCat("'", std::string(1, c), "' closes nothing open"));
      }
      open.pop_back();
      if (open.empty()) {
        ++pos_;
        return absl::OkStatus();
      }
    }
    ++pos_;
  }
  return Error(text_.size(), absl::StrCat("a value begun at byte ", value_start, " does not end"));
}

// Reads `"key": ` and, for CVR, enters the records; other values are skipped (Election and
// GpUnit are kept for the definition). Sets *more = false at the closing brace.
absl::Status JsonCvrScanner::NextKey(bool* more) {
  SkipSpace();
  if (pos_ >= text_.size()) return Error(pos_, "expected a key or '}'");
  if (text_[pos_] == '}') {
    if (after_comma_) return Error(pos_, "a ',' before the report's closing '}'");
    closing_brace_ = pos_;
    ++pos_;
    *more = false;
    return absl::OkStatus();
  }
  after_comma_ = false;
  if (text_[pos_] != '"') return Error(pos_, "expected a key (a string) or '}'");
  const uint64_t key_start = pos_ + 1;
  absl::Status status = SkipString();
  if (!status.ok()) return status;
  const absl::string_view key = text_.substr(key_start, pos_ - 1 - key_start);
  SkipSpace();
  if (pos_ >= text_.size() || text_[pos_] != ':') return Error(pos_, "expected ':' after a key");
  ++pos_;
  SkipSpace();
  *more = true;
  if (key == array_.key) {
    if (seen_records_) return Error(key_start, absl::StrCat("a second \"", array_.key, "\" key"));
    seen_records_ = true;
    if (pos_ >= text_.size() || text_[pos_] != '[') {
      return Error(pos_, absl::StrCat("\"", array_.key, "\" must be an array"));
    }
    ++pos_;
    state_ = State::kRecords;
    block_ = pos_;
    last_end_ = pos_;
    depth_ = 0;
    in_string_ = 0;
    next_escaped_ = 0;
    return absl::OkStatus();
  }
  const uint64_t value_start = pos_;
  status = SkipValue();
  if (!status.ok()) return status;
  if (key == "Notes") {
    const absl::string_view notes = text_.substr(value_start, pos_ - value_start);
    synthetic_ = absl::StartsWith(notes, "\"SYNTHETIC");
    invalid_figure_ = absl::StrContains(notes, "invalidated-rules");
  }
  if (key == "Election" || key == "GpUnit") {
    definition_.emplace_back(std::string(key), text_.substr(value_start, pos_ - value_start));
  }
  SkipSpace();
  if (pos_ < text_.size() && text_[pos_] == ',') {
    ++pos_;
    after_comma_ = true;
  } else if (pos_ >= text_.size() || text_[pos_] != '}') {
    return Error(pos_, "expected ',' or '}' after a value");
  }
  return absl::OkStatus();
}

absl::StatusOr<bool> JsonCvrScanner::Next(uint64_t max_bytes, std::vector<CvrSpan>* spans) {
  if (state_ == State::kStart) {
    if (text_.substr(0, 3) == "\xEF\xBB\xBF") pos_ = 3;
    SkipSpace();
    if (pos_ >= text_.size() || text_[pos_] != '{') {
      return absl::InvalidArgumentError(
          absl::StrCat(name_, ": byte ", pos_, ": not ", array_.what, " (expected '{')"));
    }
    ++pos_;
    state_ = State::kKeys;
  }
  uint64_t taken = 0;
  while (state_ != State::kDone) {
    if (state_ == State::kKeys) {
      bool more = true;
      absl::Status status = NextKey(&more);
      if (!status.ok()) return status;
      if (!more) {
        SkipSpace();
        if (pos_ != text_.size()) return Error(pos_, "text after the report's closing '}'");
        if (!seen_records_) {
          return absl::InvalidArgumentError(absl::StrCat(
              name_, ": byte ", closing_brace_, " (", LineColumn(text_, closing_brace_), "): not ",
              array_.what, " (it ends with no \"", array_.key, "\" array)"));
        }
        state_ = State::kDone;
      }
      continue;
    }
    // In the records.
    if (taken >= max_bytes) return true;
    absl::Status status = ScanRecordBlock(spans, &taken);
    if (!status.ok()) return status;
  }
  return false;
}

absl::Status JsonCvrScanner::CheckGap(uint64_t at, bool array_end) const {
  bool comma = false;
  for (uint64_t i = last_end_; i < at; ++i) {
    const char c = text_[i];
    if (IsSpace(c)) continue;
    if (c == ',' && records_ > 0 && !comma) {
      comma = true;
      continue;
    }
    if (records_ > 0 && !comma) {
      return Error(i, absl::StrCat(Record(records_ - 1), ": expected ',' or ']' after it"));
    }
    return Error(i, absl::StrCat(Record(records_), ": expected a record (an object)"));
  }
  if (array_end && comma) {
    return Error(at, absl::StrCat("a ',' before the \"", array_.key, "\" array's ']'"));
  }
  if (!array_end && records_ > 0 && !comma) {
    return Error(at, absl::StrCat(Record(records_ - 1), ": expected ',' or ']' after it"));
  }
  return absl::OkStatus();
}

absl::Status JsonCvrScanner::ScanRecordBlock(std::vector<CvrSpan>* spans, uint64_t* taken) {
  if (block_ >= text_.size()) {
    if (in_string_) return Error(text_.size(), "a string does not end");
    if (depth_ > 0) {
      return Error(text_.size(),
                   absl::StrCat(Record(records_), ", begun at byte ", record_begin_, " (",
                                LineColumn(text_, record_begin_), "), does not end"));
    }
    return Error(text_.size(), absl::StrCat("the \"", array_.key, "\" array does not end"));
  }
  const char* block = text_.data() + block_;
  char padded[64];
  if (text_.size() - block_ < 64) {
    std::memset(padded, ' ', sizeof(padded));
    std::memcpy(padded, block, text_.size() - block_);
    block = padded;
  }
  const BlockMasks masks = classify_(block);
  // Escaped bytes: those after an odd run of backslashes (simdjson's branchless method).
  uint64_t backslash = masks.backslash & ~next_escaped_;
  const uint64_t follows_escape = (backslash << 1) | next_escaped_;
  constexpr uint64_t kEvenBits = 0x5555555555555555ULL;
  const uint64_t odd_starts = backslash & ~kEvenBits & ~follows_escape;
  uint64_t even_starts = 0;
  next_escaped_ = __builtin_add_overflow(odd_starts, backslash, &even_starts) ? 1 : 0;
  const uint64_t escaped = (kEvenBits ^ (even_starts << 1)) & follows_escape;
  const uint64_t inside = PrefixXor(masks.quote & ~escaped) ^ in_string_;
  in_string_ = static_cast<uint64_t>(static_cast<int64_t>(inside) >> 63);
  uint64_t structural = (masks.open | masks.close) & ~inside;
  const uint64_t base = block_;
  block_ += 64;
  // Inside a record, a block with fewer closing brackets than the depth cannot end it (nor,
  // then, begin one): only the depth changes. Most blocks of a record take this path; the
  // padding of the last block holds no bracket.
  if (depth_ > 0) {
    const uint32_t closes = BitCount(masks.close & ~inside);
    if (closes < depth_) {
      depth_ += BitCount(masks.open & ~inside) - closes;
      return absl::OkStatus();
    }
  }
  while (structural != 0) {
    const int bit = __builtin_ctzll(structural);
    structural &= structural - 1;
    const uint64_t at = base + static_cast<uint64_t>(bit);
    if (at >= text_.size()) break;  // the padding
    const char c = block[bit];
    if (c == '{' || c == '[') {
      if (depth_ == 0) {
        if (absl::Status gap = CheckGap(at, /*array_end=*/false); !gap.ok()) return gap;
        if (c == '[') {
          return Error(at, absl::StrCat(Record(records_), ": expected a record (an object)"));
        }
        record_begin_ = at;
      }
      ++depth_;
      continue;
    }
    if (depth_ == 0) {
      if (c == '}') return Error(at, "'}' closes nothing open");
      if (absl::Status gap = CheckGap(at, /*array_end=*/true); !gap.ok()) return gap;
      // The array ends: back to the report's keys after it.
      pos_ = at + 1;
      SkipSpace();
      if (pos_ < text_.size() && text_[pos_] == ',') {
        ++pos_;
        after_comma_ = true;
      } else if (pos_ >= text_.size() || text_[pos_] != '}') {
        return Error(pos_,
                     absl::StrCat("expected ',' or '}' after the \"", array_.key, "\" array"));
      }
      state_ = State::kKeys;
      return absl::OkStatus();
    }
    if (--depth_ == 0) {
      if (c != '}') {
        return Error(at, absl::StrCat(Record(records_), ", begun at byte ", record_begin_,
                                      ", is closed by ']'"));
      }
      spans->push_back({record_begin_, at + 1, records_++});
      *taken += at + 1 - record_begin_;
      last_end_ = at + 1;
    }
  }
  return absl::OkStatus();
}

std::string JsonCvrScanner::Definition() const {
  if (definition_.empty()) return "";
  std::string out = "{";
  for (size_t i = 0; i < definition_.size(); ++i) {
    absl::StrAppend(&out, i ? "," : "", "\"", definition_[i].first, "\":", definition_[i].second);
  }
  out += "}";
  return out;
}

absl::string_view Absl(std::string_view text) {
  return absl::string_view(text.data(), text.size());
}

// The two ways a record is read. Dom: parsed whole (the parse checks every byte), then
// read from its tape. OnDemand: value by value, each value the rules do not use read
// through (Skip) so that it is checked as the rest is; it names the field of a bad value
// ("NumberVotes: expected a small integer (...)") where the DOM parse can only say that
// some number is bad. Both throw simdjson_error on a value of the wrong type.
struct Dom {
  using Object = simdjson::dom::object;
  static std::string_view KeyOf(const simdjson::dom::key_value_pair& field) { return field.key; }
  static simdjson::dom::element ValueOf(const simdjson::dom::key_value_pair& field) {
    return field.value;
  }
  static std::string_view String(simdjson::dom::element value) {
    return value.get_string().value();
  }
  static uint64_t Count(simdjson::dom::element value) { return value.get_uint64().value(); }
  static simdjson::dom::array Array(simdjson::dom::element value) {
    return value.get_array().value();
  }
  static Object ObjectOf(simdjson::dom::element value) { return value.get_object().value(); }
  static void Skip(simdjson::dom::element) {}  // the parse checked it
  static void Rewind(Object&) {}
};

struct OnDemand {
  using Object = simdjson::ondemand::object;
  template <typename Field>
  static std::string_view KeyOf(Field& field) {
    return Key(field);
  }
  template <typename Field>
  static simdjson::ondemand::value ValueOf(Field& field) {
    return field.value();
  }
  template <typename Value>
  static std::string_view String(Value&& value) {
    return value.get_string().value();
  }
  template <typename Value>
  static uint64_t Count(Value&& value) {
    return value.get_uint64().value();
  }
  template <typename Value>
  static simdjson::ondemand::array Array(Value&& value) {
    return value.get_array().value();
  }
  template <typename Value>
  static Object ObjectOf(Value&& value) {
    return value.get_object().value();
  }
  static void Skip(simdjson::ondemand::value value) { Validate(value); }
  static void Rewind(Object& object) { object.reset(); }
};

// One record read by the counting rules through `Api` (Dom or OnDemand), told to a
// CvrBuilder. Errors of the JSON are simdjson_error exceptions, caught by the decoder.
// One per decoder: its scratch space is kept from record to record.
template <typename Api>
class RecordReader {
 public:
  // Starts a record told to `builder`; forgets the last one.
  void Start(CvrBuilder* builder) {
    builder_ = builder;
    path_.clear();
    found_ = false;
  }

  // The record's fields, in order: identity, device, unit, CurrentSnapshotId, then its
  // snapshots (walked again when they come before CurrentSnapshotId).
  void Record(typename Api::Object record) {
    bool has_current = false;
    bool snapshots_later = false;
    for (auto field : record) {
      const std::string_view key = Api::KeyOf(field);
      if (key == "UniqueId") {
        builder_->SetIdentity(CvrIdentityField::kUniqueId, Absl(Api::String(Api::ValueOf(field))));
      } else if (key == "BallotPrePrintedId") {
        builder_->SetIdentity(CvrIdentityField::kBallotPrePrintedId,
                              Absl(Api::String(Api::ValueOf(field))));
      } else if (key == "BallotAuditId") {
        builder_->SetIdentity(CvrIdentityField::kBallotAuditId,
                              Absl(Api::String(Api::ValueOf(field))));
      } else if (key == "CreatingDeviceId") {
        builder_->SetDevice(Absl(Api::String(Api::ValueOf(field))));
      } else if (key == "BallotStyleUnitId") {
        builder_->SetUnit(Absl(Api::String(Api::ValueOf(field))));
      } else if (key == "CurrentSnapshotId") {
        const std::string_view current = Api::String(Api::ValueOf(field));
        current_.assign(current.data(), current.size());
        has_current = true;
      } else if (key == "CVRSnapshot") {
        if (has_current) {
          Snapshots(Api::Array(Api::ValueOf(field)));
        } else {
          snapshots_later = true;
        }
      } else {
        Api::Skip(Api::ValueOf(field));
      }
    }
    if (!has_current) {
      builder_->Malformed("no CurrentSnapshotId");
      return;
    }
    if (snapshots_later) {
      Api::Rewind(record);
      for (auto field : record) {
        if (Api::KeyOf(field) == "CVRSnapshot") Snapshots(Api::Array(Api::ValueOf(field)));
      }
    }
    if (!found_) {
      builder_->Malformed(absl::StrCat("no CVRSnapshot has the current @id '", current_, "'"));
    }
  }

  // Where the reader is when a value breaks, for the message ("NumberVotes" or "").
  const std::string& path() const { return path_; }

 private:
  struct PendingMark {
    std::string_view selection;
    bool has_indication = true;
    bool allocable = true;
    uint64_t number_votes = 1;
    uint64_t rank = 0;
  };

  template <typename Array>
  void Snapshots(Array snapshots) {
    for (auto element : snapshots) {
      typename Api::Object snapshot = Api::ObjectOf(element);
      enum { kUnknown, kCurrent, kOther } which = kUnknown;
      bool contests_before_id = false;
      bool modified = false;
      for (auto field : snapshot) {
        const std::string_view key = Api::KeyOf(field);
        if (key == "Type") {
          modified = Api::String(Api::ValueOf(field)) == "modified";
        } else if (key == "@id") {
          which = Api::String(Api::ValueOf(field)) == current_ ? kCurrent : kOther;
          if (which == kCurrent && found_) {
            builder_->Malformed(absl::StrCat("two CVRSnapshots have @id '", current_, "'"));
            return;
          }
          if (which == kCurrent) found_ = true;
        } else if (key == "CVRContest") {
          if (which == kCurrent) {
            for (auto contest : Api::Array(Api::ValueOf(field))) Contest(Api::ObjectOf(contest));
          } else if (which == kUnknown) {
            contests_before_id = true;
          } else {
            Api::Skip(Api::ValueOf(field));  // another snapshot's contests: checked, not counted
          }
        } else {
          Api::Skip(Api::ValueOf(field));
        }
      }
      // The current snapshot is an adjudicated one when its Type says "modified".
      if (which == kCurrent && modified) builder_->SetAdjudicated();
      // A snapshot that lists its contests before its @id is walked again for them.
      if (!contests_before_id) continue;
      Api::Rewind(snapshot);
      for (auto field : snapshot) {
        if (Api::KeyOf(field) != "CVRContest") continue;
        if (which != kCurrent) {
          Api::Skip(Api::ValueOf(field));
          continue;
        }
        for (auto contest : Api::Array(Api::ValueOf(field))) Contest(Api::ObjectOf(contest));
      }
    }
  }

  void Contest(typename Api::Object contest) {
    std::string_view contest_id;
    bool has_id = false;
    std::optional<uint64_t> over;
    std::optional<uint64_t> under;
    bool invalid = false;
    marks_.clear();
    for (auto field : contest) {
      const std::string_view key = Api::KeyOf(field);
      if (key == "Status") {
        for (auto status : Api::Array(Api::ValueOf(field))) {
          if (Api::String(status) == "invalidated-rules") invalid = true;
        }
      } else if (key == "ContestId") {
        contest_id = Api::String(Api::ValueOf(field));
        has_id = true;
      } else if (key == "Overvotes") {
        over = Api::Count(Api::ValueOf(field));
      } else if (key == "Undervotes") {
        under = Api::Count(Api::ValueOf(field));
      } else if (key == "CVRContestSelection") {
        for (auto element : Api::Array(Api::ValueOf(field))) {
          typename Api::Object selection = Api::ObjectOf(element);
          std::string_view selection_id;
          bool has_selection = false;
          const size_t first = marks_.size();
          for (auto sfield : selection) {
            const std::string_view skey = Api::KeyOf(sfield);
            if (skey == "ContestSelectionId") {
              selection_id = Api::String(Api::ValueOf(sfield));
              has_selection = true;
            } else if (skey == "SelectionPosition") {
              for (auto element_position : Api::Array(Api::ValueOf(sfield))) {
                typename Api::Object position = Api::ObjectOf(element_position);
                PendingMark mark;
                for (auto pfield : position) {
                  const std::string_view pkey = Api::KeyOf(pfield);
                  if (pkey == "HasIndication") {
                    mark.has_indication = Api::String(Api::ValueOf(pfield)) == "yes";
                  } else if (pkey == "IsAllocable") {
                    mark.allocable = Api::String(Api::ValueOf(pfield)) == "yes";
                  } else if (pkey == "NumberVotes") {
                    path_ = "NumberVotes";
                    mark.number_votes = Api::Count(Api::ValueOf(pfield));
                    path_.clear();
                  } else if (pkey == "Rank") {
                    mark.rank = Api::Count(Api::ValueOf(pfield));
                  } else {
                    Api::Skip(Api::ValueOf(pfield));
                  }
                }
                marks_.push_back(mark);
              }
            } else {
              Api::Skip(Api::ValueOf(sfield));
            }
          }
          if (!has_selection) {
            builder_->Malformed("a CVRContestSelection without ContestSelectionId");
            return;
          }
          for (size_t m = first; m < marks_.size(); ++m) marks_[m].selection = selection_id;
        }
      } else {
        Api::Skip(Api::ValueOf(field));
      }
    }
    if (!has_id) {
      builder_->Malformed("a CVRContest without ContestId");
      return;
    }
    builder_->Contest(Absl(contest_id));
    if (invalid) builder_->InvalidContest();
    if (over) builder_->DeclaredOvervotes(*over);
    if (under) builder_->DeclaredUndervotes(*under);
    for (const PendingMark& mark : marks_) {
      builder_->Mark(Absl(mark.selection), mark.has_indication, mark.allocable, mark.number_votes,
                     mark.rank);
    }
    builder_->EndContest();
  }

  CvrBuilder* builder_ = nullptr;
  std::string path_;
  std::string current_;
  bool found_ = false;
  std::vector<PendingMark> marks_;
};

// The message of a record whose JSON broke where `path` says ("" or "NumberVotes").
std::string BrokenRecord(const std::string& path, const simdjson::simdjson_error& error) {
  return absl::StrCat(path.empty() ? "" : absl::StrCat(path, ": "),
                      path == "NumberVotes" ? "expected a small integer (" : "not a valid record (",
                      error.what(), ")");
}

// One record, from a padded copy of its span (in place when the mapped file holds
// simdjson's padding after it; the last records of a file are copied). It is parsed whole
// into simdjson's DOM: the record is read through in full either way, and the DOM's
// stage 2 (SIMD string and number parsing, in the library's kernel for this CPU) is
// faster here than On Demand's walk, compiled for the portable fallback: 0.16 s against
// 0.30 s for 100,000 generated records (docs/PERFORMANCE.md). A record the DOM parse
// rejects is read again with On Demand, which names the broken field.
class JsonCvrDecoder final : public CvrDecoder {
 public:
  void Decode(absl::string_view text, const CvrSpan& span, CvrBuilder* builder) override {
    const size_t length = span.end - span.begin;
    const char* json = padded_.Of(text, span.begin, span.end);
    const simdjson::simdjson_result<simdjson::dom::element> parsed =
        dom_.parse(json, length, /*realloc_if_needed=*/false);
    if (parsed.error() == simdjson::SUCCESS) {
      dom_reader_.Start(builder);
      try {
        dom_reader_.Record(Dom::ObjectOf(parsed.value_unsafe()));
      } catch (const simdjson::simdjson_error& error) {
        builder->Malformed(BrokenRecord(dom_reader_.path(), error));
      }
      return;
    }
    on_demand_reader_.Start(builder);
    try {
      simdjson::ondemand::document doc =
          on_demand_.iterate(json, length, length + simdjson::SIMDJSON_PADDING);
      on_demand_reader_.Record(doc.get_object());
    } catch (const simdjson::simdjson_error& error) {
      builder->Malformed(BrokenRecord(on_demand_reader_.path(), error));
    }
  }

 private:
  simdjson::dom::parser dom_;
  simdjson::ondemand::parser on_demand_;
  RecordReader<Dom> dom_reader_;
  RecordReader<OnDemand> on_demand_reader_;
  PaddedText padded_;
};

}  // namespace

std::unique_ptr<CvrScanner> NewJsonCvrScanner(std::string name, absl::string_view text) {
  return std::make_unique<JsonCvrScanner>(std::move(name), text,
                                          JsonRecordArray{"CVR", "a NIST CVR JSON report"});
}

std::unique_ptr<CvrScanner> NewJsonRecordScanner(std::string name, absl::string_view text,
                                                 const JsonRecordArray& array) {
  return std::make_unique<JsonCvrScanner>(std::move(name), text, array);
}

std::unique_ptr<CvrDecoder> NewJsonCvrDecoder() { return std::make_unique<JsonCvrDecoder>(); }

}  // namespace canvass
