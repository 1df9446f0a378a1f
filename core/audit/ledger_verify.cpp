// ledger_verify: verify_ledger(), a read-only check of every entry, stored hash, tree head and
// checkpoint (and optionally a published copy of the checkpoints). See ledger.hpp.
#include "audit/ledger.hpp"
#include "audit/sqlite_rows.hpp"

#include <boost/json/parse.hpp>

#include <algorithm>
#include <fstream>
#include <sstream>

namespace branchline::audit {

namespace fs = std::filesystem;
using namespace sqlite_rows;

// ---- verification ----

namespace {

// Something the entries must reproduce: a stored tree head, or a signed checkpoint.
// A signed checkpoint the entries must reproduce. (Tree heads are checked inline: each commit's
// last entry carries one, compared by its frontier, which determines the root, without hashing.)
struct Anchor {
  std::uint64_t size;
  Hash root;
  std::string what;  // "the stored checkpoint of size N", "a published checkpoint of size N"
  int trust = 1;     // 1 a stored checkpoint, 2 a published copy's (0 is a tree head)
};

// The sequence number an entry carries, read from its canonical text without a full parse:
// canonical JSON has no white space, so the top-level member "seq" is found by skipping values.
std::optional<std::uint64_t> own_seq(std::string_view canonical) {
  std::size_t i = 0, n = canonical.size();
  if (n < 2 || canonical[0] != '{') return std::nullopt;
  ++i;
  auto skip_string = [&]() -> bool {
    if (i >= n || canonical[i] != '"') return false;
    for (++i; i < n; ++i) {
      if (canonical[i] == '\\') ++i;
      else if (canonical[i] == '"') return ++i, true;
    }
    return false;
  };
  while (i < n && canonical[i] != '}') {
    std::size_t key_start = i;
    if (!skip_string() || i >= n || canonical[i] != ':') return std::nullopt;
    bool is_seq = canonical.substr(key_start, i - key_start) == "\"seq\"";
    ++i;
    std::size_t value_start = i;
    int depth = 0;
    while (i < n) {
      char c = canonical[i];
      if (c == '"') {
        if (!skip_string()) return std::nullopt;
        continue;
      }
      if (c == '{' || c == '[') ++depth;
      else if (c == '}' || c == ']') {
        if (depth == 0) break;
        --depth;
      } else if (c == ',' && depth == 0) break;
      ++i;
    }
    if (is_seq) {
      std::string_view digits = canonical.substr(value_start, i - value_start);
      std::uint64_t v = 0;
      if (digits.empty() || digits.size() > 19 || (digits.size() > 1 && digits[0] == '0')) return std::nullopt;
      for (char c : digits) {
        if (c < '0' || c > '9') return std::nullopt;
        v = v * 10 + static_cast<std::uint64_t>(c - '0');
      }
      return v;
    }
    if (i < n && canonical[i] == ',') ++i;
  }
  return std::nullopt;
}

// The sequence numbers the ledger's audit.purge records name, as [first, last] ranges. Read only
// when a purged entry is met (most ledgers under a retention horizon have none).
std::vector<std::pair<std::uint64_t, std::uint64_t>> purge_ranges(sqlite3* db) {
  std::vector<std::pair<std::uint64_t, std::uint64_t>> out;
  Statement s(db, "SELECT canonical FROM entries WHERE purged IS NULL AND canonical LIKE '%\"action\":\"audit.purge\"%'");
  while (sqlite3_step(s.s) == SQLITE_ROW) {
    boost::system::error_code ec;
    boost::json::value v = boost::json::parse(text(s.s, 0), ec);
    if (ec || !v.is_object()) continue;
    const boost::json::value* purged = v.as_object().if_contains("purged");
    const boost::json::value* ranges = purged && purged->is_object() ? purged->as_object().if_contains("ranges") : nullptr;
    if (!ranges || !ranges->is_array()) continue;
    for (const auto& r : ranges->as_array())
      if (r.is_array() && r.as_array().size() == 2 && r.as_array()[0].is_int64() && r.as_array()[1].is_int64())
        out.emplace_back(static_cast<std::uint64_t>(r.as_array()[0].as_int64()), static_cast<std::uint64_t>(r.as_array()[1].as_int64()));
  }
  return out;
}

// How many entries, from 1 on, can be read without an error from a damaged file.
std::uint64_t readable_prefix(sqlite3* db) {
  sqlite3_stmt* s = nullptr;
  if (sqlite3_prepare_v2(db, "SELECT seq, length(canonical), leaf FROM entries ORDER BY seq", -1, &s, nullptr) != SQLITE_OK)
    return 0;
  std::uint64_t expected = 1;
  while (sqlite3_step(s) == SQLITE_ROW && static_cast<std::uint64_t>(sqlite3_column_int64(s, 0)) == expected) ++expected;
  sqlite3_finalize(s);
  return expected - 1;
}

}  // namespace

VerifyReport verify_ledger(const fs::path& file, const VerifyOptions& options) {
  VerifyReport report;
  sqlite3* db = nullptr;
  struct Close {
    sqlite3*& db;
    ~Close() { sqlite3_close(db); }
  } close_db{db};
  auto fail = [&](std::optional<std::uint64_t> seq, std::string why) {
    report.intact = false;
    report.first_bad = seq;
    report.problem = std::move(why);
    return report;
  };
  std::error_code ec;
  if (!fs::is_regular_file(file, ec)) return fail(std::nullopt, "no ledger at " + file.string());
  if (sqlite3_open_v2(file.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK)
    return fail(std::nullopt, std::string("cannot open the ledger: ") + (db ? sqlite3_errmsg(db) : "out of memory"));

  Frontier frontier;
  try {
    exec(db, file, "BEGIN");  // one snapshot, even beside a running writer
    // The trusted key: the one given, else the one the ledger recorded.
    std::optional<NoteVerifier> key = options.key;
    std::string origin = meta(db, "origin").value_or("");
    if (!key) {
      auto recorded = meta(db, "verifier_key");
      if (recorded) key = NoteVerifier::parse(*recorded);
      if (!key) return fail(std::nullopt, "the ledger has no verifier key recorded and none was given");
    }

    std::vector<Anchor> anchors;
    auto add_checkpoint = [&](const std::string& note, const std::string& where, int trust) -> std::optional<std::string> {
      std::string why;
      auto opened = open_note(note, {*key}, &why);
      if (!opened) return where + " checkpoint is not validly signed by " + key->name + ": " + why;
      auto c = Checkpoint::parse(opened->text, &why);
      if (!c) return where + " checkpoint is malformed: " + why;
      if (!origin.empty() && c->origin != origin)
        return where + " checkpoint of size " + std::to_string(c->size) + " names origin \"" + c->origin +
               "\", not this ledger's \"" + origin + "\"";
      anchors.push_back({c->size, c->root, where + " checkpoint of size " + std::to_string(c->size), trust});
      ++report.checkpoints_checked;
      return std::nullopt;
    };
    {
      Statement checkpoints(db, "SELECT size, note FROM checkpoints ORDER BY size");
      while (sqlite3_step(checkpoints.s) == SQLITE_ROW)
        if (auto problem = add_checkpoint(std::string(text(checkpoints.s, 1)), "the stored", 1))
          return fail(std::nullopt, *problem);
    }
    if (options.published) {
      std::ifstream in(*options.published, std::ios::binary);
      if (!in) return fail(std::nullopt, "cannot read the published checkpoints " + options.published->string());
      std::stringstream content;
      content << in.rdbuf();
      PublishedCopy copy = split_published(content.str());
      if (copy.torn_tail) report.warnings.push_back("the published copy ends in an incomplete checkpoint (ignored)");
      if (copy.notes.empty()) report.warnings.push_back("the published copy holds no checkpoint");
      for (const std::string& note : copy.notes)
        if (auto problem = add_checkpoint(note, "a published", 2)) return fail(std::nullopt, *problem);
    }
    std::stable_sort(anchors.begin(), anchors.end(), [](const Anchor& a, const Anchor& b) { return a.size < b.size; });

    Statement entries(db, "SELECT seq, canonical, leaf, purged, head FROM entries ORDER BY seq");
    Statement subtree(db, "SELECT hash FROM subtrees WHERE level = ?1 AND idx = ?2");
    std::vector<Frontier::Completed> completed;
    std::size_t next_anchor = 0;
    // The size of the last anchor that matched, by trust: a forger who rewrote the database made
    // its own tree heads and checkpoints match, so a published checkpoint that fails counts only
    // published checkpoints before it as good.
    std::uint64_t last_good[3] = {0, 0, 0};
    std::uint64_t first_bad_after = 0;
    std::optional<std::string> problem;
    auto mismatch = [&](const std::string& what, int trust) {
      first_bad_after = last_good[trust];
      problem = what + " does not match the entries: an entry after " + std::to_string(first_bad_after) +
                " was changed together with its leaf hash, or the record of the tree was";
    };
    auto check_anchors = [&]() {
      while (next_anchor < anchors.size() && anchors[next_anchor].size == frontier.size()) {
        const Anchor& a = anchors[next_anchor];
        if (a.root != frontier.root()) return mismatch(a.what, a.trust);
        for (int t = 0; t <= a.trust; ++t) last_good[t] = a.size;
        ++next_anchor;
      }
    };
    bool last_has_head = true;
    std::optional<std::vector<std::pair<std::uint64_t, std::uint64_t>>> purges;
    check_anchors();  // anchors of size 0 (none are written, but a forged one is caught)
    if (problem) return fail(1, *problem);
    std::uint64_t expected = 1;
    for (int rc = sqlite3_step(entries.s); rc != SQLITE_DONE; rc = sqlite3_step(entries.s), ++expected) {
      if (rc != SQLITE_ROW) return fail(expected, std::string("cannot read entry: ") + sqlite3_errmsg(db));
      std::uint64_t seq = static_cast<std::uint64_t>(sqlite3_column_int64(entries.s, 0));
      if (seq != expected) return fail(expected, "entry " + std::to_string(expected) + " is missing");
      std::string_view canonical = text(entries.s, 1);
      auto leaf = as_hash(blob(entries.s, 2));
      Hash computed;
      if (sqlite3_column_type(entries.s, 3) != SQLITE_NULL) {
        // Purged by retention: the payload is gone, the leaf hash stays and must still fit the tree.
        if (!canonical.empty() || !leaf)
          return fail(seq, "entry " + std::to_string(seq) + " is marked purged but is not empty");
        // Only the retention purge empties an entry, and it records which: an emptied entry no
        // audit.purge record names was erased by hand.
        if (!purges) purges = purge_ranges(db);
        bool named = std::any_of(purges->begin(), purges->end(), [&](const auto& r) { return r.first <= seq && seq <= r.second; });
        if (!named)
          return fail(seq, "entry " + std::to_string(seq) +
                               " is marked purged, but no audit.purge record names it: its text was removed by hand");
        computed = *leaf;
        ++report.purged;
      } else {
        computed = leaf_hash(canonical);
        if (!leaf || *leaf != computed)
          return fail(seq, "entry " + std::to_string(seq) + " was altered: its text no longer matches its leaf hash");
        if (auto own = own_seq(canonical); own != seq) {
          // A row carrying an earlier number than its place was pushed down by rows inserted
          // before it: the first of those is the first bad one. (Swapped or renumbered rows carry
          // a later number: this place is the first bad one.)
          std::uint64_t first = own && *own >= 1 && *own < seq ? *own : seq;
          return fail(first, "entry " + std::to_string(seq) + " is out of place: it carries sequence number " +
                                 (own ? std::to_string(*own) : std::string("none")) +
                                 (first < seq ? "; rows were inserted from " + std::to_string(first) : ""));
        }
      }
      completed.clear();
      frontier.append(computed, &completed);
      for (const auto& c : completed) {
        subtree.reset();
        sqlite3_bind_int(subtree.s, 1, static_cast<int>(c.level));
        sqlite3_bind_int64(subtree.s, 2, static_cast<sqlite3_int64>(c.index));
        std::optional<Hash> stored;
        if (sqlite3_step(subtree.s) == SQLITE_ROW) stored = as_hash(blob(subtree.s, 0));
        if (stored != c.hash) {
          std::uint64_t first = (c.index << c.level) + 1;
          return fail(first, "the stored hash of entries " + std::to_string(first) + " to " + std::to_string(seq) +
                                 " is " + (stored ? "wrong" : "missing") + ": proofs over them would fail");
        }
      }
      // The tree head the commit that ended with this entry stored.
      last_has_head = sqlite3_column_type(entries.s, 4) != SQLITE_NULL;
      if (last_has_head) {
        if (blob(entries.s, 4) != frontier.serialize())
          mismatch("the tree head stored with entry " + std::to_string(seq), 0);
        else
          last_good[0] = seq, ++report.heads_checked;
      }
      if (!problem) check_anchors();
      if (problem) return fail(first_bad_after + 1, *problem);
    }
    if (!last_has_head)
      return fail(frontier.size() + 1, "entries after " + std::to_string(frontier.size()) +
                                           " are missing: the last entry is not the end of a commit");
    if (next_anchor < anchors.size())
      return fail(frontier.size() + 1, "entries from " + std::to_string(frontier.size() + 1) + " on are missing: " +
                                           anchors[next_anchor].what + " covers them");
    exec(db, file, "COMMIT");
  } catch (const std::exception& e) {
    sqlite3_exec(db, "ROLLBACK", nullptr, nullptr, nullptr);
    // A damaged file (truncated, overwritten pages): find where reading the entries breaks, so
    // that the report still names the first entry that cannot be vouched for.
    std::uint64_t readable = readable_prefix(db);
    return fail(readable + 1, std::string("cannot read the ledger: ") + e.what() + "; entries are readable up to " +
                                  std::to_string(readable) + ", not beyond");
  }
  report.intact = true;
  report.entries = frontier.size();
  report.root = frontier.root();
  return report;
}

}  // namespace branchline::audit
