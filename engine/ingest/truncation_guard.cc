// SIGBUS on a mapped input file becomes exit 2 naming the file (see truncation_guard.h).
#include "engine/ingest/truncation_guard.h"

#include <errno.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <mutex>

#include "absl/strings/str_cat.h"

namespace canvass {

struct TruncationGuard::Table {
  struct Entry {
    uintptr_t begin = 0, end = 0;
    std::string message;  // written as it is by the handler
  };
  std::vector<Entry> entries;
};

namespace {

std::atomic<TruncationGuard::Table*> g_tables[TruncationGuard::kMaxGuards];

// Only async-signal-safe calls: loads of published pointers, write(2), _exit(2).
void OnSigbus(int signal, siginfo_t* info, void* /*context*/) {
  const auto address = reinterpret_cast<uintptr_t>(info->si_addr);
  for (auto& slot : g_tables) {
    const TruncationGuard::Table* table = slot.load(std::memory_order_acquire);
    if (table == nullptr) continue;
    for (const TruncationGuard::Table::Entry& entry : table->entries) {
      if (address < entry.begin || address >= entry.end) continue;
      size_t written = 0;
      while (written < entry.message.size()) {
        const ssize_t n =
            write(STDERR_FILENO, entry.message.data() + written, entry.message.size() - written);
        if (n <= 0) break;
        written += static_cast<size_t>(n);
      }
      _exit(2);
    }
  }
  // Not an input file: the default action, as if no handler had been installed.
  struct sigaction action {};
  action.sa_handler = SIG_DFL;
  sigemptyset(&action.sa_mask);
  sigaction(signal, &action, nullptr);
  raise(signal);
}

void InstallHandlerOnce() {
  static std::once_flag once;
  std::call_once(once, [] {
    struct sigaction action {};
    action.sa_sigaction = OnSigbus;
    action.sa_flags = SA_SIGINFO;
    sigemptyset(&action.sa_mask);
    sigaction(SIGBUS, &action, nullptr);
  });
}

}  // namespace

TruncationGuard::TruncationGuard(std::vector<MappedRange> ranges) {
  InstallHandlerOnce();
  auto* table = new Table();
  for (MappedRange& range : ranges) {
    if (range.bytes == 0) continue;
    const auto begin = reinterpret_cast<uintptr_t>(range.begin);
    table->entries.push_back(
        {begin, begin + range.bytes,
         absl::StrCat(program_invocation_short_name, ": ", range.path,
                      ": changed while being read (the file was truncated or shortened while "
                      "mapped); no report was printed\n")});
  }
  for (int s = 0; s < kMaxGuards; ++s) {
    Table* expected = nullptr;
    if (g_tables[s].compare_exchange_strong(expected, table, std::memory_order_acq_rel)) {
      slot_ = s;
      table_ = table;
      return;
    }
  }
  delete table;  // every slot taken: the default action for this job's files
}

TruncationGuard::~TruncationGuard() {
  if (slot_ < 0) return;
  g_tables[slot_].store(nullptr, std::memory_order_release);
  // A handler that loaded the table before the store may still read it, but only on a
  // SIGBUS in this job's files, which are unmapped after the guard goes: by then no
  // thread of the job is reading them.
  delete table_;
}

}  // namespace canvass
