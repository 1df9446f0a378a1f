// ledger: the tamper-evident audit ledger (issue 4): every audit entry of the host and its
// plugins, in an RFC 6962 Merkle tree, durable in SQLite.
//
// Contract (this step):
//  - append() gives the entry the next sequence number ("seq") and, when it has none, a "time"
//    (RFC 3339 UTC, microseconds), serialises it canonically (RFC 8785), and acknowledges
//    (done(BL_OK)) only once the entry, its leaf hash and the new tree head are committed in one
//    SQLite transaction (WAL, synchronous=FULL). Appends that arrive while a commit runs share the
//    next one (group commit); one writer thread does all writing.
//  - An entry that cannot be canonicalised (see canonical_json) is refused with
//    BL_INVALID_ARGUMENT and takes no sequence number.
//  - The tree head of every commit (size, root, the right frontier of complete subtrees) is kept,
//    so roots are O(log n) to extend and every head can be checked later.
//  - verify_ledger() reads a ledger without writing and names the first sequence number that is
//    missing, altered or out of place, or the first tree head whose root does not match.
#pragma once

#include "audit/audit_sink.hpp"
#include "audit/merkle.hpp"

#include <filesystem>
#include <memory>
#include <optional>
#include <string>

namespace branchline::audit {

class Ledger final : public AuditSink {
 public:
  // Opens (creating) the ledger. Throws std::runtime_error naming the file when it cannot.
  static std::unique_ptr<Ledger> open(const std::filesystem::path& file);
  ~Ledger() override;  // finishes queued appends, then stops the writer

  void append(boost::json::object entry, std::function<void(bl_status)> done) override;
  // Appends and waits; returns the entry's sequence number, or throws std::invalid_argument /
  // std::runtime_error.
  std::uint64_t append_and_wait(boost::json::object entry);

  std::uint64_t size() const;
  Hash root() const;
  std::uint64_t commits() const;  // transactions so far (group commit: fewer than appends)

  struct Impl;

 private:
  explicit Ledger(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

struct VerifyReport {
  bool intact = false;
  std::uint64_t entries = 0;
  std::uint64_t heads_checked = 0;
  std::optional<std::uint64_t> first_bad;  // the first sequence number that is wrong
  std::string problem;                     // one line
  Hash root{};
};

// Checks a ledger file read-only. Never throws for a damaged ledger: the report says what is wrong.
VerifyReport verify_ledger(const std::filesystem::path& file);

// The right frontier of an RFC 6962 tree: the roots of its complete subtrees, by level. Appending
// and taking the root are O(log n); root() equals merkle::root() over the same leaves.
class Frontier {
 public:
  void append(const Hash& leaf);
  Hash root() const;
  std::uint64_t size() const { return size_; }
  std::string serialize() const;  // size (8 bytes, big-endian) then the hashes present, low level first
  static std::optional<Frontier> parse(std::string_view bytes);

 private:
  std::uint64_t size_ = 0;
  std::vector<std::optional<Hash>> levels_;
};

}  // namespace branchline::audit
