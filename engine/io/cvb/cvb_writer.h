// Writes one cvb file from records of any stations in any order (a central scanner's
// output, an interleaved feed, a converted export): each station's records are gathered
// into blocks of up to `block_records`, and a block is written when it fills, so the file's
// blocks stay station-homogeneous (the format requires it) while their stations
// interleave as the records did. Memory: one block per station that has records pending.
//
// Thread safety: a writer belongs to one thread at a time.
//
// Usage:
//   CvbStreamWriter writer(election);
//   for (...) writer.Add(station, seq, choice);
//   std::string file = writer.Finish();
#ifndef CANVASS_ENGINE_IO_CVB_CVB_WRITER_H_
#define CANVASS_ENGINE_IO_CVB_CVB_WRITER_H_

#include <cstdint>
#include <string>
#include <vector>

#include "engine/ballot/batch.h"
#include "engine/election/election.h"
#include "engine/io/cvb/cvb_format.h"

namespace canvass {

class CvbStreamWriter {
 public:
  // Requires: `election` outlives the writer; 1 <= block_records <= kCvbMaxBlockRecords.
  explicit CvbStreamWriter(const Election& election, uint32_t block_records = 1u << 14);

  // One record: `station` a roster index or kUnknownStation, `choice` a contest index or
  // kUnknownChoice, as a reader would have produced them.
  void Add(StationIndex station, uint64_t seq, ChoiceIndex choice);

  // The whole file: header, every block (pending ones in roster order, then the unknown
  // station's), trailer. Requires: called once, after the last Add().
  std::string Finish();

  // Blocks written so far (all of them after Finish()).
  uint32_t blocks() const { return blocks_; }

 private:
  void WriteBlock(BallotBatch& batch);

  const Election& election_;
  const uint32_t block_records_;
  std::vector<BallotBatch> pending_;  // per roster station, then one for kUnknownStation
  std::string out_;
  uint32_t blocks_ = 0;
  uint64_t records_ = 0;
  bool finished_ = false;
};

}  // namespace canvass

#endif  // CANVASS_ENGINE_IO_CVB_CVB_WRITER_H_
