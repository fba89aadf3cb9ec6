// Exact proportional splitting of an integer total, used wherever a reported figure is
// divided among stations or chunks and the parts must add up to the whole exactly.
#ifndef CANVASS_ENGINE_BASE_APPORTION_H_
#define CANVASS_ENGINE_BASE_APPORTION_H_

#include <cstdint>
#include <vector>

namespace canvass {

// Splits `total` into parts proportional to `weights` by the largest-remainder (Hamilton)
// method: each part is floor(total * w / W) or one more, the parts sum to `total`
// exactly, and ties in the remainder go to the lower index, so the split is a pure
// function of its inputs. Products are taken in 128 bits, so no figure below 2^63 and no
// weight below 2^63 can overflow.
// Requires: sum(weights) > 0 or total == 0; sum(weights) < 2^64.
std::vector<uint64_t> ApportionLargestRemainder(uint64_t total,
                                                const std::vector<uint64_t>& weights);

}  // namespace canvass

#endif  // CANVASS_ENGINE_BASE_APPORTION_H_
