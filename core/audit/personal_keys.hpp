// personal_keys: per-customer keys for the personal data in audit entries, and their destruction
// (crypto-shredding) for GDPR / CCPA erasure.
//
// Contract:
//  - Each customer has one live AES-256 key (a new generation after an erasure). Keys live in
//    their own SQLite file (WAL, synchronous=FULL, secure_delete), wrapped with AES-256-GCM under
//    a key-encryption key (KEK) read from a file (created 0600 when absent). A new key is durable
//    before any ciphertext under it is handed out.
//  - encrypt() seals bytes under the customer's live key with a fresh 96-bit IV; the additional
//    data binds the ciphertext to its place (the caller passes the entry's sequence number). The
//    sealed form is a JSON object {"alg":"A256GCM","kid":"<customer>#<generation>","iv","ct"}.
//  - erase() destroys every generation of the customer's key: the wrapped bytes are overwritten
//    (secure_delete) and the WAL is checkpointed and truncated, so that the key exists in neither
//    the file nor its WAL. It is two-phase (marked, then destroyed), so an erasure interrupted by a
//    crash is finished by the next open (pending_erasures()).
//  - decrypt() returns the plaintext, or nullopt when the key was erased (or the data is not ours).
//  - Not thread-safe: the ledger's writer thread owns it (readers open their own).
#pragma once

#include <boost/json/object.hpp>

#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace branchline::audit {

// The additional data that binds an entry's sealed personal data to the ledger and its place.
inline std::string personal_data_aad(const std::string& origin, std::uint64_t seq) {
  return origin + "\n" + std::to_string(seq);
}

class PersonalKeys {
 public:
  // read_only: for readers beside the writer; creates nothing, and encrypt/erase then throw.
  static std::unique_ptr<PersonalKeys> open(const std::filesystem::path& file, const std::filesystem::path& kek_file,
                                            bool read_only = false);
  ~PersonalKeys();

  boost::json::object encrypt(const std::string& customer, std::string_view plaintext, std::string_view aad);
  std::optional<std::string> decrypt(const boost::json::object& sealed, std::string_view aad);

  bool has_key(const std::string& customer);  // a live key exists
  void begin_erase(const std::string& customer);
  void cancel_erase(const std::string& customer);  // back to live (the erasure could not be recorded, or is held)
  void finish_erase(const std::string& customer);
  std::vector<std::string> pending_erasures();

  struct Impl;

 private:
  explicit PersonalKeys(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace branchline::audit
