// ZipArchive (engine/ingest/zip_members.h) on zips written at test time with libarchive's
// own writer: exact member names, sizes and contents, and the error code and message of
// each damaged, truncated, oversized, encrypted or wrong input.
#include "engine/ingest/zip_members.h"

#include <archive.h>
#include <archive_entry.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/temp_dir.h"

namespace canvass {
namespace {

using ::canvass::testing::IsOk;
using ::canvass::testing::ReadFileBytes;
using ::canvass::testing::StatusIs;
using ::canvass::testing::TempDir;
using ::canvass::testing::WriteFileBytes;
using ::testing::AllOf;
using ::testing::HasSubstr;

struct Entry {
  std::string name;
  std::string content;
  bool deflate = true;
  bool folder = false;
  bool size_in_header = true;  // false: the local header says 0, the sizes follow the data
};

Entry Folder(std::string name) { return Entry{std::move(name), "", false, true}; }

// Writes `entries` as a zip at `path` with libarchive's writer; `options` go to
// archive_write_set_options ("zip:encryption=traditional" encrypts with a passphrase).
void WriteZip(const std::string& path, const std::vector<Entry>& entries,
              const char* options = nullptr) {
  struct archive* writer = archive_write_new();
  ASSERT_EQ(archive_write_set_format_zip(writer), ARCHIVE_OK);
  if (options != nullptr) {
    ASSERT_EQ(archive_write_set_options(writer, options), ARCHIVE_OK)
        << archive_error_string(writer);
  }
  ASSERT_EQ(archive_write_set_passphrase(writer, "secret"), ARCHIVE_OK);  // used if asked
  ASSERT_EQ(archive_write_open_filename(writer, path.c_str()), ARCHIVE_OK);
  for (const Entry& entry : entries) {
    if (entry.deflate) {
      ASSERT_EQ(archive_write_zip_set_compression_deflate(writer), ARCHIVE_OK);
    } else {
      ASSERT_EQ(archive_write_zip_set_compression_store(writer), ARCHIVE_OK);
    }
    struct archive_entry* header = archive_entry_new();
    archive_entry_set_pathname_utf8(header, entry.name.c_str());
    archive_entry_set_filetype(header, entry.folder ? AE_IFDIR : AE_IFREG);
    archive_entry_set_perm(header, entry.folder ? 0755 : 0644);
    if (entry.size_in_header) {
      archive_entry_set_size(header, static_cast<la_int64_t>(entry.content.size()));
    }
    ASSERT_EQ(archive_write_header(writer, header), ARCHIVE_OK) << archive_error_string(writer);
    if (!entry.content.empty()) {
      ASSERT_EQ(archive_write_data(writer, entry.content.data(), entry.content.size()),
                static_cast<la_ssize_t>(entry.content.size()));
    }
    archive_entry_free(header);
  }
  ASSERT_EQ(archive_write_close(writer), ARCHIVE_OK);
  archive_write_free(writer);
}

// JSON-like lines that deflate well but not to nothing: `lines` records.
std::string JsonLines(int lines, uint32_t seed) {
  std::string text;
  uint32_t state = seed;
  for (int i = 0; i < lines; ++i) {
    state = state * 1664525u + 1013904223u;
    absl::StrAppend(&text, "{\"RecordId\":", i, ",\"BatchId\":", state % 977,
                    ",\"Marks\":[{\"CandidateId\":", (state >> 10) % 311,
                    ",\"MarkDensity\":", (state >> 20) % 100, "}]},\n");
  }
  return text;
}

std::unique_ptr<ZipArchive> OpenOrDie(const std::string& path) {
  absl::StatusOr<std::unique_ptr<ZipArchive>> archive = ZipArchive::Open(path);
  EXPECT_THAT(archive, IsOk());
  return archive.ok() ? std::move(*archive) : nullptr;
}

// The next member's name, size and content; fails the test on an error or at the end.
struct ReadMember {
  std::string name;
  uint64_t size = 0;
  std::string content;
};
ReadMember NextAndRead(ZipArchive& archive) {
  absl::StatusOr<std::optional<ZipMember>> member = archive.Next();
  EXPECT_THAT(member, IsOk());
  if (!member.ok() || !member->has_value()) {
    ADD_FAILURE() << "no member";
    return {};
  }
  ReadMember read{(*member)->name, (*member)->size, "stale"};
  EXPECT_THAT(archive.ReadAll(&read.content, 1u << 30), IsOk());
  return read;
}

void ExpectEnd(ZipArchive& archive) {
  absl::StatusOr<std::optional<ZipMember>> member = archive.Next();
  ASSERT_THAT(member, IsOk());
  EXPECT_FALSE(member->has_value()) << (*member)->name;
}

// The offset of `name`'s local file header and of its data in a zip's bytes.
struct LocalHeader {
  size_t header = 0;
  size_t data = 0;
};
LocalHeader FindLocalHeader(const std::string& zip, const std::string& name) {
  const auto le16 = [&](size_t at) {
    return static_cast<size_t>(static_cast<uint8_t>(zip[at])) |
           static_cast<size_t>(static_cast<uint8_t>(zip[at + 1])) << 8;
  };
  for (size_t at = zip.find("PK\3\4"); at != std::string::npos; at = zip.find("PK\3\4", at + 1)) {
    if (at + 30 <= zip.size() && zip.compare(at + 30, name.size(), name) == 0 &&
        le16(at + 26) == name.size()) {
      return LocalHeader{at, at + 30 + le16(at + 26) + le16(at + 28)};
    }
  }
  ADD_FAILURE() << "no local header for " << name;
  return {};
}

TEST(ZipArchiveTest, StoredAndDeflatedMembersReadExactly) {
  TempDir dir;
  const std::string path = dir.File("export.zip");
  const std::string stored = JsonLines(500, 1);
  const std::string deflated = JsonLines(20000, 2);
  WriteZip(path, {{"stored.json", stored, false}, {"deflated.json", deflated, true}});
  // Deflate did shrink the second member (so it really is compressed on disk).
  EXPECT_LT(ReadFileBytes(path).size(), stored.size() + deflated.size() / 2);

  std::unique_ptr<ZipArchive> archive = OpenOrDie(path);
  ASSERT_NE(archive, nullptr);
  ReadMember first = NextAndRead(*archive);
  EXPECT_EQ(first.name, "stored.json");
  EXPECT_EQ(first.size, stored.size());
  EXPECT_EQ(first.content, stored);
  ReadMember second = NextAndRead(*archive);
  EXPECT_EQ(second.name, "deflated.json");
  EXPECT_EQ(second.size, deflated.size());
  EXPECT_EQ(second.content, deflated);
  ExpectEnd(*archive);
  ExpectEnd(*archive);  // the end stays the end
}

TEST(ZipArchiveTest, EmptyMembersReadAsEmpty) {
  TempDir dir;
  const std::string path = dir.File("empty.zip");
  WriteZip(path, {{"stored-empty.json", "", false},
                  {"deflated-empty.json", "", true},
                  {"after.json", "{}", true}});
  std::unique_ptr<ZipArchive> archive = OpenOrDie(path);
  ASSERT_NE(archive, nullptr);
  ReadMember stored = NextAndRead(*archive);
  EXPECT_EQ(stored.name, "stored-empty.json");
  EXPECT_EQ(stored.size, 0u);
  EXPECT_EQ(stored.content, "");  // "stale" was cleared
  ReadMember deflated = NextAndRead(*archive);
  EXPECT_EQ(deflated.name, "deflated-empty.json");
  EXPECT_EQ(deflated.content, "");
  EXPECT_EQ(NextAndRead(*archive).content, "{}");
  ExpectEnd(*archive);
}

TEST(ZipArchiveTest, MemberInAFolderKeepsItsPathAndTheFolderIsSkipped) {
  TempDir dir;
  const std::string path = dir.File("export.zip");
  WriteZip(path, {Folder("export/"),
                  {"export/CvrExport_1.json", "{\"CVR\":[]}", true},
                  Folder("export/images/")});
  std::unique_ptr<ZipArchive> archive = OpenOrDie(path);
  ASSERT_NE(archive, nullptr);
  ReadMember member = NextAndRead(*archive);
  EXPECT_EQ(member.name, "export/CvrExport_1.json");
  EXPECT_EQ(member.content, "{\"CVR\":[]}");
  ExpectEnd(*archive);
}

// Names flagged UTF-8 (as Python's zipfile and most current tools write any non-ASCII
// name) and names written as raw bytes without the flag; the process stays in the "C"
// locale, where libarchive alone would drop a flagged non-ASCII name.
TEST(ZipArchiveTest, NonAsciiNamesComeBackAsStored) {
  TempDir dir;
  const std::string name = "Wahlbezirk_M\xC3\xBCnchen.json";         // "München", UTF-8
  const std::string tokyo = "export/\xE6\x9D\xB1\xE4\xBA\xAC.json";  // "東京"
  for (const char* options : {"zip:hdrcharset=UTF-8", static_cast<const char*>(nullptr)}) {
    SCOPED_TRACE(options != nullptr ? options : "no options");
    const std::string path = dir.File(options != nullptr ? "flagged.zip" : "raw.zip");
    WriteZip(path, {{name, "x", true}, {tokyo, "y", false}}, options);
    const std::string bytes = ReadFileBytes(path);
    const LocalHeader header = FindLocalHeader(bytes, name);
    ASSERT_LT(header.header + 8, bytes.size());
    const bool flagged = (static_cast<uint8_t>(bytes[header.header + 7]) & 0x08) != 0;
    EXPECT_EQ(flagged, options != nullptr);  // general purpose bit 11: names are UTF-8

    std::unique_ptr<ZipArchive> archive = OpenOrDie(path);
    ASSERT_NE(archive, nullptr);
    EXPECT_EQ(NextAndRead(*archive).name, name);
    EXPECT_EQ(NextAndRead(*archive).name, tokyo);
    ExpectEnd(*archive);
  }
}

TEST(ZipArchiveTest, ThreeHundredMembersComeInArchiveOrder) {
  TempDir dir;
  const std::string path = dir.File("many.zip");
  std::vector<Entry> entries;
  for (int i = 0; i < 300; ++i) {
    // Names out of alphabetical order, so that any sorting would show.
    entries.push_back({absl::StrCat("CvrExport_", (i * 7) % 300, ".json"),
                       JsonLines(i % 13, static_cast<uint32_t>(i)), i % 3 != 0});
  }
  WriteZip(path, entries);

  std::unique_ptr<ZipArchive> archive = OpenOrDie(path);
  ASSERT_NE(archive, nullptr);
  for (const Entry& entry : entries) {
    ReadMember member = NextAndRead(*archive);
    ASSERT_EQ(member.name, entry.name);
    ASSERT_EQ(member.size, entry.content.size());
    ASSERT_EQ(member.content, entry.content);
  }
  ExpectEnd(*archive);

  absl::StatusOr<std::vector<ZipMember>> listed = ListZipMembers(path);
  ASSERT_THAT(listed, IsOk());
  ASSERT_EQ(listed->size(), entries.size());
  for (size_t i = 0; i < entries.size(); ++i) {
    EXPECT_EQ((*listed)[i].name, entries[i].name);
    EXPECT_EQ((*listed)[i].size, entries[i].content.size());
  }
}

TEST(ZipArchiveTest, SkippedAndUnreadMembersLeaveTheNextOneIntact) {
  TempDir dir;
  const std::string path = dir.File("skip.zip");
  const std::string big = JsonLines(5000, 3);
  WriteZip(path,
           {{"skipped.json", big, true}, {"unread.json", big, false}, {"read.json", "r", true}});
  std::unique_ptr<ZipArchive> archive = OpenOrDie(path);
  ASSERT_NE(archive, nullptr);
  ASSERT_THAT(archive->Next(), IsOk());
  EXPECT_THAT(archive->Skip(), IsOk());
  EXPECT_THAT(archive->Skip(),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("no member to read")));
  ASSERT_THAT(archive->Next(), IsOk());  // unread.json: Next() skips its data
  ReadMember member = NextAndRead(*archive);
  EXPECT_EQ(member.name, "read.json");
  EXPECT_EQ(member.content, "r");
  std::string content;
  EXPECT_THAT(archive->ReadAll(&content, 10),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr(path)));
  ExpectEnd(*archive);
}

TEST(ZipArchiveTest, MemberLargerThanTheLimitIsOutOfRangeNamingIt) {
  TempDir dir;
  const std::string path = dir.File("large.zip");
  const std::string content(1000, 'x');
  WriteZip(path, {{"large.json", content, true}, {"exact.json", content, false}});
  std::unique_ptr<ZipArchive> archive = OpenOrDie(path);
  ASSERT_NE(archive, nullptr);
  ASSERT_THAT(archive->Next(), IsOk());
  std::string out;
  EXPECT_THAT(archive->ReadAll(&out, 999),
              StatusIs(absl::StatusCode::kOutOfRange,
                       AllOf(HasSubstr(absl::StrCat(path, ": member large.json: ")),
                             HasSubstr("1000 bytes uncompressed, more than the limit of 999"))));
  // The error is the member's own: the next one reads, at exactly the limit.
  absl::StatusOr<std::optional<ZipMember>> next = archive->Next();
  ASSERT_THAT(next, IsOk());
  ASSERT_TRUE(next->has_value());
  EXPECT_EQ((*next)->name, "exact.json");
  EXPECT_THAT(archive->ReadAll(&out, 1000), IsOk());
  EXPECT_EQ(out, content);
  ExpectEnd(*archive);
}

TEST(ZipArchiveTest, CorruptDeflatedMemberIsDataLossNamingArchiveAndMember) {
  TempDir dir;
  const std::string path = dir.File("corrupt.zip");
  const std::string before = JsonLines(100, 4);
  WriteZip(path, {{"before.json", before, true},
                  {"corrupt.json", JsonLines(20000, 5), true},
                  {"after.json", "a", true}});
  std::string bytes = ReadFileBytes(path);
  const LocalHeader header = FindLocalHeader(bytes, "corrupt.json");
  ASSERT_GT(header.data, 0u);
  // 16 bytes well inside the member's deflate stream (tens of KB long) inverted.
  ASSERT_LT(header.data + 2016, bytes.size());
  for (size_t at = header.data + 2000; at < header.data + 2016; ++at) bytes[at] ^= '\xFF';
  WriteFileBytes(path, bytes);

  std::unique_ptr<ZipArchive> archive = OpenOrDie(path);
  ASSERT_NE(archive, nullptr);
  EXPECT_EQ(NextAndRead(*archive).content, before);
  absl::StatusOr<std::optional<ZipMember>> member = archive->Next();
  ASSERT_THAT(member, IsOk());
  ASSERT_TRUE(member->has_value());
  EXPECT_EQ((*member)->name, "corrupt.json");
  std::string out;
  EXPECT_THAT(archive->ReadAll(&out, 1u << 30),
              StatusIs(absl::StatusCode::kDataLoss,
                       AllOf(HasSubstr(absl::StrCat(path, ": member corrupt.json: byte ")),
                             HasSubstr(" of the member: "))));
}

TEST(ZipArchiveTest, BadCrcIsDataLossAndTheNextMemberStillReads) {
  TempDir dir;
  const std::string path = dir.File("crc.zip");
  const std::string content = JsonLines(50, 6);
  WriteZip(path, {{"crc.json", content, false}, {"after.json", "a", true}});
  std::string bytes = ReadFileBytes(path);
  const LocalHeader header = FindLocalHeader(bytes, "crc.json");
  ASSERT_GT(header.data, 0u);
  bytes[header.data + 10] ^= 1;  // a stored member: one bit of its content, same length
  WriteFileBytes(path, bytes);

  std::unique_ptr<ZipArchive> archive = OpenOrDie(path);
  ASSERT_NE(archive, nullptr);
  ASSERT_THAT(archive->Next(), IsOk());
  std::string out;
  EXPECT_THAT(archive->ReadAll(&out, 1u << 20),
              StatusIs(absl::StatusCode::kDataLoss,
                       HasSubstr(absl::StrCat(path, ": member crc.json: byte ", content.size(),
                                              " of the member: ZIP bad CRC"))));
  EXPECT_EQ(NextAndRead(*archive).content, "a");
  ExpectEnd(*archive);
}

// Reads every member until the first error; returns it (OK if the end came first) and
// the members read whole before it.
absl::Status ReadUntilError(ZipArchive& archive, std::vector<ReadMember>* members) {
  for (;;) {
    absl::StatusOr<std::optional<ZipMember>> member = archive.Next();
    if (!member.ok()) return member.status();
    if (!member->has_value()) return absl::OkStatus();
    ReadMember read{(*member)->name, (*member)->size, ""};
    if (absl::Status status = archive.ReadAll(&read.content, 1u << 30); !status.ok()) {
      return status;
    }
    members->push_back(std::move(read));
  }
}

std::vector<Entry> TenMembers() {
  std::vector<Entry> entries;
  for (int i = 0; i < 10; ++i) {
    entries.push_back({absl::StrCat("CvrExport_", i, ".json"),
                       JsonLines(300, static_cast<uint32_t>(100 + i)), i % 2 == 0});
  }
  return entries;
}

TEST(ZipArchiveTest, ArchiveCutInHalfIsDataLossNamingIt) {
  TempDir dir;
  const std::string path = dir.File("cut.zip");
  const std::vector<Entry> entries = TenMembers();
  WriteZip(path, entries);
  const std::string bytes = ReadFileBytes(path);
  WriteFileBytes(path, bytes.substr(0, bytes.size() / 2));

  std::unique_ptr<ZipArchive> archive = OpenOrDie(path);
  ASSERT_NE(archive, nullptr);
  std::vector<ReadMember> members;
  EXPECT_THAT(ReadUntilError(*archive, &members),
              StatusIs(absl::StatusCode::kDataLoss,
                       AllOf(HasSubstr(absl::StrCat(path, ": ")),
                             HasSubstr("(the archive has no end-of-central-directory record: it "
                                       "was cut short or is damaged)"))));
  // What came before the cut is whole and exact.
  ASSERT_LT(members.size(), entries.size());
  for (size_t i = 0; i < members.size(); ++i) {
    EXPECT_EQ(members[i].name, entries[i].name);
    EXPECT_EQ(members[i].content, entries[i].content);
  }
  // Later calls repeat the error instead of reaching an end.
  EXPECT_THAT(archive->Next(), StatusIs(absl::StatusCode::kDataLoss, HasSubstr(path)));
}

// A cut exactly between two members leaves whole members only: the streaming reader must
// still say the archive is cut, not return a shorter list. (The cut follows a stored
// member: after a deflated one, libarchive's streaming reader looks 24 bytes past the
// member's 16-byte data descriptor and reports the cut in that member instead.)
TEST(ZipArchiveTest, ArchiveCutBetweenMembersIsDataLossNotAShorterList) {
  TempDir dir;
  const std::string path = dir.File("cut.zip");
  const std::vector<Entry> entries = TenMembers();
  WriteZip(path, entries);
  const std::string bytes = ReadFileBytes(path);
  ASSERT_FALSE(entries[5].deflate);
  const LocalHeader seventh = FindLocalHeader(bytes, entries[6].name);
  ASSERT_GT(seventh.header, 0u);
  WriteFileBytes(path, bytes.substr(0, seventh.header));

  std::unique_ptr<ZipArchive> archive = OpenOrDie(path);
  ASSERT_NE(archive, nullptr);
  std::vector<ReadMember> members;
  EXPECT_THAT(ReadUntilError(*archive, &members),
              StatusIs(absl::StatusCode::kDataLoss,
                       AllOf(HasSubstr(absl::StrCat(path, ": ")),
                             HasSubstr("no end-of-central-directory record"))));
  // The streaming reader finds the end of a member written with its sizes after the data
  // (libarchive's writer does so) by looking past it, so the last whole member before the
  // cut may be the one reported.
  ASSERT_GE(members.size(), 5u);
  ASSERT_LE(members.size(), 6u);
  for (size_t i = 0; i < members.size(); ++i) EXPECT_EQ(members[i].content, entries[i].content);
  EXPECT_THAT(ListZipMembers(path), StatusIs(absl::StatusCode::kDataLoss, HasSubstr(path)));
}

TEST(ZipArchiveTest, DamagedLocalHeaderIsDataLossNamingTheMemberBefore) {
  TempDir dir;
  const std::string path = dir.File("damaged.zip");
  const std::vector<Entry> entries = TenMembers();
  WriteZip(path, entries);
  std::string bytes = ReadFileBytes(path);
  const LocalHeader third = FindLocalHeader(bytes, entries[2].name);
  ASSERT_GT(third.header, 0u);
  bytes[third.header + 2] = 'X';  // "PK\3\4" no more
  WriteFileBytes(path, bytes);

  std::unique_ptr<ZipArchive> archive = OpenOrDie(path);
  ASSERT_NE(archive, nullptr);
  std::vector<ReadMember> members;
  EXPECT_THAT(ReadUntilError(*archive, &members),
              StatusIs(absl::StatusCode::kDataLoss,
                       HasSubstr(absl::StrCat(path, ": the header of member 3 (after ",
                                              entries[1].name, "): Damaged Zip archive"))));
  EXPECT_EQ(members.size(), 2u);
}

// Without its end-of-central-directory record (a cut in the archive's last 22 bytes) the
// seeking reader cannot start, and the streaming one reads every member from its local
// header. The deflated members were written as a stream writes them, sizes after the data,
// so their headers do not know them and the limit is met while reading.
TEST(ZipArchiveTest, ArchiveWithoutItsEndRecordIsReadFromLocalHeaders) {
  TempDir dir;
  const std::string path = dir.File("no-end.zip");
  std::vector<Entry> entries = TenMembers();
  for (Entry& entry : entries) entry.size_in_header = !entry.deflate;
  WriteZip(path, entries);
  const std::string bytes = ReadFileBytes(path);
  ASSERT_EQ(bytes.compare(bytes.size() - 22, 4, "PK\5\6"), 0);
  WriteFileBytes(path, bytes.substr(0, bytes.size() - 22));

  std::unique_ptr<ZipArchive> archive = OpenOrDie(path);
  ASSERT_NE(archive, nullptr);
  for (const Entry& entry : entries) {
    ReadMember member = NextAndRead(*archive);
    ASSERT_EQ(member.name, entry.name);
    EXPECT_EQ(member.size, entry.deflate ? 0u : entry.content.size()) << entry.name;
    ASSERT_EQ(member.content, entry.content);
  }
  ExpectEnd(*archive);

  archive = OpenOrDie(path);
  ASSERT_NE(archive, nullptr);
  ASSERT_THAT(archive->Next(), IsOk());
  ASSERT_TRUE(entries[0].deflate);
  std::string out;
  EXPECT_THAT(
      archive->ReadAll(&out, 100),
      StatusIs(absl::StatusCode::kOutOfRange,
               AllOf(HasSubstr(absl::StrCat(path, ": member ", entries[0].name, ": at least ")),
                     HasSubstr(" bytes uncompressed, more than the limit of 100"))));
  EXPECT_EQ(out, entries[0].content.substr(0, 100));
  EXPECT_EQ(NextAndRead(*archive).content, entries[1].content);
}

TEST(ZipArchiveTest, EncryptedMemberIsInvalidArgument) {
  TempDir dir;
  const std::string path = dir.File("encrypted.zip");
  WriteZip(path, {{"secret.json", JsonLines(10, 7), true}}, "zip:encryption=traditional");
  std::unique_ptr<ZipArchive> archive = OpenOrDie(path);
  ASSERT_NE(archive, nullptr);
  EXPECT_THAT(archive->Next(),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr(absl::StrCat(path, ": member secret.json: encrypted"))));
}

TEST(ZipArchiveTest, FileThatIsNotAZipIsInvalidArgument) {
  TempDir dir;
  const std::string text = dir.File("CvrExport_1.json");
  WriteFileBytes(text, "{\"CVR\":[]}\n");
  EXPECT_THAT(ZipArchive::Open(text),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr(absl::StrCat(text, ": byte 0: not a zip archive"))));
  const std::string empty = dir.File("empty.zip");
  WriteFileBytes(empty, "");
  EXPECT_THAT(ZipArchive::Open(empty),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("not a zip archive")));
  EXPECT_THAT(ZipArchive::Open(dir.path().string()),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("not a regular file")));
}

TEST(ZipArchiveTest, MissingFileIsNotFound) {
  TempDir dir;
  const std::string path = dir.File("missing.zip");
  EXPECT_THAT(ZipArchive::Open(path), StatusIs(absl::StatusCode::kNotFound,
                                               HasSubstr(absl::StrCat(path, ": cannot open"))));
  EXPECT_THAT(ListZipMembers(path), StatusIs(absl::StatusCode::kNotFound, HasSubstr(path)));
}

}  // namespace
}  // namespace canvass
