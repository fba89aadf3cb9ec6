// The per-syntax factories behind NewCvrScanner and NewCvrDecoder (cvr_reader.h).
#ifndef CANVASS_ENGINE_IO_NIST_INTERNAL_CVR_FORMATS_H_
#define CANVASS_ENGINE_IO_NIST_INTERNAL_CVR_FORMATS_H_

#include <memory>
#include <string>

#include "absl/strings/string_view.h"
#include "engine/io/nist/cvr_reader.h"

namespace canvass {

std::unique_ptr<CvrScanner> NewJsonCvrScanner(std::string name, absl::string_view text);

// The scanner of any JSON file whose records are one top-level array of objects: `key` is
// the array's key ("CVR", "Sessions"), `what` says what the file should be in messages
// ("a NIST CVR JSON report"). Definition() and Synthetic() are NIST's (empty, false
// elsewhere).
struct JsonRecordArray {
  absl::string_view key;
  absl::string_view what;
};
std::unique_ptr<CvrScanner> NewJsonRecordScanner(std::string name, absl::string_view text,
                                                 const JsonRecordArray& array);
std::unique_ptr<CvrDecoder> NewJsonCvrDecoder();

// cvr_xml.cc. The XML scanner's Definition() is the report's Election and GpUnit elements in
// the JSON form the JSON scanner keeps ("" when it has none).
std::unique_ptr<CvrScanner> NewXmlCvrScanner(std::string name, absl::string_view text);
std::unique_ptr<CvrDecoder> NewXmlCvrDecoder();

}  // namespace canvass

#endif  // CANVASS_ENGINE_IO_NIST_INTERNAL_CVR_FORMATS_H_
