// The cvb binary stream format behind io::InputFormat (engine/io/input_format.h):
// recognised by its magic number, cut into byte ranges of whole blocks, located by byte
// offset. Each block is verified (its checksum) just before it is counted, while in cache.
//
// Thread safety: as InputFormat (immutable; one RangeReader per thread); AggregateCvbBlock
// is safe from many threads when the sink is.
#ifndef CANVASS_ENGINE_IO_CVB_CVB_INPUT_H_
#define CANVASS_ENGINE_IO_CVB_CVB_INPUT_H_

#include "engine/ballot/sink.h"
#include "engine/io/cvb/cvb_format.h"
#include "engine/io/input_format.h"

namespace canvass {

const InputFormat& CvbInputFormat();

// Counts one verified block (not its damaged records) into `sink` the cheapest way its
// encoding allows: a run of serials through BallotSink::AddRun, never expanded; plain
// serials and choices as a batch view over the file's bytes; plain serials with packed
// choices expanded into a (per-thread) batch.
void AggregateCvbBlock(const CvbBlockView& block, BallotSink* sink);

}  // namespace canvass

#endif  // CANVASS_ENGINE_IO_CVB_CVB_INPUT_H_
