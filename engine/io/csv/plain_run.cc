// The fast path's staging and the choice of plain-run kernel (see plain_run.h).
#include "engine/io/csv/plain_run.h"

#include "engine/base/check.h"

namespace canvass::csv_internal {

PlainRunKernel PlainRunFor(Kernel kernel) {
  CANVASS_CHECK(KernelSupported(kernel));
  switch (kernel) {
    case Kernel::kPortable:
      return &portable::ParsePlainRun;
#if defined(CANVASS_X86_KERNELS)
    case Kernel::kAvx2:
      return &avx2::ParsePlainRun;
    case Kernel::kAvx512:
      return &avx512::ParsePlainRun;
#endif
    default:
      break;
  }
  return &portable::ParsePlainRun;
}

void PlainRunState::AllocateStaging(size_t records) {
  CANVASS_CHECK(staged == 0 && records >= 8);
  staging_records = records;
  staged_seq.reset(new uint64_t[records]);
  staged_choice.reset(new ChoiceIndex[records]);
  staged_station.reset(new StationIndex[records]);
  grouped_seq.reset(new uint64_t[records]);
  grouped_choice.reset(new ChoiceIndex[records]);
}

void PlainRunState::FlushStaging() {
  const size_t n = staged;
  staged = 0;
  if (n == 0) return;
  const StationIndex* const stations = staged_station.get();
  size_t changes = 0;
  for (size_t i = 1; i < n; ++i) changes += stations[i] != stations[i - 1];  // vectorized
  if (changes < n / 64) {
    // Long runs of one station (station-sorted files, a range across two of them): each
    // run is handed on where it lies, without a copy.
    size_t begin = 0;
    for (size_t i = 1; i <= n; ++i) {
      if (i < n && stations[i] == stations[begin]) continue;
      (*sink)(BatchView{stations[begin], staged_seq.get() + begin, staged_choice.get() + begin,
                        i - begin});
      begin = i;
    }
    return;
  }
  if (mixed_sink != nullptr && *mixed_sink) {
    (*mixed_sink)(MixedBatchView{stations, staged_seq.get(), staged_choice.get(), n});
    return;
  }
  // Stations interleaved: a counting sort into one station-homogeneous group per station,
  // in the order the stations first appear. Costs O(records), whatever the roster's size.
  std::vector<StationIndex>& present = present_stations;
  present.clear();
  for (size_t i = 0; i < n; ++i) {
    if (station_fill[stations[i]]++ == 0) present.push_back(stations[i]);
  }
  uint32_t offset = 0;
  for (StationIndex station : present) {
    const uint32_t count = station_fill[station];
    station_fill[station] = offset;  // now where the station's next record goes
    offset += count;
  }
  for (size_t i = 0; i < n; ++i) {
    const uint32_t to = station_fill[stations[i]]++;
    grouped_seq[to] = staged_seq[i];
    grouped_choice[to] = staged_choice[i];
  }
  uint32_t begin = 0;
  for (StationIndex station : present) {
    const uint32_t end = station_fill[station];
    (*sink)(
        BatchView{station, grouped_seq.get() + begin, grouped_choice.get() + begin, end - begin});
    station_fill[station] = 0;
    begin = end;
  }
}

}  // namespace canvass::csv_internal
