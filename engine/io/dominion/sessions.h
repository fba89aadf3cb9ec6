// Reading the sessions of a Dominion CvrExport file: the file's "Sessions" array is
// scanned as any record array (NewCvrScanner(CvrFormat::kDominionJson, ...)), and each
// session is decoded by the export's rules (docs/FORMAT.md, "Dominion CVR exports") into
// the shared CvrBuilder:
//  - identity (TabulatorId, BatchId, RecordId), written "T-B-R";
//  - the current version: Original, unless it says IsCurrent false, then Modified (the
//    builder is told it is adjudicated); neither current: malformed;
//  - the leaf unit of the version's PrecinctPortionId and the session's CountingGroupId;
//  - the contests of every card (or of the version, in exports without Cards); a contest
//    carrying the InvalidContest condition counts in its `invalid` figure only;
//  - a mark is a vote when IsVote and not IsAmbiguous (ranked contests: Rank 1 only);
//    plurality contests keep their stated Overvotes/Undervotes.
//
// Thread safety: one decoder per worker; the export must outlive it.
#ifndef CANVASS_ENGINE_IO_DOMINION_SESSIONS_H_
#define CANVASS_ENGINE_IO_DOMINION_SESSIONS_H_

#include <memory>

#include "engine/io/dominion/export.h"
#include "engine/io/nist/cvr_reader.h"

namespace canvass {

std::unique_ptr<CvrDecoder> NewDominionSessionDecoder(const DominionExport& dominion);

}  // namespace canvass

#endif  // CANVASS_ENGINE_IO_DOMINION_SESSIONS_H_
