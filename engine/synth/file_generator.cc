// `canvass generate`: calibrated streams written as ballot files, damaged on request
// (file_generator.h).
#include "engine/synth/file_generator.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <sstream>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "engine/base/bytes.h"
#include "engine/base/check.h"
#include "engine/base/file_util.h"
#include "engine/base/status_macros.h"
#include "engine/base/workers.h"
#include "engine/base/xxhash.h"
#include "engine/io/csv/csv_format.h"
#include "engine/io/cvb/cvb_format.h"
#include "engine/io/input_format.h"
#include "engine/synth/faulty_streams.h"
#include "engine/synth/random.h"
#include "tbb/enumerable_thread_specific.h"
#include "tbb/global_control.h"
#include "tbb/parallel_for.h"
#include "tbb/parallel_pipeline.h"
#include "tbb/task_arena.h"

namespace canvass {
namespace fs = std::filesystem;
namespace {

constexpr uint64_t kFileFaultStream = 8;

absl::string_view FormatExtension(FileFormat format) {
  return format == FileFormat::kCsv ? ".csv" : ".cvb";
}

// A file name for a station id, unique and reversible: bytes outside [A-Za-z0-9.-] become
// %HH (upper-case hex), '_' and '%' included, so that no two ids share a name (X/1, X_1 and
// X 1 are X%2F1, X%5F1 and X%201) and no id takes the unrouted records' "_unrouted".
std::string FileNameFor(absl::string_view station_id, FileFormat format) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string name;
  for (const char c : station_id) {
    const auto byte = static_cast<unsigned char>(c);
    if (std::isalnum(byte) || c == '.' || c == '-') {
      name.push_back(c);
    } else {
      name.append({'%', kHex[byte >> 4], kHex[byte & 15]});
    }
  }
  return absl::StrCat(name, FormatExtension(format));
}

// A code not in `taken`, for records that must carry an unknown station or choice.
template <typename Lookup>
std::string UnusedCode(std::string code, Lookup&& taken) {
  while (taken(code)) code += "?";
  return code;
}

// ---- Generating ----

// One output file being written: buffered, hashed as it grows.
struct OutputFile {
  std::string path;     // its name once complete
  std::string partial;  // where it is written until then: PATH.partial
  bool opened = false;
  bool complete = false;  // renamed to `path`
  std::string station;    // "" for unrouted records
  std::string buffer;
  uint64_t records = 0;
  uint64_t bytes = 0;
  uint32_t blocks = 0;
  XXH3_state_t* hash = nullptr;
};

// The encoded delivery of one work item: bytes per file.
struct EncodedItem {
  std::vector<std::pair<uint32_t, std::string>> chunks;  // file index, bytes
  std::vector<std::pair<uint32_t, uint64_t>> records;    // file index, records
  std::vector<std::pair<uint32_t, uint32_t>> blocks;     // file index, cvb blocks
};

class FileWriter {
 public:
  FileWriter(const Election& election, const GenerateOptions& options)
      : election_(election), options_(options), files_(election.stations.size() + 1) {
    unknown_station_ = UnusedCode("XX-UNROUTED", [&](const std::string& code) {
      return election.FindStation(code).has_value();
    });
    unknown_choice_ = UnusedCode("?", [&](const std::string& code) {
      return election.contest().FindChoice(code).has_value();
    });
  }

  uint32_t FileIndex(StationIndex station) const {
    return station == kUnknownStation ? static_cast<uint32_t>(election_.stations.size()) : station;
  }

  EncodedItem Encode(const FaultyOutput& output) const {
    std::map<uint32_t, std::string> chunks;
    std::map<uint32_t, uint64_t> records;
    std::map<uint32_t, uint32_t> blocks;
    for (const BallotBatch& batch : output.batches) {
      const uint32_t file = FileIndex(batch.station);
      std::string& out = chunks[file];
      records[file] += batch.size();
      if (options_.format == FileFormat::kCvb) {
        AppendCvbBlock(batch, 0, NumChoices(), &out);
        ++blocks[file];
        continue;
      }
      const absl::string_view station = batch.station == kUnknownStation
                                            ? unknown_station_
                                            : election_.stations[batch.station].id;
      for (size_t i = 0; i < batch.size(); ++i) {
        AppendCsvRecord(station, batch.seq[i], ChoiceCode(batch.choice[i]), &out);
      }
    }
    // Corrupt records: damaged CSV lines, or a cvb block's count of damaged records.
    std::map<uint32_t, uint32_t> corrupt_per_file;
    for (const BallotRecord& record : output.corrupt) {
      const uint32_t file = FileIndex(record.station);
      ++records[file];
      if (options_.format == FileFormat::kCvb) {
        ++corrupt_per_file[file];
      } else {
        AppendDamagedCsvRecord(election_.stations[record.station].id, record.seq,
                               ChoiceCode(record.choice), Mix64(record.seq ^ record.station),
                               &chunks[file]);
      }
    }
    for (const auto& [file, count] : corrupt_per_file) {
      BallotBatch empty;
      empty.station = file == election_.stations.size() ? kUnknownStation : file;
      AppendCvbBlock(empty, count, NumChoices(), &chunks[file]);
      ++blocks[file];
    }
    EncodedItem item;
    for (auto& [file, bytes] : chunks) item.chunks.emplace_back(file, std::move(bytes));
    item.records.assign(records.begin(), records.end());
    item.blocks.assign(blocks.begin(), blocks.end());
    return item;
  }

  absl::Status Append(const EncodedItem& item) {
    for (const auto& [file, count] : item.records) files_[file].records += count;
    for (const auto& [file, count] : item.blocks) files_[file].blocks += count;
    for (const auto& [index, bytes] : item.chunks) {
      OutputFile& file = Open(index);
      Write(file, bytes);
      if (file.buffer.size() >= (1u << 20)) CANVASS_RETURN_IF_ERROR(Spill(file));
    }
    return absl::OkStatus();
  }

  // Writes trailers and remaining buffers; returns the manifest's file list.
  absl::StatusOr<std::vector<ManifestFile>> Close() {
    std::vector<ManifestFile> listed;
    for (OutputFile& file : files_) {
      if (file.hash == nullptr) continue;
      if (options_.format == FileFormat::kCvb) {
        std::string trailer;
        AppendCvbTrailer(file.blocks, file.records, &trailer);
        Write(file, trailer);
      }
      CANVASS_RETURN_IF_ERROR(Spill(file));
      CANVASS_RETURN_IF_ERROR(Sync(file));
      const XXH128_hash_t hash = XXH3_128bits_digest(file.hash);
      XXH3_freeState(file.hash);
      file.hash = nullptr;
      listed.push_back({fs::path(file.path).filename().string(), file.station, file.records,
                        file.bytes, Hex128(hash.high64, hash.low64)});
    }
    // Only once every file is whole on disk are they given their names.
    for (OutputFile& file : files_) {
      if (file.opened) CANVASS_RETURN_IF_ERROR(Rename(file));
    }
    std::sort(listed.begin(), listed.end(),
              [](const ManifestFile& a, const ManifestFile& b) { return a.file < b.file; });
    return listed;
  }

  // After a failure: removes every file still being written, so that nothing in the folder
  // looks like a complete ballot file.
  void Abandon() {
    for (OutputFile& file : files_) {
      if (!file.opened) continue;
      unlink((file.complete ? file.path : file.partial).c_str());
      if (file.hash != nullptr) XXH3_freeState(file.hash);
      file.hash = nullptr;
    }
  }

 private:
  uint32_t NumChoices() const { return static_cast<uint32_t>(election_.contest().choices.size()); }
  absl::string_view ChoiceCode(ChoiceIndex choice) const {
    return choice < election_.contest().choices.size()
               ? absl::string_view(election_.contest().choices[choice].code)
               : absl::string_view(unknown_choice_);
  }

  OutputFile& Open(uint32_t index) {
    OutputFile& file = files_[index];
    if (file.hash != nullptr) return file;
    const bool unrouted = index == election_.stations.size();
    file.station = unrouted ? "" : election_.stations[index].id;
    file.path = (fs::path(options_.out_directory) /
                 (unrouted ? absl::StrCat("_unrouted", FormatExtension(options_.format))
                           : FileNameFor(file.station, options_.format)))
                    .string();
    file.partial = file.path + ".partial";
    file.opened = true;
    file.hash = XXH3_createState();
    XXH3_128bits_reset(file.hash);
    std::string header;
    if (options_.format == FileFormat::kCvb) {
      AppendCvbHeader(ElectionFingerprint(election_), &header);
    } else {
      AppendCsvHeader(&header);
    }
    Write(file, header);
    return file;
  }

  void Write(OutputFile& file, absl::string_view bytes) {
    XXH3_128bits_update(file.hash, bytes.data(), bytes.size());
    file.buffer.append(bytes.data(), bytes.size());
    file.bytes += bytes.size();
  }

  absl::Status Spill(OutputFile& file) {
    std::FILE* out = std::fopen(file.partial.c_str(), "ab");
    if (out == nullptr) {
      return absl::DataLossError(
          absl::StrCat(file.partial, ": cannot create: ", std::strerror(errno)));
    }
    errno = 0;
    const size_t written = std::fwrite(file.buffer.data(), 1, file.buffer.size(), out);
    int error = written == file.buffer.size() ? 0 : errno;
    if (std::fclose(out) != 0 && error == 0) error = errno;
    file.buffer.clear();
    if (error != 0) {
      return absl::DataLossError(
          absl::StrCat(file.partial, ": cannot write: ", std::strerror(error)));
    }
    return absl::OkStatus();
  }

  // The file is whole: on disk before it gets its name.
  absl::Status Sync(OutputFile& file) {
    const int fd = open(file.partial.c_str(), O_WRONLY | O_CLOEXEC);
    if (fd < 0 || fsync(fd) != 0) {
      const int error = errno;
      if (fd >= 0) close(fd);
      return absl::DataLossError(
          absl::StrCat(file.partial, ": fsync failed: ", std::strerror(error)));
    }
    close(fd);
    return absl::OkStatus();
  }

  absl::Status Rename(OutputFile& file) {
    if (std::rename(file.partial.c_str(), file.path.c_str()) != 0) {
      return absl::DataLossError(absl::StrCat(file.path, ": cannot rename ", file.partial,
                                              " over it: ", std::strerror(errno)));
    }
    file.complete = true;
    return absl::OkStatus();
  }

  const Election& election_;
  const GenerateOptions& options_;
  std::vector<OutputFile> files_;  // one per station, then the unrouted one
  std::string unknown_station_;
  std::string unknown_choice_;
};

// Flips bit `bit` of byte `offset` of the file at `path`, in place.
absl::Status FlipBit(const std::string& path, uint64_t offset, int bit) {
  const int fd = open(path.c_str(), O_RDWR | O_CLOEXEC);
  uint8_t value = 0;
  const off_t at = static_cast<off_t>(offset);
  bool ok = fd >= 0 && pread(fd, &value, 1, at) == 1;
  value = static_cast<uint8_t>(value ^ (1u << bit));
  ok = ok && pwrite(fd, &value, 1, at) == 1;
  const int error = errno;
  if (fd >= 0) close(fd);
  if (!ok) {
    return absl::DataLossError(absl::StrCat(path, ": cannot flip a bit: ", std::strerror(error)));
  }
  return absl::OkStatus();
}

absl::Status DamageFiles(const GenerateOptions& options, const Manifest& manifest,
                         const Election& election, std::vector<std::string>* log) {
  const FileFaultPlan& plan = options.file_faults;
  for (size_t i = 0; i < manifest.files.size(); ++i) {
    const std::string path = (fs::path(options.out_directory) / manifest.files[i].file).string();
    const uint64_t bits = KeyedRandom(options.seed, kFileFaultStream, i);
    const uint64_t size = manifest.files[i].bytes;
    std::error_code error;
    auto failed = [&](absl::string_view what) {
      return absl::DataLossError(absl::StrCat(path, ": cannot ", what, ": ", error.message()));
    };
    if (UnitOpen(Mix64(bits + 1)) < plan.missing) {
      if (!fs::remove(path, error) || error) return failed("delete");
      log->push_back(absl::StrCat(manifest.files[i].file, ": deleted"));
      continue;
    }
    if (size > 0 && UnitOpen(Mix64(bits + 2)) < plan.truncate) {
      const uint64_t keep = Mix64(bits + 3) % size;
      fs::resize_file(path, keep, error);
      if (error) return failed("truncate");
      log->push_back(
          absl::StrCat(manifest.files[i].file, ": truncated to ", keep, " of ", size, " bytes"));
    }
    if (size > 0 && UnitOpen(Mix64(bits + 4)) < plan.flip) {
      const uint64_t current = fs::file_size(path, error);
      if (error) return failed("measure");
      if (current == 0) continue;
      const uint64_t byte = Mix64(bits + 5) % current;
      CANVASS_RETURN_IF_ERROR(FlipBit(path, byte, static_cast<int>(Mix64(bits + 6) % 8)));
      log->push_back(absl::StrCat(manifest.files[i].file, ": bit flipped at byte ", byte));
    }
  }
  for (uint32_t e = 0; e < plan.extra; ++e) {
    // An extra file no manifest lists: two well-formed ballots for the first station.
    const std::string name = absl::StrCat("extra-", e, FormatExtension(options.format));
    std::string bytes;
    BallotBatch batch;
    batch.station = 0;
    batch.seq = {1, 2};
    batch.choice = {0, 0};
    if (options.format == FileFormat::kCvb) {
      AppendCvbHeader(ElectionFingerprint(election), &bytes);
      AppendCvbBlock(batch, 0, static_cast<uint32_t>(election.contest().choices.size()), &bytes);
      AppendCvbTrailer(1, 2, &bytes);
    } else {
      AppendCsvHeader(&bytes);
      for (uint64_t seq : batch.seq) {
        AppendCsvRecord(election.stations[0].id, seq, election.contest().choices[0].code, &bytes);
      }
    }
    CANVASS_RETURN_IF_ERROR(
        WriteFileAtomically((fs::path(options.out_directory) / name).string(), bytes));
    log->push_back(absl::StrCat(name, ": extra file written"));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<FileFaultPlan> FileFaultPlan::Parse(absl::string_view spec) {
  FileFaultPlan plan;
  if (spec.empty()) return plan;
  for (absl::string_view item : absl::StrSplit(spec, ',')) {
    std::vector<absl::string_view> parts = absl::StrSplit(item, absl::MaxSplits('=', 1));
    auto bad = [&](absl::string_view what) {
      return absl::InvalidArgumentError(absl::StrCat("--file-faults: item \"", item, "\": ", what));
    };
    if (parts.size() != 2) return bad("expected name=value");
    double value = 0;
    auto [end, error] = std::from_chars(parts[1].data(), parts[1].data() + parts[1].size(), value);
    if (error != std::errc() || end != parts[1].data() + parts[1].size() || !std::isfinite(value)) {
      return bad("not a number");
    }
    if (parts[0] == "extra") {
      if (value < 0 || value > 1000 || value != std::floor(value))
        return bad("expected a count 0..1000");
      plan.extra = static_cast<uint32_t>(value);
      continue;
    }
    if (value < 0 || value > 1) return bad("probability outside 0..1");
    if (parts[0] == "truncate") {
      plan.truncate = value;
    } else if (parts[0] == "flip") {
      plan.flip = value;
    } else if (parts[0] == "missing") {
      plan.missing = value;
    } else {
      return bad(absl::StrCat("unknown file fault \"", parts[0],
                              "\"; expected truncate, flip, missing or extra"));
    }
  }
  return plan;
}

absl::StatusOr<GenerateResult> GenerateFiles(const Election& scaled,
                                             const CalibratedStreams& streams,
                                             const GenerateOptions& options) {
  std::error_code error;
  fs::create_directories(options.out_directory, error);
  if (error || !fs::is_directory(options.out_directory, error)) {
    return absl::InvalidArgumentError(
        absl::StrCat("--out ", options.out_directory, ": cannot create the folder",
                     error ? absl::StrCat(": ", error.message()) : ": a file is in the way"));
  }
  fs::directory_iterator entries(options.out_directory, error);
  for (; !error && entries != fs::directory_iterator(); entries.increment(error)) {
    const fs::directory_entry& entry = *entries;
    if (HasInputSuffix(entry.path().filename().string()) ||
        entry.path().filename() == kManifestFileName) {
      return absl::InvalidArgumentError(
          absl::StrCat("--out ", options.out_directory, ": already holds ballot files (",
                       entry.path().filename().string(), "); choose an empty folder"));
    }
  }
  if (error) {
    return absl::InvalidArgumentError(absl::StrCat("--out ", options.out_directory,
                                                   ": cannot list the folder: ", error.message()));
  }
  FaultyStreams faulty(scaled, streams, options.faults, options.seed);
  FileWriter writer(scaled, options);
  const uint32_t num_stations = static_cast<uint32_t>(scaled.stations.size());
  const uint32_t num_choices = static_cast<uint32_t>(scaled.contest().choices.size());
  tbb::enumerable_thread_specific<Tally> truths(Tally(num_stations, num_choices));
  tbb::enumerable_thread_specific<FaultCounts> fired;
  absl::Status status;
  size_t next_item = 0;
  const int workers = ResolveThreads(options.threads);
  RunOnWorkers(workers, [&] {
    tbb::parallel_pipeline(
        static_cast<size_t>(2 * workers),
        tbb::make_filter<void, size_t>(tbb::filter_mode::serial_in_order,
                                       [&](tbb::flow_control& control) -> size_t {
                                         if (next_item >= faulty.num_items()) {
                                           control.stop();
                                           return 0;
                                         }
                                         return next_item++;
                                       }) &
            tbb::make_filter<size_t, EncodedItem>(tbb::filter_mode::parallel,
                                                  [&](size_t item) {
                                                    FaultyOutput output;
                                                    faulty.Generate(item, &output, &truths.local(),
                                                                    &fired.local());
                                                    return writer.Encode(output);
                                                  }) &
            tbb::make_filter<EncodedItem, void>(tbb::filter_mode::serial_in_order,
                                                [&](const EncodedItem& item) {
                                                  if (status.ok()) status = writer.Append(item);
                                                }));
  });
  if (!status.ok()) {
    writer.Abandon();
    return status;
  }
  GenerateResult result;
  Manifest& manifest = result.manifest;
  manifest.election = scaled.id;
  manifest.election_fingerprint = ElectionFingerprint(scaled);
  manifest.format = options.format == FileFormat::kCsv ? "csv" : "cvb";
  manifest.seed = options.seed;
  manifest.scale = options.scale;
  manifest.faults = options.faults.ToString();
  Tally predicted(num_stations, num_choices);
  for (const Tally& truth : truths) predicted.Merge(truth);
  FaultCounts all_fired;
  for (const FaultCounts& counts : fired) all_fired.Merge(counts);
  for (int f = 0; f < kNumFaults; ++f) {
    manifest.fired.emplace_back(FaultName(static_cast<Fault>(f)), all_fired.fired[f]);
  }
  manifest.predicted = std::move(predicted);
  absl::StatusOr<std::vector<ManifestFile>> listed = writer.Close();
  if (!listed.ok()) {
    writer.Abandon();
    return listed.status();
  }
  manifest.files = *std::move(listed);
  for (const ManifestFile& file : manifest.files) result.bytes_written += file.bytes;
  result.files_written = manifest.files.size();
  // The manifest last, atomically: a folder with a manifest is a complete folder. Without
  // one, the files written are removed too: a failed `generate` leaves nothing to read.
  absl::Status manifest_written =
      WriteFileAtomically((fs::path(options.out_directory) / kManifestFileName).string(),
                          ManifestToJson(manifest, scaled));
  if (!manifest_written.ok()) {
    writer.Abandon();
    return manifest_written;
  }
  CANVASS_RETURN_IF_ERROR(DamageFiles(options, manifest, scaled, &result.damaged_files));
  return result;
}

}  // namespace canvass
