// signed_note: byte-identical with the Go reference (golang.org/x/mod/sumdb/note) on its published
// example, and strict on everything malformed.
#include "audit/signed_note.hpp"

#include <gtest/gtest.h>

namespace branchline::audit {
namespace {

// The example key and note of golang.org/x/mod/sumdb/note's documentation and tests.
constexpr const char* kVkey = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";
constexpr const char* kSkey = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz";
constexpr const char* kText =
    "If you think cryptography is the answer to your problem,\n"
    "then you don't know what your problem is.\n";
constexpr const char* kSigned =
    "If you think cryptography is the answer to your problem,\n"
    "then you don't know what your problem is.\n"
    "\n"
    "\xE2\x80\x94 PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n";

TEST(SignedNote, SignsTheGoReferenceExampleByteForByte) {
  auto signer = NoteSigner::parse(kSkey);
  ASSERT_TRUE(signer);
  EXPECT_EQ(signer->verifier().encode(), kVkey);
  EXPECT_EQ(signer->encode(), kSkey);
  EXPECT_EQ(signer->sign(kText), kSigned);
}

TEST(SignedNote, OpensTheGoReferenceExample) {
  auto verifier = NoteVerifier::parse(kVkey);
  ASSERT_TRUE(verifier);
  EXPECT_EQ(verifier->name, "PeterNeumann");
  EXPECT_EQ(verifier->key_id, 0xc74f20a3u);
  std::string why;
  auto opened = open_note(kSigned, {*verifier}, &why);
  ASSERT_TRUE(opened) << why;
  EXPECT_EQ(opened->text, kText);
  EXPECT_EQ(opened->signers, std::vector<std::string>{"PeterNeumann"});
}

TEST(SignedNote, RefusesATamperedTextOrSignature) {
  auto verifier = *NoteVerifier::parse(kVkey);
  std::string text = kSigned;
  text[3] = 'X';
  std::string why;
  EXPECT_FALSE(open_note(text, {verifier}, &why));
  EXPECT_NE(why.find("does not verify"), std::string::npos) << why;
  std::string sig = kSigned;
  sig[sig.size() - 10] = sig[sig.size() - 10] == 'A' ? 'B' : 'A';
  EXPECT_FALSE(open_note(sig, {verifier}));
}

TEST(SignedNote, IgnoresSignaturesByUnknownKeysButNeedsOneKnown) {
  NoteSigner other = NoteSigner::generate("Other");
  std::string why;
  EXPECT_FALSE(open_note(kSigned, {other.verifier()}, &why));
  EXPECT_NE(why.find("no signature by a known key"), std::string::npos) << why;
  // Two signatures: one known, one unknown.
  std::string both = other.sign(kText);
  both += std::string(kSigned).substr(std::string(kText).size() + 1);
  auto opened = open_note(both, {*NoteVerifier::parse(kVkey)}, &why);
  ASSERT_TRUE(opened) << why;
  EXPECT_EQ(opened->signers, std::vector<std::string>{"PeterNeumann"});
}

TEST(SignedNote, GeneratedKeysRoundTripAndSign) {
  NoteSigner s = NoteSigner::generate("bank.example/audit");
  auto again = NoteSigner::parse(s.encode());
  ASSERT_TRUE(again);
  EXPECT_EQ(again->verifier().encode(), s.verifier().encode());
  auto v = NoteVerifier::parse(s.verifier().encode());
  ASSERT_TRUE(v);
  EXPECT_TRUE(open_note(s.sign("hello\n"), {*v}));
  EXPECT_THROW(NoteSigner::generate("has space"), std::invalid_argument);
  EXPECT_THROW(NoteSigner::generate("has+plus"), std::invalid_argument);
}

TEST(SignedNote, RefusesMangledKeys) {
  std::string vkey = kVkey, skey = kSkey;
  // Every proper prefix and every one-byte change (as Go's TestNewVerifier does).
  for (std::size_t i = 1; i < vkey.size(); ++i) EXPECT_FALSE(NoteVerifier::parse(vkey.substr(0, i))) << i;
  for (std::size_t i = 0; i < vkey.size(); ++i) {
    std::string m = vkey;
    m[i] = static_cast<char>(m[i] + 1);
    EXPECT_FALSE(NoteVerifier::parse(m)) << m;
  }
  for (std::size_t i = 1; i < skey.size(); ++i) EXPECT_FALSE(NoteSigner::parse(skey.substr(0, i))) << i;
  for (std::size_t i = 0; i < skey.size(); ++i) {
    std::string m = skey;
    m[i] = static_cast<char>(m[i] + 1);
    EXPECT_FALSE(NoteSigner::parse(m)) << m;
  }
  // Go's: wrong length with an adjusted key id, unknown algorithm with an adjusted key id.
  EXPECT_FALSE(NoteVerifier::parse("PeterNeumann+cc469956+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TWBADKEY=="));
  EXPECT_FALSE(NoteVerifier::parse("PeterNeumann+173116ae+ZRpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"));
}

TEST(SignedNote, RefusesMalformedNotes) {
  auto v = *NoteVerifier::parse(kVkey);
  std::string sig_line = std::string(kSigned).substr(std::string(kText).size() + 1);
  for (std::string bad : {
           std::string(""),
           std::string(kText),                                        // no signatures
           std::string(kText) + "\n",                                 // empty signature block
           std::string(kText) + "\n" + sig_line.substr(0, sig_line.size() - 1),  // no final newline
           std::string(kText) + "\n" + "- PeterNeumann x08go/ZJ=\n",  // not an em dash
           std::string("a\tb\n\n") + sig_line,                        // a control character
           std::string("a\xff\n\n") + sig_line,                       // not UTF-8
       })
    EXPECT_FALSE(open_note(bad, {v})) << bad;
  std::string many = std::string(kText) + "\n";
  for (int i = 0; i < 101; ++i) many += sig_line;
  std::string why;
  EXPECT_FALSE(open_note(many, {v}, &why));
  EXPECT_NE(why.find("100"), std::string::npos) << why;
  EXPECT_TRUE(note_text_problem("no newline"));
  EXPECT_FALSE(note_text_problem("fine\n"));
}

}  // namespace
}  // namespace branchline::audit
