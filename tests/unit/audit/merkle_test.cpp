// merkle: RFC 6962 roots and proofs byte-identical with the published Certificate Transparency
// vectors (as carried by transparency-dev/merkle's testonly data), and every proof of every tree
// up to 40 leaves verifying while every altered one fails.
#include "audit/merkle.hpp"

#include <gtest/gtest.h>

namespace branchline::audit {
namespace {

std::string unhex(std::string_view hex) {
  std::string out;
  for (std::size_t i = 0; i + 1 < hex.size(); i += 2) out += static_cast<char>(std::stoi(std::string(hex.substr(i, 2)), nullptr, 16));
  return out;
}

std::vector<Hash> reference_leaves() {
  std::vector<Hash> leaves;
  for (const char* entry : {"", "00", "10", "2021", "3031", "40414243", "5051525354555657",
                            "606162636465666768696a6b6c6d6e6f"})
    leaves.push_back(leaf_hash(unhex(entry)));
  return leaves;
}

const char* kRoots[] = {
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
};

std::vector<std::string> hexes(const std::vector<Hash>& proof) {
  std::vector<std::string> out;
  for (const Hash& p : proof) out.push_back(to_hex(p));
  return out;
}

TEST(Merkle, RootsMatchThePublishedVectors) {
  auto leaves = reference_leaves();
  EXPECT_EQ(to_hex(empty_root()), kRoots[0]);
  for (std::size_t n = 0; n <= leaves.size(); ++n)
    EXPECT_EQ(to_hex(root(std::span(leaves).first(n))), kRoots[n]) << "size " << n;
}

TEST(Merkle, InclusionProofsMatchThePublishedVectors) {
  auto leaves = reference_leaves();
  EXPECT_EQ(hexes(*inclusion_proof(leaves, 0, 8)),
            (std::vector<std::string>{"96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
                                      "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                                      "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"}));
  EXPECT_EQ(hexes(*inclusion_proof(leaves, 5, 8)),
            (std::vector<std::string>{"bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
                                      "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
                                      "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"}));
  EXPECT_TRUE(inclusion_proof(leaves, 0, 1)->empty());  // a single leaf is its own root
  EXPECT_FALSE(inclusion_proof(leaves, 8, 8));
  EXPECT_FALSE(inclusion_proof(leaves, 0, 9));
}

TEST(Merkle, ConsistencyProofsMatchThePublishedVectors) {
  auto leaves = reference_leaves();
  EXPECT_EQ(hexes(*consistency_proof(leaves, 2, 8)),
            (std::vector<std::string>{"5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                                      "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"}));
  EXPECT_EQ(hexes(*consistency_proof(leaves, 6, 8)),
            (std::vector<std::string>{"0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
                                      "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
                                      "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"}));
  EXPECT_EQ(hexes(*consistency_proof(leaves, 2, 5)),
            (std::vector<std::string>{"5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                                      "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"}));
  EXPECT_TRUE(consistency_proof(leaves, 8, 8)->empty());
  EXPECT_FALSE(consistency_proof(leaves, 0, 8));
  EXPECT_FALSE(consistency_proof(leaves, 5, 4));
  EXPECT_TRUE(from_hex(kRoots[8]).has_value());
  EXPECT_FALSE(from_hex("zz"));
  EXPECT_EQ(to_hex(*from_hex(kRoots[8])), kRoots[8]);
}

std::vector<Hash> synthetic(std::size_t n) {
  std::vector<Hash> leaves;
  for (std::size_t i = 0; i < n; ++i) leaves.push_back(leaf_hash("entry " + std::to_string(i)));
  return leaves;
}

TEST(Merkle, EveryInclusionProofVerifiesAndEveryAlterationFails) {
  auto leaves = synthetic(40);
  for (std::uint64_t n = 1; n <= leaves.size(); ++n) {
    Hash r = root(std::span(leaves).first(n));
    for (std::uint64_t i = 0; i < n; ++i) {
      auto proof = *inclusion_proof(leaves, i, n);
      ASSERT_TRUE(verify_inclusion(leaves[i], i, n, proof, r)) << i << " of " << n;
      EXPECT_FALSE(verify_inclusion(leaves[i], i, 2 * n, proof, r));  // a tree twice as big (one more level)
      if (n > 1) {
        EXPECT_FALSE(verify_inclusion(leaves[i], (i + 1) % n, n, proof, r));
      }
      EXPECT_FALSE(verify_inclusion(leaves[(i + 1) % leaves.size()], i, n, proof, r));
      EXPECT_FALSE(verify_inclusion(leaves[i], n, n, proof, r));  // index out of range
      if (!proof.empty()) {
        auto bad = proof;
        bad.back()[0] ^= 1;
        EXPECT_FALSE(verify_inclusion(leaves[i], i, n, bad, r));
        bad = proof;
        bad.pop_back();
        EXPECT_FALSE(verify_inclusion(leaves[i], i, n, bad, r));
      }
      auto longer = proof;
      longer.push_back(r);
      EXPECT_FALSE(verify_inclusion(leaves[i], i, n, longer, r));
    }
  }
}

TEST(Merkle, EveryConsistencyProofVerifiesAndEveryAlterationFails) {
  auto leaves = synthetic(40);
  for (std::uint64_t n = 1; n <= leaves.size(); ++n) {
    Hash new_root = root(std::span(leaves).first(n));
    for (std::uint64_t m = 1; m <= n; ++m) {
      Hash old_root = root(std::span(leaves).first(m));
      auto proof = *consistency_proof(leaves, m, n);
      ASSERT_TRUE(verify_consistency(m, n, old_root, new_root, proof)) << m << " -> " << n;
      if (m < n) {
        auto bad = proof;
        bad[0][5] ^= 1;
        EXPECT_FALSE(verify_consistency(m, n, old_root, new_root, bad));
        EXPECT_FALSE(verify_consistency(m, n, new_root, new_root, proof));
        EXPECT_FALSE(verify_consistency(m, 2 * n, old_root, new_root, proof));  // one more level
        EXPECT_FALSE(verify_consistency(m, n, old_root, new_root, {}));
      }
    }
  }
  EXPECT_FALSE(verify_consistency(0, 3, empty_root(), root(std::span(leaves).first(3)), {}));
}

}  // namespace
}  // namespace branchline::audit
