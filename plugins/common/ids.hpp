// ids: random identifiers and digests for the reference plugins (OpenSSL).
#pragma once

#include <openssl/evp.h>
#include <openssl/rand.h>

#include <string>
#include <string_view>

namespace branchline::plugins {

inline std::string to_hex(const unsigned char* bytes, std::size_t n) {
  static constexpr const char* digits = "0123456789abcdef";
  std::string out;
  out.reserve(2 * n);
  for (std::size_t i = 0; i < n; ++i) out += digits[bytes[i] >> 4], out += digits[bytes[i] & 15];
  return out;
}

// prefix + 16 hex digits of a CSPRNG: ids that are unguessable and never collide in practice.
inline std::string random_id(std::string_view prefix) {
  unsigned char bytes[8];
  RAND_bytes(bytes, sizeof bytes);
  return std::string(prefix) + to_hex(bytes, sizeof bytes);
}

inline std::string sha256_hex(std::string_view data) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  EVP_Digest(data.data(), data.size(), digest, &length, EVP_sha256(), nullptr);
  return to_hex(digest, length);
}

}  // namespace branchline::plugins
