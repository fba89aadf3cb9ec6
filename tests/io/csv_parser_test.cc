// The CSV range parser against outcomes known at generation time. Random elections
// (station ids and choice codes of many lengths, so that every code table size is used)
// and random files of long plain runs broken by every kind of line the fast paths must
// hand back: malformed lines, quoted fields, CRLF, blank lines, long and zero-padded
// serials, unknown stations and codes, station changes. Each line's expected outcome is
// decided when it is written; the parser's records, malformed line numbers and emitted
// (station, serial, choice) multiset must match exactly, for every way of cutting the
// file into ranges. Lines land at every position of the vector paths' groups of eight and
// across chunk boundaries, because the runs are long and the breaks random.
#include <algorithm>
#include <cstdint>
#include <random>
#include <string>
#include <tuple>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "engine/base/kernel.h"
#include "engine/election/election.h"
#include "engine/io/csv/csv_format.h"
#include "gtest/gtest.h"
#include "tests/testing/sanitizers.h"

namespace canvass {
namespace {

using Record = std::tuple<StationIndex, uint64_t, ChoiceIndex>;

std::string RandomToken(std::mt19937_64& rng, size_t length) {
  static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.";
  std::string token;
  for (size_t i = 0; i < length; ++i) token.push_back(kAlphabet[rng() % (sizeof(kAlphabet) - 1)]);
  if (token[0] >= '0' && token[0] <= '9') token[0] = 'S';  // distinct from serials, for reading
  return token;
}

// An election of `stations` stations and `choices` choices with ids and codes of random
// lengths in [min_length, max_length].
Election RandomElection(std::mt19937_64& rng, int stations, int choices, size_t min_length,
                        size_t max_length) {
  std::string json = R"({"id": "csv-parser-test", "title": "t", "source": "test", "choices": [)";
  std::vector<std::string> codes;
  while (static_cast<int>(codes.size()) < choices) {
    std::string code = RandomToken(rng, min_length + rng() % (max_length - min_length + 1));
    if (std::find(codes.begin(), codes.end(), code) == codes.end()) codes.push_back(code);
  }
  for (size_t c = 0; c < codes.size(); ++c) {
    absl::StrAppend(&json, c ? ", " : "", R"({"code": ")", codes[c],
                    R"(", "name": "n", "kind": "candidate"})");
  }
  absl::StrAppend(&json, R"(], "roster": "roster.csv", "synthetic_roster": true})");
  std::string roster = "station,country,capacity\n";
  std::vector<std::string> ids;
  while (static_cast<int>(ids.size()) < stations) {
    std::string id = RandomToken(rng, min_length + rng() % (max_length - min_length + 1));
    if (std::find(ids.begin(), ids.end(), id) == ids.end()) ids.push_back(id);
  }
  for (const std::string& id : ids) absl::StrAppend(&roster, id, ",XX,1000000\n");
  absl::StatusOr<Election> election = ParseElection(json, "election.json", roster, "roster.csv");
  EXPECT_TRUE(election.ok()) << election.status();
  return *std::move(election);
}

constexpr int kBrokenKinds = 19;

struct Expected {
  std::string text;
  uint64_t records = 0;
  std::vector<uint64_t> malformed_lines;  // from the first record line, 0-based
  std::vector<Record> emitted;
  size_t first_record = 0;  // offset after the header
};

// Serial text of `value` with `zeros` leading zeros.
std::string SerialText(uint64_t value, int zeros) {
  return std::string(static_cast<size_t>(zeros), '0') + std::to_string(value);
}

// Appends one line that the fast paths must not take as plain, of kind `kind` (0 to 18),
// and its expected outcome.
void AppendBrokenLine(int kind, std::mt19937_64& rng, const Election& election,
                      StationIndex station, uint64_t seq, ChoiceIndex choice, uint64_t line,
                      Expected* expected) {
  Expected& out = *expected;
  const std::string& id = election.stations[station].id;
  const std::string& code = election.contest().choices[choice].code;
  switch (kind) {
    case 0:  // CRLF
      absl::StrAppend(&out.text, id, ",", seq, ",", code, "\r\n");
      out.emitted.emplace_back(station, seq, choice);
      break;
    case 1:  // every field quoted
      absl::StrAppend(&out.text, "\"", id, "\",\"", seq, "\",\"", code, "\"\n");
      out.emitted.emplace_back(station, seq, choice);
      break;
    case 2: {  // zero-padded serial, up to 30 digits in all
      const int zeros = static_cast<int>(rng() % 12);
      absl::StrAppend(&out.text, id, ",", SerialText(seq, zeros), ",", code, "\n");
      out.emitted.emplace_back(station, seq, choice);
      break;
    }
    case 3: {  // a long serial, 17 to 20 digits, in range
      const uint64_t big = 10000000000000000ULL + rng() % 18000000000000000000ULL;
      absl::StrAppend(&out.text, id, ",", big, ",", code, "\n");
      out.emitted.emplace_back(station, big, choice);
      break;
    }
    case 4:  // 2^64: one past the largest serial
      absl::StrAppend(&out.text, id, ",18446744073709551616,", code, "\n");
      out.malformed_lines.push_back(line);
      break;
    case 5:  // unknown station
      absl::StrAppend(&out.text, id, "#,", seq, ",", code, "\n");
      out.emitted.emplace_back(kUnknownStation, seq, choice);
      break;
    case 6:  // unknown code
      absl::StrAppend(&out.text, id, ",", seq, ",", code, "#\n");
      out.emitted.emplace_back(station, seq, kUnknownChoice);
      break;
    case 7:  // extra field
      absl::StrAppend(&out.text, id, ",", seq, ",", code, ",", code, "\n");
      out.malformed_lines.push_back(line);
      break;
    case 8:  // missing field
      absl::StrAppend(&out.text, id, ",", seq, "\n");
      out.malformed_lines.push_back(line);
      break;
    case 9:  // a letter in the serial
      absl::StrAppend(&out.text, id, ",", seq, "x,", code, "\n");
      out.malformed_lines.push_back(line);
      break;
    case 10:  // empty serial, empty station, empty code
      absl::StrAppend(&out.text, rng() % 2 ? "" : id, ",", rng() % 2 ? "" : "1", ",", "", "\n");
      out.malformed_lines.push_back(line);
      break;
    case 11:  // blank line: not a record
      absl::StrAppend(&out.text, rng() % 2 ? "\n" : "\r\n");
      return;
    case 12:  // a space is part of a field: unknown station or code, or a bad serial
      absl::StrAppend(&out.text, id, ", ", seq, ",", code, "\n");
      out.malformed_lines.push_back(line);
      break;
    case 13:  // a quote inside a bare field
      absl::StrAppend(&out.text, id, ",", seq, ",", code, "\"\n");
      out.malformed_lines.push_back(line);
      break;
    case 14:  // serial 0 is a record (the aggregator rejects it, not the parser)
      absl::StrAppend(&out.text, id, ",0,", code, "\n");
      out.emitted.emplace_back(station, 0, choice);
      break;
    case 16:  // a separator that is not a comma, in the first place: two fields
      absl::StrAppend(&out.text, id, ";", seq, ",", code, "\n");
      out.malformed_lines.push_back(line);
      break;
    case 17:  // ... or in the second
      absl::StrAppend(&out.text, id, ",", seq, ";", code, "\n");
      out.malformed_lines.push_back(line);
      break;
    default:  // a quoted code with a comma: an unknown choice
      absl::StrAppend(&out.text, id, ",", seq, ",\"", code, ",x\"\n");
      out.emitted.emplace_back(station, seq, kUnknownChoice);
      break;
  }
  ++out.records;
}

// `switch_rate`: the chance that a line's station is drawn anew (1: stations interleaved
// line by line, as a central scanner or a live feed delivers them; small: station runs).
Expected RandomFile(std::mt19937_64& rng, const Election& election, size_t lines, double break_rate,
                    double switch_rate) {
  Expected out;
  out.text = "station,seq,choice\n";
  out.first_record = out.text.size();
  const std::vector<Choice>& choices = election.contest().choices;
  StationIndex station = static_cast<StationIndex>(rng() % election.stations.size());
  // Serial lengths change rarely, as in a real station's file, but do change.
  int digits = 1 + static_cast<int>(rng() % 9);
  uint64_t line = 0;
  std::uniform_real_distribution<double> unit(0, 1);
  for (size_t i = 0; i < lines; ++i, ++line) {
    if (unit(rng) < switch_rate) {
      station = static_cast<StationIndex>(rng() % election.stations.size());
    }
    if (unit(rng) < 0.001) digits = 1 + static_cast<int>(rng() % 16);
    const std::string& id = election.stations[station].id;
    uint64_t low = 1;
    for (int d = 1; d < digits; ++d) low *= 10;
    const uint64_t seq = low + rng() % (low * 9);
    const ChoiceIndex choice = static_cast<ChoiceIndex>(rng() % choices.size());
    const std::string& code = choices[choice].code;
    if (unit(rng) >= break_rate) {
      absl::StrAppend(&out.text, id, ",", seq, ",", code, "\n");
      ++out.records;
      out.emitted.emplace_back(station, seq, choice);
      continue;
    }
    AppendBrokenLine(static_cast<int>(rng() % kBrokenKinds), rng, election, station, seq, choice,
                     line, &out);
  }
  return out;
}

struct Parsed {
  bool ranges_met = true;  // each range began where the one before it ended
  uint64_t records = 0;
  std::vector<uint64_t> malformed_lines;
  std::vector<Record> emitted;
};

// Parses `file` cut into ranges of about `range_bytes` (0: one range), as the ingest
// pipeline does, checking that consecutive ranges meet.
Parsed ParseInRanges(const Election& election, const Expected& file, size_t range_bytes,
                     bool fast_paths = true, Kernel kernel = ActiveKernel(),
                     CsvRangeParser::Buffers buffers = {}) {
  Parsed parsed;
  CsvRangeParser parser(
      election,
      [&](const BatchView& batch) {
        for (size_t i = 0; i < batch.size(); ++i) {
          parsed.emitted.emplace_back(batch.station, batch.seq[i], batch.choice[i]);
        }
      },
      fast_paths, kernel, buffers);
  const auto* data = reinterpret_cast<const uint8_t*>(file.text.data());
  const size_t size = file.text.size();
  size_t begin = file.first_record;
  uint64_t expected_begin = begin;
  size_t counted_to = begin;  // line breaks before it, from the first record, are in line_of_begin
  uint64_t line_of_begin = 0;
  while (begin < size) {
    const size_t end = range_bytes == 0 ? size : std::min(size, begin + range_bytes);
    const CsvRangeResult result = parser.Parse(data, size, begin, end, begin == file.first_record);
    parsed.ranges_met &= result.begin == expected_begin;
    line_of_begin +=
        static_cast<uint64_t>(std::count(data + counted_to, data + result.begin, '\n'));
    counted_to = result.begin;
    for (uint64_t line : result.malformed_lines) {
      parsed.malformed_lines.push_back(line_of_begin + line);
    }
    parsed.records += result.records;
    expected_begin = result.end;
    begin = end;
  }
  parser.Flush();
  return parsed;
}

// Every kernel this CPU can run (engine/base/kernel.h) must give the outcome decided when
// the file was written.
// Under a sanitizer each call takes one kernel in turn (every kernel still runs, on a
// share of the files).
void ExpectSameOutcome(const Election& election, const Expected& file, size_t range_bytes) {
  std::vector<Kernel> kernels = SupportedKernels();
  if (testing::kUnderSanitizer) {
    static size_t turn = 0;
    kernels = {kernels[turn++ % kernels.size()]};
  }
  for (Kernel kernel : kernels) {
    SCOPED_TRACE(absl::StrCat("kernel ", KernelName(kernel), " range_bytes=", range_bytes,
                              " bytes=", file.text.size()));
    Parsed parsed = ParseInRanges(election, file, range_bytes, /*fast_paths=*/true, kernel);
    EXPECT_TRUE(parsed.ranges_met);  // no quoted field spans lines in these files
    EXPECT_EQ(parsed.records, file.records);
    // Each range lists at most 20 examples; with one range they are the first 20.
    std::vector<uint64_t> expected_lines = file.malformed_lines;
    if (range_bytes == 0 && expected_lines.size() > CsvRangeResult::kMaxMalformedExamples) {
      expected_lines.resize(CsvRangeResult::kMaxMalformedExamples);
    }
    if (range_bytes == 0 || file.malformed_lines.size() <= CsvRangeResult::kMaxMalformedExamples) {
      EXPECT_EQ(parsed.malformed_lines, expected_lines);
    }
    std::vector<Record> expected = file.emitted;
    std::sort(expected.begin(), expected.end());
    std::sort(parsed.emitted.begin(), parsed.emitted.end());
    EXPECT_EQ(parsed.emitted.size(), expected.size());
    EXPECT_TRUE(parsed.emitted == expected) << "the emitted records differ";
  }
}

// The general parser alone and the fast paths of every kernel this CPU can run.
std::vector<std::pair<bool, Kernel>> ReadersToCompare() {
  std::vector<std::pair<bool, Kernel>> readers = {{false, Kernel::kPortable}};
  for (Kernel kernel : SupportedKernels()) readers.emplace_back(true, kernel);
  return readers;
}

struct Shape {
  int stations, choices;
  size_t min_length, max_length;  // of station ids and choice codes
  double switch_rate = 0.0005;    // as RandomFile's
};

class CsvParserTest : public ::testing::TestWithParam<Shape> {};

TEST_P(CsvParserTest, RandomFilesParseToTheOutcomeDecidedWhenWritten) {
  const Shape shape = GetParam();
  std::mt19937_64 rng(shape.stations * 1000003 + shape.choices * 101 + shape.max_length);
  // Under a sanitizer rounds 0, 3, 6 and 9: still each of the four break rates.
  for (int round = 0; round < 12; round += static_cast<int>(testing::SampleStride(3))) {
    SCOPED_TRACE(absl::StrCat("round ", round));
    const Election election =
        RandomElection(rng, shape.stations, shape.choices, shape.min_length, shape.max_length);
    static constexpr double kBreakRates[] = {0.0, 0.0005, 0.01, 0.2};
    const Expected file =
        RandomFile(rng, election, 2000 + rng() % 30000, kBreakRates[round % 4], shape.switch_rate);
    ExpectSameOutcome(election, file, 0);
    ExpectSameOutcome(election, file, 1 + rng() % 100000);
    ExpectSameOutcome(election, file, 64);
  }
}

// Code tables of every size the parser builds (8, 16 and 64 slots and beyond), station
// ids too long for the fast path, codes too long for it.
INSTANTIATE_TEST_SUITE_P(Shapes, CsvParserTest,
                         ::testing::Values(Shape{1, 1, 1, 3}, Shape{3, 3, 3, 3}, Shape{2, 4, 2, 6},
                                           Shape{5, 7, 1, 7}, Shape{4, 12, 2, 5},
                                           Shape{6, 30, 1, 6}, Shape{3, 200, 2, 4},
                                           Shape{2, 5, 6, 10}, Shape{2, 3, 8, 9}));

// Stations interleaved line by line or in short runs, rosters of every size the station
// table handles (up to thousands of ids, where some ids share a slot and take the general
// path), ids and codes of varying lengths.
INSTANTIATE_TEST_SUITE_P(Interleaved, CsvParserTest,
                         ::testing::Values(Shape{138, 3, 3, 5, 1.0}, Shape{40, 4, 1, 7, 0.3},
                                           Shape{1500, 3, 4, 7, 1.0}, Shape{5, 30, 1, 6, 0.05},
                                           Shape{60, 3, 5, 9, 1.0}));

// Long runs of lines of one length take the fixed-layout path (after a first chunk read
// through the structural index); every kind of broken line, at every position of a group
// of eight and in both 64-byte halves of a window, must come out as it would alone.
TEST(CsvParserFixedRunTest, EveryBrokenLineAtEveryPositionOfARun) {
  std::mt19937_64 rng(11);
  // Line lengths 15, 16, 17, 24 and 25 bytes: one or two 64-byte halves per window.
  struct Layout {
    size_t id_length, code_length;
    uint64_t first_serial;
  };
  for (const Layout& layout : {Layout{3, 3, 100000}, Layout{5, 3, 10000}, Layout{5, 3, 100000},
                               Layout{7, 6, 10000000}, Layout{7, 7, 10000000}}) {
    const Election election = RandomElection(rng, 2, 4, layout.id_length, layout.id_length);
    Election same_codes = election;
    for (Choice& choice : same_codes.contests[0].choices) {
      choice.code = RandomToken(rng, layout.code_length);
    }
    same_codes.BuildIndexes();
    for (int kind = 0; kind < kBrokenKinds; ++kind) {
      // Under a sanitizer positions 0, 3, ..., 15: both halves of a window, every lane class.
      for (int position = 0; position < 16;
           position += static_cast<int>(testing::SampleStride(3))) {
        Expected file;
        file.text = "station,seq,choice\n";
        file.first_record = file.text.size();
        const size_t broken_at = 1200 + static_cast<size_t>(position);
        for (size_t i = 0; i < 1400; ++i) {
          const uint64_t seq = layout.first_serial + i;
          const auto choice = static_cast<ChoiceIndex>(rng() % 4);
          if (i == broken_at) {
            AppendBrokenLine(kind, rng, same_codes, 0, seq, choice, i, &file);
            continue;
          }
          absl::StrAppend(&file.text, same_codes.stations[0].id, ",", seq, ",",
                          same_codes.contest().choices[choice].code, "\n");
          file.emitted.emplace_back(0, seq, choice);
          ++file.records;
        }
        SCOPED_TRACE(absl::StrCat("id ", layout.id_length, " code ", layout.code_length, " kind ",
                                  kind, " position ", position));
        ExpectSameOutcome(same_codes, file, 0);
      }
    }
  }
}

// A line ends with LF or CRLF (docs/FORMAT.md): a CR that is the file's last byte is part
// of the last field, so "A\r" is an unknown code and a closing quote followed by it is a
// malformed record; with or without the fast paths.
TEST(CsvParserEndOfFileTest, ALoneCrAtTheEndIsDataNotALineEnd) {
  absl::StatusOr<Election> election = ParseElection(
      R"({"id": "e", "title": "t", "source": "s", "choices": [{"code": "A", "name": "a",
          "kind": "candidate"}], "roster": "r.csv", "synthetic_roster": true})",
      "election.json", "station,country,capacity\nS,XX,10\n", "r.csv");
  ASSERT_TRUE(election.ok()) << election.status();
  struct Case {
    std::string last_line;
    uint64_t malformed;
    ChoiceIndex choice;  // of the one record emitted, when not malformed
  };
  for (const Case& c :
       {Case{"S,2,A\r", 0, kUnknownChoice}, Case{"S,2,\"A\"\r", 1, 0}, Case{"S,2,A\r\n", 0, 0},
        Case{"S,2,\"A\"\r\n", 0, 0}, Case{"S,2,A", 0, 0}}) {
    for (const auto& [fast_paths, kernel] : ReadersToCompare()) {
      SCOPED_TRACE(absl::StrCat(absl::CEscape(c.last_line), " ",
                                fast_paths ? KernelName(kernel) : "general"));
      const std::string text = "station,seq,choice\nS,1,A\n" + c.last_line;
      std::vector<Record> emitted;
      CsvRangeParser parser(
          *election,
          [&](const BatchView& batch) {
            for (size_t i = 0; i < batch.size(); ++i) {
              emitted.emplace_back(batch.station, batch.seq[i], batch.choice[i]);
            }
          },
          fast_paths, kernel);
      const auto* data = reinterpret_cast<const uint8_t*>(text.data());
      const CsvRangeResult result = parser.Parse(data, text.size(), 19, text.size(), true);
      parser.Flush();
      EXPECT_EQ(result.records, 2u);
      EXPECT_EQ(result.malformed, c.malformed);
      std::sort(emitted.begin(), emitted.end());
      std::vector<Record> expected = {Record(0, 1, 0)};
      if (c.malformed == 0) expected.emplace_back(0, 2, c.choice);
      std::sort(expected.begin(), expected.end());
      EXPECT_EQ(emitted, expected);
    }
  }
}

// Hardening #8: fields of many megabytes (more than one scan chunk of 4 MiB) keep
// exactly the outcome of a short field of the same kind, while the parser gives their
// bytes back as it reads them (the scanned hook) rather than only at the record's end.
TEST(CsvParserLongFieldTest, MegabyteFieldsKeepTheirOutcomeAndGiveTheirBytesBack) {
  absl::StatusOr<Election> election = ParseElection(
      R"({"id": "e", "title": "t", "source": "s", "choices": [{"code": "A", "name": "a",
          "kind": "candidate"}], "roster": "r.csv", "synthetic_roster": true})",
      "election.json", "station,country,capacity\nS,XX,100\n", "r.csv");
  ASSERT_TRUE(election.ok()) << election.status();
  const std::string mb9(9 << 20, 'x');
  const std::string zeros(9 << 20, '0');
  struct Case {
    std::string what, line;
    uint64_t malformed;
    std::vector<Record> emitted;
  };
  const std::vector<Case> cases = {
      {"a long station", std::string(9 << 20, 'S') + ",1,A\n", 0, {{kUnknownStation, 1, 0}}},
      {"a long quoted station", "\"" + mb9 + "\",1,A\n", 0, {{kUnknownStation, 1, 0}}},
      {"a long choice", "S,2," + mb9 + "\n", 0, {{0, 2, kUnknownChoice}}},
      {"a serial of 9 MiB of zeros and 7", "S," + zeros + "7,A\n", 0, {{0, 7, 0}}},
      {"a quoted one", "S,\"" + zeros + "12\",A\n", 0, {{0, 12, 0}}},
      {"zeros only: serial 0", "S," + zeros + ",A\n", 0, {{0, 0, 0}}},
      {"zeros and 21 digits", "S," + zeros + "123456789012345678901,A\n", 1, {}},
      {"zeros and 20 digits",
       "S," + zeros + "18446744073709551615,A\n",
       0,
       {{0, 18446744073709551615u, 0}}},
      {"zeros then a letter", "S," + zeros + "1x,A\n", 1, {}},
      {"a long quoted field left open", "S,1,\"" + mb9, 1, {}},
      {"a long line of one field", mb9 + "\n", 1, {}},
  };
  for (const Case& c : cases) {
    for (const auto& [fast_paths, kernel] : ReadersToCompare()) {
      SCOPED_TRACE(absl::StrCat(c.what, " ", fast_paths ? KernelName(kernel) : "general"));
      const std::string text = "station,seq,choice\nS,1,A\n" + c.line + "S,3,A\n";
      std::vector<Record> emitted;
      CsvRangeParser parser(
          *election,
          [&](const BatchView& batch) {
            for (size_t i = 0; i < batch.size(); ++i) {
              emitted.emplace_back(batch.station, batch.seq[i], batch.choice[i]);
            }
          },
          fast_paths, kernel);
      uint64_t given_back = 0;
      parser.SetScannedHook([&](size_t begin, size_t end) {
        EXPECT_LE(begin, end);
        given_back += end - begin;
      });
      const auto* data = reinterpret_cast<const uint8_t*>(text.data());
      const CsvRangeResult result = parser.Parse(data, text.size(), 19, text.size(), true);
      parser.Flush();
      const bool open_quote = c.line.back() != '\n';  // the quote runs to the end of the file
      EXPECT_EQ(result.records, open_quote ? 2u : 3u);
      EXPECT_EQ(result.malformed, c.malformed);
      std::vector<Record> expected = c.emitted;
      expected.emplace_back(0, 1, 0);
      if (!open_quote) expected.emplace_back(0, 3, 0);
      std::sort(expected.begin(), expected.end());
      std::sort(emitted.begin(), emitted.end());
      EXPECT_EQ(emitted, expected);
      EXPECT_GE(given_back, uint64_t{8} << 20) << "the long field's bytes, as they are read";
    }
  }
}

// Valid files with random bytes overwritten by the bytes that matter to the fast paths
// (separators, line breaks, quotes, CR, digits, NUL): whatever the fast paths make of
// them must be exactly what the general RFC 4180 parser alone makes of them.
TEST(CsvParserOracleTest, MutatedFilesParseAsTheGeneralParserAlone) {
  std::mt19937_64 rng(23);
  static constexpr char kBytes[] = {',', '\n', '"', '\r', '0', '9', 'A', '\0', ' ', ';'};
  // Under a sanitizer every third round: odd and even, both orders of stations.
  for (int round = 0; round < 40; round += static_cast<int>(testing::SampleStride(3))) {
    SCOPED_TRACE(absl::StrCat("round ", round));
    // Odd rounds: thirty stations interleaved line by line.
    const bool interleaved = round % 2 == 1;
    const Election election = RandomElection(rng, interleaved ? 30 : 2, 3, 2, 5);
    Expected file =
        RandomFile(rng, election, 3000 + rng() % 5000, 0.001, interleaved ? 1.0 : 0.0005);
    const size_t mutations = 1 + rng() % 40;
    for (size_t m = 0; m < mutations; ++m) {
      const size_t at = file.first_record + rng() % (file.text.size() - file.first_record);
      file.text[at] = kBytes[rng() % sizeof(kBytes)];
    }
    const Parsed oracle = ParseInRanges(election, file, 0, /*fast_paths=*/false);
    const size_t random_range = 1 + rng() % 3000;
    // The default buffers, and the fuzzer's small ones (a structural chunk of 64 to 512
    // bytes, batches of 8 to 64 records), whose ends every few lines meet.
    const CsvRangeParser::Buffers small{size_t{64} << (rng() % 4), size_t{8} << (rng() % 4)};
    for (Kernel kernel : SupportedKernels()) {
      for (auto [range_bytes, buffers] :
           {std::pair{size_t{0}, CsvRangeParser::Buffers{}}, std::pair{size_t{4096}, small},
            std::pair{random_range, CsvRangeParser::Buffers{}}, std::pair{size_t{0}, small}}) {
        SCOPED_TRACE(absl::StrCat("kernel ", KernelName(kernel), " range_bytes ", range_bytes,
                                  " chunk ", buffers.chunk_bytes, " batch ",
                                  buffers.batch_records));
        Parsed fast =
            ParseInRanges(election, file, range_bytes, /*fast_paths=*/true, kernel, buffers);
        // A quote may now open a field that spans a cut: the pipeline reads such a file
        // again as one range, which range_bytes 0 checks.
        if (!fast.ranges_met) continue;
        EXPECT_EQ(fast.records, oracle.records);
        if (range_bytes == 0) {
          EXPECT_EQ(fast.malformed_lines, oracle.malformed_lines);
        }
        std::vector<Record> expected = oracle.emitted;
        std::sort(expected.begin(), expected.end());
        std::sort(fast.emitted.begin(), fast.emitted.end());
        EXPECT_TRUE(fast.emitted == expected) << "the emitted records differ";
      }
    }
  }
}

// Every length of serial the structural path converts (1 to 16 digits) and beyond it, at
// every position of a group of eight lines.
TEST(CsvParserSerialTest, EverySerialLengthAtEveryGroupPosition) {
  std::mt19937_64 rng(7);
  const Election election = RandomElection(rng, 1, 3, 3, 3);
  const std::string& id = election.stations[0].id;
  for (int digits = 1; digits <= 20; ++digits) {
    for (int position = 0; position < 8; ++position) {
      Expected file;
      file.text = "station,seq,choice\n";
      file.first_record = file.text.size();
      for (int i = 0; i < 40; ++i) {
        uint64_t seq = static_cast<uint64_t>(i + 1);
        if (i % 8 == position) {
          seq = 1;
          for (int d = 1; d < digits; ++d) seq *= 10;
          seq += static_cast<uint64_t>(i);
        }
        const ChoiceIndex choice = static_cast<ChoiceIndex>(i % 3);
        absl::StrAppend(&file.text, id, ",", seq, ",", election.contest().choices[choice].code,
                        "\n");
        file.emitted.emplace_back(0, seq, choice);
        ++file.records;
      }
      SCOPED_TRACE(absl::StrCat("digits ", digits, " position ", position));
      ExpectSameOutcome(election, file, 0);
    }
  }
}

}  // namespace
}  // namespace canvass
