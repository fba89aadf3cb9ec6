// The bad-input campaign: the real `canvass aggregate` on seeded, hostile, multi-file inputs
// (CSV and cvb, odd file names, entries to skip, files given twice), every figure of its JSON
// report against the independent counter (independent_counter.h); then hostile election
// directories and job setups, each with the exact outcome docs/FORMAT.md, DESIGN.md and
// docs/REPORT.md promise.
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/campaign/independent_counter.h"
#include "tests/testing/run_canvass.h"
#include "tests/testing/temp_dir.h"

// XXH3_64 for the cvb checksums and fingerprint, compiled into this suite from the header
// alone, so that the suite links no engine library.
#define XXH_INLINE_ALL
#include "xxhash.h"

namespace canvass::campaign {
namespace {

namespace fs = std::filesystem;
using ::canvass::testing::CanvassBinary;
using ::canvass::testing::Describe;
using ::canvass::testing::kExitInputError;
using ::canvass::testing::kExitMatch;
using ::canvass::testing::ReadFileBytes;
using ::canvass::testing::RunCanvass;
using ::canvass::testing::RunProgram;
using ::canvass::testing::RunResult;
using ::canvass::testing::TempDir;
using ::canvass::testing::WriteFileBytes;
using ::testing::HasSubstr;
using Json = nlohmann::json;
using Rng = std::mt19937_64;

uint64_t Uniform(Rng& rng, uint64_t low, uint64_t high) {
  return std::uniform_int_distribution<uint64_t>(low, high)(rng);
}
bool Chance(Rng& rng, double p) { return std::bernoulli_distribution(p)(rng); }
template <typename T>
const T& Pick(Rng& rng, const std::vector<T>& items) {
  return items[Uniform(rng, 0, items.size() - 1)];
}

// ---- Election directories (FORMAT.md "Election directory") ----

void WriteElection(const fs::path& dir, const ElectionSpec& election, Json extra = {}) {
  fs::create_directories(dir);
  Json json = {{"id", election.id}, {"title", "campaign " + election.id}, {"roster", "roster.csv"}};
  json["choices"] = Json::array();
  for (const std::string& code : election.codes) json["choices"].push_back({{"code", code}});
  if (extra.is_object()) json.update(extra);
  WriteFileBytes(dir / "election.json", json.dump());
  std::string roster = "station,country,capacity\n";
  for (const StationSpec& s : election.stations) {
    absl::StrAppend(&roster, s.id, ",", s.country, ",", s.capacity, "\n");
  }
  WriteFileBytes(dir / "roster.csv", roster);
}

ElectionSpec RandomElection(Rng& rng, bool large) {
  static const std::vector<std::string> kStationIds = {
      "S1",          "AE-01", "LONG-STATION-ID-0042" /* past the 7-byte fast path */,
      "X\xFFY",      "s1",    "Q.9",
      "caf\xC3\xA9", "M"};
  static const std::vector<std::string> kCodes = {"A", "B", "INV", "JAL", "C-4", "x\xC3\xA9"};
  ElectionSpec election;
  election.id = absl::StrCat("campaign-", Uniform(rng, 0, 999));
  const size_t choices = Pick(rng, std::vector<size_t>{2, 3, 4, 6, 17});
  for (size_t c = 0; c < choices; ++c) {
    election.codes.push_back(c < kCodes.size() ? kCodes[c] : absl::StrCat("K", c));
  }
  std::vector<std::string> ids = kStationIds;
  std::shuffle(ids.begin(), ids.end(), rng);
  ids.resize(Uniform(rng, 2, 6));
  for (const std::string& id : ids) {
    uint64_t capacity = Chance(rng, 0.15) ? 1000000000000 : Uniform(rng, 1, 30);
    if (large) capacity = Uniform(rng, 1000, 200000);
    election.stations.push_back({id, Chance(rng, 0.5) ? "AA" : "BB", capacity});
  }
  return election;
}

// ---- cvb version 2 (FORMAT.md "cvb: binary ballot streams") ----

void PutU64(std::string* out, uint64_t v) {
  for (int i = 0; i < 8; ++i) out->push_back(static_cast<char>(v >> (8 * i)));
}
void PutU32(std::string* out, uint32_t v) {
  for (int i = 0; i < 4; ++i) out->push_back(static_cast<char>(v >> (8 * i)));
}
void PutU16(std::string* out, uint16_t v) {
  for (int i = 0; i < 2; ++i) out->push_back(static_cast<char>(v >> (8 * i)));
}
uint64_t Xxh3(const std::string& bytes, size_t from = 0, size_t length = std::string::npos) {
  const std::string_view view = std::string_view(bytes).substr(from, length);
  return XXH3_64bits(view.data(), view.size());
}

uint64_t Fingerprint(const ElectionSpec& election) {
  std::string bytes("canvass-election-v1\0", 20);
  absl::StrAppend(&bytes, election.id, std::string(1, '\0'));
  for (const std::string& code : election.codes)
    absl::StrAppend(&bytes, code, std::string(1, '\0'));
  for (const StationSpec& s : election.stations) {
    absl::StrAppend(&bytes, s.id, std::string(1, '\0'));
    PutU64(&bytes, s.capacity);
  }
  return Xxh3(bytes);
}

struct CvbBlock {
  uint32_t station = kCvbNoStation;
  std::vector<CvbRecord> records;
  uint32_t malformed = 0;
};

// Writes `blocks` with encodings drawn at random among those that hold each block exactly
// (readers accept any of them, chosen or not), and tells the counter each block's offset.
std::string WriteCvb(Rng& rng, const ElectionSpec& election, const std::vector<CvbBlock>& blocks,
                     const std::string& report_path, IndependentCounter* counter) {
  std::string file = "CVBALLOT";
  PutU16(&file, 2);
  PutU16(&file, 32);
  PutU32(&file, 0);
  PutU64(&file, Fingerprint(election));
  PutU64(&file, Xxh3(file));
  uint64_t total = 0;
  for (const CvbBlock& block : blocks) {
    const size_t n = block.records.size();
    bool consecutive = n > 0;
    uint8_t largest = 0;
    for (size_t i = 0; i < n; ++i) {
      if (i > 0 && (block.records[i - 1].seq == ~uint64_t{0} ||
                    block.records[i].seq != block.records[i - 1].seq + 1)) {
        consecutive = false;  // a run never passes 2^64 - 1
      }
      largest = std::max(largest, block.records[i].choice);
    }
    const bool run = consecutive && Chance(rng, 0.7);
    uint8_t bits = 8;
    if (n > 0 && largest < std::min<size_t>(16, election.codes.size()) && Chance(rng, 0.7)) {
      bits = largest < 2 ? 1 : largest < 4 ? 2 : 4;
      if (Chance(rng, 0.3)) bits = 4;  // wider than needed still holds the block
    }
    std::string body;
    PutU32(&body, 0x024B4C42);
    PutU32(&body, block.station);
    PutU32(&body, static_cast<uint32_t>(n));
    PutU32(&body, block.malformed);
    const size_t choice_bytes = bits == 8 ? (n + 7) / 8 * 8 : (n * bits + 63) / 64 * 8;
    PutU32(&body, static_cast<uint32_t>(24 + (run ? 8 : 8 * n) + choice_bytes + 8));
    body += static_cast<char>(run ? 1 : 0);
    body += static_cast<char>(bits == 8 ? 0 : 1);
    body += static_cast<char>(bits);
    body += '\0';
    if (run) {
      PutU64(&body, block.records[0].seq);
    } else {
      for (const CvbRecord& r : block.records) PutU64(&body, r.seq);
    }
    if (bits == 8) {
      for (const CvbRecord& r : block.records) body += static_cast<char>(r.choice);
      body.resize(body.size() + (8 - n % 8) % 8, '\0');
    } else {
      std::vector<uint64_t> words(choice_bytes / 8, 0);
      for (size_t i = 0; i < n; ++i) {
        words[i * bits / 64] |= uint64_t{block.records[i].choice} << (i * bits % 64);
      }
      for (uint64_t word : words) PutU64(&body, word);
    }
    PutU64(&body, Xxh3(body));
    counter->AddCvbBlock(report_path, file.size(), block.station, block.records, block.malformed);
    file += body;
    total += n + block.malformed;
  }
  const size_t trailer = file.size();
  PutU32(&file, 0x01444E45);
  PutU32(&file, static_cast<uint32_t>(blocks.size()));
  PutU64(&file, total);
  PutU64(&file, Xxh3(file, trailer, 16));
  return file;
}

// ---- Hostile ballot records ----

// Draws records of every documented outcome, remembering well-formed identities so that
// later records (in any file) repeat them as duplicates or contradict them as conflicts.
class RecordSource {
 public:
  // Serials are drawn from 1..min(capacity, seq_span), so that small spans repeat
  // identities by chance too.
  RecordSource(Rng& rng, const ElectionSpec& election, uint64_t seq_span)
      : rng_(rng), election_(election), seq_span_(seq_span) {}

  struct Triple {
    size_t station;
    uint64_t seq;
    size_t choice;
  };

  // A record within the documented range, or a repeat of an earlier one (same choice or
  // not).
  Triple Identity() {
    if (!seen_.empty() && Chance(rng_, 0.3)) {
      Triple copy = Pick(rng_, seen_);
      if (Chance(rng_, 0.3)) copy.choice = Uniform(rng_, 0, election_.codes.size() - 1);
      return copy;
    }
    Triple t;
    t.station = Uniform(rng_, 0, election_.stations.size() - 1);
    t.seq = Uniform(rng_, 1, std::min(election_.stations[t.station].capacity, seq_span_));
    if (Chance(rng_, 0.05)) t.seq = election_.stations[t.station].capacity;
    t.choice = Uniform(rng_, 0, election_.codes.size() - 1);
    seen_.push_back(t);
    return t;
  }

  // One CSV line (without its line end). Quoting and malformation keep to the documented
  // grammar's unambiguous part: a quote that breaks a record appears in its last field only.
  std::string CsvLine() {
    const uint64_t kind = Uniform(rng_, 0, 99);
    if (kind < 55) {
      const Triple t = Identity();
      return Join(Station(t.station), Seq(t.seq), Field(election_.codes[t.choice]));
    }
    const Triple t = Identity();
    const std::string& id = election_.stations[t.station].id;
    const std::string& code = election_.codes[t.choice];
    if (kind < 58) {  // a lone CR inside a line is data (only LF and CR LF end lines)
      switch (Uniform(rng_, 0, 2)) {
        case 0:
          return absl::StrCat(id, "\r,", t.seq, ",", code);  // unknown station
        case 1:
          return absl::StrCat(id, ",", t.seq, "\r1,", code);  // malformed seq
        default:
          return absl::StrCat(id, ",", t.seq, ",", code, "\rB");  // unknown choice
      }
    }
    if (kind < 63) {  // unknown station
      const std::string bad =
          Pick(rng_, std::vector<std::string>{" " + id, id + " ", id + std::string(1, '\0'),
                                              "\xFE" + id, "NOPE", id + id, "S1\r"});
      return Join(Field(bad), Seq(t.seq), Field(code));
    }
    if (kind < 71) {  // unknown choice
      const std::string bad =
          Pick(rng_, std::vector<std::string>{code + " ", "a", code + "\r", "\xFF", "A,B", "Q\"Q",
                                              "A\nB", code + std::string(1, '\0'),
                                              std::string(Uniform(rng_, 100, 20000), 'A')});
      return Join(Station(t.station), Seq(t.seq), Field(bad));
    }
    if (kind < 78) {  // bad_seq
      const uint64_t capacity = election_.stations[t.station].capacity;
      const std::string bad =
          Pick(rng_, std::vector<std::string>{"0", "00000000000000000000",
                                              absl::StrCat(capacity + 1), "18446744073709551615"});
      return Join(Station(t.station), Field(bad), Field(code));
    }
    return Malformed(t);
  }

  // A structured record for a cvb block of `station` (kCvbNoStation: not in the roster).
  CvbRecord CvbRecordOf(uint32_t* station) {
    const Triple t = Identity();
    *station = static_cast<uint32_t>(t.station);
    CvbRecord record{t.seq, static_cast<uint8_t>(t.choice)};
    const uint64_t kind = Uniform(rng_, 0, 99);
    if (kind < 8) *station = kCvbNoStation;
    if (kind >= 8 && kind < 14) record.choice = kCvbNoChoice;
    if (kind >= 17 && kind < 22) {
      record.seq = Pick(
          rng_, std::vector<uint64_t>{0, election_.stations[t.station].capacity + 1, ~uint64_t{0}});
    }
    return record;
  }

 private:
  std::string Malformed(const Triple& t) {
    const std::string id = Station(t.station);
    const std::string code = Field(election_.codes[t.choice]);
    const std::string seq = absl::StrCat(t.seq);
    switch (Uniform(rng_, 0, 16)) {
      case 0:
        return absl::StrCat(id, ",", seq);
      case 1:
        return absl::StrCat(id, ",", seq, ",", code, ",", code);
      case 2:
        return absl::StrCat(id, ",", seq, ",", code, ",");
      case 3:
        return absl::StrCat(id, ",,", code);
      case 4:
        return absl::StrCat(",", seq, ",", code);
      case 5:
        return absl::StrCat(id, ",", seq, ",");
      case 6:
        return absl::StrCat(id, ",", seq, ",A\"B");  // a plain field holding a quote
      case 7:
        return absl::StrCat(id, ",", seq, ",\"A\"x");  // bytes after a closing quote
      case 8:
        return " ";
      case 9:
        return absl::StrCat(id, ",\"1\n2\",", code);  // a line break inside seq
      case 10:
        return absl::StrCat(id, ",", seq, std::string(1, '\0'), ",", code);
      default:
        return Join(
            id,
            Field(Pick(rng_, std::vector<std::string>{"+1", "-1", "1.0", "18446744073709551616",
                                                      "99999999999999999999", " 1", "1 ", "0x10",
                                                      "\xD9\xA1", "1e3"})),
            code);
    }
  }

  static std::string Join(const std::string& a, const std::string& b, const std::string& c) {
    return absl::StrCat(a, ",", b, ",", c);
  }
  std::string Station(size_t station) { return Field(election_.stations[station].id); }
  std::string Seq(uint64_t seq) {
    std::string text = absl::StrCat(seq);
    if (Chance(rng_, 0.15)) text = std::string(Uniform(rng_, 0, 20 - text.size()), '0') + text;
    return Field(text);
  }
  // RFC 4180 quoting where the bytes need it (and at random where they do not); a CR is
  // always quoted so that no plain field's CR meets the line end.
  std::string Field(const std::string& text) {
    const bool needs = text.find_first_of(",\"\n\r") != std::string::npos;
    if (text.empty() || (!needs && !Chance(rng_, 0.15))) return text;
    std::string quoted = "\"";
    for (char c : text) quoted += c == '"' ? std::string("\"\"") : std::string(1, c);
    return quoted + "\"";
  }

  Rng& rng_;
  const ElectionSpec& election_;
  uint64_t seq_span_;
  std::vector<Triple> seen_;
};

// A whole ballot CSV: BOM or not, LF or CR LF per line, blank lines, maybe no final line
// end, maybe one of the documented endings (a lone CR, an unterminated quote).
std::string CsvFile(Rng& rng, RecordSource& source, size_t records) {
  std::string file = Chance(rng, 0.2) ? "\xEF\xBB\xBF" : "";
  file += "station,seq,choice";
  if (records == 0 && Chance(rng, 0.3)) return file;  // the header alone, no line end
  file += Chance(rng, 0.3) ? "\r\n" : "\n";
  for (size_t i = 0; i < records; ++i) {
    if (Chance(rng, 0.05)) file += Chance(rng, 0.5) ? "\n" : "\r\n";
    file += source.CsvLine();
    if (i + 1 < records || Chance(rng, 0.7)) file += Chance(rng, 0.3) ? "\r\n" : "\n";
  }
  if (!file.empty() && file.back() == '\n') {
    switch (Uniform(rng, 0, 9)) {
      case 0:
        file += "S1,1,A\r";
        break;  // the code "A\r": unknown choice or station
      case 1:
        file += "S1,1,\"A\"\r";
        break;  // a closing quote, then a lone CR: malformed
      case 2:
        file += "S1,2,\"A\nS1,3,A\n";
        break;  // an unterminated quote to the end
      case 3:
        file += "\r";
        break;  // a lone CR is data: one malformed record
      default:
        break;
    }
  }
  return file;
}

// ---- The campaign ----

std::vector<std::string> ReportCodes(const ElectionSpec& election) {
  std::vector<std::string> keys;
  for (const std::string& code : election.codes) keys.push_back(JsonSafe(code));
  return keys;
}

// The expected figures, shaped as REPORT.md's keys.
Json ExpectedJson(const ElectionSpec& election, const ExpectedTally& tally,
                  const ExpandedPaths& paths) {
  Json expected;
  expected["records"] = {{"read", tally.read}, {"counted", tally.counted}};
  for (int r = 0; r < kReasonCount; ++r) {
    expected["records"]["rejected"][kReasonNames[r]] = tally.rejected[r];
  }
  const std::vector<std::string> codes = ReportCodes(election);
  for (size_t c = 0; c < codes.size(); ++c) expected["totals"][codes[c]] = tally.totals[c];
  expected["totals"]["cast"] = tally.counted;
  expected["stations"] = Json::array();
  for (size_t s = 0; s < election.stations.size(); ++s) {
    Json row = {{"station", JsonSafe(election.stations[s].id)},
                {"country", election.stations[s].country},
                {"records", tally.station_records[s]}};
    uint64_t cast = 0;
    for (size_t c = 0; c < codes.size(); ++c) {
      row["counted"][codes[c]] = tally.station_counted[s][c];
      cast += tally.station_counted[s][c];
    }
    row["counted"]["cast"] = cast;
    expected["stations"].push_back(row);
  }
  Json inputs = {{"files", paths.files.size()}, {"bytes", paths.bytes}};
  inputs["paths"] = Json::array();
  for (const std::string& path : paths.files) inputs["paths"].push_back(JsonSafe(path));
  for (const auto& [path, reason] : paths.skipped) {
    inputs["skipped"].push_back({{"path", JsonSafe(path)}, {"reason", reason}});
  }
  for (const auto& [path, same_as] : paths.read_once) {
    inputs["read_once"].push_back({{"path", JsonSafe(path)}, {"same_as", JsonSafe(same_as)}});
  }
  expected["inputs"] = inputs;
  expected["malformed_examples"] = Json::array();
  for (const std::string& example : tally.malformed_examples) {
    expected["malformed_examples"].push_back(JsonSafe(example));
  }
  return expected;
}

// Parses a report, failing the test (and yielding null) when it is not valid UTF-8 JSON.
Json ParseReport(const RunResult& result) {
  try {
    return Json::parse(result.out);
  } catch (const Json::exception& error) {
    ADD_FAILURE() << "not JSON: " << error.what() << "\n" << Describe(result);
    return Json();
  }
}

void ExpectFigures(const Json& report, const Json& expected) {
  for (const char* key : {"records", "totals", "stations", "inputs", "malformed_examples"}) {
    EXPECT_EQ(report.value(key, Json()), expected[key])
        << key << "\n--- report ---\n"
        << report.value(key, Json()).dump(1) << "\n--- counter ---\n"
        << expected[key].dump(1);
  }
}

struct Campaign {
  ElectionSpec election;
  std::vector<std::string> arguments;
  ExpandedPaths paths;
  ExpectedTally tally;
};

const std::vector<std::string> kBallotNames = {"a.csv",    "B.CSV",     "c d.csv", "e,f.csv",
                                               "g\"h.csv", "\xFFi.csv", "j'k.csv", "tab\tl.csv",
                                               "m.Cvb",    "N.CVB",     "o p.cvb", "\x80q.cvb"};

// Builds one seed's election and input folder, with the counter's expectation.
Campaign BuildCampaign(uint64_t seed, const fs::path& root, bool large) {
  Rng rng(seed);
  Campaign campaign;
  campaign.election = RandomElection(rng, large);
  const ElectionSpec& election = campaign.election;
  WriteElection(root / "election", election);
  RecordSource source(rng, election, large ? 1000000 : 40);
  const fs::path in = root / "in";
  fs::create_directories(in / "sub.csv");
  WriteFileBytes(in / "sub.csv" / "hidden.csv", "station,seq,choice\nS1,1,A\n");
  std::vector<std::string> names = kBallotNames;
  std::shuffle(names.begin(), names.end(), rng);
  names.resize(Uniform(rng, 2, 6));
  std::map<std::string, std::string> contents;  // file path as written -> bytes
  for (const std::string& name : names) {
    const fs::path path = in / name;
    if (absl::EndsWithIgnoreCase(name, ".cvb")) {
      contents[path.string()] = "cvb";  // written once the read order is known
      WriteFileBytes(path, "");
      continue;
    }
    const size_t records = large ? Uniform(rng, 20000, 60000) : Uniform(rng, 0, 60);
    contents[path.string()] = CsvFile(rng, source, records);
    WriteFileBytes(path, contents[path.string()]);
  }
  // Entries a folder's reading skips, each with its documented reason.
  WriteFileBytes(in / "notes.txt", "station,seq,choice\nS1,1,A\n");
  WriteFileBytes(in / "a.csv.bak", "station,seq,choice\nS1,1,A\n");
  fs::create_symlink(root / "nowhere.csv", in / "gone.csv");
  EXPECT_EQ(mkfifo((in / "pipe.csv").c_str(), 0600), 0);
  // Another name for a file already in the folder: read once.
  fs::create_hard_link(in / names[0], in / "zz-hard-link.csv");
  // A file outside the folder, named like no ballot file: read as given, by its content.
  WriteFileBytes(root / "loose.dat", CsvFile(rng, source, Uniform(rng, 1, 30)));
  campaign.arguments = {in.string(), (in / names[0]).string(), (root / "loose.dat").string(),
                        (root / "loose.dat").string()};
  if (Chance(rng, 0.5)) campaign.arguments.push_back((root / "in/./" / names.back()).string());
  std::shuffle(campaign.arguments.begin(), campaign.arguments.end(), rng);

  // cvb files need only the read order to tell the counter where each block lies; CSV files
  // are counted from their bytes in that order (malformed examples follow it).
  campaign.paths = ExpandPaths(campaign.arguments);
  IndependentCounter counter(election);
  for (const std::string& path : campaign.paths.files) {
    const auto written = std::find_if(contents.begin(), contents.end(), [&](const auto& entry) {
      return fs::equivalent(entry.first, path);
    });
    if (written != contents.end() && written->second == "cvb") {
      std::vector<CvbBlock> blocks;
      for (size_t b = Uniform(rng, 0, 6); b > 0; --b) {
        CvbBlock block;
        const size_t n = Uniform(rng, 0, 40);
        uint32_t station = 0;
        for (size_t i = 0; i < n; ++i) {
          const CvbRecord record = source.CvbRecordOf(&station);
          // A block is one station's: the first record decides it, the rest follow it.
          if (i == 0) block.station = station;
          block.records.push_back(record);
        }
        if (Chance(rng, 0.3) && !block.records.empty() &&
            block.records[0].seq <= ~uint64_t{0} - block.records.size()) {
          const uint64_t first = block.records[0].seq;  // consecutive serials: a run
          for (size_t i = 0; i < block.records.size(); ++i) block.records[i].seq = first + i;
        }
        if (block.records.empty() || block.station == kCvbNoStation) {
          block.malformed = static_cast<uint32_t>(Uniform(rng, 0, 3));
        }
        blocks.push_back(block);
      }
      WriteFileBytes(written->first, WriteCvb(rng, election, blocks, path, &counter));
    } else {
      EXPECT_TRUE(counter.AddCsv(path, ReadFileBytes(path))) << path;
    }
  }
  campaign.tally = counter.Finish();
  campaign.paths = ExpandPaths(campaign.arguments);  // again: the cvb files' sizes are final
  return campaign;
}

// What a series of campaigns exercised, so that a generator gone tame fails the suite
// instead of passing it vacuously.
struct Coverage {
  std::array<uint64_t, kReasonCount> rejected{};
  uint64_t counted = 0, skipped = 0, read_once = 0, cvb_files = 0, largest_file_bytes = 0;

  void Add(const Campaign& campaign) {
    for (int r = 0; r < kReasonCount; ++r) rejected[r] += campaign.tally.rejected[r];
    counted += campaign.tally.counted;
    skipped += campaign.paths.skipped.size();
    read_once += campaign.paths.read_once.size();
    for (const std::string& path : campaign.paths.files) {
      cvb_files += absl::EndsWithIgnoreCase(path, ".cvb");
      largest_file_bytes = std::max<uint64_t>(largest_file_bytes, fs::file_size(path));
    }
  }
  void ExpectEveryOutcome() const {
    for (int r = 0; r < kReasonCount; ++r) EXPECT_GT(rejected[r], 0u) << kReasonNames[r];
    EXPECT_GT(counted, 0u);
    EXPECT_GT(skipped, 0u);
    EXPECT_GT(read_once, 0u);
  }
};

// Runs the campaign's job on 1 and 2 threads (and the portable kernel) and compares every
// figure; the JSON must be byte-identical across them (DESIGN.md invariant 3).
void RunCampaign(uint64_t seed, bool large, Coverage* coverage) {
  SCOPED_TRACE(absl::StrCat("seed ", seed));
  TempDir temp;
  const Campaign campaign = BuildCampaign(seed, temp.path(), large);
  coverage->Add(campaign);
  const Json expected = ExpectedJson(campaign.election, campaign.tally, campaign.paths);
  std::string first_report;
  for (const char* threads : {"1", "2"}) {
    std::vector<std::string> args = {
        "aggregate", "--election", temp.File("election"), "--format", "json", "--by",
        "station",   "--quiet",    "--threads",           threads};
    args.insert(args.end(), campaign.arguments.begin(), campaign.arguments.end());
    std::vector<std::string> env;
    if (seed % 3 == 0 && threads[0] == '2') env.push_back("CANVASS_KERNEL=portable");
    const RunResult result = RunCanvass(args, env);
    ASSERT_EQ(result.exit_code, kExitMatch) << Describe(result);
    const Json report = ParseReport(result);
    ExpectFigures(report, expected);
    if (first_report.empty()) {
      first_report = result.out;
    } else {
      EXPECT_EQ(result.out, first_report) << "threads " << threads;
    }
  }
}

// Against a sanitizer build's binary (CANVASS_BINARY_UNDER_TEST, as CI's sanitizer runs
// set it) every seventh seed, which still reaches every outcome (checked below).
uint64_t SeedStride() { return std::getenv("CANVASS_BINARY_UNDER_TEST") != nullptr ? 7 : 1; }

TEST(CampaignTest, RandomFoldersMatchTheIndependentCounter) {
  Coverage coverage;
  for (uint64_t seed = 1; seed <= 800; seed += SeedStride()) {
    ASSERT_NO_FATAL_FAILURE(RunCampaign(seed, /*large=*/false, &coverage));
  }
  coverage.ExpectEveryOutcome();
  EXPECT_GT(coverage.cvb_files, 0u);
}

// Files of 1 to 4 MiB: read in parallel ranges (about 1 MiB each) cut at line breaks, with
// quoted line breaks that fall on some cuts (FORMAT.md: such a file is read again whole).
TEST(CampaignTest, LargeFilesCutIntoRangesMatchTheIndependentCounter) {
  Coverage coverage;
  for (uint64_t seed = 1001; seed <= 1012; ++seed) {
    ASSERT_NO_FATAL_FAILURE(RunCampaign(seed, /*large=*/true, &coverage));
  }
  coverage.ExpectEveryOutcome();
  EXPECT_GT(coverage.largest_file_bytes, uint64_t{2} << 20);
}

// The counter itself, on records whose outcome is decided by hand: a campaign against a
// counter that agreed with any engine would prove nothing.
TEST(IndependentCounterTest, CountsHandWrittenRecordsAsTheDocumentsSay) {
  const ElectionSpec election = {"e", {"A", "B"}, {{"S1", "AA", 5}, {"S2", "BB", 2}}};
  IndependentCounter counter(election);
  ASSERT_TRUE(counter.AddCsv("f.csv",
                             "\xEF\xBB\xBFstation,seq,choice\r\n"
                             "S1,1,A\n"                 // 2: counted
                             "S1,1,A\r\n"               // 3: duplicate
                             "\n"                       // 4: blank
                             "S2,2,A\nS2,2,B\n"         // 5, 6: conflict, both
                             "S3,1,A\nS1,1,C\n"         // 7, 8: unknown station, choice
                             "S1,0,A\nS1,6,A\n"         // 9, 10: bad_seq
                             "S1,+1,A\nS1,\"2\n\",A\n"  // 11, 12-13: malformed
                             "\"S1\",\"00000000000000000003\",\"B\"\n"  // 14: counted
                             "S1,4,A\"B\nS1,5,B\r"));           // 15: malformed, 16: unknown choice
  counter.AddCvbBlock("g.cvb", 32, 0, {{1, 1}, {4, 0xFF}}, 1);  // conflict, unknown choice
  const ExpectedTally tally = counter.Finish();
  EXPECT_EQ(tally.read, 16u);
  EXPECT_EQ(tally.counted, 1u);  // S1/3 B; S1/1 now conflicts with the cvb copy
  EXPECT_EQ(tally.rejected, (std::array<uint64_t, kReasonCount>{4, 1, 3, 2, 0, 5}));
  EXPECT_EQ(tally.totals, (std::vector<uint64_t>{0, 1}));
  EXPECT_EQ(tally.station_records, (std::vector<uint64_t>{9, 2}));
  EXPECT_EQ(tally.malformed_examples,
            (std::vector<std::string>{"f.csv:11", "f.csv:12", "f.csv:15", "g.cvb@32"}));
  EXPECT_FALSE(counter.AddCsv("h.csv", "station,seq,choices\n"));
  EXPECT_FALSE(counter.AddCsv("h.csv", "\xEF\xBB\xBF"));
  EXPECT_EQ(JsonSafe("a\xFF\xC3\xA9\x80"), "a\xEF\xBF\xBD\xC3\xA9\xEF\xBF\xBD");
  EXPECT_EQ(ParseSeq("18446744073709551615"), ~uint64_t{0});
  EXPECT_EQ(ParseSeq("18446744073709551616"), std::nullopt);
}

// ---- Hostile fixed classes, each with random variants ----

// A valid election of `stations` stations S0.. (capacity 10) and choices A, B, INV, with a
// ballot file beside it; the fixed classes then break one thing at a time.
struct FixedCase {
  ElectionSpec election;
  Json extra;  // members merged into election.json
  std::string ballots;
};

FixedCase BaseCase(Rng& rng) {
  FixedCase setup;
  setup.election.id = absl::StrCat("fixed-", Uniform(rng, 0, 999));
  setup.election.codes = {"A", "B", "INV"};
  for (uint64_t s = 0, n = Uniform(rng, 1, 4); s < n; ++s) {
    setup.election.stations.push_back({absl::StrCat("S", s), "AA", 10});
  }
  setup.ballots = "station,seq,choice\nS0,1,A\nS0,2,B\n";
  return setup;
}

// Writes the setup under `root` and runs `aggregate` on its ballot file.
RunResult Aggregate(const fs::path& root, const FixedCase& setup,
                    const std::vector<std::string>& extra_args = {}) {
  WriteElection(root / "election", setup.election, setup.extra);
  WriteFileBytes(root / "ballots.csv", setup.ballots);
  std::vector<std::string> args = {"aggregate", "--election", (root / "election").string(),
                                   "--quiet"};
  args.insert(args.end(), extra_args.begin(), extra_args.end());
  args.push_back((root / "ballots.csv").string());
  return RunCanvass(args);
}

void ExpectInputError(const RunResult& result, const std::vector<std::string>& fragments) {
  EXPECT_EQ(result.exit_code, kExitInputError) << Describe(result);
  EXPECT_EQ(result.out, "") << "no report on exit 2";
  for (const std::string& fragment : fragments) {
    EXPECT_THAT(result.err, HasSubstr(fragment)) << Describe(result);
  }
}

// FORMAT.md: election.json at most 16 MiB, the roster and a folder's manifest.json at most
// 256 MiB, so that /dev/zero or a runaway file is a bounded read and "PATH: more than N
// bytes".
TEST(HostileElectionTest, FilesPastTheirSizeLimitAreExitTwoNamingTheLimit) {
  for (uint64_t seed = 1; seed <= 6; ++seed) {
    SCOPED_TRACE(absl::StrCat("seed ", seed));
    Rng rng(seed);
    TempDir temp;
    FixedCase setup = BaseCase(rng);
    WriteElection(temp.path() / "election", setup.election);
    WriteFileBytes(temp.File("ballots.csv"), setup.ballots);
    const bool roster = seed % 2 == 0;
    const fs::path victim = temp.path() / "election" / (roster ? "roster.csv" : "election.json");
    const uint64_t limit = roster ? uint64_t{256} << 20 : uint64_t{16} << 20;
    fs::remove(victim);
    if (seed <= 2) {
      fs::create_symlink("/dev/zero", victim);
    } else {  // a sparse file just past the limit: costs no disk
      WriteFileBytes(victim, "");
      fs::resize_file(victim, limit + Uniform(rng, 1, 4096));
    }
    const RunResult result = RunCanvass(
        {"aggregate", "--election", temp.File("election"), "--quiet", temp.File("ballots.csv")});
    ExpectInputError(result, {absl::StrCat(victim.string(), ": more than ", limit, " bytes")});
  }
  TempDir temp;
  Rng rng(7);
  const FixedCase setup = BaseCase(rng);
  WriteElection(temp.path() / "election", setup.election);
  fs::create_directories(temp.path() / "in");
  WriteFileBytes(temp.path() / "in" / "a.csv", setup.ballots);
  fs::create_symlink("/dev/zero", temp.path() / "in" / "manifest.json");
  const RunResult result =
      RunCanvass({"aggregate", "--election", temp.File("election"), "--quiet", temp.File("in")});
  ExpectInputError(result, {temp.File("in/manifest.json") + ": more than 268435456 bytes"});
}

// FORMAT.md: the election id, the codes and the station ids hold no NUL byte; choice codes
// are unique, non-empty, without comma, quote or line break; 1..254 choices; figures are
// integers in 0..2^63-1; every reported code is a choice; the roster's capacities hold
// the reported cast. Each failure is exit 2 naming the file and the field.
TEST(HostileElectionTest, LoaderRulesAreExitTwoNamingTheFileAndField) {
  struct Case {
    std::function<void(FixedCase*)> breaks;
    std::string file;
    std::string field;
  };
  const std::vector<Case> cases = {
      {[](FixedCase* s) { s->election.id = std::string("t\0A", 3); }, "election.json", "'id'"},
      {[](FixedCase* s) { s->election.codes[1] = std::string("B\0", 2); }, "election.json",
       "'choices[1].code'"},
      {[](FixedCase* s) { s->election.codes[2] = "A"; }, "election.json", "'choices[2].code'"},
      {[](FixedCase* s) { s->election.codes[0] = ""; }, "election.json", "'choices[0].code'"},
      {[](FixedCase* s) { s->election.codes[1] = "B,C"; }, "election.json", "'choices[1].code'"},
      {[](FixedCase* s) { s->election.codes[1] = "B\"C"; }, "election.json", "'choices[1].code'"},
      {[](FixedCase* s) { s->election.codes[1] = "B\nC"; }, "election.json", "'choices[1].code'"},
      {[](FixedCase* s) { s->election.codes.clear(); }, "election.json", "'choices'"},
      {[](FixedCase* s) {
         s->election.codes.clear();
         for (int c = 0; c < 255; ++c) s->election.codes.push_back(absl::StrCat("K", c));
       },
       "election.json", "'choices'"},
      {[](FixedCase* s) {
         s->extra = {{"reported", {{"cast", -5}, {"choices", {{"A", 1}}}}}};
       },
       "election.json", "'reported.cast'"},
      {[](FixedCase* s) {
         s->extra = {{"reported", {{"cast", 1.5}, {"choices", {{"A", 1}}}}}};
       },
       "election.json", "'reported.cast'"},
      {[](FixedCase* s) {
         s->extra = {{"reported", {{"cast", 7}, {"choices", {{"A", "7"}}}}}};
       },
       "election.json", "'reported.choices.A'"},
      {[](FixedCase* s) {
         s->extra = {{"reported", {{"cast", 1}, {"choices", {{"B", 9223372036854775808u}}}}}};
       },
       "election.json", "'reported.choices.B'"},
      {[](FixedCase* s) {
         s->extra = {{"reported", {{"cast", 1}, {"choices", {{"Z", 1}}}}}};
       },
       "election.json", "'reported.choices.Z'"},
      {[](FixedCase* s) {
         s->extra = {{"reported",
                      {{"cast", 10 * s->election.stations.size() + 1}, {"choices", {{"A", 1}}}}}};
       },
       "roster.csv", "capacities"},
      {[](FixedCase* s) { s->election.stations.back().id = std::string("S\0X", 3); }, "roster.csv",
       "'station'"},
  };
  for (uint64_t seed = 1; seed <= cases.size(); ++seed) {
    SCOPED_TRACE(absl::StrCat("case ", seed - 1));
    Rng rng(seed);
    TempDir temp;
    FixedCase setup = BaseCase(rng);
    cases[seed - 1].breaks(&setup);
    const RunResult result = Aggregate(temp.path(), setup);
    const std::string file = temp.File("election/" + cases[seed - 1].file);
    ExpectInputError(result, {file, cases[seed - 1].field});
  }
  // 254 choices is the most, and loads.
  TempDir temp;
  Rng rng(99);
  FixedCase setup = BaseCase(rng);
  setup.election.codes.clear();
  for (int c = 0; c < 253; ++c) setup.election.codes.push_back(absl::StrCat("K", c));
  setup.election.codes.push_back("A");
  const RunResult result = Aggregate(temp.path(), setup, {"--format", "json"});
  ASSERT_EQ(result.exit_code, kExitMatch) << Describe(result);
  EXPECT_EQ(ParseReport(result)["totals"]["A"], 1);
}

// FORMAT.md: roster errors name the file and line (`roster.csv:7: duplicate station "AE-01"
// (first at line 3)`); capacities are 1..2^63-1; rows have the header's field count.
TEST(HostileElectionTest, RosterErrorsNameTheLine) {
  for (uint64_t seed = 1; seed <= 12; ++seed) {
    SCOPED_TRACE(absl::StrCat("seed ", seed));
    Rng rng(seed);
    TempDir temp;
    const size_t stations = Uniform(rng, 2, 9);
    const std::string eol = Chance(rng, 0.5) ? "\r\n" : "\n";
    std::string roster = "station,country,capacity" + eol;
    const size_t bad = Uniform(rng, 1, stations - 1);  // 0-based row of the broken line
    const size_t first = Uniform(rng, 0, bad - 1);
    std::string expected;
    for (size_t s = 0; s < stations; ++s) {
      std::string row = absl::StrCat("ST-", s, ",AA,", Uniform(rng, 1, 99));
      const std::string line = absl::StrCat("roster.csv:", s + 2, ":");
      if (s == bad) {
        switch (seed % 4) {
          case 0:
            row = absl::StrCat("ST-", first, ",BB,5");
            expected = absl::StrCat(line, " duplicate station \"ST-", first, "\" (first at line ",
                                    first + 2, ")");
            break;
          case 1:
            row = absl::StrCat("ST-", s, ",AA,0"), expected = line;
            break;
          case 2:
            row = absl::StrCat("ST-", s, ",AA,9223372036854775808"), expected = line;
            break;
          default:
            row = absl::StrCat("ST-", s, ",AA"), expected = line;
            break;
        }
      }
      absl::StrAppend(&roster, row, eol);
    }
    FixedCase setup = BaseCase(rng);
    WriteElection(temp.path() / "election", setup.election);
    WriteFileBytes(temp.path() / "election" / "roster.csv", roster);
    WriteFileBytes(temp.File("ballots.csv"), setup.ballots);
    const RunResult result = RunCanvass(
        {"aggregate", "--election", temp.File("election"), "--quiet", temp.File("ballots.csv")});
    ExpectInputError(result, {temp.File("election/" + expected)});
  }
}

// FORMAT.md: with any reported figure nonzero, some station needs a nonzero weight; with
// every weight 0 the loader names the roster and the column. With nothing (or only zeros)
// reported there is nothing to split, and the election loads.
TEST(HostileElectionTest, AllZeroWeightsAreRefusedOnlyWhenFiguresAreReported) {
  for (uint64_t seed = 1; seed <= 6; ++seed) {
    SCOPED_TRACE(absl::StrCat("seed ", seed));
    Rng rng(seed);
    TempDir temp;
    FixedCase setup = BaseCase(rng);
    const bool reported = seed % 3 != 1;  // else no figures at all
    const uint64_t cast = seed % 3 == 0 ? 0 : Uniform(rng, 1, 10);
    if (reported) setup.extra = {{"reported", {{"cast", cast}, {"choices", {{"A", cast}}}}}};
    WriteElection(temp.path() / "election", setup.election, setup.extra);
    std::string roster = "station,country,capacity,weight\n";
    for (const StationSpec& s : setup.election.stations) {
      absl::StrAppend(&roster, s.id, ",", s.country, ",", s.capacity, ",0\n");
    }
    WriteFileBytes(temp.path() / "election" / "roster.csv", roster);
    WriteFileBytes(temp.File("ballots.csv"), setup.ballots);
    const RunResult result = RunCanvass({"aggregate", "--election", temp.File("election"),
                                         "--quiet", "--format", "json", temp.File("ballots.csv")});
    if (reported && cast > 0) {
      ExpectInputError(result, {temp.File("election/roster.csv"), "weight"});
    } else {
      ASSERT_EQ(result.exit_code, kExitMatch) << Describe(result);
      EXPECT_EQ(ParseReport(result)["records"]["counted"], 2);
    }
  }
}

// FORMAT.md: exactly-once state is 2, 4 or 8 bits per issued serial (up to 3, 15, or more
// choices); a roster or --scale needing more than 2^45 bytes is refused before anything
// runs, naming the bytes. Capacities are multiples of 64, so that no rounding enters N.
TEST(HostileElectionTest, CapacitiesTooLargeToMapAreExitTwoNamingTheBytes) {
  for (uint64_t seed = 1; seed <= 10; ++seed) {
    SCOPED_TRACE(absl::StrCat("seed ", seed));
    Rng rng(seed);
    TempDir temp;
    FixedCase setup = BaseCase(rng);
    const size_t choices = Pick(rng, std::vector<size_t>{1, 3, 4, 15, 16, 200});
    setup.election.codes.clear();
    for (size_t c = 0; c < choices; ++c) setup.election.codes.push_back(absl::StrCat("K", c));
    const uint64_t bits = choices <= 3 ? 2 : choices <= 15 ? 4 : 8;
    const uint64_t scale = seed % 2 == 0 ? Uniform(rng, 2, 1000) : 1;
    uint64_t serials = 0;
    for (StationSpec& station : setup.election.stations) {
      station.capacity = 64 * Uniform(rng, uint64_t{1} << 42, uint64_t{1} << 52) / scale / 64 * 64;
      serials += station.capacity * scale;
    }
    if (serials * bits / 8 <= uint64_t{1} << 45) continue;  // the draw stayed mappable
    std::vector<std::string> args;
    if (scale > 1) args = {"--scale", absl::StrCat(scale)};
    const RunResult result = Aggregate(temp.path(), setup, args);
    ExpectInputError(
        result, {absl::StrCat("the exactly-once state of election ", setup.election.id, " needs ",
                              serials / 8 * bits, " bytes (", bits, " bits for each of the ",
                              serials, " serials its roster's capacities allow)")});
  }
}

// REPORT.md: a report that cannot be written is exit 2 with the system's reason.
TEST(HostileJobTest, ReportToDevFullIsExitTwo) {
  TempDir temp;
  Rng rng(1);
  const FixedCase setup = BaseCase(rng);
  WriteElection(temp.path() / "election", setup.election);
  WriteFileBytes(temp.File("ballots.csv"), setup.ballots);
  for (const char* format : {"text", "json", "csv"}) {
    SCOPED_TRACE(format);
    const std::string command = absl::StrCat(
        "exec '", CanvassBinary(), "' aggregate --quiet --election '", temp.File("election"),
        "' --format ", format, " --by station '", temp.File("ballots.csv"), "' > /dev/full");
    const RunResult result = RunProgram("/bin/sh", {"-c", command});
    EXPECT_EQ(result.exit_code, kExitInputError) << Describe(result);
    EXPECT_THAT(result.err, HasSubstr("canvass: cannot write report: No space left on device"));
  }
}

// FORMAT.md: a job that finds no ballot file at all is exit 2, and folder entries that are
// skipped do not count as ballot files.
TEST(HostileJobTest, NoBallotFilesIsExitTwo) {
  for (uint64_t seed = 1; seed <= 4; ++seed) {
    SCOPED_TRACE(absl::StrCat("seed ", seed));
    TempDir temp;
    Rng rng(seed);
    const FixedCase setup = BaseCase(rng);
    WriteElection(temp.path() / "election", setup.election);
    const fs::path in = temp.path() / "in";
    fs::create_directories(in);
    if (seed >= 2) {
      fs::create_directories(in / "sub.csv");
      WriteFileBytes(in / "sub.csv" / "a.csv", setup.ballots);
      WriteFileBytes(in / "a.csv.txt", setup.ballots);
      fs::create_symlink(temp.path() / "nowhere", in / "gone.csv");
    }
    if (seed >= 3) {
      EXPECT_EQ(mkfifo((in / "pipe.cvb").c_str(), 0600), 0);
    }
    std::vector<std::string> args = {"aggregate", "--election", temp.File("election"), "--quiet",
                                     in.string()};
    if (seed == 4) args.push_back(in.string());  // the same folder twice finds nothing either
    ExpectInputError(RunCanvass(args), {"no ballot files to read in", in.string()});
  }
}

// FORMAT.md: a file that is not a ballot file (no header after an optional BOM) is exit 2
// naming the file and the byte offset, wherever it sits among good files.
TEST(HostileJobTest, NotABallotFileAmongGoodOnesIsExitTwoNamingIt) {
  const std::vector<std::string> bad = {"",
                                        "\xEF\xBB\xBF",
                                        "station,seq,choices\nS0,1,A\n",
                                        "Station,seq,choice\nS0,1,A\n",
                                        "seq,station,choice\n",
                                        std::string("\0\x01\x02\xFF\xFE binary", 13),
                                        "CVBALLOX garbage"};
  for (uint64_t seed = 0; seed < bad.size(); ++seed) {
    SCOPED_TRACE(absl::StrCat("case ", seed));
    Rng rng(seed);
    TempDir temp;
    const FixedCase setup = BaseCase(rng);
    WriteElection(temp.path() / "election", setup.election);
    const fs::path in = temp.path() / "in";
    fs::create_directories(in);
    const size_t files = Uniform(rng, 1, 4), victim = Uniform(rng, 0, files - 1);
    for (size_t f = 0; f < files; ++f) {
      WriteFileBytes(in / absl::StrCat("f", f, ".csv"), f == victim ? bad[seed] : setup.ballots);
    }
    for (const char* threads : {"1", "2"}) {
      const RunResult result = RunCanvass({"aggregate", "--election", temp.File("election"),
                                           "--quiet", "--threads", threads, in.string()});
      ExpectInputError(result, {(in / absl::StrCat("f", victim, ".csv")).string() + ": byte "});
    }
  }
}

// FORMAT.md: the scale defaults to the manifest's; a --scale that contradicts it, or
// folders whose manifests give different scales, are exit 2. At the manifest's scale the
// tally is the generated one (no faults: every reported figure times the scale).
TEST(HostileJobTest, ScaleContradictingTheManifestIsExitTwo) {
  TempDir temp;
  Rng rng(5);
  FixedCase setup = BaseCase(rng);
  setup.extra = {{"reported", {{"cast", 7}, {"choices", {{"A", 4}, {"B", 2}, {"INV", 1}}}}}};
  WriteElection(temp.path() / "election", setup.election, setup.extra);
  const uint64_t scale = Uniform(rng, 2, 5);
  for (const uint64_t s : {scale, uint64_t{1}}) {
    const RunResult generated =
        RunCanvass({"generate", "--election", temp.File("election"), "--out",
                    temp.File(absl::StrCat("out", s)), "--scale", absl::StrCat(s)});
    ASSERT_EQ(generated.exit_code, kExitMatch) << Describe(generated);
  }
  const std::string folder = temp.File(absl::StrCat("out", scale));
  const std::vector<std::string> base = {"aggregate", "--election", temp.File("election"),
                                         "--quiet",   "--format",   "json"};
  const auto with = [&](std::vector<std::string> extra) {
    std::vector<std::string> args = base;
    args.insert(args.end(), extra.begin(), extra.end());
    return RunCanvass(args);
  };
  for (const std::vector<std::string>& good :
       {std::vector<std::string>{folder}, {"--scale", absl::StrCat(scale), folder}}) {
    const RunResult result = with(good);
    ASSERT_EQ(result.exit_code, kExitMatch) << Describe(result);
    const Json report = ParseReport(result);
    EXPECT_EQ(report["records"]["read"], 7 * scale);
    EXPECT_EQ(report["totals"],
              Json({{"A", 4 * scale}, {"B", 2 * scale}, {"INV", scale}, {"cast", 7 * scale}}));
  }
  ExpectInputError(with({"--scale", absl::StrCat(scale + Uniform(rng, 1, 3)), folder}), {});
  ExpectInputError(with({"--scale", "1", folder}), {});
  ExpectInputError(with({folder, temp.File("out1")}), {"manifest.json"});
}

// REPORT.md "Any bytes, carried safely": control bytes in a title, a choice name or a
// station id never start a line of the text report (shown escaped instead), JSON escapes
// them and stays valid UTF-8 (U+FFFD for invalid bytes), CSV quotes a field holding a CR.
TEST(HostileElectionTest, ControlAndNonUtf8BytesInIdsCannotShapeTheReport) {
  const std::vector<std::pair<std::string, std::string>> controls = {
      {"\n", "\\n"}, {"\r", "\\r"}, {"\t", "\\t"}, {"\x1b[2J", "\\x1b"}, {"\xC2\x85", "\\u0085"}};
  for (uint64_t seed = 1; seed <= 10; ++seed) {
    SCOPED_TRACE(absl::StrCat("seed ", seed));
    Rng rng(seed);
    TempDir temp;
    FixedCase setup = BaseCase(rng);
    const auto& [title_control, title_escape] = Pick(rng, controls);
    const auto& [name_control, name_escape] = Pick(rng, controls);
    // A roster line can hold no LF; a CR before the line end would end the line.
    const auto& [id_control, id_escape] = controls[Uniform(rng, 1, controls.size() - 1)];
    const std::string title = "T" + title_control + "INJECTED title";
    const std::string name = "N" + name_control + "INJECTED name";
    const std::string station = "S" + id_control + "INJECTED";
    const std::string odd_station = Pick(rng, std::vector<std::string>{"\xFF", "\xC3", "a\x80"});
    setup.election.stations.push_back({station, "AA", 10});
    setup.election.stations.push_back({odd_station, "BB", 10});
    setup.extra = {{"title", title}};
    setup.extra["choices"] = {{{"code", "A"}, {"name", name}}, {{"code", "B"}}, {{"code", "INV"}}};
    setup.ballots = absl::StrCat("station,seq,choice\n\"", station, "\",3,A\n", odd_station,
                                 ",4,B\nS0,1,INV\n");
    const RunResult text = Aggregate(temp.path(), setup, {"--by", "station"});
    ASSERT_EQ(text.exit_code, kExitMatch) << Describe(text);
    for (absl::string_view line : absl::StrSplit(text.out, '\n')) {
      EXPECT_FALSE(absl::StartsWith(absl::StripLeadingAsciiWhitespace(line), "INJECTED"))
          << Describe(text);
    }
    for (const char* raw : {"\r", "\x1b", "\xC2\x85"}) {
      EXPECT_THAT(text.out, ::testing::Not(HasSubstr(raw))) << Describe(text);
    }
    for (const std::string& escape : {title_escape, id_escape}) {
      // "\xHH" leaves the case of the hex digits open.
      EXPECT_TRUE(absl::StrContains(absl::AsciiStrToLower(text.out), escape))
          << escape << Describe(text);
    }

    const RunResult json = Aggregate(temp.path(), setup, {"--by", "station", "--format", "json"});
    ASSERT_EQ(json.exit_code, kExitMatch) << Describe(json);
    const Json report = ParseReport(json);
    EXPECT_EQ(report["title"], title);
    ASSERT_EQ(report["stations"].size(), setup.election.stations.size());
    const Json& rows = report["stations"];
    EXPECT_EQ(rows[rows.size() - 2]["station"], station);
    EXPECT_EQ(rows[rows.size() - 2]["counted"]["A"], 1);
    EXPECT_EQ(rows.back()["station"], JsonSafe(odd_station));
    EXPECT_EQ(rows.back()["counted"]["B"], 1);
    EXPECT_EQ(report["records"]["counted"], 3);

    const RunResult csv = Aggregate(temp.path(), setup, {"--by", "station", "--format", "csv"});
    ASSERT_EQ(csv.exit_code, kExitMatch) << Describe(csv);
    if (id_control == "\r") {
      EXPECT_THAT(csv.out, HasSubstr(",\"" + station + "\",A,1,")) << Describe(csv);
    }
  }
}

// Found by this campaign: FORMAT.md said the header is the literal `station,seq,choice`
// and `seq` at most 20 digits, while the engine (and its goldens) took a quoted header and
// any number of leading zeros, as RFC 4180 and DESIGN.md allow. FORMAT.md now says so;
// these hold the engine to it.
TEST(FindingTest, AQuotedHeaderIsAHeader) {
  TempDir temp;
  Rng rng(1);
  FixedCase setup = BaseCase(rng);
  setup.ballots = "\"station\",seq,choice\nS0,1,A\n";
  const RunResult result = Aggregate(temp.path(), setup, {"--format", "json"});
  ASSERT_EQ(result.exit_code, kExitMatch) << Describe(result);
  EXPECT_EQ(ParseReport(result)["records"]["counted"], 1);
}

TEST(FindingTest, LeadingZerosPastTwentyDigitsDoNotCount) {
  TempDir temp;
  Rng rng(1);
  FixedCase setup = BaseCase(rng);
  setup.ballots = "station,seq,choice\nS0,000000000000000000001,A\nS0,1,A\n";
  const RunResult result = Aggregate(temp.path(), setup, {"--format", "json"});
  ASSERT_EQ(result.exit_code, kExitMatch) << Describe(result);
  EXPECT_EQ(ParseReport(result)["records"]["counted"], 1);
  EXPECT_EQ(ParseReport(result)["records"]["rejected"]["duplicate"], 1) << "both are serial 1";
  EXPECT_EQ(ParseReport(result)["records"]["rejected"]["malformed"], 0);
}

}  // namespace
}  // namespace canvass::campaign
