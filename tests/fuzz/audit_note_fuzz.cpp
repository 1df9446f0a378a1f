// Fuzz target: what the audit ledger reads from outside its own writer: signed notes and verifier
// keys (a published copy of checkpoints, `verify --key`), checkpoint bodies, a published copy as a
// whole, and JSON entries canonicalised (plugins' audit_append bodies). None may crash or hang;
// what they accept must round-trip.
#include "audit/canonical_json.hpp"
#include "audit/checkpoint.hpp"
#include "audit/signed_note.hpp"

#include <boost/json/parse.hpp>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace branchline::audit;
  std::string_view input(reinterpret_cast<const char*>(data), size);
  // The Go example key: a note signed by it may verify; anything else must be refused cleanly.
  static const NoteVerifier known = *NoteVerifier::parse("PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW");

  if (auto v = NoteVerifier::parse(input))
    if (v->encode() != input) __builtin_trap();  // accepted keys are canonical
  (void)NoteSigner::parse(input);
  if (auto opened = open_note(input, {known}))
    if (opened->text.empty() || opened->signers.empty()) __builtin_trap();
  if (auto c = Checkpoint::parse(input))
    if (!Checkpoint::parse(c->body())) __builtin_trap();
  PublishedCopy copy = split_published(input);
  for (const auto& note : copy.notes)
    if (note.empty()) __builtin_trap();

  boost::system::error_code ec;
  boost::json::value v = boost::json::parse(input, ec);
  if (!ec) {
    try {
      std::string canonical = canonical_json(v);
      // The canonical form is itself JSON whose canonical form is the same bytes.
      boost::json::value again = boost::json::parse(canonical, ec);
      if (ec) __builtin_trap();
      if (v.is_object() && !v.as_object().contains("seq")) {
        CanonicalWithSlot slot = canonical_json_with_slot(v.as_object(), "seq");
        boost::json::value spliced = boost::json::parse(slot.before + "1" + slot.after, ec);
        if (ec || !spliced.is_object() || !spliced.as_object().contains("seq")) __builtin_trap();
      }
      (void)again;
    } catch (const std::invalid_argument&) {
      // refused: integers beyond 2^53, text that is not UTF-8, nesting deeper than 128
    }
  }
  return 0;
}
