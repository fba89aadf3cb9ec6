// Collectives built on RankGroup's two primitives (rank_group.h).
#include "engine/base/rank_group.h"

#include <algorithm>
#include <string>

#include "absl/strings/str_cat.h"
#include "engine/base/bytes.h"
#include "engine/base/xxhash.h"

namespace canvass {
namespace {
constexpr uint64_t kMaxSum = (uint64_t{1} << 63) - 1;
}  // namespace

absl::Status AgreeOnStatus(const RankGroup& group, const absl::Status& mine) {
  std::string encoded;
  PutLittleEndian<uint32_t>(static_cast<uint32_t>(mine.code()), &encoded);
  encoded.append(mine.message().data(), mine.message().size());
  const std::vector<std::string> all = group.AllGather(encoded);
  // A failure every rank met alike (the same input, read the same way) is the job's own
  // and keeps its message; one particular to some ranks names the first of them.
  if (std::all_of(all.begin(), all.end(), [&](const std::string& s) { return s == all[0]; })) {
    return mine;
  }
  for (size_t r = 0; r < all.size(); ++r) {
    absl::string_view in = all[r];
    uint32_t code = 0;
    if (!ConsumeLittleEndian(&in, &code)) {
      return absl::InternalError(absl::StrCat("rank ", r, ": sent no status"));
    }
    if (code == static_cast<uint32_t>(absl::StatusCode::kOk)) continue;
    return absl::Status(static_cast<absl::StatusCode>(code), absl::StrCat("rank ", r, ": ", in));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<uint64_t>> SumOverRanks(const RankGroup& group,
                                                   const std::vector<uint64_t>& mine) {
  std::string encoded;
  encoded.reserve(mine.size() * sizeof(uint64_t));
  for (uint64_t value : mine) PutLittleEndian(value, &encoded);
  const std::vector<std::string> all = group.AllGather(encoded);
  std::vector<uint64_t> sum(mine.size(), 0);
  for (size_t r = 0; r < all.size(); ++r) {
    if (all[r].size() != encoded.size()) {
      return absl::InvalidArgumentError(absl::StrCat("rank ", r, " sent ", all[r].size() / 8,
                                                     " figures to sum, rank ", group.rank(), " ",
                                                     mine.size()));
    }
    for (size_t i = 0; i < sum.size(); ++i) {
      const uint64_t value = LoadLittleEndian<uint64_t>(all[r].data() + i * sizeof(uint64_t));
      if (value > kMaxSum - sum[i]) {
        return absl::OutOfRangeError(
            absl::StrCat("a figure summed over ranks passes 2^63 - 1 at rank ", r));
      }
      sum[i] += value;
    }
  }
  return sum;
}

uint64_t StationHash(absl::string_view station_id) {
  return XXH3_64bits(station_id.data(), station_id.size());
}

}  // namespace canvass
