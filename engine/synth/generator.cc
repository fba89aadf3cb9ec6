// Calibrated synthetic streams (see generator.h for the method).
#include "engine/synth/generator.h"

#include <algorithm>
#include <bit>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "engine/base/apportion.h"
#include "engine/base/check.h"
#include "engine/base/checked_math.h"
#include "engine/base/status_macros.h"
#include "engine/synth/internal/permutation.h"
#include "engine/synth/random.h"
#include "tbb/parallel_for.h"

namespace canvass {
namespace {

// Stream keys, so that different uses of the seed never share draws.
constexpr uint64_t kUnitSplitStream = 1;
constexpr uint64_t kLayoutStream = 2;

// Successes among `draws` taken without replacement from `population` items of which
// `successes` are marked: normal approximation to the hypergeometric law, clamped to
// the feasible range so that every later draw stays feasible.
uint64_t DrawHypergeometric(uint64_t population, uint64_t successes, uint64_t draws, uint64_t bits1,
                            uint64_t bits2) {
  uint64_t low = draws > population - successes ? draws - (population - successes) : 0;
  uint64_t high = std::min(draws, successes);
  if (low >= high) return low;
  double p = static_cast<double>(successes) / static_cast<double>(population);
  double mean = static_cast<double>(draws) * p;
  double variance = mean * (1.0 - p) * static_cast<double>(population - draws) /
                    static_cast<double>(population - 1);
  double value = std::nearbyint(mean + std::sqrt(variance) * StandardNormal(bits1, bits2));
  if (!(value >= static_cast<double>(low))) return low;  // also catches NaN
  if (value >= static_cast<double>(high)) return high;
  return static_cast<uint64_t>(value);
}

}  // namespace

absl::StatusOr<Election> ScaleElection(const Election& election, uint64_t scale) {
  CANVASS_CHECK(scale >= 1);
  Election scaled = election;
  for (Contest& contest : scaled.contests) {
    if (!contest.reported) continue;
    CANVASS_RETURN_IF_ERROR(CheckedMul(contest.reported->cast, scale, &contest.reported->cast,
                                       "reported cast x scale"));
    for (size_t c = 0; c < contest.reported->choices.size(); ++c) {
      std::optional<uint64_t>& figure = contest.reported->choices[c];
      if (!figure) continue;
      CANVASS_RETURN_IF_ERROR(
          CheckedMul(*figure, scale, &*figure,
                     absl::StrCat("reported ", contest.choices[c].code, " x scale")));
    }
  }
  for (Station& station : scaled.stations) {
    CANVASS_RETURN_IF_ERROR(CheckedMul(station.capacity, scale, &station.capacity,
                                       absl::StrCat("capacity of ", station.id, " x scale")));
  }
  scaled.BuildIndexes();
  return scaled;
}

absl::StatusOr<CalibratedStreams> CalibratedStreams::Plan(const Election& election,
                                                          const GeneratorOptions& options) {
  CANVASS_CHECK(std::has_single_bit(options.batch_size) && options.batch_size >= 16 &&
                options.batch_size <= (1u << 16));
  const Contest& contest = election.contest();
  if (!contest.reported || !contest.reported->InternallyConsistent()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "election ", election.id,
        ": calibrated generation needs reported figures for every choice that sum to cast"));
  }
  CalibratedStreams streams;
  streams.election_ = &election;
  streams.options_ = options;
  streams.num_choices_ = static_cast<uint32_t>(contest.choices.size());
  const size_t num_stations = election.stations.size();
  streams.planned_.assign(num_stations * streams.num_choices_, 0);
  std::vector<uint64_t> weights;
  for (const Station& station : election.stations) weights.push_back(station.weight);
  for (ChoiceIndex c = 0; c < streams.num_choices_; ++c) {
    std::vector<uint64_t> parts = ApportionLargestRemainder(*contest.reported->choices[c], weights);
    for (size_t s = 0; s < num_stations; ++s)
      streams.planned_[s * streams.num_choices_ + c] = parts[s];
  }
  // Lay out units: station order, then serial order.
  std::vector<uint64_t> station_ballots(num_stations, 0);
  std::vector<size_t> first_unit(num_stations + 1, 0);
  for (size_t s = 0; s < num_stations; ++s) {
    for (uint32_t c = 0; c < streams.num_choices_; ++c) {
      station_ballots[s] += streams.planned_[s * streams.num_choices_ + c];
    }
    if (station_ballots[s] > election.stations[s].capacity) {
      return absl::InvalidArgumentError(
          absl::StrCat("capacities too small for the reported figures: station ",
                       election.stations[s].id, " has capacity ", election.stations[s].capacity,
                       " but its weighted share is ", station_ballots[s], " ballots"));
    }
    streams.total_ballots_ += station_ballots[s];
    first_unit[s + 1] =
        first_unit[s] + (station_ballots[s] + options.batch_size - 1) / options.batch_size;
  }
  streams.units_.resize(first_unit[num_stations]);
  streams.unit_counts_.assign(streams.units_.size() * streams.num_choices_, 0);
  tbb::parallel_for(size_t{0}, num_stations, [&](size_t s) {
    streams.SplitStationIntoUnits(static_cast<StationIndex>(s), station_ballots[s], first_unit[s]);
  });
  return streams;
}

void CalibratedStreams::SplitStationIntoUnits(StationIndex s, uint64_t station_ballots,
                                              size_t first_unit) {
  std::vector<uint64_t> left(planned_.begin() + static_cast<size_t>(s) * num_choices_,
                             planned_.begin() + static_cast<size_t>(s + 1) * num_choices_);
  uint64_t left_total = station_ballots;
  uint64_t next_seq = 1;
  for (size_t u = first_unit; left_total > 0; ++u) {
    Unit& unit = units_[u];
    unit.station = s;
    unit.size = static_cast<uint32_t>(std::min<uint64_t>(left_total, options_.batch_size));
    unit.first_seq = next_seq;
    unit.counts_at = u * num_choices_;
    uint64_t population = left_total, draws = unit.size;
    for (uint32_t c = 0; c < num_choices_; ++c) {
      uint64_t take = draws;
      if (c + 1 < num_choices_) {
        uint64_t bits1 = KeyedRandom(options_.seed, kUnitSplitStream, (uint64_t{s} << 32) | c, u);
        uint64_t bits2 = Mix64(bits1 ^ 0x5851f42d4c957f2dULL);
        take = DrawHypergeometric(population, left[c], draws, bits1, bits2);
      }
      CANVASS_CHECK(take <= left[c] && take <= draws);
      unit_counts_[unit.counts_at + c] = static_cast<uint32_t>(take);
      population -= left[c];
      left[c] -= take;
      draws -= take;
    }
    CANVASS_CHECK(draws == 0);
    left_total -= unit.size;
    next_seq += unit.size;
  }
}

void CalibratedStreams::Generate(size_t unit_index, BallotBatch* batch) const {
  const Unit& unit = units_[unit_index];
  const uint32_t size = unit.size;
  batch->station = unit.station;
  batch->seq.resize(size);
  batch->choice.resize(size);
  uint64_t* seq = batch->seq.data();
  ChoiceIndex* choice = batch->choice.data();
  RunForKernel(
      options_.kernel,
      [](uint64_t* out, uint32_t n, uint64_t first) CANVASS_KERNEL_BODY {
        for (uint32_t p = 0; p < n; ++p) out[p] = first + p;
      },
      seq, size, unit.first_seq);

  // Thresholds: a position whose permuted value y is >= threshold[j] carries a choice
  // after j. Choices with no ballots in the unit give repeated thresholds, as they must.
  uint32_t thresholds[kMaxChoices];
  uint32_t num_thresholds = 0, cumulative = 0;
  for (uint32_t c = 0; c + 1 < num_choices_; ++c) {
    cumulative += unit_counts_[unit.counts_at + c];
    thresholds[num_thresholds++] = cumulative;
  }
  const int bits = std::max(1, static_cast<int>(std::bit_width(size - 1)));
  const internal::SmallPermutation permutation(
      bits, KeyedRandom(options_.seed, kLayoutStream, unit.station, unit.first_seq));

  thread_local std::vector<uint16_t> permuted;
  permuted.resize(size);
  uint16_t* y = permuted.data();
  if (size == (1u << bits) && bits <= 16) {
    // Full power-of-two unit: no cycle walking, a straight-line loop the compiler
    // vectorizes in 16-bit lanes. Products are taken in 32 bits (a uint16_t product
    // would be an int and could overflow) and only their low 16 bits kept.
    const uint16_t m0 = static_cast<uint16_t>(permutation.multiplier[0]);
    const uint16_t m1 = static_cast<uint16_t>(permutation.multiplier[1]);
    const uint16_t m2 = static_cast<uint16_t>(permutation.multiplier[2]);
    const uint16_t a0 = static_cast<uint16_t>(permutation.addend[0]);
    const uint16_t a1 = static_cast<uint16_t>(permutation.addend[1]);
    const uint16_t a2 = static_cast<uint16_t>(permutation.addend[2]);
    const uint16_t mask = static_cast<uint16_t>(permutation.mask);
    const uint16_t shift = static_cast<uint16_t>(permutation.shift);
    RunForKernel(
        options_.kernel,
        [](uint16_t* out, uint32_t n, uint16_t m0, uint16_t m1, uint16_t m2, uint16_t a0,
           uint16_t a1, uint16_t a2, uint16_t mask, uint16_t shift) CANVASS_KERNEL_BODY {
          for (uint32_t p = 0; p < n; ++p) {
            uint16_t x = static_cast<uint16_t>(p);
            x = static_cast<uint16_t>(static_cast<uint32_t>(x) * m0) & mask;
            x = static_cast<uint16_t>(x ^ (x >> shift));
            x = static_cast<uint16_t>(x + a0) & mask;
            x = static_cast<uint16_t>(static_cast<uint32_t>(x) * m1) & mask;
            x = static_cast<uint16_t>(x ^ (x >> shift));
            x = static_cast<uint16_t>(x + a1) & mask;
            x = static_cast<uint16_t>(static_cast<uint32_t>(x) * m2) & mask;
            x = static_cast<uint16_t>(x ^ (x >> shift));
            x = static_cast<uint16_t>(x + a2) & mask;
            out[p] = x;
          }
        },
        y, size, m0, m1, m2, a0, a1, a2, mask, shift);
  } else {
    // Partial unit: cycle-walk the permutation of [0, 2^bits) down to [0, size).
    for (uint32_t p = 0; p < size; ++p) {
      uint32_t x = permutation(p);
      while (x >= size) x = permutation(x);
      y[p] = static_cast<uint16_t>(x);
    }
  }
  RunForKernel(
      options_.kernel,
      [](ChoiceIndex* out, const uint16_t* permuted_at, uint32_t n, const uint32_t* limits,
         uint32_t num_limits) CANVASS_KERNEL_BODY {
        std::fill(out, out + n, ChoiceIndex{0});
        for (uint32_t j = 0; j < num_limits; ++j) {
          const uint32_t threshold = limits[j];
          if (threshold >= n) break;  // no position reaches it, nor any later one
          const uint16_t t = static_cast<uint16_t>(threshold);
          for (uint32_t p = 0; p < n; ++p) {
            out[p] = static_cast<ChoiceIndex>(out[p] + (permuted_at[p] >= t));
          }
        }
      },
      choice, y, size, thresholds, num_thresholds);
}

}  // namespace canvass
