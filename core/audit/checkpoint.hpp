// checkpoint: the ledger's signed tree heads in the C2SP tlog-checkpoint format
// (https://c2sp.org/tlog-checkpoint), carried in a signed note (signed_note.hpp).
//
// Contract: the body is
//     <origin>\n<tree size, decimal>\n<base64 root hash>\ntime <RFC 3339 UTC, microseconds>\n
// The first three lines are what every checkpoint verifier reads; the fourth is an extension line
// (the spec allows them), so that the signed statement says when the tree had that root.
// parse() refuses anything else: an empty or over-long origin, a size with a sign or leading
// zeros or above 2^63-1, a root that is not 32 bytes of padded standard base64, an empty line.
//
// A published copy of checkpoints (the append-only file `audit.publish_to`) is the signed notes
// one after another, each followed by one blank line; split_published() reads it back.
#pragma once

#include "audit/merkle.hpp"

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace branchline::audit {

struct Checkpoint {
  std::string origin;
  std::uint64_t size = 0;
  Hash root{};
  std::string time;  // may be empty in checkpoints made by others

  std::string body() const;
  static std::optional<Checkpoint> parse(std::string_view body, std::string* why = nullptr);
};

struct PublishedCopy {
  std::vector<std::string> notes;
  bool torn_tail = false;  // the file ends inside a note (a crash while appending): the tail is ignored
};

PublishedCopy split_published(std::string_view file_text);

}  // namespace branchline::audit
