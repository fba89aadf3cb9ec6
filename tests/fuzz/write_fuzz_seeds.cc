// Writes valid seed inputs for the binary fuzz targets (a cvb file and a checkpoint for
// the fuzz election), which a fuzzer could hardly find on its own behind checksums.
// Usage: write_fuzz_seeds CVB_DIR CHECKPOINT_DIR
#include <cstdio>
#include <fstream>
#include <string>

#include "engine/aggregate/aggregator.h"
#include "engine/election/election.h"
#include "engine/io/cvb_format.h"
#include "engine/pipeline/checkpoint.h"

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: write_fuzz_seeds CVB_DIR CHECKPOINT_DIR\n");
    return 2;
  }
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
  checkpoint.aggregator = aggregator.Snapshot();
  std::ofstream(std::string(argv[2]) + "/seed.ckpt", std::ios::binary)
      << canvass::EncodeCheckpoint(checkpoint);
  std::ofstream(std::string(argv[2]) + "/state.bin", std::ios::binary) << checkpoint.aggregator;
  return 0;
}
