// checkpoint: see checkpoint.hpp.
#include "audit/checkpoint.hpp"

#include <charconv>

namespace branchline::audit {
namespace {

constexpr std::size_t kMaxOrigin = 1024;

bool fail(std::string* why, std::string text) {
  if (why) *why = std::move(text);
  return false;
}

}  // namespace

std::string Checkpoint::body() const {
  std::string out = origin + "\n" + std::to_string(size) + "\n" + to_base64(root) + "\n";
  if (!time.empty()) out += "time " + time + "\n";
  return out;
}

std::optional<Checkpoint> Checkpoint::parse(std::string_view body, std::string* why) {
  std::vector<std::string_view> lines;
  while (!body.empty()) {
    std::size_t end = body.find('\n');
    if (end == std::string_view::npos) return fail(why, "the checkpoint does not end in a newline"), std::nullopt;
    lines.push_back(body.substr(0, end));
    body.remove_prefix(end + 1);
  }
  if (lines.size() < 3) return fail(why, "a checkpoint has an origin, a size and a root hash"), std::nullopt;
  for (std::string_view line : lines)
    if (line.empty()) return fail(why, "a checkpoint has no empty lines"), std::nullopt;
  Checkpoint c;
  if (lines[0].size() > kMaxOrigin) return fail(why, "the origin is longer than 1024 bytes"), std::nullopt;
  c.origin = lines[0];
  std::string_view size = lines[1];
  auto [end, ec] = std::from_chars(size.data(), size.data() + size.size(), c.size);
  if (ec != std::errc() || end != size.data() + size.size() || (size.size() > 1 && size[0] == '0') ||
      c.size > (std::uint64_t{1} << 63) - 1)
    return fail(why, "the tree size is not a decimal number without leading zeros"), std::nullopt;
  auto root = from_base64(lines[2]);
  if (!root) return fail(why, "the root hash is not base64 of 32 bytes"), std::nullopt;
  c.root = *root;
  for (std::size_t i = 3; i < lines.size(); ++i)
    if (lines[i].starts_with("time ")) c.time = lines[i].substr(5);
  return c;
}

PublishedCopy split_published(std::string_view text) {
  PublishedCopy copy;
  while (!text.empty()) {
    // A note: its text up to the first blank line, then signature lines up to the next blank line.
    std::size_t blank = text.find("\n\n");
    if (blank == std::string_view::npos) {
      copy.torn_tail = true;
      break;
    }
    std::size_t sigs_end = text.find("\n\n", blank + 2);
    if (sigs_end == std::string_view::npos) {
      // The last note: complete only when it ends with its signature line's newline.
      if (text.back() != '\n' || text.size() == blank + 2) {
        copy.torn_tail = true;
        break;
      }
      copy.notes.emplace_back(text);
      break;
    }
    copy.notes.emplace_back(text.substr(0, sigs_end + 1));
    text.remove_prefix(sigs_end + 2);
  }
  return copy;
}

}  // namespace branchline::audit
