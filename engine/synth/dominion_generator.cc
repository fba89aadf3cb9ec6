// DominionGenerator: CvrGenerator's ballots as a Dominion CVR export (dominion_generator.h).
#include "engine/synth/dominion_generator.h"

#include <archive.h>
#include <archive_entry.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/strip.h"
#include "engine/base/json_text.h"
#include "engine/synth/random.h"

namespace canvass {
namespace {

// A CSV field, quoted when it must be.
std::string CsvField(absl::string_view text) {
  if (text.find_first_of(",\"\r\n") == absl::string_view::npos) return std::string(text);
  std::string out = "\"";
  for (const char c : text) {
    if (c == '"') out.push_back('"');
    out.push_back(c);
  }
  out.push_back('"');
  return out;
}

// Where the export's files go: a folder, or the members of a zip.
class ExportSink {
 public:
  virtual ~ExportSink() = default;
  virtual absl::Status Add(const std::string& name, const std::string& bytes) = 0;
  virtual absl::Status Close() = 0;
};

absl::Status WriteWholeFile(const std::string& path, const std::string& bytes) {
  std::FILE* file = std::fopen(path.c_str(), "wb");
  if (file == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": cannot create: ", std::strerror(errno)));
  }
  const bool ok = std::fwrite(bytes.data(), 1, bytes.size(), file) == bytes.size();
  if (std::fclose(file) != 0 || !ok) {
    return absl::DataLossError(absl::StrCat(path, ": write failed"));
  }
  return absl::OkStatus();
}

class FolderSink final : public ExportSink {
 public:
  explicit FolderSink(std::string folder) : folder_(std::move(folder)) {}
  absl::Status Add(const std::string& name, const std::string& bytes) override {
    return WriteWholeFile(absl::StrCat(folder_, "/", name), bytes);
  }
  absl::Status Close() override { return absl::OkStatus(); }

 private:
  std::string folder_;
};

class ZipSink final : public ExportSink {
 public:
  static absl::StatusOr<std::unique_ptr<ZipSink>> Open(const std::string& path) {
    struct archive* writer = archive_write_new();
    if (archive_write_set_format_zip(writer) != ARCHIVE_OK ||
        archive_write_open_filename(writer, path.c_str()) != ARCHIVE_OK) {
      const std::string why = archive_error_string(writer) ? archive_error_string(writer) : "?";
      archive_write_free(writer);
      return absl::InvalidArgumentError(absl::StrCat(path, ": cannot create: ", why));
    }
    return std::unique_ptr<ZipSink>(new ZipSink(path, writer));
  }
  ~ZipSink() override {
    if (writer_ != nullptr) archive_write_free(writer_);
  }
  absl::Status Add(const std::string& name, const std::string& bytes) override {
    archive_write_zip_set_compression_deflate(writer_);
    struct archive_entry* entry = archive_entry_new();
    archive_entry_set_pathname(entry, name.c_str());
    archive_entry_set_filetype(entry, AE_IFREG);
    archive_entry_set_perm(entry, 0644);
    archive_entry_set_size(entry, static_cast<la_int64_t>(bytes.size()));
    const bool ok = archive_write_header(writer_, entry) == ARCHIVE_OK &&
                    archive_write_data(writer_, bytes.data(), bytes.size()) ==
                        static_cast<la_ssize_t>(bytes.size());
    archive_entry_free(entry);
    if (!ok) return Error(name);
    return absl::OkStatus();
  }
  absl::Status Close() override {
    const bool ok = archive_write_close(writer_) == ARCHIVE_OK;
    if (!ok) return Error("the central directory");
    return absl::OkStatus();
  }

 private:
  ZipSink(std::string path, struct archive* writer) : path_(std::move(path)), writer_(writer) {}
  absl::Status Error(absl::string_view what) const {
    const char* why = archive_error_string(writer_);
    return absl::DataLossError(
        absl::StrCat(path_, ": writing ", what, " failed: ", why ? why : "unknown error"));
  }
  std::string path_;
  struct archive* writer_;
};

std::string Manifest(const std::vector<std::string>& entries) {
  std::string out = "{\"Version\":\"5.17.18.1\",\"List\":[";
  for (size_t i = 0; i < entries.size(); ++i) {
    if (i) out.push_back(',');
    out.append(entries[i]);
  }
  out.append("]}");
  return out;
}

}  // namespace

std::string DominionReportedPath(const std::string& out) {
  absl::string_view base = out;
  while (base.size() > 1 && base.back() == '/') base.remove_suffix(1);
  absl::ConsumeSuffix(&base, ".zip");
  return absl::StrCat(base, "-reported.csv");
}

absl::StatusOr<DominionGenerator> DominionGenerator::Plan(const ContestElection& election,
                                                          const DominionGeneratorOptions& options) {
  if (options.sessions_per_file == 0) {
    return absl::InvalidArgumentError("sessions per file: expected at least 1");
  }
  absl::StatusOr<CvrGenerator> ballots = CvrGenerator::Plan(election, options.ballots);
  if (!ballots.ok()) return ballots.status();
  return DominionGenerator(election, *std::move(ballots), options);
}

absl::StatusOr<DominionWriteSummary> DominionGenerator::Write(const std::string& out) const {
  const ContestElection& election = *election_;
  std::unique_ptr<ExportSink> sink;
  if (absl::EndsWith(out, ".zip")) {
    absl::StatusOr<std::unique_ptr<ZipSink>> zip = ZipSink::Open(out);
    if (!zip.ok()) return zip.status();
    sink = *std::move(zip);
  } else {
    if (mkdir(out.c_str(), 0755) != 0 && errno != EEXIST) {
      return absl::InvalidArgumentError(
          absl::StrCat(out, ": cannot create the folder: ", std::strerror(errno)));
    }
    struct stat info {};
    const std::string existing = absl::StrCat(out, "/ContestManifest.json");
    if (stat(existing.c_str(), &info) == 0) {
      return absl::InvalidArgumentError(
          absl::StrCat(out, ": holds an export already (ContestManifest.json); give a new folder"));
    }
    sink = std::make_unique<FolderSink>(out);
  }

  // Contests and candidates: Dominion ids 1.. in order.
  std::vector<std::vector<uint32_t>> candidate_id(election.contests.size());
  std::vector<std::string> contests;
  std::vector<std::string> candidates;
  uint32_t next_candidate = 1;
  for (uint32_t c = 0; c < election.contests.size(); ++c) {
    const ElectionContest& contest = election.contests[c];
    std::string entry = "{\"Description\":";
    AppendJsonString(contest.name.empty() ? contest.id : contest.name, &entry);
    absl::StrAppend(&entry, ",\"Id\":", c + 1, ",\"ExternalId\":");
    AppendJsonString(contest.id, &entry);
    absl::StrAppend(&entry, ",\"DistrictId\":0,\"VoteFor\":", contest.vote_for, ",\"NumOfRanks\":",
                    contest.kind == ContestKind::kRanked ? contest.selections.size() : 0,
                    ",\"NumOfWriteins\":0,\"Disabled\":0,\"Type\":\"Candidacy\"}");
    contests.push_back(std::move(entry));
    for (const Selection& selection : contest.selections) {
      candidate_id[c].push_back(next_candidate);
      std::string candidate = "{\"Description\":";
      AppendJsonString(selection.name.empty() ? selection.id : selection.name, &candidate);
      absl::StrAppend(&candidate, ",\"Id\":", next_candidate++, ",\"ExternalId\":");
      AppendJsonString(selection.id, &candidate);
      absl::StrAppend(&candidate, ",\"ContestId\":", c + 1, ",\"Type\":\"",
                      selection.write_in ? "WriteIn" : "Regular", "\",\"Disabled\":0}");
      candidates.push_back(std::move(candidate));
    }
  }

  // Units: each generating unit is precinct k and portion k; the units above them (but the
  // scope) are districts.
  const std::vector<uint32_t>& generating = ballots_.generating_units();
  std::vector<uint32_t> portion_of(election.units.size(), 0);  // unit -> portion Id (0: none)
  std::vector<uint32_t> district_of(election.units.size(), 0);
  std::vector<std::string> precincts;
  std::vector<std::string> portions;
  std::vector<std::string> districts;
  std::vector<std::string> district_portions;
  for (size_t k = 0; k < generating.size(); ++k) {
    const ReportingUnit& unit = election.units[generating[k]];
    const uint32_t id = static_cast<uint32_t>(k + 1);
    portion_of[generating[k]] = id;
    std::string name;
    AppendJsonString(unit.name.empty() ? unit.id : unit.name, &name);
    std::string external;
    AppendJsonString(unit.id, &external);
    precincts.push_back(
        absl::StrCat("{\"Description\":", name, ",\"Id\":", id, ",\"ExternalId\":", external, "}"));
    portions.push_back(absl::StrCat("{\"Description\":", name, ",\"Id\":", id,
                                    ",\"ExternalId\":", external, ",\"PrecinctId\":", id, "}"));
    const std::vector<uint32_t>& up = election.RollUp(generating[k]);
    for (size_t a = 1; a < up.size(); ++a) {
      if (up[a] == election.scope()) continue;
      if (district_of[up[a]] == 0) {
        district_of[up[a]] = static_cast<uint32_t>(districts.size() + 1);
        const ReportingUnit& district = election.units[up[a]];
        std::string entry = "{\"Description\":";
        AppendJsonString(district.name.empty() ? district.id : district.name, &entry);
        absl::StrAppend(&entry, ",\"Id\":", district_of[up[a]],
                        ",\"DistrictTypeId\":\"district\",\"ExternalId\":");
        AppendJsonString(district.id, &entry);
        entry.push_back('}');
        districts.push_back(std::move(entry));
      }
      district_portions.push_back(
          absl::StrCat("{\"DistrictId\":", district_of[up[a]], ",\"PrecinctPortionId\":", id, "}"));
    }
  }

  auto add = [&](const std::string& name, const std::string& bytes) {
    return sink->Add(name, bytes);
  };
  absl::Status status;
  const std::string notes =
      absl::StrCat("SYNTHETIC: generated by canvass generate from ", election.source, " (seed ",
                   options_.ballots.seed, ", scale ", options_.ballots.scale,
                   "); only the results report's figures are facts");
  // The reader marks the election synthetic from the Description's first word.
  std::string event = "{\"Description\":";
  AppendJsonString(notes, &event);
  event.append(",\"Id\":1,\"ExternalId\":\"\",\"Jurisdiction\":");
  AppendJsonString(election.name.empty() ? election.id : election.name, &event);
  event.push_back('}');
  const std::pair<const char*, std::string> manifests[] = {
      {"ElectionEventManifest.json", Manifest({event})},
      {"ContestManifest.json", Manifest(contests)},
      {"CandidateManifest.json", Manifest(candidates)},
      {"PrecinctManifest.json", Manifest(precincts)},
      {"PrecinctPortionManifest.json", Manifest(portions)},
      {"DistrictManifest.json", Manifest(districts)},
      {"DistrictTypeManifest.json",
       Manifest({"{\"Description\":\"District\",\"Id\":\"district\",\"ExternalId\":\"\"}"})},
      {"DistrictPrecinctPortionManifest.json", Manifest(district_portions)},
      {"CountingGroupManifest.json",
       Manifest({"{\"Description\":\"Election Day\",\"Id\":1,\"ExternalId\":\"\"}",
                 "{\"Description\":\"Absentee\",\"Id\":2,\"ExternalId\":\"\"}"})},
      {"OutstackConditionManifest.json",
       Manifest({"{\"Description\":\"Ambiguous\",\"Id\":0}",
                 "{\"Description\":\"Overvote\",\"Id\":5}",
                 "{\"Description\":\"InvalidContest\",\"Id\":7}"})},
  };
  for (const auto& [name, bytes] : manifests) {
    if (status = add(name, bytes); !status.ok()) return status;
  }

  // The reported figures, keyed by the export's ids (units by their external ids).
  std::string csv = "unit,contest,selection,count\n";
  for (const ReportedCell& cell : election.reported) {
    const std::string unit = cell.unit == election.scope() ? std::string("election")
                                                           : CsvField(election.units[cell.unit].id);
    if (cell.unit != election.scope() && portion_of[cell.unit] == 0 &&
        district_of[cell.unit] == 0) {
      continue;  // a unit with no ballots below it
    }
    const ContestElection::CellMeaning m = election.Meaning(cell.cell);
    std::string contest;
    std::string selection = "ballots_cast";
    if (m.contest) {
      contest = absl::StrCat(*m.contest + 1);
      selection = m.selection ? absl::StrCat(candidate_id[*m.contest][*m.selection])
                              : std::string(ContestFigureName(*m.figure));
    }
    absl::StrAppend(&csv, unit, ",", contest, ",", selection, ",",
                    cell.count * options_.ballots.scale, "\n");
  }
  const std::string reported = DominionReportedPath(out);
  if (status = WriteWholeFile(reported, csv); !status.ok()) return status;

  // The sessions.
  DominionWriteSummary summary;
  std::vector<CvrGenerator::BallotContest> contents;
  std::string file;
  uint64_t manifestation = 1;
  const uint64_t total = ballots_.ballots();
  for (uint64_t r = 0; r < total; ++r) {
    const uint64_t file_number = r / options_.sessions_per_file + 1;
    const uint64_t record = r % options_.sessions_per_file + 1;
    if (record == 1) {
      file = "{\"Version\":\"5.17.18.1\",\"ElectionId\":";
      AppendJsonString(election.id, &file);
      file.append(",\"Sessions\":[");
    } else {
      file.append(",\n");
    }
    uint32_t unit = 0;
    uint64_t ballot = 0;
    ballots_.Record(r, &unit, &ballot, &contents);
    const uint64_t tabulator = 5000 + file_number % 100;
    const int group = KeyedRandom(options_.ballots.seed, r, 2) % 2 == 0 ? 1 : 2;
    const bool adjudicated = KeyedRandom(options_.ballots.seed, r, 3) % 25 == 0;
    absl::StrAppend(&file, "{\"TabulatorId\":", tabulator, ",\"BatchId\":", file_number,
                    ",\"RecordId\":", record, ",\"CountingGroupId\":", group,
                    ",\"ImageMask\":\"D:\\\\NAS\\\\Canvass\\\\Tabulator", tabulator, "\\\\Batch",
                    absl::StrFormat("%05d", file_number), "\\\\Images\\\\", tabulator, "_",
                    absl::StrFormat("%05d_%06d", file_number, record),
                    "*.*\",\"SessionType\":\"ScannedVote\",\"VotingSessionIdentifier\":\"\","
                    "\"UniqueVotingIdentifier\":\"\",");
    auto version = [&](const char* key, bool current, bool marks) {
      absl::StrAppend(&file, "\"", key, "\":{\"PrecinctPortionId\":", portion_of[unit],
                      ",\"BallotTypeId\":1,\"IsCurrent\":", current ? "true" : "false",
                      ",\"Cards\":[{\"Id\":", r + 1, ",\"KeyInId\":", r + 1,
                      ",\"PaperIndex\":0,\"Contests\":[");
      for (size_t k = 0; k < contents.size(); ++k) {
        const CvrGenerator::BallotContest& entry = contents[k];
        const ElectionContest& contest = election.contests[entry.contest];
        const bool ranked = contest.kind == ContestKind::kRanked;
        // Dominion marks a plurality overvote's marks as no votes and states the overvote.
        const bool overvoted = entry.marks.size() > contest.vote_for;
        if (k) file.push_back(',');
        absl::StrAppend(
            &file, "{\"Id\":", entry.contest + 1, ",\"ManifestationId\":", manifestation++,
            ",\"Undervotes\":", marks ? entry.undervotes : contest.vote_for,
            ",\"Overvotes\":", marks ? entry.overvotes : 0, ",\"OutstackConditionIds\":[",
            overvoted && marks ? "5" : "", "],\"Marks\":[");
        for (size_t m = 0; m < entry.marks.size(); ++m) {
          const bool vote = marks && (ranked || !overvoted);
          if (m) file.push_back(',');
          absl::StrAppend(&file, "{\"CandidateId\":", candidate_id[entry.contest][entry.marks[m]],
                          ",\"ManifestationId\":", manifestation++,
                          ",\"PartyId\":0,\"Rank\":1,\"MarkDensity\":", marks ? 100 : 12,
                          ",\"IsAmbiguous\":", marks ? "false" : "true",
                          ",\"IsVote\":", vote ? "true" : "false", ",\"OutstackConditionIds\":[",
                          marks ? (overvoted && !ranked ? "5" : "") : "0", "]}");
        }
        file.append("]}");
      }
      file.append("]}]}");
    };
    if (adjudicated) {
      // Read as faint marks at the scanner, adjudicated to the ballot's votes.
      version("Original", false, false);
      file.push_back(',');
      version("Modified", true, true);
    } else {
      version("Original", true, true);
    }
    file.push_back('}');
    ++summary.sessions;
    if (record == options_.sessions_per_file || r + 1 == total) {
      file.append("]}\n");
      summary.bytes += file.size();
      ++summary.files;
      if (status = add(absl::StrCat("CvrExport_", file_number, ".json"), file); !status.ok()) {
        return status;
      }
    }
  }
  if (status = sink->Close(); !status.ok()) return status;
  return summary;
}

}  // namespace canvass
