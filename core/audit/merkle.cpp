// merkle: see merkle.hpp. Generation follows RFC 6962 section 2.1 literally (MTH, PATH, PROOF and
// SUBPROOF); verification follows RFC 9162 sections 2.1.3.2 and 2.1.4.2.
#include "audit/merkle.hpp"

#include <openssl/evp.h>

#include <algorithm>
#include <bit>

namespace branchline::audit {
namespace {

// SHA-256 through one fetched EVP_MD and one context per thread: the implicit fetch behind
// EVP_sha256() and a context allocation per hash cost more than the hash of 65 bytes itself.
Hash sha256(std::uint8_t prefix, std::string_view a, std::string_view b = {}, bool with_prefix = true) {
  static EVP_MD* const md = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  struct Context {
    EVP_MD_CTX* ctx = EVP_MD_CTX_new();
    ~Context() { EVP_MD_CTX_free(ctx); }
  };
  thread_local Context context;
  Hash out{};
  EVP_DigestInit_ex(context.ctx, md, nullptr);
  if (with_prefix) EVP_DigestUpdate(context.ctx, &prefix, 1);
  EVP_DigestUpdate(context.ctx, a.data(), a.size());
  EVP_DigestUpdate(context.ctx, b.data(), b.size());
  unsigned int length = 0;
  EVP_DigestFinal_ex(context.ctx, out.data(), &length);
  return out;
}

std::string_view bytes(const Hash& h) { return {reinterpret_cast<const char*>(h.data()), h.size()}; }

// The largest power of two smaller than n (n >= 2): RFC 6962's split point k.
std::uint64_t split(std::uint64_t n) { return std::bit_floor(n - 1); }

Hash mth(std::span<const Hash> leaves) {
  if (leaves.empty()) return empty_root();
  if (leaves.size() == 1) return leaves[0];
  std::uint64_t k = split(leaves.size());
  return node_hash(mth(leaves.first(k)), mth(leaves.subspan(k)));
}

// PATH(m, D[begin:end])
void path(const RangeHash& range, std::uint64_t m, std::uint64_t begin, std::uint64_t end, std::vector<Hash>& out) {
  std::uint64_t n = end - begin;
  if (n <= 1) return;
  std::uint64_t k = split(n);
  if (m < k) {
    path(range, m, begin, begin + k, out);
    out.push_back(range(begin + k, end));
  } else {
    path(range, m - k, begin + k, end, out);
    out.push_back(range(begin, begin + k));
  }
}

// SUBPROOF(m, D[begin:end], whole)
void subproof(const RangeHash& range, std::uint64_t m, std::uint64_t begin, std::uint64_t end, bool whole,
              std::vector<Hash>& out) {
  std::uint64_t n = end - begin;
  if (m == n) {
    if (!whole) out.push_back(range(begin, end));
    return;
  }
  std::uint64_t k = split(n);
  if (m <= k) {
    subproof(range, m, begin, begin + k, whole, out);
    out.push_back(range(begin + k, end));
  } else {
    subproof(range, m - k, begin + k, end, false, out);
    out.push_back(range(begin, begin + k));
  }
}

RangeHash in_memory(std::span<const Hash> leaves) {
  return [leaves](std::uint64_t begin, std::uint64_t end) { return mth(leaves.subspan(begin, end - begin)); };
}

}  // namespace

Hash leaf_hash(std::string_view entry) { return sha256(0x00, entry); }
Hash node_hash(const Hash& left, const Hash& right) { return sha256(0x01, bytes(left), bytes(right)); }
Hash empty_root() { return sha256(0, {}, {}, false); }

Hash root(std::span<const Hash> leaves) { return mth(leaves); }

std::optional<std::vector<Hash>> inclusion_proof(std::span<const Hash> leaves, std::uint64_t index, std::uint64_t size) {
  if (size > leaves.size() || index >= size) return std::nullopt;
  return inclusion_proof(in_memory(leaves), index, size);
}

std::vector<Hash> inclusion_proof(const RangeHash& range, std::uint64_t index, std::uint64_t size) {
  std::vector<Hash> out;
  path(range, index, 0, size, out);
  return out;
}

std::optional<std::vector<Hash>> consistency_proof(std::span<const Hash> leaves, std::uint64_t old_size,
                                                   std::uint64_t new_size) {
  if (old_size == 0 || old_size > new_size || new_size > leaves.size()) return std::nullopt;
  return consistency_proof(in_memory(leaves), old_size, new_size);
}

std::vector<Hash> consistency_proof(const RangeHash& range, std::uint64_t old_size, std::uint64_t new_size) {
  std::vector<Hash> out;
  subproof(range, old_size, 0, new_size, true, out);
  return out;
}

bool verify_inclusion(const Hash& leaf, std::uint64_t index, std::uint64_t size, std::span<const Hash> proof,
                      const Hash& expected_root) {
  if (index >= size) return false;
  std::uint64_t fn = index, sn = size - 1;
  Hash r = leaf;
  for (const Hash& p : proof) {
    if (sn == 0) return false;
    if ((fn & 1) || fn == sn) {
      r = node_hash(p, r);
      if (!(fn & 1)) {
        while (fn != 0 && !(fn & 1)) fn >>= 1, sn >>= 1;
      }
    } else {
      r = node_hash(r, p);
    }
    fn >>= 1;
    sn >>= 1;
  }
  return sn == 0 && r == expected_root;
}

bool verify_consistency(std::uint64_t old_size, std::uint64_t new_size, const Hash& old_root, const Hash& new_root,
                        std::span<const Hash> proof) {
  if (old_size == 0 || old_size > new_size) return false;
  if (old_size == new_size) return proof.empty() && old_root == new_root;
  if (proof.empty()) return false;
  // When old_size is a power of two, the old root is the first node of the path.
  std::vector<Hash> path(proof.begin(), proof.end());
  if (std::has_single_bit(old_size)) path.insert(path.begin(), old_root);
  std::uint64_t fn = old_size - 1, sn = new_size - 1;
  while (fn & 1) fn >>= 1, sn >>= 1;
  Hash fr = path[0], sr = path[0];
  for (std::size_t i = 1; i < path.size(); ++i) {
    const Hash& c = path[i];
    if (sn == 0) return false;
    if ((fn & 1) || fn == sn) {
      fr = node_hash(c, fr);
      sr = node_hash(c, sr);
      if (!(fn & 1)) {
        while (fn != 0 && !(fn & 1)) fn >>= 1, sn >>= 1;
      }
    } else {
      sr = node_hash(sr, c);
    }
    fn >>= 1;
    sn >>= 1;
  }
  return sn == 0 && fr == old_root && sr == new_root;
}

std::string to_hex(const Hash& hash) {
  static constexpr const char* digits = "0123456789abcdef";
  std::string out;
  for (std::uint8_t b : hash) out += digits[b >> 4], out += digits[b & 15];
  return out;
}

std::optional<Hash> from_hex(std::string_view hex) {
  if (hex.size() != 64) return std::nullopt;
  auto value = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  Hash out{};
  for (std::size_t i = 0; i < 32; ++i) {
    int hi = value(hex[2 * i]), lo = value(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out[i] = static_cast<std::uint8_t>(hi << 4 | lo);
  }
  return out;
}

std::string to_base64(const Hash& hash) {
  std::string out(44, '\0');
  EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), hash.data(), 32);
  return out;
}

std::optional<Hash> from_base64(std::string_view text) {
  if (text.size() != 44 || text[43] != '=' || text[42] == '=') return std::nullopt;
  unsigned char buffer[33];
  if (EVP_DecodeBlock(buffer, reinterpret_cast<const unsigned char*>(text.data()), 44) != 33) return std::nullopt;
  Hash out;
  std::copy(buffer, buffer + 32, out.begin());
  if (to_base64(out) != text) return std::nullopt;  // refuses non-canonical trailing bits and stray characters
  return out;
}

}  // namespace branchline::audit
