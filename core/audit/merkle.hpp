// merkle: the RFC 6962 / RFC 9162 Merkle tree hash over the audit ledger's entries, with
// inclusion and consistency proofs and their verification.
//
// Contract: leaf hash = SHA-256(0x00 || entry), interior = SHA-256(0x01 || left || right), the
// empty tree's root = SHA-256(""); a tree of n leaves splits at the largest power of two below n.
// Roots and proofs are byte-identical with the reference implementations (transparency-dev,
// Certificate Transparency); tests/unit/audit checks the published vectors. The verifiers are
// the iterative algorithms of RFC 9162 2.1.3.2 and 2.1.4.2 and take nothing on trust: wrong
// sizes, indexes or proof lengths give false, never a crash.
//
// The generators are written once, over a RangeHash: any source of the root of leaves
// [begin, end). The in-memory overloads hash the leaves they are given (O(n)); the ledger answers
// from the hashes of complete subtrees it stores, so its proofs read O(log n) of them.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace branchline::audit {

using Hash = std::array<std::uint8_t, 32>;

Hash leaf_hash(std::string_view entry);
Hash node_hash(const Hash& left, const Hash& right);
Hash empty_root();

// The root of the first `size` leaves (size <= leaves.size()).
Hash root(std::span<const Hash> leaves);

// The root of the leaves [begin, end), end > begin. The generators ask only for ranges that RFC
// 6962 forms: a power-of-two run aligned to its size, or the rest of a tree after such a run.
using RangeHash = std::function<Hash(std::uint64_t begin, std::uint64_t end)>;

// PATH(index, D[size]) and PROOF(old_size, D[new_size]) over any RangeHash. The caller checks the
// bounds (index < size; 0 < old_size <= new_size).
std::vector<Hash> inclusion_proof(const RangeHash& range, std::uint64_t index, std::uint64_t size);
std::vector<Hash> consistency_proof(const RangeHash& range, std::uint64_t old_size, std::uint64_t new_size);

// The audit path of leaf `index` in the tree of the first `size` leaves (RFC 6962 PATH), leaf to
// root. nullopt when index >= size or size > leaves.size().
std::optional<std::vector<Hash>> inclusion_proof(std::span<const Hash> leaves, std::uint64_t index, std::uint64_t size);

// The proof that the tree of `old_size` leaves is a prefix of the tree of `new_size` leaves (RFC
// 6962 PROOF). nullopt unless 0 < old_size <= new_size <= leaves.size().
std::optional<std::vector<Hash>> consistency_proof(std::span<const Hash> leaves, std::uint64_t old_size,
                                                   std::uint64_t new_size);

bool verify_inclusion(const Hash& leaf, std::uint64_t index, std::uint64_t size, std::span<const Hash> proof,
                      const Hash& root);

bool verify_consistency(std::uint64_t old_size, std::uint64_t new_size, const Hash& old_root, const Hash& new_root,
                        std::span<const Hash> proof);

std::string to_hex(const Hash& hash);
std::optional<Hash> from_hex(std::string_view hex);
std::string to_base64(const Hash& hash);  // standard alphabet, padded: as checkpoints write roots
std::optional<Hash> from_base64(std::string_view text);

}  // namespace branchline::audit
