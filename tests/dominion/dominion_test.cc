// Dominion CVR exports read in-process: the real Alaska 2024 slice and the hand-written trap
// exports of tests/data/dominion, every cell at every unit against the independent oracle
// (tests/dominion/dominion_oracle.py, whose expected figures are in tests/dominion/expected),
// from a folder and from a zip, at 1 and 2 threads and with small chunks.
#include <archive.h>
#include <archive_entry.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <tuple>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "engine/ingest/cvr_job.h"
#include "engine/ingest/dominion_job.h"
#include "engine/io/dominion/export.h"
#include "engine/io/nist/err_json.h"
#include "engine/io/nist/reported_csv.h"
#include "engine/reconcile/cell_reconciler.h"
#include "engine/synth/cvr_generator.h"
#include "engine/synth/dominion_generator.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/testing/status_matchers.h"
#include "tests/testing/temp_dir.h"

namespace canvass {
namespace {

using ::canvass::testing::IsOk;
using ::canvass::testing::ReadFileBytes;
using ::canvass::testing::TempDir;
using ::testing::HasSubstr;

using Cells = std::map<std::tuple<std::string, std::string, std::string>, uint64_t>;

std::string Source(const std::string& relative) {
  return absl::StrCat(CANVASS_SOURCE_DIR, "/", relative);
}

Cells Expected(const std::string& name) {
  std::ifstream in(Source(absl::StrCat("tests/dominion/expected/", name, ".csv")));
  EXPECT_TRUE(in.good()) << name;
  Cells cells;
  std::string line;
  std::getline(in, line);
  while (std::getline(in, line)) {
    const std::vector<std::string> f = absl::StrSplit(line, ',');
    uint64_t count = 0;
    EXPECT_EQ(f.size(), 4u) << line;
    EXPECT_TRUE(absl::SimpleAtoi(f[3], &count)) << line;
    cells[{f[0], f[1], f[2]}] = count;
  }
  return cells;
}

nlohmann::json Summary(const std::string& name) {
  std::ifstream in(Source(absl::StrCat("tests/dominion/expected/", name, ".summary.json")));
  EXPECT_TRUE(in.good()) << name;
  return nlohmann::json::parse(in);
}

// The oracle's name of a cell.
std::string CellName(const ContestElection& election, uint32_t cell, std::string* contest_id) {
  const ContestElection::CellMeaning m = election.Meaning(cell);
  if (!m.contest) {
    contest_id->clear();
    return "#ballots";
  }
  const ElectionContest& contest = election.contests[*m.contest];
  *contest_id = contest.id;
  if (m.selection) return contest.selections[*m.selection].id;
  switch (*m.figure) {
    case ContestFigure::kOvervotes:
      return "#over";
    case ContestFigure::kUndervotes:
      return "#under";
    case ContestFigure::kBallots:
      return "#ballots";
    case ContestFigure::kInvalid:
      return "#invalid";
  }
  return "?";
}

// Every cell of every unit is the oracle's (0 where it lists none), and it lists no cell
// the tally lacks.
void ExpectOracleCells(const ContestElection& election, const ContestTally& tally,
                       const Cells& expected) {
  size_t compared = 0;
  for (uint32_t u = 0; u < tally.num_units; ++u) {
    for (uint32_t cell = 0; cell < tally.cells_per_unit; ++cell) {
      std::string contest;
      const std::string selection = CellName(election, cell, &contest);
      const auto it = expected.find({election.units[u].id, contest, selection});
      const uint64_t want = it == expected.end() ? 0 : it->second;
      EXPECT_EQ(tally.Cell(u, cell), want)
          << election.units[u].id << " " << contest << " " << selection;
      if (it != expected.end()) ++compared;
    }
  }
  EXPECT_EQ(compared, expected.size());
}

void ExpectSummary(const CvrJobResult& job, const nlohmann::json& summary) {
  const ContestTally& tally = job.tally;
  EXPECT_EQ(tally.records_read, summary["sessions"].get<uint64_t>());
  EXPECT_EQ(tally.counted, summary["counted"].get<uint64_t>());
  for (int r = 0; r < kNumCastRejects; ++r) {
    const std::string reason(CastRejectName(static_cast<CastReject>(r)));
    EXPECT_EQ(tally.rejected[r], summary["rejected"][reason].get<uint64_t>()) << reason;
  }
  EXPECT_EQ(tally.adjudicated, summary["adjudicated"].get<uint64_t>());
}

// A zip of every regular file of `folder`, deflated, under `prefix` inside the archive.
void ZipFolder(const std::string& folder, const std::string& zip, const std::string& prefix) {
  std::vector<std::filesystem::path> files;
  for (const auto& entry : std::filesystem::directory_iterator(folder)) {
    if (entry.is_regular_file()) files.push_back(entry.path());
  }
  std::sort(files.begin(), files.end());
  struct archive* writer = archive_write_new();
  ASSERT_EQ(archive_write_set_format_zip(writer), ARCHIVE_OK);
  ASSERT_EQ(archive_write_open_filename(writer, zip.c_str()), ARCHIVE_OK);
  for (const std::filesystem::path& file : files) {
    const std::string bytes = ReadFileBytes(file);
    ASSERT_EQ(archive_write_zip_set_compression_deflate(writer), ARCHIVE_OK);
    struct archive_entry* header = archive_entry_new();
    archive_entry_set_pathname(header, (prefix + file.filename().string()).c_str());
    archive_entry_set_filetype(header, AE_IFREG);
    archive_entry_set_perm(header, 0644);
    archive_entry_set_size(header, static_cast<la_int64_t>(bytes.size()));
    ASSERT_EQ(archive_write_header(writer, header), ARCHIVE_OK);
    ASSERT_EQ(archive_write_data(writer, bytes.data(), bytes.size()),
              static_cast<la_ssize_t>(bytes.size()));
    archive_entry_free(header);
  }
  ASSERT_EQ(archive_write_close(writer), ARCHIVE_OK);
  archive_write_free(writer);
}

struct ExportCase {
  const char* name;    // the oracle's file names
  const char* folder;  // relative to the source tree
};

class DominionExportTest : public ::testing::TestWithParam<ExportCase> {};

TEST_P(DominionExportTest, EveryCellAtEveryUnitIsTheOraclesFromAFolderAndFromAZip) {
  const ExportCase& c = GetParam();
  const std::string folder = Source(c.folder);
  TempDir temp;
  const std::string zip = temp.File("export.zip");
  ZipFolder(folder, zip, "export/");
  const Cells expected = Expected(c.name);
  const nlohmann::json summary = Summary(c.name);
  for (const std::string& path : {folder, zip}) {
    SCOPED_TRACE(path);
    ASSERT_TRUE(IsDominionExport(path));
    absl::StatusOr<DominionExport> dominion = LoadDominionExport(path);
    ASSERT_THAT(dominion.status(), IsOk());
    for (const int threads : {1, 2}) {
      for (const uint64_t chunk_bytes : {uint64_t{4} << 20, uint64_t{1000}}) {
        CvrJobOptions options;
        options.threads = threads;
        options.chunk_bytes = chunk_bytes;
        absl::StatusOr<CvrJobResult> job = ReadDominionExport(*dominion, path, options);
        ASSERT_THAT(job.status(), IsOk());
        ExpectOracleCells(dominion->election, job->tally, expected);
        ExpectSummary(*job, summary);
      }
    }
  }
}

INSTANTIATE_TEST_SUITE_P(
    Exports, DominionExportTest,
    ::testing::Values(ExportCase{"alaska-2024-partial", "datasets/dominion/alaska-2024-partial"},
                      ExportCase{"modified", "tests/data/dominion/modified"},
                      ExportCase{"multi-card", "tests/data/dominion/multi-card"},
                      ExportCase{"no-cards", "tests/data/dominion/no-cards"},
                      ExportCase{"duplicate", "tests/data/dominion/duplicate"},
                      ExportCase{"conflict", "tests/data/dominion/conflict"},
                      ExportCase{"invalid-contest", "tests/data/dominion/invalid-contest"},
                      ExportCase{"unknown", "tests/data/dominion/unknown"}),
    [](const ::testing::TestParamInfo<ExportCase>& info) {
      std::string name = info.param.name;
      std::replace(name.begin(), name.end(), '-', '_');
      return name;
    });

TEST(DominionAlaskaTest, NationalFiguresWorkedOutByHand) {
  // tests/dominion/README.md: contest 4 (President, ranked, 8 ranks) and contest 7
  // (U.S. Representative, ranked) at the scope, first preferences.
  absl::StatusOr<DominionExport> dominion =
      LoadDominionExport(Source("datasets/dominion/alaska-2024-partial"));
  ASSERT_THAT(dominion.status(), IsOk());
  const ContestElection& e = dominion->election;
  absl::StatusOr<CvrJobResult> job =
      ReadDominionExport(*dominion, Source("datasets/dominion/alaska-2024-partial"), {});
  ASSERT_THAT(job.status(), IsOk());
  const uint32_t president = *e.FindContest("4");
  const uint32_t house = *e.FindContest("7");
  auto votes = [&](uint32_t contest, const char* candidate) {
    return job->tally.Cell(e.scope(),
                           e.SelectionCell(contest, *e.FindSelection(contest, candidate)));
  };
  auto figure = [&](uint32_t contest, ContestFigure f) {
    return job->tally.Cell(e.scope(), e.FigureCell(contest, f));
  };
  EXPECT_EQ(e.contests[president].kind, ContestKind::kRanked);
  EXPECT_EQ(votes(president, "543"), 115u);  // Trump/Vance
  EXPECT_EQ(votes(president, "542"), 72u);   // Harris/Walz
  EXPECT_EQ(figure(president, ContestFigure::kOvervotes), 2u);
  EXPECT_EQ(figure(president, ContestFigure::kUndervotes), 1u);
  EXPECT_EQ(figure(president, ContestFigure::kBallots), 197u);
  EXPECT_EQ(votes(house, "517"), 66u);  // Begich, Nick
  EXPECT_EQ(votes(house, "518"), 45u);
  EXPECT_EQ(figure(house, ContestFigure::kInvalid), 73u);
  EXPECT_EQ(figure(house, ContestFigure::kBallots), 124u);
  EXPECT_EQ(figure(house, ContestFigure::kUndervotes), 8u);
  EXPECT_EQ(job->tally.Cell(e.scope(), ContestElection::kBallotsCastCell), 197u);
  EXPECT_EQ(job->inputs.size(), 10u);
  EXPECT_EQ(job->inputs.front().path,
            Source("datasets/dominion/alaska-2024-partial/CvrExport_1730.json"));
}

TEST(DominionManifestTest, TheInvalidContestConditionIsReadFromTheManifest) {
  absl::StatusOr<DominionExport> dominion =
      LoadDominionExport(Source("datasets/dominion/alaska-2024-partial"));
  ASSERT_THAT(dominion.status(), IsOk());
  ASSERT_TRUE(dominion->invalid_condition.has_value());
  EXPECT_EQ(*dominion->invalid_condition, 7);
  EXPECT_TRUE(dominion->election.invalid_figure);
  // 4 units of structure per portion: the portion, and one leaf per counting group.
  EXPECT_EQ(dominion->groups.size(), 5u);
  EXPECT_EQ(dominion->leaves.size(), dominion->portions.size() * 5);
}

TEST(DominionManifestTest, MissingAndInconsistentManifestsNameTheFileAndEntry) {
  auto build = [](std::map<std::string, std::string> files) {
    return BuildDominionExport(
        "export", [&](absl::string_view name) -> absl::StatusOr<std::optional<std::string>> {
          const auto it = files.find(std::string(name));
          if (it == files.end()) return std::optional<std::string>();
          return std::optional<std::string>(it->second);
        });
  };
  const std::string contests =
      R"({"Version":"5","List":[{"Id":1,"Description":"Mayor","VoteFor":1,"NumOfRanks":0}]})";
  const std::string candidates =
      R"({"Version":"5","List":[{"Id":10,"Description":"A","ContestId":1,"Type":"Regular"}]})";
  const std::string portions =
      R"({"Version":"5","List":[{"Id":5,"Description":"P5","ExternalId":"005","PrecinctId":1}]})";
  EXPECT_THAT(build({{"ContestManifest.json", contests}, {"CandidateManifest.json", candidates}})
                  .status()
                  .message(),
              HasSubstr("export: PrecinctPortionManifest.json is missing"));
  EXPECT_THAT(build({{"ContestManifest.json", contests},
                     {"CandidateManifest.json",
                      R"({"List":[{"Id":10,"Description":"A","ContestId":2,"Type":"Regular"}]})"},
                     {"PrecinctPortionManifest.json", portions}})
                  .status()
                  .message(),
              HasSubstr("export/CandidateManifest.json: List[0].ContestId: 2 is not a contest of "
                        "ContestManifest.json"));
  EXPECT_THAT(build({{"ContestManifest.json", R"({"List":[{"Id":1,"VoteFor":0}]})"},
                     {"CandidateManifest.json", candidates},
                     {"PrecinctPortionManifest.json", portions}})
                  .status()
                  .message(),
              HasSubstr("export/ContestManifest.json: List[0].VoteFor: 0; expected 1 to 2^20"));
  EXPECT_THAT(build({{"ContestManifest.json", "{\"List\": [}"},
                     {"CandidateManifest.json", candidates},
                     {"PrecinctPortionManifest.json", portions}})
                  .status()
                  .message(),
              HasSubstr("export/ContestManifest.json: not valid JSON"));
  EXPECT_THAT(build({{"ContestManifest.json", contests},
                     {"CandidateManifest.json", candidates},
                     {"PrecinctPortionManifest.json", portions},
                     {"PrecinctManifest.json", R"({"List":[{"Id":2,"Description":"x"}]})"}})
                  .status()
                  .message(),
              HasSubstr("export/PrecinctPortionManifest.json: List[0].PrecinctId: 1 is not a "
                        "precinct of PrecinctManifest.json"));
  EXPECT_THAT(
      build({{"ContestManifest.json", R"({"List":[{"Id":1,"VoteFor":1},{"Id":1,"VoteFor":1}]})"},
             {"CandidateManifest.json", candidates},
             {"PrecinctPortionManifest.json", portions}})
          .status()
          .message(),
      HasSubstr("export/ContestManifest.json: List[1].Id: 1 is given twice"));
}

TEST(DominionSessionFilesTest, NaturalOrderOfTheirNumbers) {
  std::vector<std::string> names = {"CvrExport_12.json", "CvrExport_3.json", "CvrExport.json",
                                    "CvrExport_100.json", "CvrExport_3b.json"};
  SortDominionSessionFiles(&names);
  EXPECT_EQ(names,
            (std::vector<std::string>{"CvrExport.json", "CvrExport_3.json", "CvrExport_3b.json",
                                      "CvrExport_12.json", "CvrExport_100.json"}));
  EXPECT_TRUE(IsDominionSessionFile("CvrExport_1.json"));
  EXPECT_FALSE(IsDominionSessionFile("ContestManifest.json"));
  EXPECT_FALSE(IsDominionSessionFile("CvrExport_1.json.bak"));
}

// ---- canvass generate --format dominion ----

// A results report's ballots as a Dominion export reconcile to its figures (keyed by the
// export's ids, units by external id) cell for cell, from a folder and from a zip, and
// tally exactly as the same ballots written as NIST CVRs.
TEST(DominionGeneratorTest, GeneratedExportsReconcileAndMatchTheNistRecordsOfTheSameBallots) {
  absl::StatusOr<ContestElection> base =
      LoadResultsReportJson(Source("datasets/nist-cdf/gen-01/err-gen-01.json"));
  ASSERT_THAT(base.status(), IsOk());
  TempDir temp;
  DominionGeneratorOptions options;
  options.ballots = CvrGeneratorOptions{3, 11, true};
  options.sessions_per_file = 13;
  absl::StatusOr<DominionGenerator> generator = DominionGenerator::Plan(*base, options);
  ASSERT_THAT(generator.status(), IsOk());
  EXPECT_EQ(generator->sessions(), 120u);  // gen-01's 40 ballots, times 3

  // The same ballots as NIST CVRs, tallied against the report at scale 3.
  absl::StatusOr<ContestElection> scaled = ScaleContestElection(*base, 3);
  ASSERT_THAT(scaled.status(), IsOk());
  absl::StatusOr<CvrGenerator> nist = CvrGenerator::Plan(*base, options.ballots);
  ASSERT_THAT(nist.status(), IsOk());
  const std::string nist_path = temp.File("cvr.json");
  std::FILE* out = std::fopen(nist_path.c_str(), "wb");
  ASSERT_NE(out, nullptr);
  ASSERT_THAT(nist->Write(out, nist_path).status(), IsOk());
  ASSERT_EQ(std::fclose(out), 0);
  absl::StatusOr<CvrJobResult> nist_job = ReadCvrFiles(*scaled, {nist_path}, {});
  ASSERT_THAT(nist_job.status(), IsOk());

  for (const std::string name : {"export", "export.zip"}) {
    SCOPED_TRACE(name);
    const std::string path = temp.File(name);
    absl::StatusOr<DominionWriteSummary> summary = generator->Write(path);
    ASSERT_THAT(summary.status(), IsOk());
    EXPECT_EQ(summary->sessions, 120u);
    EXPECT_EQ(summary->files, 10u);  // 120 sessions, 13 a file
    EXPECT_EQ(DominionReportedPath(path), temp.File("export-reported.csv"));
    absl::StatusOr<DominionExport> dominion = LoadDominionExport(path);
    ASSERT_THAT(dominion.status(), IsOk());
    EXPECT_TRUE(dominion->election.synthetic);
    const std::string csv = ReadFileBytes(DominionReportedPath(path));
    ASSERT_THAT(ReadReportedFiguresCsv(DominionReportedPath(path), csv, &dominion->election),
                IsOk());
    for (const int threads : {1, 2}) {
      CvrJobOptions job_options;
      job_options.threads = threads;
      absl::StatusOr<CvrJobResult> job = ReadDominionExport(*dominion, path, job_options);
      ASSERT_THAT(job.status(), IsOk());
      const ContestElection& e = dominion->election;
      EXPECT_EQ(job->tally.counted, 120u);
      EXPECT_EQ(job->tally.TotalRejected(), 0u);
      const Reconciliation2 rec = ReconcileCells(e, job->tally, {});
      EXPECT_TRUE(rec.match);
      // Every row of the CSV but its header is a cell compared.
      EXPECT_EQ(rec.cells_compared,
                static_cast<uint64_t>(std::count(csv.begin(), csv.end(), '\n') - 1));
      // The adjudicated sessions are those written with a Modified version.
      uint64_t modified = 0;
      if (name == "export") {
        for (const CvrInput& input : job->inputs) {
          const std::string text = ReadFileBytes(input.path);
          for (size_t at = text.find("\"Modified\""); at != std::string::npos;
               at = text.find("\"Modified\"", at + 1)) {
            ++modified;
          }
        }
        EXPECT_EQ(job->tally.adjudicated, modified);
        EXPECT_GT(modified, 0u);
      }
      // The contests and selections are the report's, in its order: the scope's totals
      // equal the NIST records' of the same ballots.
      for (uint32_t c = 0; c < scaled->contests.size(); ++c) {
        for (uint32_t s = 0; s < scaled->contests[c].selections.size(); ++s) {
          EXPECT_EQ(job->tally.Cell(e.scope(), e.SelectionCell(c, s)),
                    nist_job->tally.Cell(scaled->scope(), scaled->SelectionCell(c, s)))
              << scaled->contests[c].id << " " << scaled->contests[c].selections[s].id;
        }
        for (const ContestFigure f :
             {ContestFigure::kOvervotes, ContestFigure::kUndervotes, ContestFigure::kBallots}) {
          EXPECT_EQ(job->tally.Cell(e.scope(), e.FigureCell(c, f)),
                    nist_job->tally.Cell(scaled->scope(), scaled->FigureCell(c, f)));
        }
      }
    }
  }
}

// A results report's own figures (an ERR) taken into the export generated from it: units by
// external id (the report's unit ids), contests and selections by external id (their
// names collide: two "Write-in"s, a primary's two "President" contests), every cell of the
// report compared and matching; a report of another election is refused at the first cell
// that matches nothing (gen-03's president shares gen-01's contest name, not its candidates).
TEST(DominionGeneratorTest, TheResultsReportItselfReconcilesAgainstItsGeneratedExport) {
  TempDir temp;
  for (const char* name : {"gen-01", "gen-03", "prim-01"}) {
    SCOPED_TRACE(name);
    absl::StatusOr<ContestElection> report = LoadResultsReportJson(
        Source(absl::StrCat("datasets/nist-cdf/", name, "/err-", name, ".json")));
    ASSERT_THAT(report.status(), IsOk());
    absl::StatusOr<DominionGenerator> generator = DominionGenerator::Plan(*report, {});
    ASSERT_THAT(generator.status(), IsOk());
    const std::string path = temp.File(absl::StrCat(name, ".zip"));
    ASSERT_THAT(generator->Write(path).status(), IsOk());
    absl::StatusOr<DominionExport> dominion = LoadDominionExport(path);
    ASSERT_THAT(dominion.status(), IsOk());
    ASSERT_THAT(TakeReportedFigures(*report, "err.json", &dominion->election), IsOk());
    EXPECT_EQ(dominion->election.reported.size(), report->reported.size());
    absl::StatusOr<CvrJobResult> job = ReadDominionExport(*dominion, path, {});
    ASSERT_THAT(job.status(), IsOk());
    const Reconciliation2 rec = ReconcileCells(dominion->election, job->tally, {});
    EXPECT_TRUE(rec.match);
    EXPECT_EQ(rec.cells_compared, report->reported.size());
  }
  absl::StatusOr<ContestElection> other =
      LoadResultsReportJson(Source("datasets/nist-cdf/gen-03/err-gen-03.json"));
  ASSERT_THAT(other.status(), IsOk());
  absl::StatusOr<DominionExport> gen01 = LoadDominionExport(temp.File("gen-01.zip"));
  ASSERT_THAT(gen01.status(), IsOk());
  EXPECT_THAT(
      TakeReportedFigures(*other, "err-gen-03.json", &gen01->election).message(),
      HasSubstr("err-gen-03.json: selection 'cs-president-ak' (Arthur Kumar) of contest "
                "'cc-president' is neither a selection id, external id nor name of contest '2'"));
}

}  // namespace
}  // namespace canvass
