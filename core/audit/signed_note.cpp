// signed_note: see signed_note.hpp. Parsing follows golang.org/x/mod/sumdb/note's Open: the
// signature block is what follows the last blank line; at most 100 signature lines; a signature
// by a known key that does not verify rejects the note (it is not silently skipped).
#include "audit/signed_note.hpp"

#include "common/utf8.hpp"

#include <openssl/evp.h>
#include <openssl/rand.h>

#include <cstdio>
#include <memory>
#include <stdexcept>

namespace branchline::audit {
namespace {

constexpr unsigned char kAlgEd25519 = 0x01;
constexpr std::size_t kMaxNoteBytes = 1 << 20;
constexpr int kMaxSignatures = 100;
constexpr std::string_view kSignaturePrefix = "\xE2\x80\x94 ";  // "— " (U+2014 EM DASH, space)

struct PkeyFree {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
struct MdCtxFree {
  void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); }
};
using Pkey = std::unique_ptr<EVP_PKEY, PkeyFree>;
using MdCtx = std::unique_ptr<EVP_MD_CTX, MdCtxFree>;

std::string base64(std::string_view bytes) {
  std::string out(4 * ((bytes.size() + 2) / 3), '\0');
  EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), reinterpret_cast<const unsigned char*>(bytes.data()),
                  static_cast<int>(bytes.size()));
  return out;
}

// Strict standard base64 with padding; nullopt on anything else (EVP_DecodeBlock alone skips
// whitespace and does not report padding).
std::optional<std::string> unbase64(std::string_view text) {
  if (text.empty() || text.size() % 4 != 0 || text.size() > kMaxNoteBytes) return std::nullopt;
  std::string out(text.size() / 4 * 3, '\0');
  int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()), reinterpret_cast<const unsigned char*>(text.data()),
                          static_cast<int>(text.size()));
  if (n < 0) return std::nullopt;
  std::size_t pad = text.ends_with("==") ? 2 : text.ends_with('=') ? 1 : 0;
  out.resize(out.size() - pad);
  if (base64(out) != text) return std::nullopt;
  return out;
}

std::uint32_t key_id(std::string_view name, std::string_view public_key) {
  std::string message(name);
  message += '\n';
  message += static_cast<char>(kAlgEd25519);
  message += public_key;
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  EVP_Digest(message.data(), message.size(), digest, &length, EVP_sha256(), nullptr);
  return std::uint32_t{digest[0]} << 24 | std::uint32_t{digest[1]} << 16 | std::uint32_t{digest[2]} << 8 | digest[3];
}

std::string hex8(std::uint32_t v) {
  char buffer[9];
  std::snprintf(buffer, sizeof buffer, "%08x", v);
  return buffer;
}

// Go's isValidName: non-empty, valid UTF-8, no '+', no white space.
bool valid_name(std::string_view name) {
  if (name.empty() || !utf8::valid(name)) return false;
  for (std::size_t i = 0; i < name.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(name[i]);
    if (c == '+' || c <= 0x20 || c == 0x7f) return false;
    // The Unicode spaces outside ASCII: U+0085, U+00A0, U+1680, U+2000..U+200A, U+2028, U+2029,
    // U+202F, U+205F, U+3000.
    std::string_view rest = name.substr(i);
    for (std::string_view space : {"\xC2\x85", "\xC2\xA0", "\xE1\x9A\x80", "\xE2\x80\xA8", "\xE2\x80\xA9",
                                   "\xE2\x80\xAF", "\xE2\x81\x9F", "\xE3\x80\x80"})
      if (rest.starts_with(space)) return false;
    if (rest.size() >= 3 && c == 0xE2 && static_cast<unsigned char>(rest[1]) == 0x80 &&
        static_cast<unsigned char>(rest[2]) >= 0x80 && static_cast<unsigned char>(rest[2]) <= 0x8A)
      return false;
  }
  return true;
}

bool set_why(std::string* why, std::string text) {
  if (why) *why = std::move(text);
  return false;
}

// Splits `a+b+c` into exactly `parts` fields at the first parts-1 plus signs.
std::optional<std::vector<std::string_view>> fields(std::string_view text, std::size_t parts) {
  std::vector<std::string_view> out;
  for (std::size_t i = 0; i + 1 < parts; ++i) {
    std::size_t plus = text.find('+');
    if (plus == std::string_view::npos) return std::nullopt;
    out.push_back(text.substr(0, plus));
    text.remove_prefix(plus + 1);
  }
  out.push_back(text);
  return out;
}

bool ed25519_verify(std::string_view public_key, std::string_view message, std::string_view signature) {
  if (signature.size() != 64) return false;
  Pkey key(EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nullptr,
                                       reinterpret_cast<const unsigned char*>(public_key.data()), public_key.size()));
  MdCtx ctx(EVP_MD_CTX_new());
  if (!key || !ctx || EVP_DigestVerifyInit_ex(ctx.get(), nullptr, nullptr, nullptr, nullptr, key.get(), nullptr) != 1)
    return false;
  return EVP_DigestVerify(ctx.get(), reinterpret_cast<const unsigned char*>(signature.data()), signature.size(),
                          reinterpret_cast<const unsigned char*>(message.data()), message.size()) == 1;
}

}  // namespace

std::optional<NoteVerifier> NoteVerifier::parse(std::string_view vkey, std::string* why) {
  auto f = fields(vkey, 3);
  if (!f) return set_why(why, "a verifier key is <name>+<key id>+<key>"), std::nullopt;
  std::string_view name = (*f)[0], id = (*f)[1];
  if (!valid_name(name)) return set_why(why, "the key name is empty or has a '+' or white space"), std::nullopt;
  if (id.size() != 8 || id.find_first_not_of("0123456789abcdef") != std::string_view::npos)
    return set_why(why, "the key id is not 8 lowercase hex digits"), std::nullopt;
  auto key = unbase64((*f)[2]);
  if (!key || key->size() != 33 || static_cast<unsigned char>((*key)[0]) != kAlgEd25519)
    return set_why(why, "the key is not base64 of an Ed25519 public key (algorithm 1)"), std::nullopt;
  NoteVerifier v{std::string(name), static_cast<std::uint32_t>(std::stoul(std::string(id), nullptr, 16)), key->substr(1)};
  if (audit::key_id(v.name, v.public_key) != v.key_id)
    return set_why(why, "the key id does not match the name and key"), std::nullopt;
  return v;
}

std::string NoteVerifier::encode() const {
  return name + "+" + hex8(key_id) + "+" + base64(std::string(1, static_cast<char>(kAlgEd25519)) + public_key);
}

std::optional<NoteSigner> NoteSigner::parse(std::string_view skey, std::string* why) {
  auto f = fields(skey, 5);
  if (!f || (*f)[0] != "PRIVATE" || (*f)[1] != "KEY")
    return set_why(why, "a signer key is PRIVATE+KEY+<name>+<key id>+<key>"), std::nullopt;
  std::string_view name = (*f)[2], id = (*f)[3];
  if (!valid_name(name)) return set_why(why, "the key name is empty or has a '+' or white space"), std::nullopt;
  auto seed = unbase64((*f)[4]);
  if (!seed || seed->size() != 33 || static_cast<unsigned char>((*seed)[0]) != kAlgEd25519)
    return set_why(why, "the key is not base64 of an Ed25519 seed (algorithm 1)"), std::nullopt;
  Pkey key(EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, nullptr,
                                        reinterpret_cast<const unsigned char*>(seed->data() + 1), 32));
  unsigned char pub[32];
  std::size_t pub_length = sizeof pub;
  if (!key || EVP_PKEY_get_raw_public_key(key.get(), pub, &pub_length) != 1 || pub_length != 32)
    return set_why(why, "OpenSSL refused the Ed25519 key"), std::nullopt;
  NoteSigner s;
  s.seed_ = seed->substr(1);
  s.verifier_ = {std::string(name), 0, std::string(reinterpret_cast<char*>(pub), 32)};
  s.verifier_.key_id = audit::key_id(name, s.verifier_.public_key);
  if (id.size() != 8 || hex8(s.verifier_.key_id) != id)
    return set_why(why, "the key id does not match the name and key"), std::nullopt;
  return s;
}

NoteSigner NoteSigner::generate(std::string name) {
  if (!valid_name(name)) throw std::invalid_argument("a note key name must not be empty or contain '+' or white space");
  NoteSigner s;
  s.seed_.resize(32);
  if (RAND_priv_bytes(reinterpret_cast<unsigned char*>(s.seed_.data()), 32) != 1)
    throw std::runtime_error("no random bytes for a new signing key");
  Pkey key(EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, nullptr,
                                        reinterpret_cast<const unsigned char*>(s.seed_.data()), 32));
  unsigned char pub[32];
  std::size_t pub_length = sizeof pub;
  if (!key || EVP_PKEY_get_raw_public_key(key.get(), pub, &pub_length) != 1 || pub_length != 32)
    throw std::runtime_error("OpenSSL could not make an Ed25519 key");
  s.verifier_ = {std::move(name), 0, std::string(reinterpret_cast<char*>(pub), 32)};
  s.verifier_.key_id = audit::key_id(s.verifier_.name, s.verifier_.public_key);
  return s;
}

std::string NoteSigner::encode() const {
  return "PRIVATE+KEY+" + verifier_.name + "+" + hex8(verifier_.key_id) + "+" +
         base64(std::string(1, static_cast<char>(kAlgEd25519)) + seed_);
}

std::string NoteSigner::sign(std::string_view text) const {
  if (auto problem = note_text_problem(text)) throw std::invalid_argument("not a note text: " + *problem);
  Pkey key(EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, nullptr, reinterpret_cast<const unsigned char*>(seed_.data()),
                                        seed_.size()));
  MdCtx ctx(EVP_MD_CTX_new());
  unsigned char signature[64];
  std::size_t length = sizeof signature;
  if (!key || !ctx || EVP_DigestSignInit_ex(ctx.get(), nullptr, nullptr, nullptr, nullptr, key.get(), nullptr) != 1 ||
      EVP_DigestSign(ctx.get(), signature, &length, reinterpret_cast<const unsigned char*>(text.data()), text.size()) != 1)
    throw std::runtime_error("OpenSSL could not sign with Ed25519");
  std::string blob(4, '\0');
  for (int i = 0; i < 4; ++i) blob[i] = static_cast<char>(verifier_.key_id >> (24 - 8 * i));
  blob.append(reinterpret_cast<char*>(signature), length);
  std::string note(text);
  note += '\n';
  note += kSignaturePrefix;
  note += verifier_.name + " " + base64(blob) + "\n";
  return note;
}

std::optional<std::string> note_text_problem(std::string_view text) {
  if (text.size() > kMaxNoteBytes) return "longer than 1 MiB";
  if (!utf8::valid(text)) return "not UTF-8";
  if (text.empty() || text.back() != '\n') return "does not end in a newline";
  for (char c : text)
    if ((static_cast<unsigned char>(c) < 0x20 && c != '\n') || c == 0x7f) return "has a control character";
  return std::nullopt;
}

std::optional<OpenedNote> open_note(std::string_view note, const std::vector<NoteVerifier>& verifiers, std::string* why) {
  auto refuse = [why](std::string text) -> std::optional<OpenedNote> {
    set_why(why, std::move(text));
    return std::nullopt;
  };
  if (note.size() > kMaxNoteBytes) return refuse("the note is longer than 1 MiB");
  if (auto problem = note_text_problem(note)) return refuse("the note " + *problem);
  std::size_t split = note.rfind("\n\n");
  if (split == std::string_view::npos) return refuse("the note has no blank line before its signatures");
  OpenedNote opened{std::string(note.substr(0, split + 1)), {}};
  std::string_view signatures = note.substr(split + 2);
  if (signatures.empty()) return refuse("the note has no signature");
  int count = 0;
  while (!signatures.empty()) {
    std::size_t end = signatures.find('\n');
    std::string_view line = signatures.substr(0, end);
    signatures.remove_prefix(end + 1);
    if (++count > kMaxSignatures) return refuse("the note has more than 100 signatures");
    if (!line.starts_with(kSignaturePrefix)) return refuse("a signature line does not start with an em dash");
    line.remove_prefix(kSignaturePrefix.size());
    std::size_t space = line.find(' ');
    if (space == std::string_view::npos) return refuse("a signature line has no key name");
    std::string_view name = line.substr(0, space);
    auto blob = unbase64(line.substr(space + 1));
    if (!valid_name(name) || !blob || blob->size() < 5) return refuse("a signature line is malformed");
    std::uint32_t id = 0;
    for (int i = 0; i < 4; ++i) id = id << 8 | static_cast<unsigned char>((*blob)[i]);
    for (const NoteVerifier& v : verifiers) {
      if (v.name != name || v.key_id != id) continue;
      if (!ed25519_verify(v.public_key, opened.text, std::string_view(*blob).substr(4)))
        return refuse("the signature by " + v.name + " does not verify");
      bool seen = false;
      for (const auto& s : opened.signers) seen = seen || s == v.name;
      if (!seen) opened.signers.push_back(v.name);
    }
  }
  if (opened.signers.empty()) return refuse("no signature by a known key");
  return opened;
}

}  // namespace branchline::audit
