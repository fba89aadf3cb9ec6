// The ballot CSV format behind io::InputFormat (engine/io/input_format.h): a file is
// recognised by elimination (any file that is not another format's is read as CSV, and
// its header check says what a ballot CSV must start with), cut into byte ranges at line
// breaks, and located by line.
//
// Thread safety: as InputFormat (immutable; one RangeReader per thread).
#ifndef CANVASS_ENGINE_IO_CSV_CSV_INPUT_H_
#define CANVASS_ENGINE_IO_CSV_CSV_INPUT_H_

#include "engine/io/input_format.h"

namespace canvass {

const InputFormat& CsvInputFormat();

}  // namespace canvass

#endif  // CANVASS_ENGINE_IO_CSV_CSV_INPUT_H_
