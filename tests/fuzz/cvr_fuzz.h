// What the libFuzzer targets of the CVR readers (cvr_json_fuzz.cc, cvr_xml_fuzz.cc,
// dominion_session_fuzz.cc) check, beyond "no crash": the spans are numbered 0, 1, ..., in
// order, inside the file, each from the syntax's opening to its closing character; scanning
// one record a call hands out the same spans and ends the same way as scanning all at once;
// every record is counted (one ballot, at a unit of the election, its cells within the
// election's) or rejected with a reason, and decoding the records in the reverse order gives
// the same ballots (a decoder's reused buffers carry nothing from one record to the next).
#ifndef CANVASS_TESTS_FUZZ_CVR_FUZZ_H_
#define CANVASS_TESTS_FUZZ_CVR_FUZZ_H_

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "engine/ballot/cast_ballots.h"
#include "engine/election/contests.h"
#include "engine/io/nist/cvr_builder.h"
#include "engine/io/nist/cvr_reader.h"

namespace canvass_fuzz {

// One unit "u"; contest "c" (vote for 1) with selections "a" and "b".
inline const canvass::ContestElection& TinyElection() {
  static const canvass::ContestElection* election = [] {
    auto* built = new canvass::ContestElection;
    built->id = "fuzz";
    built->scope_id = "u";
    built->units.emplace_back().id = "u";
    canvass::ElectionContest& contest = built->contests.emplace_back();
    contest.id = "c";
    contest.vote_for = 1;
    contest.selections.resize(2);
    contest.selections[0].id = "a";
    contest.selections[1].id = "b";
    if (!built->Finalize("fuzz").ok()) std::abort();
    return built;
  }();
  return *election;
}

struct Scan {
  std::vector<canvass::CvrSpan> spans;
  absl::Status status;
};

inline Scan ScanAll(canvass::CvrFormat format, absl::string_view text, uint64_t max_bytes) {
  Scan scan;
  std::unique_ptr<canvass::CvrScanner> scanner = canvass::NewCvrScanner(format, "fuzz", text);
  while (true) {
    const size_t before = scan.spans.size();
    absl::StatusOr<bool> more = scanner->Next(max_bytes, &scan.spans);
    if (!more.ok()) {
      scan.status = more.status();
      if (scan.status.code() != absl::StatusCode::kDataLoss &&
          scan.status.code() != absl::StatusCode::kInvalidArgument) {
        std::abort();
      }
      return scan;
    }
    if (!*more) return scan;
    // A call that says more is left hands out at least one record.
    if (scan.spans.size() == before) std::abort();
  }
}

// What one record decoded to.
struct Record {
  std::optional<canvass::CastReject> reject;
  std::string identity;
  uint32_t unit = 0;
  std::vector<canvass::CellVotes> cells;
  bool operator==(const Record&) const = default;
};

using DecoderFactory = std::function<std::unique_ptr<canvass::CvrDecoder>()>;

// Every record, decoded by one decoder, in file order or the reverse.
inline std::vector<Record> DecodeAll(const canvass::ContestElection& election,
                                     const DecoderFactory& new_decoder, absl::string_view text,
                                     const std::vector<canvass::CvrSpan>& spans, bool reverse) {
  std::vector<Record> records(spans.size());
  std::unique_ptr<canvass::CvrDecoder> decoder = new_decoder();
  canvass::CvrBuilder builder(election);
  canvass::CastBallotBatch batch;
  for (size_t n = 0; n < spans.size(); ++n) {
    const size_t i = reverse ? spans.size() - 1 - n : n;
    batch.Clear();
    builder.Begin();
    decoder->Decode(text, spans[i], &builder);
    Record& record = records[i];
    record.reject = builder.End(&batch);
    if (record.reject) {
      if (builder.why().empty() || !batch.empty()) std::abort();
      continue;
    }
    if (batch.size() != 1) std::abort();
    record.identity = std::string(batch.identity(0));
    record.unit = batch.unit(0);
    record.cells.assign(batch.cells(0).begin(), batch.cells(0).end());
    if (record.identity.empty() || record.unit >= election.units.size()) std::abort();
    for (const canvass::CellVotes& cell : record.cells) {
      if (cell.cell >= election.cells_per_unit()) std::abort();
    }
  }
  return records;
}

// One input through the scanner of `format`, whose records run from `open` to `close`, and
// the decoders `new_decoder` makes, against `election`. Returns the records decoded, in file
// order, for a caller's own checks.
inline std::vector<Record> FuzzRecordReader(canvass::CvrFormat format, absl::string_view text,
                                            char open, char close,
                                            const canvass::ContestElection& election,
                                            const DecoderFactory& new_decoder) {
  const size_t size = text.size();
  (void)canvass::SniffCvrFormat(text);
  const Scan whole = ScanAll(format, text, uint64_t{1} << 40);
  for (size_t i = 0; i < whole.spans.size(); ++i) {
    const canvass::CvrSpan& span = whole.spans[i];
    if (span.index != i || span.begin >= span.end || span.end > size) std::abort();
    if (i > 0 && span.begin < whole.spans[i - 1].end) std::abort();
    if (text[span.begin] != open || text[span.end - 1] != close) std::abort();
  }
  const Scan stepwise = ScanAll(format, text, 1);
  if (stepwise.status != whole.status || stepwise.spans.size() != whole.spans.size()) {
    std::abort();
  }
  for (size_t i = 0; i < whole.spans.size(); ++i) {
    if (stepwise.spans[i].begin != whole.spans[i].begin ||
        stepwise.spans[i].end != whole.spans[i].end || stepwise.spans[i].index != i) {
      std::abort();
    }
  }
  // A decoder reuses its buffers from record to record: the order must not matter.
  std::vector<Record> records = DecodeAll(election, new_decoder, text, whole.spans, false);
  if (records != DecodeAll(election, new_decoder, text, whole.spans, true)) std::abort();
  return records;
}

// One input through a NIST reader of `format` (its own decoder), against TinyElection().
inline void FuzzCvrReader(canvass::CvrFormat format, absl::string_view text, char open,
                          char close) {
  FuzzRecordReader(format, text, open, close, TinyElection(),
                   [format] { return canvass::NewCvrDecoder(format); });
}

}  // namespace canvass_fuzz

#endif  // CANVASS_TESTS_FUZZ_CVR_FUZZ_H_
