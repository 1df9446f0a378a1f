// kv_store: durable, bounded, byte-exact.
#include "host/kv_store.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <unistd.h>

namespace branchline::host {
namespace {

class KvStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    file_ = std::filesystem::temp_directory_path() /
            ("bl-kv-" + std::to_string(::getpid()) + "-" +
             ::testing::UnitTest::GetInstance()->current_test_info()->name() + ".sqlite");
    cleanup();
  }
  void TearDown() override { cleanup(); }
  void cleanup() {
    for (const char* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(file_.string() + suffix);
  }
  std::filesystem::path file_;
};

TEST_F(KvStoreTest, PutGetEraseAreByteExactAndDurable) {
  const std::string binary("a\0b\xff", 4);
  {
    auto kv = KvStore::open(file_);
    std::string value;
    EXPECT_EQ(kv->get("k", value), BL_NOT_FOUND);
    EXPECT_EQ(kv->put("k", binary), BL_OK);
    EXPECT_EQ(kv->put(binary, "v"), BL_OK);
    EXPECT_EQ(kv->put("empty", ""), BL_OK);
  }
  auto kv = KvStore::open(file_);  // reopened: still there
  std::string value;
  ASSERT_EQ(kv->get("k", value), BL_OK);
  EXPECT_EQ(value, binary);
  ASSERT_EQ(kv->get(binary, value), BL_OK);
  EXPECT_EQ(value, "v");
  ASSERT_EQ(kv->get("empty", value), BL_OK);
  EXPECT_EQ(value, "");
  EXPECT_EQ(kv->erase("k"), BL_OK);
  EXPECT_EQ(kv->get("k", value), BL_NOT_FOUND);
  EXPECT_EQ(kv->erase("k"), BL_OK);
}

TEST_F(KvStoreTest, KeyAndValueLimits) {
  auto kv = KvStore::open(file_);
  EXPECT_EQ(kv->put("", "v"), BL_INVALID_ARGUMENT);
  EXPECT_EQ(kv->put(std::string(KvStore::kMaxKeyBytes + 1, 'k'), "v"), BL_INVALID_ARGUMENT);
  EXPECT_EQ(kv->put(std::string(KvStore::kMaxKeyBytes, 'k'), "v"), BL_OK);
  EXPECT_EQ(kv->put("big", std::string(KvStore::kMaxValueBytes + 1, 'v')), BL_INVALID_ARGUMENT);
  EXPECT_EQ(kv->put("big", std::string(KvStore::kMaxValueBytes, 'v')), BL_OK);
}

TEST_F(KvStoreTest, QuotaCountsKeysAndValuesAndFreesOnOverwriteAndErase) {
  auto kv = KvStore::open(file_, 100);
  EXPECT_EQ(kv->put("a", std::string(60, 'x')), BL_OK);                      // 61
  EXPECT_EQ(kv->put("b", std::string(60, 'x')), BL_RESOURCE_EXHAUSTED);      // would be 122
  std::string value;
  EXPECT_EQ(kv->get("b", value), BL_NOT_FOUND);                              // nothing changed
  EXPECT_EQ(kv->put("a", std::string(10, 'x')), BL_OK);                      // overwrite: 11
  EXPECT_EQ(kv->put("b", std::string(60, 'x')), BL_OK);                      // 72
  EXPECT_EQ(kv->used_bytes(), 72u);
  EXPECT_EQ(kv->erase("b"), BL_OK);
  EXPECT_EQ(kv->used_bytes(), 11u);
  kv.reset();
  EXPECT_EQ(KvStore::open(file_, 100)->used_bytes(), 11u);  // recounted on open
}

TEST_F(KvStoreTest, UnopenableFileIsAClearError) {
  EXPECT_THROW(KvStore::open("/nonexistent/dir/kv.sqlite"), std::runtime_error);
}

}  // namespace
}  // namespace branchline::host
