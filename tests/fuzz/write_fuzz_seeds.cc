// Writes valid seed inputs for the binary fuzz targets (a cvb file and a checkpoint for
// the fuzz election), which a fuzzer could hardly find on its own behind checksums, and
// ballot CSVs of 80 lines (0.8-1.3 KiB: many of the small parse chunks the csv_reader target
// sets, under its 1 KiB cap) in the shapes that reach each of the CSV reader's paths:
// station-sorted lines of one length (fixed-layout groups), stations interleaved line by line with
// serials of every length (line groups and the scalar structural loop), CRLF, and runs broken by
// quoted and malformed lines. Usage: write_fuzz_seeds CVB_DIR CHECKPOINT_DIR CSV_DIR
#include <cstdio>
#include <fstream>
#include <string>

#include "engine/aggregate/aggregator.h"
#include "engine/election/election.h"
#include "engine/ingest/checkpoint.h"
#include "engine/io/cvb/cvb_format.h"

namespace {

// The CSV seeds, for the csv_reader target's election (stations S1 and S2; codes A, B and
// INV). A fixed linear congruential sequence keeps them the same on every run.
void WriteCsvSeeds(const std::string& dir) {
  uint64_t state = 20240705;
  auto next = [&state](uint64_t bound) {
    state = state * 6364136223846793005ULL + 1442695040888963407ULL;
    return (state >> 33) % bound;
  };
  static const char* const kCodes[] = {"A", "B", "INV"};
  const std::string header = "station,seq,choice\n";
  std::string sorted = header, interleaved = header, crlf = header, broken = header;
  for (uint64_t i = 0; i < 80; ++i) {
    // One line length: serials of five digits and one-byte codes.
    sorted += "S1," + std::to_string(10000 + i) + "," + kCodes[next(2)] + "\n";
    // Serials of 1 to 16 digits, stations and codes at random.
    uint64_t serial = 1 + next(9);
    for (uint64_t d = next(16); d > 0; --d) serial = serial * 10 + next(10);
    interleaved += std::string(next(2) == 0 ? "S1," : "S2,") + std::to_string(serial) + "," +
                   kCodes[next(3)] + "\n";
    crlf += "S2," + std::to_string(1 + i) + "," + kCodes[next(3)] + (next(4) == 0 ? "\n" : "\r\n");
    switch (next(64)) {
      case 0:
        broken += "\"S1\"," + std::to_string(i) + ",A\n";  // quoted: the general parser
        break;
      case 1:
        broken += "S1,," + std::string(kCodes[next(3)]) + "\n";  // malformed: empty serial
        break;
      default:
        broken += "S1," + std::to_string(100 + i) + "," + kCodes[next(3)] + "\n";
    }
  }
  std::ofstream(dir + "/long_sorted.csv", std::ios::binary) << sorted;
  std::ofstream(dir + "/long_interleaved.csv", std::ios::binary) << interleaved;
  std::ofstream(dir + "/long_crlf.csv", std::ios::binary) << crlf;
  std::ofstream(dir + "/long_broken.csv", std::ios::binary) << broken;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 4) {
    std::fprintf(stderr, "usage: write_fuzz_seeds CVB_DIR CHECKPOINT_DIR CSV_DIR\n");
    return 2;
  }
  WriteCsvSeeds(argv[3]);
  auto election = canvass::ParseElection(
      R"({"id":"fuzz","title":"t","choices":[{"code":"A"},{"code":"B"}],"roster":"r.csv"})",
      "election.json", "station,country,capacity\nS1,AA,10\nS2,BB,5\n", "r.csv");
  if (!election.ok()) return 1;
  canvass::BallotBatch batch;
  batch.station = 0;
  batch.seq = {1, 2, 3, 3, 11};
  batch.choice = {0, 1, 1, 0, 0};
  canvass::BallotBatch other;
  other.station = 1;
  other.seq = {5, 1};
  other.choice = {1, 7};
  // Version 2 (the writer's choice of encodings: plain serials with packed choices, plain
  // serials with plain choices, then a run with packed choices and a run with plain ones)
  // and the same first two blocks in version 1.
  canvass::BallotBatch run;
  run.station = 0;
  run.seq = {4, 5, 6, 7, 8, 9, 10};
  run.choice = {1, 0, 1, 1, 0, 0, 1};
  canvass::BallotBatch run_unknown = run;
  run_unknown.station = 1;
  run_unknown.seq = {1, 2, 3};
  run_unknown.choice = {1, 0xFF, 0};
  std::string cvb;
  canvass::AppendCvbHeader(canvass::ElectionFingerprint(*election), &cvb);
  canvass::AppendCvbBlock(batch, 1, 2, &cvb);
  canvass::AppendCvbBlock(other, 0, 2, &cvb);
  canvass::AppendCvbBlock(run, 0, 2, &cvb);
  canvass::AppendCvbBlock(run_unknown, 0, 2, &cvb);
  canvass::AppendCvbTrailer(4, 18, &cvb);
  std::ofstream(std::string(argv[1]) + "/seed.cvb", std::ios::binary) << cvb;
  std::string v1;
  canvass::AppendCvbHeader(canvass::ElectionFingerprint(*election), &v1, 1);
  canvass::AppendCvbBlockV1(batch, 1, &v1);
  canvass::AppendCvbBlockV1(other, 0, &v1);
  canvass::AppendCvbTrailer(2, 8, &v1);
  std::ofstream(std::string(argv[1]) + "/seed-v1.cvb", std::ios::binary) << v1;

  canvass::Aggregator aggregator(*election);
  aggregator.Add(batch);
  aggregator.Add(other);
  canvass::Checkpoint checkpoint;
  checkpoint.election_fingerprint = canvass::ElectionFingerprint(*election);
  checkpoint.tasks_total = 2;
  checkpoint.done.push_back({0, 40, 3, 3, 1, {2}, UINT64_MAX, ""});
  checkpoint.aggregator = {aggregator.Snapshot()};
  std::ofstream(std::string(argv[2]) + "/seed.ckpt", std::ios::binary)
      << canvass::EncodeCheckpoint(checkpoint);
  std::ofstream(std::string(argv[2]) + "/state.bin", std::ios::binary) << checkpoint.aggregator[0];
  // A log: the whole frame, then an append frame of the changes after one more record.
  aggregator.Add(batch);
  std::ofstream(std::string(argv[2]) + "/seed-log.ckpt", std::ios::binary)
      << canvass::EncodeCheckpoint(checkpoint)
      << canvass::EncodeCheckpointAppend(checkpoint, 1, {{40, 60, 1, 1, 0, {}, UINT64_MAX, ""}},
                                         aggregator.SnapshotChanges());
  return 0;
}
