// NIST CVR XML: a scanner of the report's top level that finds each CVR element's span in
// one pass without building a tree of the file, and a decoder of one record with pugixml.
#include <algorithm>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "engine/base/json_text.h"
#include "engine/io/nist/cvr_reader.h"
#include "engine/io/nist/internal/cvr_formats.h"
#include "pugixml.hpp"

namespace canvass {
namespace {

constexpr absl::string_view kRootName = "CastVoteRecordReport";
constexpr absl::string_view kRecordName = "CVR";

bool IsSpace(char c) { return c == ' ' || c == '\n' || c == '\r' || c == '\t'; }

// The part of a qualified name after its prefix ("cdf:CVR" -> "CVR"). Prefixes are not
// resolved to namespaces: producers bind the SP 1500-103 namespace to any prefix (or
// none), even different ones in one file, and its element names are what identify them.
absl::string_view LocalName(absl::string_view name) {
  const size_t colon = name.rfind(':');
  return colon == absl::string_view::npos ? name : name.substr(colon + 1);
}

// ---- The report's own election: its Election and GpUnit elements as the JSON the CVR
// JSON reader keeps (io/nist/cvr_reader.h Definition), so that one parser reads both. ----

// Elements that the JSON form gives as arrays, and those whose XML value is a list of ids
// separated by white space (xsd:IDREFS) and an array of strings in JSON.
bool IsArrayElement(absl::string_view name) {
  return name == "Candidate" || name == "Contest" || name == "ContestSelection" ||
         name == "ExternalIdentifier" || name == "Party" || name == "Text" ||
         name == "BallotMeasureSelection";
}
bool IsIdList(absl::string_view name) {
  return name == "CandidateIds" || name == "ComposingGpUnitIds" || name == "PartyIds";
}

bool HasElementChildren(pugi::xml_node node) {
  for (pugi::xml_node child : node.children()) {
    if (child.type() == pugi::node_element) return true;
  }
  return false;
}

absl::string_view NodeText(pugi::xml_node node) {
  return absl::StripAsciiWhitespace(absl::string_view(node.child_value()));
}

void AppendXmlObject(pugi::xml_node node, std::string* out);

// A leaf as JSON: counts as numbers, the schema's booleans as booleans, else a string.
void AppendXmlLeaf(absl::string_view name, pugi::xml_node node, std::string* out) {
  const absl::string_view text = NodeText(node);
  if ((name == "VotesAllowed" || name == "NumberElected" || name == "SequenceOrder") &&
      !text.empty() && text.size() <= 18 &&
      std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    out->append(text.data(), text.size());
    return;
  }
  if (absl::StartsWith(name, "Is") &&
      (text == "true" || text == "false" || text == "1" || text == "0")) {
    out->append(text == "true" || text == "1" ? "true" : "false");
    return;
  }
  AppendJsonString(text, out);
}

void AppendXmlValue(absl::string_view name, pugi::xml_node node, std::string* out) {
  if (HasElementChildren(node)) {
    AppendXmlObject(node, out);
  } else {
    AppendXmlLeaf(name, node, out);
  }
}

void AppendXmlObject(pugi::xml_node node, std::string* out) {
  out->push_back('{');
  bool first = true;
  const auto key = [&](absl::string_view k) {
    if (!first) out->push_back(',');
    first = false;
    AppendJsonString(k, out);
    out->push_back(':');
  };
  for (pugi::xml_attribute attribute : node.attributes()) {
    const absl::string_view name = LocalName(attribute.name());
    if (name == "ObjectId") {
      key("@id");
      AppendJsonString(attribute.value(), out);
    } else if (name == "type") {
      key("@type");
      AppendJsonString(absl::StrCat("CVR.", LocalName(attribute.value())), out);
    }
  }
  // Children by name, in the order each name first appears.
  std::vector<std::pair<std::string, std::vector<pugi::xml_node>>> groups;
  for (pugi::xml_node child : node.children()) {
    if (child.type() != pugi::node_element) continue;
    const std::string name(LocalName(child.name()));
    auto group =
        std::find_if(groups.begin(), groups.end(), [&](const auto& g) { return g.first == name; });
    if (group == groups.end()) {
      groups.emplace_back(name, std::vector<pugi::xml_node>{});
      group = groups.end() - 1;
    }
    group->second.push_back(child);
  }
  for (const auto& [name, children] : groups) {
    key(name);
    if (IsIdList(name)) {
      out->push_back('[');
      bool first_id = true;
      for (pugi::xml_node child : children) {
        for (absl::string_view id :
             absl::StrSplit(NodeText(child), absl::ByAnyChar(" \t\r\n"), absl::SkipEmpty())) {
          if (!first_id) out->push_back(',');
          first_id = false;
          AppendJsonString(id, out);
        }
      }
      out->push_back(']');
    } else if (IsArrayElement(name) || children.size() > 1) {
      out->push_back('[');
      for (size_t i = 0; i < children.size(); ++i) {
        if (i) out->push_back(',');
        AppendXmlValue(name, children[i], out);
      }
      out->push_back(']');
    } else {
      AppendXmlValue(name, children.front(), out);
    }
  }
  out->push_back('}');
}

// {"Election":[...],"GpUnit":[...]} of the elements at `spans` of `text`; "" when there is
// none or one does not parse (the report then defines no election of its own).
std::string XmlDefinition(absl::string_view text,
                          const std::vector<std::pair<uint64_t, uint64_t>>& elections,
                          const std::vector<std::pair<uint64_t, uint64_t>>& units) {
  if (elections.empty()) return "";
  std::string out = "{";
  for (const auto& [key, spans] :
       {std::pair{"Election", &elections}, std::pair{"GpUnit", &units}}) {
    if (out.size() > 1) out.push_back(',');
    AppendJsonString(key, &out);
    out.append(":[");
    for (size_t i = 0; i < spans->size(); ++i) {
      const auto [begin, end] = (*spans)[i];
      pugi::xml_document document;
      const pugi::xml_parse_result parsed =
          document.load_buffer(text.data() + begin, end - begin, pugi::parse_default);
      if (!parsed) return "";
      if (i) out.push_back(',');
      AppendXmlObject(document.document_element(), &out);
    }
    out.push_back(']');
  }
  out.push_back('}');
  return out;
}

// The top level of a CVR XML report, walked once, in order:
//   <?xml ...?> <CastVoteRecordReport ...> <CVR>...</CVR> ... <Election>...</Election>
//   ... </CastVoteRecordReport>
// Every element is matched with its end tag by name (a stack of names, no tree), so that
// a record's span always ends at its own </CVR>; text is skipped with memchr.
class XmlCvrScanner final : public CvrScanner {
 public:
  XmlCvrScanner(std::string name, absl::string_view text) : name_(std::move(name)), text_(text) {}

  absl::StatusOr<bool> Next(uint64_t max_bytes, std::vector<CvrSpan>* spans) override;
  // The report's own Election and GpUnit elements, as the JSON the JSON reader keeps (read
  // once the scan has passed them; "" when the report has none).
  std::string Definition() const override {
    return XmlDefinition(text_, election_spans_, unit_spans_);
  }

 private:
  enum class State { kStart, kContent, kEpilogue, kDone };
  // What the markup at a '<' was.
  enum class Markup {
    kIgnored,      // a comment or a processing instruction
    kCdata,        // <![CDATA[...]]>
    kDeclaration,  // <!DOCTYPE ...> or another <!...>
    kStartTag,
    kEmptyTag,  // <name .../>
    kEndTag,
  };

  // DataLoss, or InvalidArgument while the root's start tag is not yet read (until then
  // the text may be anything: a broken prolog says that the file is not a report).
  absl::Status Error(uint64_t offset, absl::string_view what) const {
    if (in_prolog_) return NotReport(std::min<uint64_t>(offset, text_.size()), what);
    if (offset >= text_.size()) {
      return absl::DataLossError(absl::StrCat(name_, ": truncated at byte ", text_.size(), " (",
                                              LineColumn(text_, text_.size()), "): ", what));
    }
    return absl::DataLossError(
        absl::StrCat(name_, ": byte ", offset, " (", LineColumn(text_, offset), "): ", what));
  }
  absl::Status NotReport(uint64_t offset, absl::string_view what) const {
    return absl::InvalidArgumentError(absl::StrCat(name_, ": byte ", offset, " (",
                                                   LineColumn(text_, offset),
                                                   "): not a NIST CVR XML report (", what, ")"));
  }
  // Past the first `close` at or after `from`, or an error saying that what began at
  // pos_ (`what`) does not end.
  absl::Status SkipPast(uint64_t from, absl::string_view close, absl::string_view what);
  // Reads the markup at pos_ (a '<') and moves past it; a tag's name goes to *name.
  absl::Status ReadMarkup(Markup* kind, absl::string_view* name);
  // Past the end tag matching the start tag `name` (begun at `begin`) that ended at pos_.
  absl::Status SkipElement(absl::string_view name, uint64_t begin);
  // Up to and past the root's start tag; InvalidArgument when it is not a CVR report.
  absl::Status Prolog();
  // After the root's end tag: nothing but white space, comments and processing
  // instructions.
  absl::Status Epilogue();

  std::string name_;
  absl::string_view text_;
  uint64_t pos_ = 0;
  State state_ = State::kStart;
  bool in_prolog_ = true;
  absl::string_view root_;
  uint64_t root_begin_ = 0;
  uint64_t records_ = 0;
  std::vector<std::pair<absl::string_view, uint64_t>> open_;  // names and their '<'
  // Where the top level's Election and GpUnit elements lie: [begin, end).
  std::vector<std::pair<uint64_t, uint64_t>> election_spans_;
  std::vector<std::pair<uint64_t, uint64_t>> unit_spans_;
};

absl::Status XmlCvrScanner::SkipPast(uint64_t from, absl::string_view close,
                                     absl::string_view what) {
  const size_t at = text_.find(close, from);
  if (at == absl::string_view::npos) {
    return Error(text_.size(), absl::StrCat(what, " begun at byte ", pos_, " does not end"));
  }
  pos_ = at + close.size();
  return absl::OkStatus();
}

absl::Status XmlCvrScanner::ReadMarkup(Markup* kind, absl::string_view* name) {
  const absl::string_view rest = text_.substr(pos_);
  if (absl::StartsWith(rest, "<!--")) {
    *kind = Markup::kIgnored;
    return SkipPast(pos_ + 4, "-->", "a comment");
  }
  if (absl::StartsWith(rest, "<![CDATA[")) {
    *kind = Markup::kCdata;
    return SkipPast(pos_ + 9, "]]>", "a CDATA section");
  }
  if (absl::StartsWith(rest, "<?")) {
    *kind = Markup::kIgnored;
    return SkipPast(pos_ + 2, "?>", "a processing instruction");
  }
  if (absl::StartsWith(rest, "<!")) {
    // A document type declaration; its internal subset ([...]) may hold '>' and quotes.
    *kind = Markup::kDeclaration;
    const uint64_t begin = pos_;
    int brackets = 0;
    for (uint64_t i = pos_ + 2; i < text_.size(); ++i) {
      const char c = text_[i];
      if (c == '"' || c == '\'') {
        const size_t quote = text_.find(c, i + 1);
        if (quote == absl::string_view::npos) break;
        i = quote;
      } else if (c == '[') {
        ++brackets;
      } else if (c == ']') {
        --brackets;
      } else if (c == '>' && brackets <= 0) {
        pos_ = i + 1;
        return absl::OkStatus();
      }
    }
    return Error(text_.size(),
                 absl::StrCat("a declaration begun at byte ", begin, " does not end"));
  }
  const uint64_t begin = pos_;
  const bool end_tag = absl::StartsWith(rest, "</");
  uint64_t i = pos_ + (end_tag ? 2 : 1);
  const uint64_t name_begin = i;
  while (i < text_.size() && !IsSpace(text_[i]) && text_[i] != '>' && text_[i] != '/' &&
         text_[i] != '<') {
    ++i;
  }
  if (i >= text_.size()) {
    return Error(text_.size(), absl::StrCat("the tag begun at byte ", begin, " does not end"));
  }
  if (i == name_begin) return Error(begin, "expected an element name after '<'");
  *name = text_.substr(name_begin, i - name_begin);
  // A CastVoteRecordReport start tag makes the file a report, damaged if the tag is.
  if (!end_tag && LocalName(*name) == kRootName) in_prolog_ = false;
  if (end_tag) {
    *kind = Markup::kEndTag;
    while (i < text_.size() && IsSpace(text_[i])) ++i;
    if (i >= text_.size()) {
      return Error(text_.size(), absl::StrCat("the tag begun at byte ", begin, " does not end"));
    }
    if (text_[i] != '>') {
      return Error(i, absl::StrCat("expected '>' to end </", *name, ">"));
    }
    pos_ = i + 1;
    return absl::OkStatus();
  }
  // The attributes: only their quoted values can hold a '>'.
  for (; i < text_.size(); ++i) {
    const char c = text_[i];
    if (c == '"' || c == '\'') {
      const size_t quote = text_.find(c, i + 1);
      if (quote == absl::string_view::npos) {
        return Error(text_.size(),
                     absl::StrCat("an attribute value begun at byte ", i, " does not end"));
      }
      i = quote;
    } else if (c == '>') {
      *kind = text_[i - 1] == '/' ? Markup::kEmptyTag : Markup::kStartTag;
      pos_ = i + 1;
      return absl::OkStatus();
    } else if (c == '<') {
      return Error(i, absl::StrCat("'<' inside the tag <", *name, "> begun at byte ", begin));
    }
  }
  return Error(text_.size(),
               absl::StrCat("the tag <", *name, "> begun at byte ", begin, " does not end"));
}

absl::Status XmlCvrScanner::SkipElement(absl::string_view name, uint64_t begin) {
  open_.clear();
  open_.emplace_back(name, begin);
  while (true) {
    const size_t lt = text_.find('<', pos_);
    if (lt == absl::string_view::npos) {
      return Error(text_.size(), absl::StrCat("<", open_.back().first, "> begun at byte ",
                                              open_.back().second, " does not end"));
    }
    pos_ = lt;
    Markup kind = Markup::kIgnored;
    absl::string_view tag;
    absl::Status status = ReadMarkup(&kind, &tag);
    if (!status.ok()) return status;
    switch (kind) {
      case Markup::kIgnored:
      case Markup::kCdata:
      case Markup::kEmptyTag:
        break;
      case Markup::kDeclaration:
        return Error(lt, absl::StrCat("a '<!' declaration inside <", open_.back().first, ">"));
      case Markup::kStartTag:
        open_.emplace_back(tag, lt);
        break;
      case Markup::kEndTag:
        if (tag != open_.back().first) {
          return Error(lt, absl::StrCat("</", tag, "> closes <", open_.back().first,
                                        "> begun at byte ", open_.back().second));
        }
        open_.pop_back();
        if (open_.empty()) return absl::OkStatus();
        break;
    }
  }
}

absl::Status XmlCvrScanner::Prolog() {
  if (absl::StartsWith(text_, "\xEF\xBB\xBF")) pos_ = 3;
  while (true) {
    while (pos_ < text_.size() && IsSpace(text_[pos_])) ++pos_;
    if (pos_ >= text_.size() || text_[pos_] != '<') return NotReport(pos_, "expected '<'");
    const uint64_t begin = pos_;
    Markup kind = Markup::kIgnored;
    absl::string_view name;
    absl::Status status = ReadMarkup(&kind, &name);
    if (!status.ok()) return status;
    switch (kind) {
      case Markup::kIgnored:
      case Markup::kDeclaration:
        continue;
      case Markup::kCdata:
      case Markup::kEndTag:
        return NotReport(begin, "expected the root element");
      case Markup::kStartTag:
      case Markup::kEmptyTag:
        if (LocalName(name) != kRootName) {
          return NotReport(begin, absl::StrCat("the root element is <", name,
                                               ">, expected <CastVoteRecordReport>"));
        }
        root_ = name;
        root_begin_ = begin;
        in_prolog_ = false;
        state_ = kind == Markup::kStartTag ? State::kContent : State::kEpilogue;
        return absl::OkStatus();
    }
  }
}

absl::Status XmlCvrScanner::Epilogue() {
  while (true) {
    while (pos_ < text_.size() && IsSpace(text_[pos_])) ++pos_;
    if (pos_ >= text_.size()) return absl::OkStatus();
    const uint64_t begin = pos_;
    if (text_[pos_] != '<') break;
    Markup kind = Markup::kIgnored;
    absl::string_view name;
    absl::Status status = ReadMarkup(&kind, &name);
    if (!status.ok()) return status;
    if (kind != Markup::kIgnored) {
      pos_ = begin;
      break;
    }
  }
  return Error(pos_, absl::StrCat("text after the report's closing </", root_, ">"));
}

absl::StatusOr<bool> XmlCvrScanner::Next(uint64_t max_bytes, std::vector<CvrSpan>* spans) {
  if (state_ == State::kStart) {
    absl::Status status = Prolog();
    if (!status.ok()) return status;
  }
  uint64_t taken = 0;
  bool handed_out = false;
  while (state_ == State::kContent) {
    if (handed_out && taken >= max_bytes) return true;
    const size_t lt = text_.find('<', pos_);
    if (lt == absl::string_view::npos) {
      return Error(text_.size(),
                   absl::StrCat("<", root_, "> begun at byte ", root_begin_, " does not end"));
    }
    pos_ = lt;
    Markup kind = Markup::kIgnored;
    absl::string_view name;
    absl::Status status = ReadMarkup(&kind, &name);
    if (!status.ok()) return status;
    switch (kind) {
      case Markup::kIgnored:
      case Markup::kCdata:
        break;
      case Markup::kDeclaration:
        return Error(lt, absl::StrCat("a '<!' declaration inside <", root_, ">"));
      case Markup::kEndTag:
        if (name != root_) {
          return Error(
              lt, absl::StrCat("</", name, "> closes <", root_, "> begun at byte ", root_begin_));
        }
        state_ = State::kEpilogue;
        break;
      case Markup::kStartTag:
      case Markup::kEmptyTag:
        if (kind == Markup::kStartTag) {
          status = SkipElement(name, lt);
          if (!status.ok()) return status;
        }
        if (LocalName(name) == kRecordName) {
          spans->push_back({lt, pos_, records_++});
          taken += pos_ - lt;
          handed_out = true;
        } else if (LocalName(name) == "Election") {
          election_spans_.emplace_back(lt, pos_);
        } else if (LocalName(name) == "GpUnit") {
          unit_spans_.emplace_back(lt, pos_);
        }
        break;
    }
  }
  if (state_ == State::kEpilogue) {
    absl::Status status = Epilogue();
    if (!status.ok()) return status;
    state_ = State::kDone;
  }
  return false;
}

// One record, parsed in place by pugixml from a copy of its span; the decoder keeps the
// copy and the document between records so that their memory is reused.
class XmlCvrDecoder final : public CvrDecoder {
 public:
  void Decode(absl::string_view text, const CvrSpan& span, CvrBuilder* builder) override;

 private:
  struct PendingMark {
    absl::string_view selection;
    bool has_indication = true;
    bool allocable = true;
    uint64_t number_votes = 1;
    uint64_t rank = 0;
  };
  // The element's character data (its text and CDATA children, joined).
  absl::string_view Text(pugi::xml_node element);
  // Text() without surrounding white space: for the schema's ID, IDREF, integer and
  // enumeration values, whose white space XML Schema collapses. The identity fields are
  // strings, whose white space is kept.
  absl::string_view Token(pugi::xml_node element);
  // Reads a count (a non-negative decimal integer); false after reporting a malformed one.
  bool Count(pugi::xml_node element, absl::string_view what, uint64_t* value, CvrBuilder* builder);
  bool Contest(pugi::xml_node contest, CvrBuilder* builder);

  std::vector<char> buffer_;
  pugi::xml_document document_;
  std::deque<std::string> joined_;  // texts in several pieces; stable while the record lasts
  std::vector<pugi::xml_node> snapshots_;
  std::vector<PendingMark> marks_;
};

absl::string_view Name(pugi::xml_node node) { return LocalName(node.name()); }

absl::string_view XmlCvrDecoder::Text(pugi::xml_node element) {
  absl::string_view first;
  int pieces = 0;
  for (pugi::xml_node child : element.children()) {
    if (child.type() != pugi::node_pcdata && child.type() != pugi::node_cdata) continue;
    if (++pieces == 1) first = child.value();
  }
  if (pieces <= 1) return first;
  // Split by a comment or a CDATA section: rare, so joined only then.
  std::string& joined = joined_.emplace_back();
  for (pugi::xml_node child : element.children()) {
    if (child.type() == pugi::node_pcdata || child.type() == pugi::node_cdata) {
      joined += child.value();
    }
  }
  return joined;
}

absl::string_view XmlCvrDecoder::Token(pugi::xml_node element) {
  absl::string_view text = Text(element);
  while (!text.empty() && IsSpace(text.front())) text.remove_prefix(1);
  while (!text.empty() && IsSpace(text.back())) text.remove_suffix(1);
  return text;
}

bool XmlCvrDecoder::Count(pugi::xml_node element, absl::string_view what, uint64_t* value,
                          CvrBuilder* builder) {
  const absl::string_view text = Token(element);
  uint64_t n = 0;
  bool ok = !text.empty();
  for (const char c : text) {
    if (c < '0' || c > '9' || n > (UINT64_MAX - (c - '0')) / 10) {
      ok = false;
      break;
    }
    n = n * 10 + (c - '0');
  }
  if (!ok) {
    const absl::string_view shown = text.substr(0, 40);
    builder->Malformed(absl::StrCat(what, ": expected a small integer, found '", shown,
                                    shown.size() < text.size() ? "...'" : "'"));
    return false;
  }
  *value = n;
  return true;
}

bool XmlCvrDecoder::Contest(pugi::xml_node contest, CvrBuilder* builder) {
  absl::string_view contest_id;
  bool has_id = false;
  std::optional<uint64_t> over;
  std::optional<uint64_t> under;
  bool invalid = false;
  marks_.clear();
  for (pugi::xml_node field : contest.children()) {
    if (field.type() != pugi::node_element) continue;
    const absl::string_view key = Name(field);
    if (key == "Status") {
      if (Token(field) == "invalidated-rules") invalid = true;
    } else if (key == "ContestId") {
      contest_id = Token(field);
      has_id = true;
    } else if (key == "Overvotes") {
      if (!Count(field, "Overvotes", &over.emplace(), builder)) return false;
    } else if (key == "Undervotes") {
      if (!Count(field, "Undervotes", &under.emplace(), builder)) return false;
    } else if (key == "CVRContestSelection") {
      absl::string_view selection_id;
      bool has_selection = false;
      const size_t first = marks_.size();
      for (pugi::xml_node sfield : field.children()) {
        if (sfield.type() != pugi::node_element) continue;
        const absl::string_view skey = Name(sfield);
        if (skey == "ContestSelectionId") {
          selection_id = Token(sfield);
          has_selection = true;
        } else if (skey == "SelectionPosition") {
          PendingMark mark;
          for (pugi::xml_node pfield : sfield.children()) {
            if (pfield.type() != pugi::node_element) continue;
            const absl::string_view pkey = Name(pfield);
            if (pkey == "HasIndication") {
              mark.has_indication = Token(pfield) == "yes";
            } else if (pkey == "IsAllocable") {
              mark.allocable = Token(pfield) == "yes";
            } else if (pkey == "NumberVotes") {
              if (!Count(pfield, "NumberVotes", &mark.number_votes, builder)) return false;
            } else if (pkey == "Rank") {
              if (!Count(pfield, "Rank", &mark.rank, builder)) return false;
            }
          }
          marks_.push_back(mark);
        }
      }
      if (!has_selection) {
        builder->Malformed("a CVRContestSelection without ContestSelectionId");
        return false;
      }
      for (size_t m = first; m < marks_.size(); ++m) marks_[m].selection = selection_id;
    }
  }
  if (!has_id) {
    builder->Malformed("a CVRContest without ContestId");
    return false;
  }
  builder->Contest(contest_id);
  if (invalid) builder->InvalidContest();
  if (over) builder->DeclaredOvervotes(*over);
  if (under) builder->DeclaredUndervotes(*under);
  for (const PendingMark& mark : marks_) {
    builder->Mark(mark.selection, mark.has_indication, mark.allocable, mark.number_votes,
                  mark.rank);
  }
  builder->EndContest();
  return true;
}

void XmlCvrDecoder::Decode(absl::string_view text, const CvrSpan& span, CvrBuilder* builder) {
  if (span.begin > span.end || span.end > text.size()) {
    builder->Malformed(
        absl::StrCat("bytes [", span.begin, ", ", span.end, ") are not inside the file"));
    return;
  }
  buffer_.assign(text.data() + span.begin, text.data() + span.end);
  joined_.clear();
  snapshots_.clear();
  const pugi::xml_parse_result result = document_.load_buffer_inplace(
      buffer_.data(), buffer_.size(), pugi::parse_default, pugi::encoding_utf8);
  if (!result) {
    // The file's byte, not its line: counting lines up to it would cost a pass over the
    // file per malformed record.
    builder->Malformed(absl::StrCat("not well-formed XML (", result.description(), " at byte ",
                                    span.begin + result.offset, ")"));
    return;
  }
  const pugi::xml_node record = document_.document_element();
  if (Name(record) != kRecordName) {
    builder->Malformed(absl::StrCat("expected a <CVR> element, found <", record.name(), ">"));
    return;
  }
  absl::string_view current;
  bool has_current = false;
  for (pugi::xml_node field : record.children()) {
    if (field.type() != pugi::node_element) continue;
    const absl::string_view key = Name(field);
    if (key == "UniqueId") {
      builder->SetIdentity(CvrIdentityField::kUniqueId, Text(field));
    } else if (key == "BallotPrePrintedId") {
      builder->SetIdentity(CvrIdentityField::kBallotPrePrintedId, Text(field));
    } else if (key == "BallotAuditId") {
      builder->SetIdentity(CvrIdentityField::kBallotAuditId, Text(field));
    } else if (key == "CreatingDeviceId") {
      builder->SetDevice(Token(field));
    } else if (key == "BallotStyleUnitId") {
      builder->SetUnit(Token(field));
    } else if (key == "CurrentSnapshotId") {
      current = Token(field);
      has_current = true;
    } else if (key == "CVRSnapshot") {
      snapshots_.push_back(field);
    }
  }
  if (!has_current) {
    builder->Malformed("no CurrentSnapshotId");
    return;
  }
  // The current snapshot, wherever it stands among the others.
  pugi::xml_node found;
  for (const pugi::xml_node snapshot : snapshots_) {
    bool matches = false;
    for (pugi::xml_attribute attribute : snapshot.attributes()) {
      if (LocalName(attribute.name()) != "ObjectId") continue;
      absl::string_view id = attribute.value();
      while (!id.empty() && IsSpace(id.front())) id.remove_prefix(1);
      while (!id.empty() && IsSpace(id.back())) id.remove_suffix(1);
      matches = id == current;
      break;
    }
    if (!matches) continue;
    if (found) {
      builder->Malformed(
          absl::StrCat("two CVRSnapshots have @id '", current, "' (their ObjectId)"));
      return;
    }
    found = snapshot;
  }
  if (!found) {
    builder->Malformed(
        absl::StrCat("no CVRSnapshot has the current @id '", current, "' (as its ObjectId)"));
    return;
  }
  for (pugi::xml_node field : found.children()) {
    if (field.type() != pugi::node_element) continue;
    if (Name(field) == "Type" && Token(field) == "modified") builder->SetAdjudicated();
    if (Name(field) != "CVRContest") continue;
    if (!Contest(field, builder)) return;
  }
}

}  // namespace

std::unique_ptr<CvrScanner> NewXmlCvrScanner(std::string name, absl::string_view text) {
  return std::make_unique<XmlCvrScanner>(std::move(name), text);
}

std::unique_ptr<CvrDecoder> NewXmlCvrDecoder() { return std::make_unique<XmlCvrDecoder>(); }

}  // namespace canvass
