// ledger_reader: proofs from a ledger's stored hashes, each in one read transaction with the
// checkpoint it refers to. See ledger.hpp.
#include "audit/ledger.hpp"
#include "audit/personal_keys.hpp"
#include "audit/sqlite_rows.hpp"

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/parse.hpp>

#include <algorithm>
#include <bit>
#include <cstdint>

namespace branchline::audit {
namespace {

namespace fs = std::filesystem;
using namespace sqlite_rows;

// Hashes of any range of a ledger's leaves, read from its entries and stored subtrees.
class StoredTree {
 public:
  StoredTree(sqlite3* db)
      : leaf_(db, "SELECT leaf FROM entries WHERE seq = ?1"),
        subtree_(db, "SELECT hash FROM subtrees WHERE level = ?1 AND idx = ?2") {}

  Hash range(std::uint64_t begin, std::uint64_t end) {
    std::uint64_t n = end - begin;
    if (std::has_single_bit(n) && begin % n == 0) return subtree(static_cast<unsigned>(std::countr_zero(n)), begin / n);
    std::uint64_t k = std::bit_floor(n - 1);
    return node_hash(range(begin, begin + k), range(begin + k, end));
  }

 private:
  Hash subtree(unsigned level, std::uint64_t index) {
    if (level == 0) return read(leaf_, [&] { sqlite3_bind_int64(leaf_.s, 1, static_cast<sqlite3_int64>(index + 1)); },
                                "leaf " + std::to_string(index + 1));
    if (level % kStoredLevelStride == 0)
      return read(subtree_,
                  [&] {
                    sqlite3_bind_int(subtree_.s, 1, static_cast<int>(level));
                    sqlite3_bind_int64(subtree_.s, 2, static_cast<sqlite3_int64>(index));
                  },
                  "subtree " + std::to_string(level) + "/" + std::to_string(index));
    return node_hash(subtree(level - 1, 2 * index), subtree(level - 1, 2 * index + 1));
  }

  template <class Bind>
  Hash read(Statement& s, Bind bind, const std::string& what) {
    s.reset();
    bind();
    std::optional<Hash> h;
    if (sqlite3_step(s.s) == SQLITE_ROW) h = as_hash(blob(s.s, 0));
    s.reset();
    if (!h) throw std::runtime_error("the ledger lacks the hash of " + what + "; run `branchline audit verify`");
    return *h;
  }

  Statement leaf_;
  Statement subtree_;
};

}  // namespace

// ---- LedgerReader ----

struct LedgerReader::Impl {
  fs::path file;
  sqlite3* db = nullptr;
  std::string origin;
  std::optional<NoteVerifier> key;
  std::unique_ptr<PersonalKeys> keys;
  ~Impl() { sqlite3_close(db); }

  // Runs `body` in one read transaction (one snapshot of the ledger); inside one already open
  // (a query's callback asking for an entry's personal data), in that one.
  template <class Body>
  auto snapshot(Body body) {
    if (!sqlite3_get_autocommit(db)) return body();
    exec(db, file, "BEGIN");
    try {
      auto result = body();
      exec(db, file, "COMMIT");
      return result;
    } catch (...) {
      sqlite3_exec(db, "ROLLBACK", nullptr, nullptr, nullptr);
      throw;
    }
  }

  // The checkpoint of `size` (or the latest), verified with the recorded key.
  std::pair<std::string, Checkpoint> checkpoint(std::optional<std::uint64_t> size) {
    Statement s(db, size ? "SELECT note FROM checkpoints WHERE size = ?1"
                         : "SELECT note FROM checkpoints ORDER BY size DESC LIMIT 1");
    if (size) sqlite3_bind_int64(s.s, 1, static_cast<sqlite3_int64>(*size));
    if (sqlite3_step(s.s) != SQLITE_ROW)
      throw std::invalid_argument(size ? "there is no checkpoint of tree size " + std::to_string(*size)
                                       : std::string("the ledger has no checkpoint yet"));
    std::string note(text(s.s, 0));
    std::string why;
    auto opened = key ? open_note(note, {*key}, &why) : std::nullopt;
    auto parsed = opened ? Checkpoint::parse(opened->text, &why) : std::nullopt;
    if (!parsed) throw std::runtime_error("the stored checkpoint is not valid (" + why + "); run `branchline audit verify`");
    return {note, *parsed};
  }
};

LedgerReader::LedgerReader(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
LedgerReader::~LedgerReader() = default;

std::unique_ptr<LedgerReader> LedgerReader::open(const fs::path& file) {
  auto impl = std::make_unique<Impl>();
  impl->file = file;
  std::error_code ec;
  if (!fs::is_regular_file(file, ec)) throw std::runtime_error("no audit ledger at " + file.string());
  if (sqlite3_open_v2(file.c_str(), &impl->db, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK)
    throw std::runtime_error("audit ledger " + file.string() + ": cannot open: " +
                             (impl->db ? sqlite3_errmsg(impl->db) : "out of memory"));
  sqlite3_busy_timeout(impl->db, 5000);
  try {
    impl->origin = meta(impl->db, "origin").value_or("");
    if (auto vkey = meta(impl->db, "verifier_key")) impl->key = NoteVerifier::parse(*vkey);
  } catch (const std::exception&) {
    throw std::runtime_error(file.string() + " is not an audit ledger");
  }
  if (!impl->key) throw std::runtime_error(file.string() + " is not an audit ledger (it has no verifier key)");
  return std::unique_ptr<LedgerReader>(new LedgerReader(std::move(impl)));
}

std::string LedgerReader::origin() const { return impl_->origin; }

std::optional<std::string> LedgerReader::personal(std::uint64_t seq) {
  std::string canonical = impl_->snapshot([&] {
    Statement s(impl_->db, "SELECT canonical FROM entries WHERE seq = ?1");
    sqlite3_bind_int64(s.s, 1, static_cast<sqlite3_int64>(seq));
    return sqlite3_step(s.s) == SQLITE_ROW ? std::string(text(s.s, 0)) : std::string();
  });
  boost::system::error_code ec;
  boost::json::value entry = boost::json::parse(canonical, ec);
  const boost::json::value* sealed = !ec && entry.is_object() ? entry.as_object().if_contains("personal") : nullptr;
  if (!sealed || !sealed->is_object()) return std::nullopt;
  if (!impl_->keys) {
    fs::path dir = impl_->file.parent_path();
    std::error_code exists;
    if (!fs::exists(dir / "audit-keys.db", exists)) return std::nullopt;
    impl_->keys = PersonalKeys::open(dir / "audit-keys.db", dir / "audit-kek.key", true);
  }
  return impl_->keys->decrypt(sealed->as_object(), personal_data_aad(impl_->origin, seq));
}
std::string LedgerReader::verifier_key() const { return impl_->key->encode(); }

std::optional<std::string> LedgerReader::latest_checkpoint() {
  try {
    return impl_->snapshot([&] { return impl_->checkpoint(std::nullopt).first; });
  } catch (const std::invalid_argument&) {
    return std::nullopt;
  }
}

InclusionProof LedgerReader::prove_inclusion(std::uint64_t seq, std::optional<std::uint64_t> tree_size) {
  return impl_->snapshot([&] {
    InclusionProof p;
    std::tie(p.checkpoint, p.tree) = impl_->checkpoint(tree_size);
    if (seq == 0 || seq > p.tree.size)
      throw std::invalid_argument("entry " + std::to_string(seq) + " is not in the checkpoint of tree size " +
                                  std::to_string(p.tree.size));
    Statement entry(impl_->db, "SELECT canonical, leaf, purged FROM entries WHERE seq = ?1");
    sqlite3_bind_int64(entry.s, 1, static_cast<sqlite3_int64>(seq));
    if (sqlite3_step(entry.s) != SQLITE_ROW) throw std::runtime_error("entry " + std::to_string(seq) + " is missing; run `branchline audit verify`");
    p.seq = seq;
    p.entry = text(entry.s, 0);
    p.leaf = as_hash(blob(entry.s, 1)).value_or(Hash{});
    if (sqlite3_column_type(entry.s, 2) != SQLITE_NULL) p.purged = std::string(text(entry.s, 2));
    StoredTree tree(impl_->db);
    p.proof = inclusion_proof([&tree](std::uint64_t b, std::uint64_t e) { return tree.range(b, e); }, seq - 1, p.tree.size);
    // Never hand out a proof that does not check: a damaged ledger is reported, not proven.
    if ((!p.purged && p.leaf != leaf_hash(p.entry)) || !verify_inclusion(p.leaf, seq - 1, p.tree.size, p.proof, p.tree.root))
      throw std::runtime_error("the ledger does not prove entry " + std::to_string(seq) +
                               " against its checkpoint; run `branchline audit verify`");
    return p;
  });
}

ConsistencyProof LedgerReader::prove_consistency(std::uint64_t old_size, std::optional<std::uint64_t> new_size) {
  return impl_->snapshot([&] {
    ConsistencyProof p;
    std::tie(p.old_checkpoint, p.old_tree) = impl_->checkpoint(old_size);
    std::tie(p.new_checkpoint, p.new_tree) = impl_->checkpoint(new_size);
    if (p.old_tree.size == 0 || p.old_tree.size > p.new_tree.size)
      throw std::invalid_argument("a consistency proof goes from a smaller, non-empty tree to a larger one");
    StoredTree tree(impl_->db);
    p.proof = consistency_proof([&tree](std::uint64_t b, std::uint64_t e) { return tree.range(b, e); }, p.old_tree.size,
                                p.new_tree.size);
    if (!verify_consistency(p.old_tree.size, p.new_tree.size, p.old_tree.root, p.new_tree.root, p.proof))
      throw std::runtime_error("the ledger does not prove its checkpoints consistent; run `branchline audit verify`");
    return p;
  });
}

std::uint64_t LedgerReader::last_seq() {
  return impl_->snapshot([&] {
    Statement s(impl_->db, "SELECT coalesce(max(seq), 0) FROM entries");
    return sqlite3_step(s.s) == SQLITE_ROW ? static_cast<std::uint64_t>(sqlite3_column_int64(s.s, 0)) : 0;
  });
}

std::uint64_t LedgerReader::first_seq_from(const std::string& time) {
  return impl_->snapshot([&] {
    Statement last(impl_->db, "SELECT coalesce(max(seq), 0) FROM entries");
    std::uint64_t hi = sqlite3_step(last.s) == SQLITE_ROW ? static_cast<std::uint64_t>(sqlite3_column_int64(last.s, 0)) : 0;
    Statement at(impl_->db, "SELECT time FROM entries WHERE seq = ?1");
    auto before = [&](std::uint64_t seq) {  // entry `seq` is older than `time`
      sqlite3_reset(at.s);
      sqlite3_bind_int64(at.s, 1, static_cast<sqlite3_int64>(seq));
      return sqlite3_step(at.s) == SQLITE_ROW && text(at.s, 0) < std::string_view(time);
    };
    std::uint64_t lo = 1;
    ++hi;  // the answer is in [lo, hi]
    while (lo < hi) {
      std::uint64_t mid = lo + (hi - lo) / 2;
      if (before(mid)) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  });
}

LedgerReader::Page LedgerReader::query(const Query& q,
                                 const std::function<void(std::uint64_t, std::string_view)>& on_entry) {
  return impl_->snapshot([&] {
    // Only the criteria given go into the statement (still bound, never spliced), so that SQLite
    // can use the customer index; the actor and the action are read from the entry.
    std::string sql = "SELECT seq, canonical FROM entries WHERE purged IS NULL AND seq > ?1";
    std::vector<const std::string*> binds;
    auto criterion = [&](const std::optional<std::string>& value, const char* condition) {
      if (!value) return;
      binds.push_back(&*value);
      sql += std::string(" AND ") + condition + " ?" + std::to_string(binds.size() + 2);
    };
    criterion(q.customer, "customer =");
    criterion(q.consultation, "consultation =");
    criterion(q.advisor, "json_extract(canonical, '$.actor.principal') =");
    criterion(q.action, "json_extract(canonical, '$.action') =");
    criterion(q.from, "time >=");
    criterion(q.to, "time <");
    if (q.until) sql += " AND seq <= " + std::to_string(std::min<std::uint64_t>(*q.until, INT64_MAX));
    sql += " ORDER BY seq LIMIT ?2";
    Statement rows(impl_->db, sql.c_str());
    sqlite3_bind_int64(rows.s, 1, static_cast<sqlite3_int64>(std::min<std::uint64_t>(q.after, INT64_MAX)));
    sqlite3_bind_int64(rows.s, 2, static_cast<sqlite3_int64>(std::min<std::uint64_t>(q.limit, INT64_MAX)));
    for (std::size_t i = 0; i < binds.size(); ++i)
      sqlite3_bind_text(rows.s, static_cast<int>(i + 3), binds[i]->data(), static_cast<int>(binds[i]->size()), SQLITE_STATIC);
    Page page;
    std::uint64_t bytes = 0;
    int rc = SQLITE_DONE;
    while (bytes < q.max_bytes && (rc = sqlite3_step(rows.s)) == SQLITE_ROW) {
      std::string_view canonical = text(rows.s, 1);
      page.last_seq = static_cast<std::uint64_t>(sqlite3_column_int64(rows.s, 0));
      on_entry(page.last_seq, canonical);
      bytes += canonical.size();
      ++page.count;
    }
    if (bytes < q.max_bytes && rc != SQLITE_DONE)
      throw std::runtime_error(std::string("cannot read the ledger: ") + sqlite3_errmsg(impl_->db));
    page.more = page.count == q.limit || bytes >= q.max_bytes;
    return page;
  });
}

LedgerReader::Page LedgerReader::export_entries(const ExportRange& range,
                                          const std::function<void(const std::string&)>& on_checkpoint,
                                          const std::function<void(const ExportedEntry&)>& on_entry) {
  return impl_->snapshot([&] {
    auto [note, tree] = impl_->checkpoint(range.tree_size);
    on_checkpoint(note);
    // RFC 3339 UTC times with the same precision compare as text.
    Statement rows(impl_->db,
                   "SELECT seq, canonical, leaf, purged FROM entries WHERE seq <= ?1 AND seq > ?4"
                   " AND (?2 = '' OR time >= ?2) AND (?3 = '' OR time < ?3) ORDER BY seq LIMIT ?5");
    sqlite3_bind_int64(rows.s, 1, static_cast<sqlite3_int64>(tree.size));
    sqlite3_bind_text(rows.s, 2, range.from.data(), static_cast<int>(range.from.size()), SQLITE_STATIC);
    sqlite3_bind_text(rows.s, 3, range.to.data(), static_cast<int>(range.to.size()), SQLITE_STATIC);
    sqlite3_bind_int64(rows.s, 4, static_cast<sqlite3_int64>(std::min<std::uint64_t>(range.after, INT64_MAX)));
    sqlite3_bind_int64(rows.s, 5, static_cast<sqlite3_int64>(std::min<std::uint64_t>(range.limit, INT64_MAX)));
    StoredTree stored(impl_->db);
    RangeHash hashes = [&stored](std::uint64_t b, std::uint64_t e) { return stored.range(b, e); };
    Page page;
    page.tree_size = tree.size;
    std::uint64_t bytes = 0;
    int rc = SQLITE_DONE;
    while (bytes < range.max_bytes && (rc = sqlite3_step(rows.s)) == SQLITE_ROW) {
      std::uint64_t seq = static_cast<std::uint64_t>(sqlite3_column_int64(rows.s, 0));
      std::vector<Hash> proof = inclusion_proof(hashes, seq - 1, tree.size);
      Hash leaf = as_hash(blob(rows.s, 2)).value_or(Hash{});
      std::optional<std::string_view> purged;
      if (sqlite3_column_type(rows.s, 3) != SQLITE_NULL) purged = text(rows.s, 3);
      std::string_view canonical = text(rows.s, 1);
      on_entry({seq, canonical, leaf, purged, proof});
      bytes += canonical.size() + 64 * proof.size();  // about what its line takes
      page.last_seq = seq;
      ++page.count;
    }
    if (bytes < range.max_bytes && rc != SQLITE_DONE)
      throw std::runtime_error(std::string("cannot read the ledger: ") + sqlite3_errmsg(impl_->db));
    page.more = page.count == range.limit || bytes >= range.max_bytes;
    return page;
  });
}

namespace json = boost::json;

json::object export_head(const std::string& checkpoint, const LedgerReader::ExportRange& range) {
  json::object head{{"checkpoint", checkpoint}, {"from", range.from}, {"to", range.to}};
  if (range.after > 0) head["after"] = range.after;  // a page: which one
  if (range.limit != UINT64_MAX) head["limit"] = range.limit;
  return head;
}

json::object export_line(const LedgerReader::ExportedEntry& e) {
  json::array proof;
  for (const Hash& h : e.proof) proof.emplace_back(to_base64(h));
  json::object line{{"seq", e.seq}, {"proof", std::move(proof)}};
  if (e.purged) {
    line["purged"] = json::string(*e.purged);  // retention removed the payload; the leaf proves its place
    line["leaf_hash"] = to_base64(e.leaf);
  } else {
    line["entry"] = json::string(e.canonical);
  }
  return line;
}

}  // namespace branchline::audit
