// Reported figures from a CSV table (reported_csv.h): an RFC 4180 record reader that
// counts lines, and the rows resolved against the election's units, contests and cells.
#include "engine/io/nist/reported_csv.h"

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/strip.h"
#include "engine/base/decimal.h"
#include "engine/base/status_macros.h"

namespace canvass {
namespace {

constexpr absl::string_view kBom = "\xEF\xBB\xBF";
constexpr absl::string_view kHeaderFields[] = {"unit", "contest", "selection", "count"};
constexpr size_t kFields = 4;
constexpr absl::string_view kBallotsCast = "ballots_cast";
constexpr uint64_t kMaxCount = (uint64_t{1} << 63) - 1;

absl::string_view WithoutBom(absl::string_view text) {
  if (absl::StartsWith(text, kBom)) text.remove_prefix(kBom.size());
  return text;
}

// A field as it is shown in a message: control bytes escaped, at most 120 bytes.
std::string Shown(absl::string_view text) {
  constexpr size_t kMaxShown = 120;
  std::string out;
  for (size_t i = 0; i < text.size() && i < kMaxShown; ++i) {
    const unsigned char c = static_cast<unsigned char>(text[i]);
    if (c < 0x20 || c == 0x7f) {
      absl::StrAppend(&out, absl::StrFormat("\\x%02x", c));
    } else {
      out.push_back(static_cast<char>(c));
    }
  }
  if (text.size() > kMaxShown) out += "...";
  return out;
}

// Reads RFC 4180 records one at a time, counting lines (1-based) so that every message
// names the line it is about. A record ends at LF, CRLF or the end of the text; a quoted
// field may hold commas, doubled quotes and line breaks.
class RecordReader {
 public:
  RecordReader(absl::string_view name, absl::string_view text) : name_(name), text_(text) {}

  absl::Status Error(uint64_t line, absl::string_view what) const {
    return absl::InvalidArgumentError(absl::StrCat(name_, ": line ", line, ": ", what));
  }

  // Skips blank lines (empty, or a lone CR) unless `skip_blank` is false; at the end of
  // the text returns false. Otherwise reads one record into fields[0, *count) (the vector
  // grows as needed and keeps its strings' storage) and sets *line to the line where the
  // record starts.
  absl::StatusOr<bool> Next(bool skip_blank, std::vector<std::string>* fields, size_t* count,
                            uint64_t* line) {
    while (skip_blank && pos_ < text_.size()) {
      if (text_[pos_] == '\n') {
        ++pos_;
      } else if (text_[pos_] == '\r' && pos_ + 1 < text_.size() && text_[pos_ + 1] == '\n') {
        pos_ += 2;
      } else {
        break;
      }
      ++line_;
    }
    if (pos_ >= text_.size()) return false;
    *line = line_;
    *count = 0;
    while (true) {
      if (*count == fields->size()) fields->emplace_back();
      std::string& field = (*fields)[(*count)++];
      field.clear();
      bool end_of_record = false;
      if (pos_ < text_.size() && text_[pos_] == '"') {
        if (absl::Status status = Quoted(&field, &end_of_record); !status.ok()) return status;
      } else {
        if (absl::Status status = Unquoted(&field, &end_of_record); !status.ok()) return status;
      }
      if (end_of_record) return true;
    }
  }

 private:
  // At an opening quote: reads up to the closing one and the separator after it.
  absl::Status Quoted(std::string* field, bool* end_of_record) {
    const uint64_t opened = line_;
    ++pos_;
    while (true) {
      if (pos_ >= text_.size()) {
        return Error(opened, "a quoted field is not closed (expected a closing '\"')");
      }
      const char c = text_[pos_++];
      if (c == '"') {
        if (pos_ < text_.size() && text_[pos_] == '"') {
          field->push_back('"');
          ++pos_;
          continue;
        }
        break;
      }
      if (c == '\n') ++line_;
      field->push_back(c);
    }
    if (pos_ >= text_.size()) {
      *end_of_record = true;
    } else if (text_[pos_] == ',') {
      ++pos_;
    } else if (text_[pos_] == '\n') {
      ++pos_;
      ++line_;
      *end_of_record = true;
    } else if (text_[pos_] == '\r' && pos_ + 1 < text_.size() && text_[pos_ + 1] == '\n') {
      pos_ += 2;
      ++line_;
      *end_of_record = true;
    } else {
      return Error(line_, "expected ',' or the end of the line after a closing '\"'");
    }
    return absl::OkStatus();
  }

  // Reads an unquoted field and the separator after it; a CR before the LF is no part of
  // the field.
  absl::Status Unquoted(std::string* field, bool* end_of_record) {
    const size_t begin = pos_;
    while (pos_ < text_.size() && text_[pos_] != ',' && text_[pos_] != '\n') {
      if (text_[pos_] == '"') {
        return Error(line_,
                     "a '\"' inside an unquoted field (quote the whole field and double the "
                     "'\"')");
      }
      ++pos_;
    }
    size_t end = pos_;
    if (pos_ >= text_.size()) {
      *end_of_record = true;
    } else if (text_[pos_++] == '\n') {
      ++line_;
      *end_of_record = true;
      if (end > begin && text_[end - 1] == '\r') --end;
    }
    field->assign(text_.data() + begin, end - begin);
    return absl::OkStatus();
  }

  absl::string_view name_;
  absl::string_view text_;
  size_t pos_ = 0;
  uint64_t line_ = 1;
};

bool IsHeader(const std::vector<std::string>& fields, size_t count) {
  if (count != kFields) return false;
  for (size_t i = 0; i < kFields; ++i) {
    if (fields[i] != kHeaderFields[i]) return false;
  }
  return true;
}

// What a cell is called in messages: "unit 'u', contest 'c' selection 's'".
std::string CellName(const std::vector<std::string>& fields) {
  if (fields[1].empty()) return absl::StrCat("unit '", Shown(fields[0]), "' ballots_cast");
  return absl::StrCat("unit '", Shown(fields[0]), "', contest '", Shown(fields[1]), "' selection '",
                      Shown(fields[2]), "'");
}

// Fallbacks for tables published with the voting system's own codes and names: a unit by
// its external id (a precinct's "01-600"), a contest or a selection by its name. A name
// or code that two of them share is an error, never a guess; an external id that a unit
// and a unit below it share (a Dominion precinct and its one portion) names the upper one.
absl::StatusOr<std::optional<uint32_t>> ByExternalId(const ContestElection& election,
                                                     const std::string& code) {
  std::optional<uint32_t> found;
  for (uint32_t u = 0; u < election.units.size(); ++u) {
    if (election.units[u].external_id != code) continue;
    if (found && election.Level(u) == election.Level(*found)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "reporting unit '", Shown(code), "' is the external id of both '",
          election.units[*found].id, "' and '", election.units[u].id, "'; give the unit id"));
    }
    if (!found || election.Level(u) < election.Level(*found)) found = u;
  }
  return found;
}

// A contest by its external id, else by its name.
absl::StatusOr<std::optional<uint32_t>> ContestByName(const ContestElection& election,
                                                      const std::string& name) {
  std::optional<uint32_t> found;
  for (uint32_t c = 0; c < election.contests.size(); ++c) {
    if (election.contests[c].external_id != name) continue;
    if (found) {
      return absl::InvalidArgumentError(absl::StrCat(
          "contest '", Shown(name), "' is the external id of both '", election.contests[*found].id,
          "' and '", election.contests[c].id, "'; give the contest id"));
    }
    found = c;
  }
  if (found) return found;
  for (uint32_t c = 0; c < election.contests.size(); ++c) {
    if (election.contests[c].name != name) continue;
    if (found) {
      return absl::InvalidArgumentError(absl::StrCat(
          "contest '", Shown(name), "' is the name of both '", election.contests[*found].id,
          "' and '", election.contests[c].id, "'; give the contest id"));
    }
    found = c;
  }
  return found;
}

absl::StatusOr<std::optional<uint32_t>> SelectionByName(const ContestElection& election,
                                                        uint32_t contest, const std::string& name) {
  const std::vector<Selection>& selections = election.contests[contest].selections;
  std::optional<uint32_t> found;
  for (uint32_t s = 0; s < selections.size(); ++s) {
    if (selections[s].external_id != name) continue;
    if (found) {
      return absl::InvalidArgumentError(absl::StrCat(
          "selection '", Shown(name), "' is the external id of both '", selections[*found].id,
          "' and '", selections[s].id, "'; give the selection id"));
    }
    found = s;
  }
  if (found) return found;
  for (uint32_t s = 0; s < selections.size(); ++s) {
    if (selections[s].name != name) continue;
    if (found) {
      return absl::InvalidArgumentError(
          absl::StrCat("selection '", Shown(name), "' is the name of both '", selections[*found].id,
                       "' and '", selections[s].id, "'; give the selection id"));
    }
    found = s;
  }
  return found;
}

}  // namespace

absl::Status ReadReportedFiguresCsv(absl::string_view name, absl::string_view text,
                                    ContestElection* election) {
  RecordReader reader(name, WithoutBom(text));
  std::vector<std::string> fields;
  size_t count = 0;
  uint64_t line = 0;
  const absl::string_view first_line = WithoutBom(text).substr(0, WithoutBom(text).find('\n'));
  const std::string expected_header =
      absl::StrCat("expected the header \"", kReportedFiguresCsvHeader, "\"");
  absl::StatusOr<bool> more = reader.Next(/*skip_blank=*/false, &fields, &count, &line);
  if (more.ok() && !*more) {
    return reader.Error(1, absl::StrCat(expected_header, ", got an empty file"));
  }
  if (!more.ok() || !IsHeader(fields, count)) {
    return reader.Error(1, absl::StrCat(expected_header, ", got \"",
                                        Shown(absl::StripSuffix(first_line, "\r")), "\""));
  }

  std::vector<ReportedCell> reported;
  // (unit << 32 | cell) -> the line that gave it.
  absl::flat_hash_map<uint64_t, uint64_t> line_of;
  while (true) {
    more = reader.Next(/*skip_blank=*/true, &fields, &count, &line);
    if (!more.ok()) return more.status();
    if (!*more) break;
    if (count != kFields) {
      return reader.Error(line, absl::StrCat("expected ", kFields, " fields (",
                                             kReportedFiguresCsvHeader, "), got ", count));
    }
    const std::string& unit_id = fields[0];
    const std::string& contest_id = fields[1];
    const std::string& selection_id = fields[2];
    const std::string& count_text = fields[3];

    if (unit_id.empty()) return reader.Error(line, "expected a reporting unit id, got \"\"");
    std::optional<uint32_t> unit = election->FindUnit(unit_id);
    if (!unit) {
      absl::StatusOr<std::optional<uint32_t>> by_code = ByExternalId(*election, unit_id);
      if (!by_code.ok()) return reader.Error(line, by_code.status().message());
      unit = *by_code;
    }
    if (!unit) {
      return reader.Error(line, absl::StrCat("unknown reporting unit '", Shown(unit_id),
                                             "' (expected a unit id or external id of the "
                                             "election)"));
    }

    uint32_t cell = ContestElection::kBallotsCastCell;
    if (contest_id.empty()) {
      if (selection_id != kBallotsCast) {
        return reader.Error(
            line, absl::StrCat("a row with no contest is the unit's ballots cast: expected "
                               "selection 'ballots_cast', got '",
                               Shown(selection_id), "'"));
      }
    } else {
      std::optional<uint32_t> contest = election->FindContest(contest_id);
      if (!contest) {
        absl::StatusOr<std::optional<uint32_t>> by_name = ContestByName(*election, contest_id);
        if (!by_name.ok()) return reader.Error(line, by_name.status().message());
        contest = *by_name;
      }
      if (!contest) {
        return reader.Error(line, absl::StrCat("unknown contest '", Shown(contest_id),
                                               "' (expected a contest id or name of the "
                                               "election)"));
      }
      // A selection id wins over a reserved name it happens to equal.
      std::optional<uint32_t> selection = election->FindSelection(*contest, selection_id);
      if (!selection) {
        absl::StatusOr<std::optional<uint32_t>> by_name =
            SelectionByName(*election, *contest, selection_id);
        if (!by_name.ok()) return reader.Error(line, by_name.status().message());
        selection = *by_name;
      }
      if (selection) {
        cell = election->SelectionCell(*contest, *selection);
      } else if (selection_id == ContestFigureName(ContestFigure::kOvervotes)) {
        cell = election->FigureCell(*contest, ContestFigure::kOvervotes);
      } else if (selection_id == ContestFigureName(ContestFigure::kUndervotes)) {
        cell = election->FigureCell(*contest, ContestFigure::kUndervotes);
      } else if (selection_id == ContestFigureName(ContestFigure::kBallots)) {
        cell = election->FigureCell(*contest, ContestFigure::kBallots);
      } else if (election->invalid_figure &&
                 selection_id == ContestFigureName(ContestFigure::kInvalid)) {
        cell = election->FigureCell(*contest, ContestFigure::kInvalid);
      } else if (selection_id == kBallotsCast) {
        return reader.Error(
            line, absl::StrCat("contest '", Shown(contest_id),
                               "' has no selection 'ballots_cast' (a unit's ballots cast is "
                               "a row with an empty contest)"));
      } else {
        return reader.Error(line, absl::StrCat("unknown selection '", Shown(selection_id),
                                               "' of contest '", Shown(contest_id),
                                               "' (expected one of its selection ids or names, or "
                                               "overvotes, undervotes, ballots",
                                               election->invalid_figure ? ", invalid" : "", ")"));
      }
    }

    const std::optional<uint64_t> value = ParseDecimalUint64(count_text);
    if (!value || *value > kMaxCount) {
      return reader.Error(line, absl::StrCat("expected a count (a decimal integer 0 to 2^63 - 1), "
                                             "got '",
                                             Shown(count_text), "'"));
    }

    const uint64_t key = (uint64_t{*unit} << 32) | cell;
    const auto [it, inserted] = line_of.emplace(key, line);
    if (!inserted) {
      return reader.Error(line, absl::StrCat(CellName(fields), " is given twice: on line ",
                                             it->second, " and on line ", line));
    }
    reported.push_back({*unit, cell, *value});
  }

  std::vector<ReportedCell> old_reported = std::move(election->reported);
  std::vector<ReportedTypedCell> old_by_type = std::move(election->reported_by_type);
  election->reported = std::move(reported);
  election->reported_by_type.clear();
  if (absl::Status status = election->Finalize(name); !status.ok()) {
    // Not reached with a Finalize()d election (every cell was checked above); leave the
    // election as it was all the same.
    election->reported = std::move(old_reported);
    election->reported_by_type = std::move(old_by_type);
    election->Finalize(name).IgnoreError();
    return status;
  }
  return absl::OkStatus();
}

absl::Status TakeReportedFigures(const ContestElection& report, absl::string_view name,
                                 ContestElection* election) {
  auto error = [&](absl::string_view what) {
    return absl::InvalidArgumentError(absl::StrCat(name, ": ", what));
  };
  std::vector<ReportedCell> reported;
  absl::flat_hash_map<uint64_t, std::string> given;  // (unit << 32 | cell) -> the report's cell
  // The report's units, contests and selections resolved once each.
  std::vector<std::optional<uint32_t>> units(report.units.size());
  for (uint32_t u = 0; u < report.units.size(); ++u) {
    if (u == report.scope()) {
      units[u] = election->scope();
      continue;
    }
    const std::string& id = report.units[u].id;
    units[u] = election->FindUnit(id);
    if (!units[u]) {
      absl::StatusOr<std::optional<uint32_t>> by_code = ByExternalId(*election, id);
      if (!by_code.ok()) return error(by_code.status().message());
      units[u] = *by_code;
    }
  }
  for (const ReportedCell& cell : report.reported) {
    const ReportingUnit& report_unit = report.units[cell.unit];
    if (!units[cell.unit]) {
      return error(absl::StrCat("reporting unit '", Shown(report_unit.id),
                                "' is neither a unit id nor an external id of the election (",
                                election->source, ")"));
    }
    const ContestElection::CellMeaning m = report.Meaning(cell.cell);
    uint32_t into = ContestElection::kBallotsCastCell;
    std::string what = "ballots cast";
    if (m.contest) {
      const ElectionContest& contest = report.contests[*m.contest];
      // By the report's id (an election's own id, else its external id), then by name.
      std::optional<uint32_t> c = election->FindContest(contest.id);
      for (const std::string* key : {&contest.id, &contest.name}) {
        if (c || key->empty()) continue;
        absl::StatusOr<std::optional<uint32_t>> by_name = ContestByName(*election, *key);
        if (!by_name.ok()) return error(by_name.status().message());
        c = *by_name;
      }
      if (!c) {
        return error(
            absl::StrCat("contest '", Shown(contest.id), "' (", Shown(contest.name),
                         ") is neither a contest id, external id nor name of the election"));
      }
      if (m.selection) {
        const Selection& selection = contest.selections[*m.selection];
        std::optional<uint32_t> s = election->FindSelection(*c, selection.id);
        for (const std::string* key : {&selection.id, &selection.name}) {
          if (s || key->empty()) continue;
          absl::StatusOr<std::optional<uint32_t>> by_name = SelectionByName(*election, *c, *key);
          if (!by_name.ok()) return error(by_name.status().message());
          s = *by_name;
        }
        if (!s) {
          return error(absl::StrCat(
              "selection '", Shown(selection.id), "' (", Shown(selection.name), ") of contest '",
              Shown(contest.id), "' is neither a selection id, external id nor name of contest '",
              election->contests[*c].id, "'"));
        }
        into = election->SelectionCell(*c, *s);
        what = absl::StrCat("contest '", contest.id, "' selection '", selection.id, "'");
      } else {
        into = election->FigureCell(*c, *m.figure);
        what = absl::StrCat("contest '", contest.id, "' ", ContestFigureName(*m.figure));
      }
    }
    what = absl::StrCat("unit '", report_unit.id, "' ", what);
    const uint64_t key = (uint64_t{*units[cell.unit]} << 32) | into;
    const auto [it, inserted] = given.emplace(key, what);
    if (!inserted) {
      return error(absl::StrCat(what, " and ", it->second, " are the same cell of the election"));
    }
    reported.push_back({*units[cell.unit], into, cell.count});
  }
  election->reported = std::move(reported);
  election->reported_by_type.clear();
  return election->Finalize(name);
}

bool LooksLikeReportedFiguresCsv(absl::string_view head) {
  head = WithoutBom(head);
  // The first line alone (all of `head` when it has no line break), read as
  // ReadReportedFiguresCsv reads it; a line far longer than any spelling of the header
  // (every name quoted, CRLF) is not it, and is not read.
  const absl::string_view first_line = absl::StripSuffix(head.substr(0, head.find('\n')), "\r");
  if (first_line.size() > 4 * kReportedFiguresCsvHeader.size()) return false;
  RecordReader reader("", first_line);
  std::vector<std::string> fields;
  size_t count = 0;
  uint64_t line = 0;
  const absl::StatusOr<bool> read = reader.Next(/*skip_blank=*/false, &fields, &count, &line);
  return read.ok() && *read && IsHeader(fields, count);
}

}  // namespace canvass
