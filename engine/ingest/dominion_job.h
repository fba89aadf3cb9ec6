// The reading job of a Dominion Democracy Suite CVR export, as it is published: a folder
// of CvrExport*.json files and manifests, or the same files in a .zip (read member by
// member, nothing extracted). The manifests give the election (io/dominion/export.h); the
// sessions go through the same pipeline as NIST cast vote records (cvr_job.h): parallel
// across files and zip members and within large files, exactly once per session.
//
// Thread safety: a call runs its own job; the export must outlive ReadDominionExport.
#ifndef CANVASS_ENGINE_INGEST_DOMINION_JOB_H_
#define CANVASS_ENGINE_INGEST_DOMINION_JOB_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "engine/ingest/cvr_job.h"
#include "engine/io/dominion/export.h"

namespace canvass {

// Zip members larger than this are refused (OutOfRange, naming the member): a member is
// held in memory while its sessions are decoded.
inline constexpr uint64_t kMaxZipMemberBytes = uint64_t{4} << 30;

// Whether `path` is meant as a Dominion export: a folder holding one of the manifests an
// export needs or a CvrExport file (so that an export lacking a manifest is told which), a
// regular file that is a zip archive (by its first bytes), or a CvrExport file given on its
// own (which LoadDominionExport refuses, saying why). A CvrExport file is a CvrExport*.json
// whose first 4 KiB hold a "Sessions" key. Never opens a stream.
bool IsDominionExport(const std::string& path);

// The election an export's manifests define. Errors: NotFound (no such path),
// InvalidArgument (a manifest missing or inconsistent, naming it; a CvrExport*.json file
// given without its export), DataLoss (a damaged zip).
absl::StatusOr<DominionExport> LoadDominionExport(const std::string& path);

// Reads the export's sessions (CvrExport*.json in the natural order of their numbers in a
// folder; in archive order in a zip) against `dominion`, which LoadDominionExport(path)
// gave (its reported figures may have been added since). The result's `skipped` lists
// the folder entries or members that are neither session files nor manifests. Errors
// name the file or "ZIP:MEMBER" and the byte offset: DataLoss for a truncated or broken
// file, a corrupt member; InvalidArgument for an export with no CvrExport file.
absl::StatusOr<CvrJobResult> ReadDominionExport(const DominionExport& dominion,
                                                const std::string& path,
                                                const CvrJobOptions& options);

}  // namespace canvass

#endif  // CANVASS_ENGINE_INGEST_DOMINION_JOB_H_
