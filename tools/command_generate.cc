// canvass generate: writes the election's calibrated streams, optionally with record and
// byte-level faults, as one ballot file per station plus manifest.json (commands.h).
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "engine/base/file_util.h"
#include "engine/ingest/ingest.h"
#include "engine/io/contest_prediction.h"
#include "engine/io/manifest.h"
#include "engine/io/nist/err_json.h"
#include "engine/synth/cvr_generator.h"
#include "engine/synth/dominion_generator.h"
#include "engine/synth/fault_plan.h"
#include "engine/synth/file_generator.h"
#include "engine/synth/generator.h"
#include "tools/commands.h"

namespace canvass::cli {

CLI::App* AddGenerateCommand(CLI::App* app, GenerateFlags* flags) {
  CLI::App* generate = app->add_subcommand(
      "generate",
      "Write the election's calibrated synthetic streams (optionally with faults) "
      "as one file per station plus manifest.json");
  generate->add_option("--out", flags->out, "Output folder (created; must hold no ballot files)")
      ->required();
  generate
      ->add_option("--format", flags->format,
                   "File format: csv or cvb; with --reported, nist-json, cvb (contest ballots) or "
                   "dominion (a Dominion "
                   "CVR export: a folder, or a zip when --out ends in .zip)")
      ->capture_default_str();
  generate->add_option("--reported", flags->reported,
                       "Results report (NIST ERR JSON): write cast vote records (OUT/cvr.json) "
                       "that reproduce its figures at its lowest reported units");
  generate->add_flag("--interleave", flags->interleave,
                     "With --reported: records in a seeded order across units, not unit by "
                     "unit");
  AddDecimal(generate, "--sessions-per-file", &flags->sessions_per_file,
             "With --format dominion: sessions per CvrExport_N.json file", 1, uint64_t{1} << 32);
  generate->add_option("--election", flags->run.report.election_directory,
                       "Election directory; default: the embedded reference election");
  AddDecimal(generate, "--scale", &flags->run.scale,
             "Multiply every reported figure and capacity by K", 1, uint64_t{1} << 40);
  AddDecimal(generate, "--seed", &flags->run.seed, "Generator seed", 0, UINT64_MAX);
  AddThreads(generate, &flags->run.threads);
  generate->add_option("--faults", flags->run.faults,
                       "Record faults, as for run (see docs/STRESS.md)");
  generate->add_option("--file-faults", flags->file_faults,
                       "Byte-level damage after writing: truncate=P,flip=P,missing=P,extra=N");
  return generate;
}

namespace {

// canvass generate --reported ERR.json --format dominion: a synthetic Dominion export.
int GenerateDominion(const GenerateFlags& flags, const ContestElection& election) {
  DominionGeneratorOptions options;
  options.ballots = CvrGeneratorOptions{flags.run.scale, flags.run.seed, flags.interleave};
  options.sessions_per_file = flags.sessions_per_file;
  absl::StatusOr<DominionGenerator> generator = DominionGenerator::Plan(election, options);
  if (!generator.ok()) return Fail(generator.status());
  absl::StatusOr<DominionWriteSummary> summary = generator->Write(flags.out);
  if (!summary.ok()) return Fail(summary.status());
  std::printf(
      "wrote a Dominion CVR export of %llu sessions in %llu CvrExport files (%llu bytes of JSON) "
      "to %s, its reported figures to %s (SYNTHETIC)\n",
      static_cast<unsigned long long>(summary->sessions),
      static_cast<unsigned long long>(summary->files),
      static_cast<unsigned long long>(summary->bytes), flags.out.c_str(),
      DominionReportedPath(flags.out).c_str());
  return kExitMatch;
}

// canvass generate --reported ERR.json: synthetic cast vote records of a results report.
int GenerateCvrs(const GenerateFlags& flags) {
  if (flags.format != "nist-json" && flags.format != "cvb" && flags.format != "dominion") {
    return Fail(absl::InvalidArgumentError(
        absl::StrCat("--format ", flags.format,
                     ": cast vote records are written as nist-json, cvb or dominion")));
  }
  if (!flags.file_faults.empty()) {
    return Fail(absl::InvalidArgumentError(
        "--file-faults applies to ballot files (csv, cvb); cast vote records take record and "
        "unit faults (--faults)"));
  }
  if (!flags.run.faults.empty() && flags.format == "dominion") {
    return Fail(absl::InvalidArgumentError(
        "--faults: a Dominion export is generated without faults; generate nist-json or cvb "
        "records with them"));
  }
  absl::StatusOr<FaultPlan> faults = FaultPlan::Parse(flags.run.faults);
  if (!faults.ok()) return Fail(faults.status());
  absl::StatusOr<ContestElection> election = LoadResultsReportJson(flags.reported);
  if (!election.ok()) return Fail(election.status());
  if (flags.format == "dominion") return GenerateDominion(flags, *election);
  absl::StatusOr<CvrGenerator> generator = CvrGenerator::Plan(
      *election, CvrGeneratorOptions{flags.run.scale, flags.run.seed, flags.interleave, *faults});
  if (!generator.ok()) return Fail(generator.status());
  std::error_code error;
  std::filesystem::create_directories(flags.out, error);
  if (error) {
    return Fail(absl::InvalidArgumentError(
        absl::StrCat(flags.out, ": cannot create the folder: ", error.message())));
  }
  const bool cvb = flags.format == "cvb";
  const std::string path =
      (std::filesystem::path(flags.out) / (cvb ? "cvr.cvb" : "cvr.json")).string();
  std::FILE* out = std::fopen(path.c_str(), "wb");
  if (out == nullptr) {
    return Fail(
        absl::InvalidArgumentError(absl::StrCat(path, ": cannot create: ", std::strerror(errno))));
  }
  ContestPrediction prediction;
  ContestPrediction* predicted = faults->Any() ? &prediction : nullptr;
  absl::StatusOr<uint64_t> bytes =
      cvb ? generator->WriteCvb(out, path, predicted) : generator->Write(out, path, predicted);
  const bool closed = std::fclose(out) == 0;
  if (!bytes.ok()) return Fail(bytes.status());
  if (!closed) return Fail(absl::DataLossError(absl::StrCat(path, ": close failed")));
  if (predicted == nullptr) {
    std::printf("wrote %llu cast vote records (%llu bytes) at %zu units to %s (SYNTHETIC)\n",
                static_cast<unsigned long long>(generator->ballots()),
                static_cast<unsigned long long>(*bytes), generator->generating_units().size(),
                path.c_str());
    return kExitMatch;
  }
  // The ground truth beside the folder (inside it, a .json would be read as records).
  const std::string prediction_path = CvrPredictionPath(flags.out);
  if (absl::Status written =
          WriteFileAtomically(prediction_path, ContestPredictionToJson(prediction, *election));
      !written.ok()) {
    return Fail(written);
  }
  std::string fired;
  for (const auto& [name, count] : prediction.fired) {
    absl::StrAppend(&fired, fired.empty() ? "" : ", ", name, " ", count);
  }
  std::printf(
      "wrote %llu records of %llu cast vote records (%llu bytes) at %zu units to %s "
      "(SYNTHETIC)\n  faults %s\n  fired  %s\n  predicted figures: %s (check with "
      "--predicted %s)\n",
      static_cast<unsigned long long>(prediction.tally.records_read),
      static_cast<unsigned long long>(generator->ballots()),
      static_cast<unsigned long long>(*bytes), generator->generating_units().size(), path.c_str(),
      prediction.faults.c_str(), fired.c_str(), prediction_path.c_str(), prediction_path.c_str());
  return kExitMatch;
}

}  // namespace

int GenerateCommand(const GenerateFlags& flags) {
  if (!flags.reported.empty()) return GenerateCvrs(flags);
  absl::StatusOr<FaultPlan> faults = FaultPlan::Parse(flags.run.faults);
  if (!faults.ok()) return Fail(faults.status());
  absl::StatusOr<FileFaultPlan> file_faults = FileFaultPlan::Parse(flags.file_faults);
  if (!file_faults.ok()) return Fail(file_faults.status());
  if (flags.format != "csv" && flags.format != "cvb") {
    return Fail(absl::InvalidArgumentError(
        absl::StrCat("--format: expected csv or cvb, got \"", flags.format, "\"")));
  }
  absl::StatusOr<Election> election = LoadElection(flags.run.report.election_directory);
  if (!election.ok()) return Fail(election.status());
  absl::StatusOr<Election> scaled = ScaleElection(*election, flags.run.scale);
  if (!scaled.ok()) return Fail(scaled.status());
  absl::StatusOr<CalibratedStreams> streams =
      CalibratedStreams::Plan(*scaled, GeneratorOptions{flags.run.seed});
  if (!streams.ok()) return Fail(streams.status());
  GenerateOptions options;
  options.out_directory = flags.out;
  options.format = flags.format == "csv" ? FileFormat::kCsv : FileFormat::kCvb;
  options.seed = flags.run.seed;
  options.scale = flags.run.scale;
  options.threads = flags.run.threads;
  options.faults = *faults;
  options.file_faults = *file_faults;
  absl::StatusOr<GenerateResult> result = GenerateFiles(*scaled, *streams, options);
  if (!result.ok()) return Fail(result.status());
  std::printf("wrote %llu files (%llu bytes) and %s to %s\n",
              static_cast<unsigned long long>(result->files_written),
              static_cast<unsigned long long>(result->bytes_written), kManifestFileName,
              flags.out.c_str());
  for (const std::string& line : result->damaged_files)
    std::printf("  damaged: %s\n", line.c_str());
  return kExitMatch;
}

}  // namespace canvass::cli
