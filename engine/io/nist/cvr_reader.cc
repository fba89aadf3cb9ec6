// What the CVR syntaxes share: recognising them, locating bytes, the factories.
#include "engine/io/nist/cvr_reader.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "engine/io/cvb/contest_cvb.h"
#include "engine/io/nist/internal/cvr_formats.h"

namespace canvass {

absl::string_view CvrFormatName(CvrFormat format) {
  switch (format) {
    case CvrFormat::kJson:
      return "nist-cvr-json";
    case CvrFormat::kXml:
      return "nist-cvr-xml";
    case CvrFormat::kDominionJson:
      return "dominion-cvr-json";
    case CvrFormat::kCvbContest:
      return "cvb-contest-ballots";
  }
  return "?";
}

namespace {

bool IsXmlSpace(char c) { return c == ' ' || c == '\n' || c == '\r' || c == '\t'; }

// The local name (without its prefix) of the first element of XML text `head`, after white
// space, the XML declaration, processing instructions, comments and a document type
// declaration; nullopt when `head` is not XML or ends before the name does.
std::optional<absl::string_view> XmlRootLocalName(absl::string_view head) {
  size_t i = 0;
  while (true) {
    while (i < head.size() && IsXmlSpace(head[i])) ++i;
    if (i >= head.size() || head[i] != '<') return std::nullopt;
    const absl::string_view rest = head.substr(i);
    size_t end = absl::string_view::npos;
    if (absl::StartsWith(rest, "<?")) {
      end = head.find("?>", i + 2);
      if (end != absl::string_view::npos) end += 2;
    } else if (absl::StartsWith(rest, "<!--")) {
      end = head.find("-->", i + 4);
      if (end != absl::string_view::npos) end += 3;
    } else if (absl::StartsWith(rest, "<!")) {
      // A document type declaration; its internal subset ([...]) may hold '>'.
      int brackets = 0;
      for (size_t j = i + 2; j < head.size() && end == absl::string_view::npos; ++j) {
        if (head[j] == '[') ++brackets;
        if (head[j] == ']') --brackets;
        if (head[j] == '>' && brackets <= 0) end = j + 1;
      }
    } else {
      size_t j = i + 1;
      while (j < head.size() && !IsXmlSpace(head[j]) && head[j] != '>' && head[j] != '/') ++j;
      if (j == head.size() || j == i + 1) return std::nullopt;
      absl::string_view name = head.substr(i + 1, j - i - 1);
      const size_t colon = name.rfind(':');
      if (colon != absl::string_view::npos) name.remove_prefix(colon + 1);
      return name;
    }
    if (end == absl::string_view::npos) return std::nullopt;
    i = end;
  }
}

}  // namespace

std::optional<CvrFormat> SniffCvrFormat(absl::string_view head) {
  if (LooksLikeContestCvb(head)) return CvrFormat::kCvbContest;
  if (absl::StartsWith(head, "\xEF\xBB\xBF")) head.remove_prefix(3);
  size_t i = 0;
  while (i < head.size() &&
         (head[i] == ' ' || head[i] == '\n' || head[i] == '\r' || head[i] == '\t')) {
    ++i;
  }
  if (i == head.size()) return std::nullopt;
  if (head[i] == '{') {
    if (absl::StrContains(head, "\"CVR\"") || absl::StrContains(head, "CVR.CastVoteRecordReport")) {
      return CvrFormat::kJson;
    }
    return std::nullopt;
  }
  if (head[i] == '<') {
    if (XmlRootLocalName(head.substr(i)) == absl::string_view("CastVoteRecordReport")) {
      return CvrFormat::kXml;
    }
    return std::nullopt;
  }
  return std::nullopt;
}

std::string LineColumn(absl::string_view text, uint64_t offset) {
  if (offset > text.size()) offset = text.size();
  uint64_t line = 1;
  uint64_t line_start = 0;
  for (uint64_t i = 0; i < offset; ++i) {
    if (text[i] == '\n') {
      ++line;
      line_start = i + 1;
    }
  }
  return absl::StrCat("line ", line, ", column ", offset - line_start + 1);
}

std::unique_ptr<CvrScanner> NewCvrScanner(CvrFormat format, std::string name,
                                          absl::string_view text) {
  switch (format) {
    case CvrFormat::kJson:
      return NewJsonCvrScanner(std::move(name), text);
    case CvrFormat::kXml:
      return NewXmlCvrScanner(std::move(name), text);
    case CvrFormat::kDominionJson:
      return NewJsonRecordScanner(std::move(name), text,
                                  JsonRecordArray{"Sessions", "a Dominion CvrExport file"});
    case CvrFormat::kCvbContest:
      return NewContestCvbScanner(std::move(name), text);
  }
  return nullptr;
}

std::unique_ptr<CvrDecoder> NewCvrDecoder(CvrFormat format) {
  switch (format) {
    case CvrFormat::kJson:
      return NewJsonCvrDecoder();
    case CvrFormat::kXml:
      return NewXmlCvrDecoder();
    case CvrFormat::kDominionJson:
      return nullptr;
    case CvrFormat::kCvbContest:
      return NewContestCvbDecoder();
  }
  return nullptr;
}

}  // namespace canvass
