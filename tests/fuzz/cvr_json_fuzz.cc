// libFuzzer target: the NIST CVR JSON scanner and decoder on arbitrary bytes, against a tiny
// election built in code (the checks: cvr_fuzz.h).
#include <cstddef>
#include <cstdint>

#include "tests/fuzz/cvr_fuzz.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  canvass_fuzz::FuzzCvrReader(canvass::CvrFormat::kJson,
                              absl::string_view(reinterpret_cast<const char*>(data), size), '{',
                              '}');
  return 0;
}
