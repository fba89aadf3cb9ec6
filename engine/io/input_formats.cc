// The formats this build reads: the one list a new format is added to.
#include <algorithm>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "engine/io/csv/csv_input.h"
#include "engine/io/cvb/cvb_input.h"
#include "engine/io/input_format.h"

namespace canvass {

const std::vector<const InputFormat*>& InputFormats() {
  // Tried in this order: formats with a magic number first, CSV (recognised by
  // elimination) last.
  static const auto* const kFormats =
      new std::vector<const InputFormat*>{&CvbInputFormat(), &CsvInputFormat()};
  return *kFormats;
}

const InputFormat& RecognizeInputFormat(const uint8_t* data, size_t size) {
  for (const InputFormat* format : InputFormats()) {
    if (format->Recognizes(data, size)) return *format;
  }
  return *InputFormats().back();
}

bool HasInputSuffix(absl::string_view name) {
  for (const InputFormat* format : InputFormats()) {
    if (absl::EndsWithIgnoreCase(name, absl::StrCat(".", format->suffix()))) return true;
  }
  return false;
}

std::string InputSuffixesText() {
  // Alphabetical, as messages and docs list them: "a .csv or .cvb file".
  std::vector<std::string> suffixes;
  for (const InputFormat* format : InputFormats()) {
    suffixes.push_back(absl::StrCat(".", format->suffix()));
  }
  std::sort(suffixes.begin(), suffixes.end());
  std::string text = "a ";
  for (size_t i = 0; i < suffixes.size(); ++i) {
    if (i > 0) absl::StrAppend(&text, i + 1 == suffixes.size() ? " or " : ", ");
    absl::StrAppend(&text, suffixes[i]);
  }
  return absl::StrCat(text, " file");
}

}  // namespace canvass
