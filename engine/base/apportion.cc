// Largest-remainder apportionment (see apportion.h).
#include "engine/base/apportion.h"

#include <algorithm>
#include <numeric>

#include "engine/base/check.h"

namespace canvass {

std::vector<uint64_t> ApportionLargestRemainder(uint64_t total,
                                                const std::vector<uint64_t>& weights) {
  std::vector<uint64_t> parts(weights.size(), 0);
  unsigned __int128 weight_sum = 0;
  for (uint64_t w : weights) weight_sum += w;
  if (total == 0) return parts;
  CANVASS_CHECK(weight_sum > 0);
  std::vector<uint64_t> remainders(weights.size());
  uint64_t assigned = 0;
  for (size_t i = 0; i < weights.size(); ++i) {
    unsigned __int128 product = static_cast<unsigned __int128>(total) * weights[i];
    parts[i] = static_cast<uint64_t>(product / weight_sum);
    remainders[i] = static_cast<uint64_t>(product % weight_sum);
    assigned += parts[i];
  }
  // At most weights.size() - 1 units are left over; they go to the largest remainders.
  uint64_t left = total - assigned;
  std::vector<size_t> order(weights.size());
  std::iota(order.begin(), order.end(), size_t{0});
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return remainders[a] > remainders[b]; });
  for (size_t i = 0; i < left; ++i) ++parts[order[i]];
  return parts;
}

}  // namespace canvass
