// random_id: see random_id.hpp.
#include "common/random_id.hpp"

#include <openssl/rand.h>

#include <cstdio>
#include <cstdlib>
#include <vector>

namespace branchline {
namespace {

void fill(unsigned char* out, std::size_t n) {
  if (RAND_bytes(out, static_cast<int>(n)) != 1) {
    std::fputs("branchline: the CSPRNG failed (RAND_bytes); stopping\n", stderr);
    std::abort();
  }
}

}  // namespace

std::string random_hex(std::size_t bytes) {
  std::vector<unsigned char> b(bytes);
  fill(b.data(), b.size());
  static const char hex[] = "0123456789abcdef";
  std::string out;
  out.reserve(2 * bytes);
  for (unsigned char c : b) {
    out += hex[c >> 4];
    out += hex[c & 15];
  }
  return out;
}

std::string random_uuid() {
  unsigned char b[16];
  fill(b, sizeof b);
  b[6] = static_cast<unsigned char>((b[6] & 0x0f) | 0x40);  // version 4
  b[8] = static_cast<unsigned char>((b[8] & 0x3f) | 0x80);  // RFC 9562 variant
  char text[37];
  std::snprintf(text, sizeof text, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0], b[1],
                b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]);
  return text;
}

}  // namespace branchline
