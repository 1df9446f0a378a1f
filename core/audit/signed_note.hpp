// signed_note: C2SP signed notes (https://c2sp.org/signed-note) with Ed25519 keys, through
// OpenSSL 3's EVP interface. The ledger signs its checkpoints with this, so that any existing
// note verifier (Go's golang.org/x/mod/sumdb/note, transparency-dev's tools, witnesses) reads them.
//
// Contract:
//  - Keys use the Go note encodings: a verifier key is `<name>+<8 hex key id>+<base64(0x01 ‖ public
//    key)>`, a signer key `PRIVATE+KEY+<name>+<8 hex>+<base64(0x01 ‖ 32-byte seed)>`. The key id is
//    the first four bytes of SHA-256(name ‖ "\n" ‖ 0x01 ‖ public key).
//  - A note's text is UTF-8, ends in a newline, has no control character but newline, and is at
//    most 1 MiB; the signed note is the text, a blank line, and one line `— <name> <base64(key id ‖
//    signature)>` per signature. Signing is deterministic (RFC 8032), so our output is
//    byte-identical with Go's for the same key and text.
//  - open_note() checks the shape before any signature, never throws for bad input, and accepts a
//    note only when a signature by one of the given verifiers is valid; signatures by unknown keys
//    are ignored, as the spec says.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace branchline::audit {

struct NoteVerifier {
  std::string name;
  std::uint32_t key_id = 0;
  std::string public_key;  // 32 raw bytes

  // Parses `<name>+<hex>+<base64>`; nullopt (and why) when malformed or the id does not match.
  static std::optional<NoteVerifier> parse(std::string_view vkey, std::string* why = nullptr);
  std::string encode() const;
};

class NoteSigner {
 public:
  // Parses `PRIVATE+KEY+<name>+<hex>+<base64>`; nullopt (and why) when malformed.
  static std::optional<NoteSigner> parse(std::string_view skey, std::string* why = nullptr);
  // A new key from the operating system's random source.
  static NoteSigner generate(std::string name);

  const NoteVerifier& verifier() const { return verifier_; }
  std::string encode() const;  // the signer key text (secret: write it 0600, never log it)

  // The signed note of `text`. Throws std::invalid_argument when the text is not a valid note text.
  std::string sign(std::string_view text) const;

 private:
  NoteVerifier verifier_;
  std::string seed_;  // 32 raw bytes
};

// Why `text` is not a valid note text, or nullopt when it is.
std::optional<std::string> note_text_problem(std::string_view text);

struct OpenedNote {
  std::string text;                 // the signed text
  std::vector<std::string> signers; // names of the given verifiers whose signatures checked
};

// Checks a signed note against the verifiers. nullopt (and why) when the note is malformed or no
// signature by a given verifier is valid.
std::optional<OpenedNote> open_note(std::string_view note, const std::vector<NoteVerifier>& verifiers,
                                    std::string* why = nullptr);

}  // namespace branchline::audit
