// canvass convert in-process: every Dominion trap export, the real Alaska slice, a
// generated interleaved export, NIST's own CVR reports (JSON and XML) and the NIST
// bad-input catalogue, each converted to a NIST CVR JSON report and to a cvb file of
// contest ballots and read back: the same figures at every unit (the cvb copy: the same
// tally, rejections included; the NIST copy: the same but for the records NIST has no form
// for, which convert counts as not converted), and the same election.
#include "engine/ingest/convert.h"

#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "engine/ingest/cvr_job.h"
#include "engine/ingest/dominion_job.h"
#include "engine/io/cvb/contest_cvb.h"
#include "engine/io/nist/err_json.h"
#include "engine/synth/dominion_generator.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/temp_dir.h"

namespace canvass {
namespace {

using ::canvass::testing::IsOk;
using ::canvass::testing::ReadFileBytes;
using ::canvass::testing::TempDir;
using ::canvass::testing::WriteFileBytes;
using ::testing::HasSubstr;

std::string Source(const std::string& relative) {
  return absl::StrCat(CANVASS_SOURCE_DIR, "/", relative);
}

// The definition read back is the source's: ids, kinds, vote_for, selections, units and
// their composition, external ids, the invalid figure.
void ExpectSameElection(const ContestElection& want, const ContestElection& got) {
  EXPECT_EQ(got.id, want.id);
  EXPECT_EQ(got.scope_id, want.scope_id);
  EXPECT_EQ(got.invalid_figure, want.invalid_figure);
  ASSERT_EQ(got.contests.size(), want.contests.size());
  for (size_t c = 0; c < want.contests.size(); ++c) {
    const ElectionContest& a = want.contests[c];
    const ElectionContest& b = got.contests[c];
    EXPECT_EQ(b.id, a.id);
    EXPECT_EQ(b.name, a.name);
    EXPECT_EQ(b.vote_for, a.vote_for);
    EXPECT_EQ(b.kind, a.kind);
    EXPECT_EQ(b.external_id, a.external_id);
    ASSERT_EQ(b.selections.size(), a.selections.size()) << a.id;
    for (size_t s = 0; s < a.selections.size(); ++s) {
      EXPECT_EQ(b.selections[s].id, a.selections[s].id);
      EXPECT_EQ(b.selections[s].write_in, a.selections[s].write_in);
      EXPECT_EQ(b.selections[s].external_id, a.selections[s].external_id);
      if (!a.selections[s].name.empty()) {
        EXPECT_EQ(b.selections[s].name, a.selections[s].name);
      }
    }
  }
  ASSERT_EQ(got.units.size(), want.units.size());
  for (size_t u = 0; u < want.units.size(); ++u) {
    EXPECT_EQ(got.units[u].id, want.units[u].id);
    EXPECT_EQ(got.units[u].external_id, want.units[u].external_id);
    EXPECT_EQ(got.units[u].name, want.units[u].name);
  }
  EXPECT_EQ(got.cells_per_unit(), want.cells_per_unit());
}

// The copy's figures: every cell at every unit, the counted, duplicate, conflict and
// adjudicated figures; the rejections the target holds.
void ExpectSameFigures(const ContestTally& want, const ContestTally& got,
                       const ConvertResult& converted, ConvertTarget target) {
  EXPECT_EQ(got.cells, want.cells);
  EXPECT_EQ(got.counted, want.counted);
  EXPECT_EQ(got.adjudicated, want.adjudicated);
  uint64_t left_out = 0;
  for (int r = 0; r < kNumCastRejects; ++r) {
    const uint64_t not_converted = converted.job.not_converted[r];
    if (target == ConvertTarget::kCvb) {
      EXPECT_EQ(not_converted, 0u);
    }
    EXPECT_EQ(got.rejected[r] + not_converted, want.rejected[r])
        << CastRejectName(static_cast<CastReject>(r));
    left_out += not_converted;
  }
  EXPECT_EQ(got.records_read + left_out, want.records_read);
  EXPECT_EQ(converted.records_written, got.records_read);
  if (target == ConvertTarget::kCvb) {
    EXPECT_EQ(got, want);
  }
}

struct ReadBack {
  ContestElection election;
  CvrJobResult job;
};

ReadBack ReadCopy(const std::string& path, int threads, uint64_t chunk_bytes) {
  ReadBack back;
  absl::StatusOr<ContestElection> election = ElectionOfCvrReports({path});
  EXPECT_THAT(election.status(), IsOk());
  if (!election.ok()) return back;
  back.election = *std::move(election);
  CvrJobOptions options;
  options.threads = threads;
  options.chunk_bytes = chunk_bytes;
  // As `canvass aggregate` reads it: contests the records mark invalid add the figure.
  absl::StatusOr<CvrJobResult> job = ReadShowingInvalid(
      &back.election, [&] { return ReadCvrFiles(back.election, {path}, options); });
  EXPECT_THAT(job.status(), IsOk());
  if (job.ok()) back.job = *std::move(job);
  return back;
}

constexpr ConvertTarget kTargets[] = {ConvertTarget::kNistJson, ConvertTarget::kCvb};

void CheckDominionExport(const std::string& path) {
  SCOPED_TRACE(path);
  absl::StatusOr<DominionExport> dominion = LoadDominionExport(path);
  ASSERT_THAT(dominion.status(), IsOk());
  absl::StatusOr<CvrJobResult> direct = ReadDominionExport(*dominion, path, {});
  ASSERT_THAT(direct.status(), IsOk());
  TempDir temp;
  for (const ConvertTarget target : kTargets) {
    // Converted at 1 and 2 threads and in 1 KiB chunks: the copy is the same every time.
    std::string first_copy;
    for (const auto& [threads, chunk] :
         {std::pair{1, uint64_t{4} << 20}, std::pair{2, uint64_t{1024}}}) {
      const std::string out = temp.File(target == ConvertTarget::kCvb ? "copy.cvb" : "copy.json");
      CvrJobOptions options;
      options.threads = threads;
      options.chunk_bytes = chunk;
      absl::StatusOr<ConvertResult> converted = ConvertCvrRecords(
          dominion->election, target, out, path, options,
          [&](const CvrJobOptions& o) { return ReadDominionExport(*dominion, path, o); });
      ASSERT_THAT(converted.status(), IsOk());
      EXPECT_EQ(converted->job.tally, direct->tally);
      EXPECT_FALSE(std::filesystem::exists(out + ".partial"));
      const std::string bytes = ReadFileBytes(out);
      EXPECT_EQ(converted->bytes_written, bytes.size());
      if (first_copy.empty()) {
        first_copy = bytes;
      } else {
        EXPECT_EQ(bytes, first_copy) << "the copy depends on threads or chunks";
      }
      for (const int read_threads : {1, 2}) {
        const ReadBack back = ReadCopy(out, read_threads, chunk);
        ExpectSameElection(dominion->election, back.election);
        ExpectSameFigures(direct->tally, back.job.tally, *converted, target);
      }
    }
  }
}

TEST(ConvertTest, AlaskaSliceReadsBackToTheSameFigures) {
  CheckDominionExport(Source("datasets/dominion/alaska-2024-partial"));
}

TEST(ConvertTest, EveryDominionTrapExportReadsBackToTheSameFigures) {
  for (const char* name : {"conflict", "duplicate", "invalid-contest", "modified", "multi-card",
                           "no-cards", "unknown"}) {
    CheckDominionExport(Source(absl::StrCat("tests/data/dominion/", name)));
  }
}

// The trap exports hold every kind of rejection: the NIST copy leaves out exactly the
// records rejected before the identity rules, the cvb copy keeps them with where they were.
TEST(ConvertTest, RejectedRecordsAreKeptInCvbAndCountedAsNotConvertedInNist) {
  const std::string path = Source("tests/data/dominion/unknown");
  absl::StatusOr<DominionExport> dominion = LoadDominionExport(path);
  ASSERT_THAT(dominion.status(), IsOk());
  TempDir temp;
  const auto convert = [&](ConvertTarget target, const std::string& out) {
    return ConvertCvrRecords(
        dominion->election, target, out, path, {},
        [&](const CvrJobOptions& o) { return ReadDominionExport(*dominion, path, o); });
  };
  absl::StatusOr<ConvertResult> nist = convert(ConvertTarget::kNistJson, temp.File("u.json"));
  ASSERT_THAT(nist.status(), IsOk());
  EXPECT_EQ(nist->job.not_converted[static_cast<int>(CastReject::kMalformed)], 1u);
  EXPECT_EQ(nist->job.not_converted[static_cast<int>(CastReject::kUnknownUnit)], 3u);
  EXPECT_EQ(nist->job.not_converted[static_cast<int>(CastReject::kUnknownContest)], 2u);
  EXPECT_EQ(nist->job.not_converted[static_cast<int>(CastReject::kUnknownSelection)], 2u);
  EXPECT_EQ(nist->records_written, 2u);
  absl::StatusOr<ConvertResult> cvb = convert(ConvertTarget::kCvb, temp.File("u.cvb"));
  ASSERT_THAT(cvb.status(), IsOk());
  EXPECT_EQ(cvb->records_written, 10u);
  const ReadBack back = ReadCopy(temp.File("u.cvb"), 1, 4 << 20);
  ASSERT_FALSE(back.job.examples.empty());
  // Each rejected record says why, and where its first reader found it.
  for (const CastRejectExample& example : back.job.examples) {
    EXPECT_THAT(example.location, HasSubstr("u.cvb: byte "));
    EXPECT_THAT(example.why, HasSubstr(absl::StrCat("(converted from ", path, "/CvrExport")));
  }
}

TEST(ConvertTest, GeneratedInterleavedExportReadsBackToTheSameFigures) {
  absl::StatusOr<ContestElection> base =
      LoadResultsReportJson(Source("datasets/nist-cdf/gen-01/err-gen-01.json"));
  ASSERT_THAT(base.status(), IsOk());
  DominionGeneratorOptions options;
  options.ballots = CvrGeneratorOptions{5, 7, true};
  options.sessions_per_file = 17;
  absl::StatusOr<DominionGenerator> generator = DominionGenerator::Plan(*base, options);
  ASSERT_THAT(generator.status(), IsOk());
  TempDir temp;
  for (const char* name : {"export", "export.zip"}) {
    ASSERT_THAT(generator->Write(temp.File(name)).status(), IsOk());
    CheckDominionExport(temp.File(name));
  }
}

// NIST's own reports, JSON and XML, against their results reports' elections and their
// own definitions.
TEST(ConvertTest, NistReportsReadBackToTheSameFigures) {
  for (const char* name : {"gen-01", "gen-03", "prim-01"}) {
    for (const char* syntax : {"json", "xml"}) {
      const std::string cvr =
          Source(absl::StrCat("datasets/nist-cdf/", name, "/cvr-", name, ".", syntax));
      SCOPED_TRACE(cvr);
      absl::StatusOr<ContestElection> election = LoadResultsReportJson(
          Source(absl::StrCat("datasets/nist-cdf/", name, "/err-", name, ".json")));
      ASSERT_THAT(election.status(), IsOk());
      absl::StatusOr<CvrJobResult> direct = ReadCvrFiles(*election, {cvr}, {});
      ASSERT_THAT(direct.status(), IsOk());
      TempDir temp;
      for (const ConvertTarget target : kTargets) {
        const std::string out = temp.File(target == ConvertTarget::kCvb ? "c.cvb" : "c.json");
        absl::StatusOr<ConvertResult> converted = ConvertCvrRecords(
            *election, target, out, cvr, {},
            [&](const CvrJobOptions& o) { return ReadCvrFiles(*election, {cvr}, o); });
        ASSERT_THAT(converted.status(), IsOk());
        const ReadBack back = ReadCopy(out, 2, 4 << 20);
        ExpectSameElection(*election, back.election);
        ExpectSameFigures(direct->tally, back.job.tally, *converted, target);
        // Read against the results report too: the reconciliation's election.
        absl::StatusOr<CvrJobResult> against = ReadCvrFiles(*election, {out}, {});
        ASSERT_THAT(against.status(), IsOk());
        EXPECT_EQ(against->tally.cells, direct->tally.cells);
      }
    }
  }
}

// The NIST bad-input catalogue's readable cases: identity fields, devices, declared
// figures, marks not indicated or not allocable, NumberVotes, duplicates across copies,
// conflicts, modified snapshots: the cvb copy gives the same tally, record for record.
TEST(ConvertTest, NistCatalogueCasesReadBackToTheSameTally) {
  absl::StatusOr<ContestElection> election =
      LoadResultsReportJson(Source("tests/data/nist_bad/err-tiny.json"));
  ASSERT_THAT(election.status(), IsOk());
  int converted_cases = 0;
  for (const auto& entry : std::filesystem::directory_iterator(Source("tests/data/nist_bad"))) {
    const std::string path = entry.path().string();
    if (entry.path().filename() == "err-tiny.json") continue;
    absl::StatusOr<CvrJobResult> direct = ReadCvrFiles(*election, {path}, {});
    if (!direct.ok()) continue;  // a case whose file is refused whole: nothing to convert
    SCOPED_TRACE(path);
    TempDir temp;
    for (const ConvertTarget target : kTargets) {
      const std::string out = temp.File(target == ConvertTarget::kCvb ? "c.cvb" : "c.json");
      absl::StatusOr<ConvertResult> converted = ConvertCvrRecords(
          *election, target, out, path, {},
          [&](const CvrJobOptions& o) { return ReadCvrFiles(*election, {path}, o); });
      ASSERT_THAT(converted.status(), IsOk());
      absl::StatusOr<CvrJobResult> back = ReadCvrFiles(*election, {out}, {});
      ASSERT_THAT(back.status(), IsOk());
      ExpectSameFigures(direct->tally, back->tally, *converted, target);
    }
    ++converted_cases;
  }
  EXPECT_GE(converted_cases, 25);
}

// ---- The cvb copy's damage is found and located ----

class ContestCvbDamageTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const std::string path = Source("datasets/dominion/alaska-2024-partial");
    absl::StatusOr<DominionExport> dominion = LoadDominionExport(path);
    ASSERT_THAT(dominion.status(), IsOk());
    election_ = dominion->election;
    CvrJobOptions options;
    options.chunk_bytes = 64 << 10;
    absl::StatusOr<ConvertResult> converted = ConvertCvrRecords(
        election_, ConvertTarget::kCvb, temp_.File("a.cvb"), path, options,
        [&](const CvrJobOptions& o) { return ReadDominionExport(*dominion, path, o); });
    ASSERT_THAT(converted.status(), IsOk());
    bytes_ = ReadFileBytes(temp_.File("a.cvb"));
  }
  absl::Status Read(const std::string& bytes) {
    WriteFileBytes(temp_.File("d.cvb"), bytes);
    return ReadCvrFiles(election_, {temp_.File("d.cvb")}, {}).status();
  }
  TempDir temp_;
  ContestElection election_;
  std::string bytes_;
};

TEST_F(ContestCvbDamageTest, EveryTruncationIsDataLossAtAByteOffset) {
  ASSERT_THAT(Read(bytes_), IsOk());
  // Every cut from inside the header to one byte short, in steps that land everywhere.
  for (size_t size = 40; size < bytes_.size(); size += 997) {
    const absl::Status status = Read(bytes_.substr(0, size));
    EXPECT_EQ(status.code(), absl::StatusCode::kDataLoss) << size << ": " << status;
    EXPECT_THAT(status.message(), HasSubstr("d.cvb: byte ")) << size;
  }
  const absl::Status short_one = Read(bytes_.substr(0, bytes_.size() - 1));
  EXPECT_EQ(short_one.code(), absl::StatusCode::kDataLoss);
}

TEST_F(ContestCvbDamageTest, EveryFlippedByteIsFoundByAChecksum) {
  for (size_t at = 0; at < bytes_.size(); at += 1009) {
    std::string damaged = bytes_;
    damaged[at] = static_cast<char>(damaged[at] ^ 0x20);
    const absl::Status status = Read(damaged);
    EXPECT_FALSE(status.ok()) << "byte " << at;
    EXPECT_THAT(status.message(), HasSubstr("d.cvb: byte ")) << at;
  }
}

TEST_F(ContestCvbDamageTest, BytesAfterTheTrailerAreRefused) {
  const absl::Status status = Read(bytes_ + "x");
  EXPECT_EQ(status.code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(status.message(),
              HasSubstr(absl::StrCat("byte ", bytes_.size(), ": bytes after the trailer")));
}

TEST_F(ContestCvbDamageTest, TheHeaderSaysWhatTheFileIs) {
  absl::StatusOr<ContestCvbHeader> header = ReadContestCvbHeader("a.cvb", bytes_);
  ASSERT_THAT(header.status(), IsOk());
  EXPECT_TRUE(header->invalid_figure);  // Alaska's manifests define InvalidContest
  EXPECT_FALSE(header->synthetic);
  EXPECT_TRUE(LooksLikeContestCvb(bytes_));
  EXPECT_EQ(SniffCvrFormat(bytes_), CvrFormat::kCvbContest);
}

TEST(ConvertTargetTest, NamesAreNistJsonAndCvb) {
  EXPECT_EQ(*ParseConvertTarget("nist-json"), ConvertTarget::kNistJson);
  EXPECT_EQ(*ParseConvertTarget("cvb"), ConvertTarget::kCvb);
  EXPECT_EQ(ParseConvertTarget("csv").status().code(), absl::StatusCode::kInvalidArgument);
}

// A copy that cannot be written: the job's error names it, and nothing is left.
TEST(ConvertTest, AnUnwritableOutputIsAnErrorAndLeavesNothing) {
  const std::string path = Source("tests/data/dominion/duplicate");
  absl::StatusOr<DominionExport> dominion = LoadDominionExport(path);
  ASSERT_THAT(dominion.status(), IsOk());
  absl::StatusOr<ConvertResult> converted = ConvertCvrRecords(
      dominion->election, ConvertTarget::kCvb, "/nonexistent-dir/x.cvb", path, {},
      [&](const CvrJobOptions& o) { return ReadDominionExport(*dominion, path, o); });
  EXPECT_EQ(converted.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(converted.status().message(), HasSubstr("/nonexistent-dir/x.cvb.partial"));
}

}  // namespace
}  // namespace canvass
