// Station-homogeneous cvb blocks from records in any order (see cvb_writer.h).
#include "engine/io/cvb/cvb_writer.h"

#include <utility>

#include "engine/base/check.h"

namespace canvass {

CvbStreamWriter::CvbStreamWriter(const Election& election, uint32_t block_records)
    : election_(election), block_records_(block_records) {
  CANVASS_CHECK(block_records >= 1 && block_records <= kCvbMaxBlockRecords);
  pending_.resize(election.stations.size() + 1);
  for (size_t s = 0; s < election.stations.size(); ++s) {
    pending_[s].station = static_cast<StationIndex>(s);
  }
  pending_.back().station = kUnknownStation;
  AppendCvbHeader(ElectionFingerprint(election), &out_);
}

void CvbStreamWriter::Add(StationIndex station, uint64_t seq, ChoiceIndex choice) {
  CANVASS_CHECK(!finished_);
  CANVASS_CHECK(station == kUnknownStation || station < election_.stations.size());
  BallotBatch& batch = pending_[station == kUnknownStation ? election_.stations.size() : station];
  batch.seq.push_back(seq);
  batch.choice.push_back(choice);
  if (batch.size() == block_records_) WriteBlock(batch);
}

void CvbStreamWriter::WriteBlock(BallotBatch& batch) {
  AppendCvbBlock(batch, 0, static_cast<uint32_t>(election_.contest().choices.size()), &out_);
  ++blocks_;
  records_ += batch.size();
  batch.Clear();
}

std::string CvbStreamWriter::Finish() {
  CANVASS_CHECK(!finished_);
  finished_ = true;
  for (BallotBatch& batch : pending_) {
    if (batch.size() > 0) WriteBlock(batch);
  }
  AppendCvbTrailer(blocks_, records_, &out_);
  return std::move(out_);
}

}  // namespace canvass
