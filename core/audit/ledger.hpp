// ledger: the tamper-evident audit ledger (issue 4): every audit entry of the host and its
// plugins, in an RFC 6962 Merkle tree, durable in SQLite, with signed checkpoints.
//
// Contract:
//  - append() gives the entry the next sequence number ("seq") and, when it has none, a "time"
//    (RFC 3339 UTC, microseconds), serialises it canonically (RFC 8785), and acknowledges
//    (done(BL_OK)) only once the entry, its leaf hash and the new tree head are committed in one
//    SQLite transaction (WAL, synchronous=FULL). Appends that arrive while a commit runs share the
//    next one (group commit); one writer thread does all writing (a second thread, on its own
//    connection, copies the WAL back into the database: see Impl::WalCheckpointer). A commit
//    that fails (disk full, I/O error) answers every entry of its batch BL_UNAVAILABLE and
//    leaves the tree as it was.
//  - `done` runs on one of the ledger's threads (the writer, or the acknowledgement thread for
//    large batches), once per entry, in commit order. It must not block, and above all must not
//    append_and_wait: post any real work to your own executor, as the host does (it only releases
//    a held answer there, which is a lock and a post).
//  - An entry that cannot be canonicalised (see canonical_json) is refused with
//    BL_INVALID_ARGUMENT and takes no sequence number.
//  - Every commit keeps its tree head (size, root, the right frontier of complete subtrees), and
//    the hash of every complete subtree whose height is a multiple of kStoredLevelStride, so that a
//    proof reads O(log n) hashes.
//  - A signed checkpoint (checkpoint.hpp, Ed25519 signed note) is written in the same transaction
//    as the commit that makes checkpoint_every entries since the last one, else once
//    checkpoint_interval has passed since the last one and the tree has grown, and at close. Each
//    checkpoint is then appended to `publish_to` (a file opened O_APPEND only, fsynced) when set.
//  - Retention (retention.hpp): every entry gets a "retention" class. purge_expired() (and, when
//    purge_interval is set, the writer on its own) replaces the canonical text of expired entries
//    that no legal hold covers with nothing, keeping their leaf hashes, so that the tree, every
//    checkpoint and every proof still verify; then it truncates the WAL. It works in batches of
//    purge_batch, serving waiting appends between them.
//  - Personal data: an entry's "personal" member is sealed with its customer's key
//    (personal_keys.hpp; the customer is resource.customer) before the entry is hashed.
//    erase_customer() destroys that key (crypto-shredding): the entries stay and verify, their
//    personal data can no longer be read.
//  - One process at a time: open() takes an exclusive lock on the ledger file, so that a second
//    writer (a CLI beside the daemon) is refused instead of forking the tree.
//  - The signing key is the Go note signer key text in `signing_key` (created 0600 when absent;
//    the verifier key beside it in `<signing_key>.pub`). The ledger records its origin and
//    verifier key at creation and refuses to open with another.
//  - LedgerReader answers proofs, each in one read transaction together with the checkpoint it
//    refers to (rekor#1055: a proof built outside the checkpoint's snapshot may not match it).
//  - verify_ledger() reads a ledger without writing and names the first sequence number that is
//    missing, altered or out of place, or that follows the last tree head or checkpoint (stored, or
//    from a published copy) whose root still matched.
#pragma once

#include "audit/audit_sink.hpp"
#include "audit/checkpoint.hpp"
#include "audit/merkle.hpp"
#include "audit/retention.hpp"
#include "audit/signed_note.hpp"

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace branchline::audit {

inline constexpr unsigned kStoredLevelStride = 4;

struct LedgerOptions {
  std::string origin;                      // checkpoint origin; default "branchline/audit"
  std::filesystem::path signing_key;       // default: <ledger dir>/audit-signing.key
  std::uint64_t checkpoint_every = 1000;   // entries
  std::chrono::milliseconds checkpoint_interval{1000};
  std::filesystem::path publish_to;        // append-only copy of every checkpoint; empty: none
  RetentionPolicy retention;
  std::chrono::milliseconds purge_interval{0};  // automatic purge passes; 0: only purge_expired()
  std::size_t purge_batch = 256;                // entries per purge transaction
  std::filesystem::path personal_keys;          // default: <ledger dir>/audit-keys.db
  std::filesystem::path key_encryption_key;     // default: <ledger dir>/audit-kek.key
};

// A legal hold: while active, no entry it covers is purged and no customer it covers is erased.
// It covers a customer's entries, a consultation's, or those whose time is in [from, to).
struct LegalHold {
  std::optional<std::string> customer, consultation, from, to;
  std::string reason;
  std::string by;  // who placed it
};

struct PurgeReport {
  std::uint64_t purged = 0;   // entries whose payload was purged
  std::uint64_t batches = 0;  // transactions
  bool wal_truncated = false;
};

enum class EraseResult { erased, no_key, held };

class Ledger final : public AuditSink {
 public:
  // Opens (creating) the ledger. Throws std::runtime_error naming the file and the fix when it cannot.
  static std::unique_ptr<Ledger> open(const std::filesystem::path& file, LedgerOptions options = {});
  ~Ledger() override;  // finishes queued appends, writes a last checkpoint, then stops the writer

  void append(boost::json::object entry, std::function<void(bl_status)> done) override;
  // Appends and waits; returns the entry's sequence number, or throws std::invalid_argument /
  // std::runtime_error.
  std::uint64_t append_and_wait(boost::json::object entry);

  std::uint64_t size() const;
  Hash root() const;
  std::uint64_t commits() const;       // transactions so far (group commit: fewer than appends)
  std::uint64_t checkpointed() const;  // tree size of the latest checkpoint
  const NoteVerifier& verifier() const;

  // Retention and erasure. Each runs on the writer thread between append batches, is audited in
  // the same transaction as what it does, and throws std::runtime_error when it cannot be written.
  PurgeReport purge_expired(std::chrono::system_clock::time_point now = std::chrono::system_clock::now());
  std::uint64_t place_hold(const LegalHold& hold);  // the hold's id
  bool release_hold(std::uint64_t id, const std::string& by, const std::string& reason);  // false: no such active hold
  // Crypto-shredding: destroys the customer's personal-data keys, unless a legal hold covers them.
  EraseResult erase_customer(const std::string& customer, const std::string& by, const std::string& reason);

  struct Impl;

 private:
  explicit Ledger(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

struct InclusionProof {
  std::uint64_t seq = 0;          // the entry's sequence number; its leaf index is seq - 1
  std::string entry;              // its canonical text (empty when purged)
  std::optional<std::string> purged;  // when its payload was purged
  Hash leaf{};
  std::vector<Hash> proof;
  std::string checkpoint;         // the signed note of the tree the proof is for
  Checkpoint tree;                // that note's body, parsed
};

struct ConsistencyProof {
  std::string old_checkpoint, new_checkpoint;
  Checkpoint old_tree, new_tree;
  std::vector<Hash> proof;
};

// Read-only access for proofs and exports; safe beside a running writer (WAL readers).
class LedgerReader {
 public:
  // Throws std::runtime_error when the file is absent or not a ledger.
  static std::unique_ptr<LedgerReader> open(const std::filesystem::path& file);
  ~LedgerReader();

  std::string origin() const;
  std::string verifier_key() const;             // as recorded at creation
  std::optional<std::string> latest_checkpoint();  // signed note
  // The clear text of entry `seq`'s personal data, read with the keys beside the ledger
  // (audit-keys.db, audit-kek.key); nullopt when it has none, was erased, or was purged.
  std::optional<std::string> personal(std::uint64_t seq);
  // The inclusion proof of entry `seq` in the latest checkpoint (or the one of `tree_size`).
  // Throws std::invalid_argument when no such checkpoint covers the entry.
  InclusionProof prove_inclusion(std::uint64_t seq, std::optional<std::uint64_t> tree_size = std::nullopt);
  // Between two checkpoints (the newer defaults to the latest).
  ConsistencyProof prove_consistency(std::uint64_t old_size, std::optional<std::uint64_t> new_size = std::nullopt);

  // An examiner's export: the latest checkpoint, then every entry it covers whose "time" is in
  // [from, to) (RFC 3339 text; empty means unbounded), each with its inclusion proof in that
  // checkpoint; all in one read transaction. Entries newer than the latest checkpoint are left
  // out (the next checkpoint is at most checkpoint_interval away). Returns the entries written.
  // A page (the API's) starts after sequence number `after` and holds at most `limit` entries,
  // stopping after the entry that reaches `max_bytes` of canonical text; it is against the
  // checkpoint of `tree_size` when given (so that every page of one export is against the same
  // tree), else the latest. Each page verifies on its own against the checkpoint it starts with.
  struct ExportRange {
    std::string from, to;
    std::uint64_t after = 0;
    std::uint64_t limit = UINT64_MAX;
    std::uint64_t max_bytes = UINT64_MAX;
    std::optional<std::uint64_t> tree_size = std::nullopt;
  };
  struct ExportedEntry {
    std::uint64_t seq;
    std::string_view canonical;  // empty when purged
    const Hash& leaf;
    std::optional<std::string_view> purged;  // when its payload was purged (retention)
    const std::vector<Hash>& proof;
  };
  // Auditors' queries: entries matching every given criterion, oldest first, in one read
  // transaction. Times are ledger times (RFC 3339 UTC, as the ledger writes them); `advisor` is an
  // actor principal. Purged entries are left out. Returns how many matched (at most `limit`,
  // stopping after the entry that reaches `max_bytes` of canonical text), with sequence numbers
  // above `after` and, when given, at most `until` (for paging over a fixed end).
  struct Query {
    std::optional<std::string> customer, consultation, advisor, action, from, to;
    std::uint64_t limit = 1000;
    std::uint64_t after = 0;
    std::optional<std::uint64_t> until;
    std::uint64_t max_bytes = UINT64_MAX;
  };
  // The highest sequence number so far (0 for an empty ledger).
  std::uint64_t last_seq();
  // About where entries of `time` (the ledger's form) and later begin: a sequence number at or
  // before the first entry whose time is `time` or later, found by bisection (times grow with
  // sequence numbers, give or take the clock steps of entries that bring their own time; widen
  // `time` by a margin for those). 1 when the ledger starts after it, last_seq() + 1 when it ends
  // before. O(log n) reads: for scanning a recent window of a long ledger.
  std::uint64_t first_seq_from(const std::string& time);
  // What a query or an export page covered: how many entries, the last one's seq, whether it
  // stopped at `limit` or `max_bytes` (there may be more after last_seq), and for an export the
  // tree size of the checkpoint it is against.
  struct Page {
    std::uint64_t count = 0;
    std::uint64_t last_seq = 0;
    bool more = false;
    std::uint64_t tree_size = 0;
  };
  Page query(const Query& q, const std::function<void(std::uint64_t seq, std::string_view canonical)>& on_entry);

  Page export_entries(const ExportRange& range,
                               const std::function<void(const std::string& checkpoint)>& on_checkpoint,
                               const std::function<void(const ExportedEntry&)>& on_entry);

  struct Impl;

 private:
  explicit LedgerReader(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// The lines of an export (JSON Lines, as `branchline audit export` prints them and the API serves
// them; tools/verify-export checks them): first {"checkpoint", "from", "to"} (and a page's "after"
// and "limit"), then per entry
// {"seq", "entry", "proof"} or, when retention purged its payload, {"seq", "purged", "leaf_hash", "proof"}.
boost::json::object export_head(const std::string& checkpoint, const LedgerReader::ExportRange& range);
boost::json::object export_line(const LedgerReader::ExportedEntry& entry);

struct VerifyOptions {
  std::optional<NoteVerifier> key;                 // trusted key; default: the one the ledger recorded
  std::optional<std::filesystem::path> published;  // a published copy of the checkpoints to check against
};

struct VerifyReport {
  bool intact = false;
  std::uint64_t entries = 0;
  std::uint64_t heads_checked = 0;
  std::uint64_t checkpoints_checked = 0;  // stored and published
  std::uint64_t purged = 0;               // entries whose payload retention purged (leaf kept)
  std::optional<std::uint64_t> first_bad;  // the first sequence number that is wrong
  std::string problem;                     // one line
  std::vector<std::string> warnings;       // not tampering, but worth a look (a torn published tail)
  Hash root{};
};

// Checks a ledger file read-only. Never throws for a damaged ledger: the report says what is wrong.
VerifyReport verify_ledger(const std::filesystem::path& file, const VerifyOptions& options = {});

// The right frontier of an RFC 6962 tree: the roots of its complete subtrees, by level. Appending
// and taking the root are O(log n); root() equals merkle::root() over the same leaves.
class Frontier {
 public:
  struct Completed {
    unsigned level;
    std::uint64_t index;  // the subtree covers leaves [index << level, (index + 1) << level)
    Hash hash;
  };
  // Appends a leaf; when `completed` is given, adds the subtrees of height >= 1 that the leaf
  // completed and whose height is a multiple of kStoredLevelStride.
  void append(const Hash& leaf, std::vector<Completed>* completed = nullptr);
  Hash root() const;
  std::uint64_t size() const { return size_; }
  std::string serialize() const;  // size (8 bytes, big-endian) then the hashes present, low level first
  static std::optional<Frontier> parse(std::string_view bytes);

 private:
  std::uint64_t size_ = 0;
  std::vector<std::optional<Hash>> levels_;
};

}  // namespace branchline::audit
