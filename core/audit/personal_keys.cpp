// personal_keys: see personal_keys.hpp.
#include "audit/personal_keys.hpp"

#include "audit/sqlite_rows.hpp"
#include "common/key_file.hpp"
#include "common/log.hpp"

#include <openssl/evp.h>
#include <openssl/rand.h>

#include <charconv>
#include <map>

namespace branchline::audit {
namespace {

namespace fs = std::filesystem;
using namespace sqlite_rows;

constexpr std::size_t kKeyBytes = 32, kIvBytes = 12, kTagBytes = 16;

std::string b64(std::string_view bytes) {
  std::string out(4 * ((bytes.size() + 2) / 3), '\0');
  EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), reinterpret_cast<const unsigned char*>(bytes.data()),
                  static_cast<int>(bytes.size()));
  return out;
}

std::optional<std::string> unb64(std::string_view text) {
  if (text.size() % 4 != 0 || text.size() > (16u << 20)) return std::nullopt;
  std::string out(text.size() / 4 * 3, '\0');
  if (EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()), reinterpret_cast<const unsigned char*>(text.data()),
                      static_cast<int>(text.size())) < 0)
    return std::nullopt;
  out.resize(out.size() - (text.ends_with("==") ? 2 : text.ends_with('=') ? 1 : 0));
  return out;
}

std::string random_bytes(std::size_t n) {
  std::string out(n, '\0');
  if (RAND_priv_bytes(reinterpret_cast<unsigned char*>(out.data()), static_cast<int>(n)) != 1)
    throw std::runtime_error("no random bytes");
  return out;
}

const unsigned char* u(std::string_view s) { return reinterpret_cast<const unsigned char*>(s.data()); }

struct CipherFree {
  void operator()(EVP_CIPHER_CTX* c) const { EVP_CIPHER_CTX_free(c); }
};

// AES-256-GCM: returns iv || ciphertext || tag.
std::string seal(const std::string& key, std::string_view plaintext, std::string_view aad) {
  std::string iv = random_bytes(kIvBytes);
  std::unique_ptr<EVP_CIPHER_CTX, CipherFree> ctx(EVP_CIPHER_CTX_new());
  std::string out = iv;
  out.resize(kIvBytes + plaintext.size() + kTagBytes);
  int n = 0, m = 0;
  auto* w = reinterpret_cast<unsigned char*>(out.data());
  if (!ctx || EVP_EncryptInit_ex2(ctx.get(), EVP_aes_256_gcm(), u(key), u(iv), nullptr) != 1 ||
      EVP_EncryptUpdate(ctx.get(), nullptr, &n, u(aad), static_cast<int>(aad.size())) != 1 ||
      EVP_EncryptUpdate(ctx.get(), w + kIvBytes, &n, u(plaintext), static_cast<int>(plaintext.size())) != 1 ||
      EVP_EncryptFinal_ex(ctx.get(), w + kIvBytes + n, &m) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, kTagBytes, w + kIvBytes + plaintext.size()) != 1)
    throw std::runtime_error("AES-256-GCM encryption failed");
  return out;
}

std::optional<std::string> open_sealed(const std::string& key, std::string_view sealed, std::string_view aad) {
  if (sealed.size() < kIvBytes + kTagBytes) return std::nullopt;
  std::string_view iv = sealed.substr(0, kIvBytes);
  std::string_view body = sealed.substr(kIvBytes, sealed.size() - kIvBytes - kTagBytes);
  std::string tag(sealed.substr(sealed.size() - kTagBytes));
  std::unique_ptr<EVP_CIPHER_CTX, CipherFree> ctx(EVP_CIPHER_CTX_new());
  std::string out(body.size(), '\0');
  int n = 0, m = 0;
  if (!ctx || EVP_DecryptInit_ex2(ctx.get(), EVP_aes_256_gcm(), u(key), u(iv), nullptr) != 1 ||
      EVP_DecryptUpdate(ctx.get(), nullptr, &n, u(aad), static_cast<int>(aad.size())) != 1 ||
      EVP_DecryptUpdate(ctx.get(), reinterpret_cast<unsigned char*>(out.data()), &n, u(body),
                        static_cast<int>(body.size())) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, kTagBytes, tag.data()) != 1 ||
      EVP_DecryptFinal_ex(ctx.get(), reinterpret_cast<unsigned char*>(out.data()) + n, &m) != 1)
    return std::nullopt;
  return out;
}

}  // namespace

struct PersonalKeys::Impl {
  fs::path file;
  sqlite3* db = nullptr;
  std::string kek;
  struct Live {
    std::int64_t generation;
    std::string key;
  };
  std::map<std::string, Live> cache;  // live keys, unwrapped (the writer's only: a reader asks each time)
  bool read_only = false;

  ~Impl() {
    for (auto& [customer, live] : cache) OPENSSL_cleanse(live.key.data(), live.key.size());
    OPENSSL_cleanse(kek.data(), kek.size());
    sqlite3_close(db);
  }

  static std::string wrap_aad(const std::string& customer, std::int64_t generation) {
    return "branchline personal key\n" + customer + "\n" + std::to_string(generation);
  }

  std::optional<Live> load_live(const std::string& customer) {
    if (auto it = cache.find(customer); it != cache.end()) return it->second;
    Statement s(db, "SELECT generation, wrapped FROM keys WHERE customer = ?1 AND state = 'live'");
    sqlite3_bind_text(s.s, 1, customer.data(), static_cast<int>(customer.size()), SQLITE_STATIC);
    if (sqlite3_step(s.s) != SQLITE_ROW) return std::nullopt;
    std::int64_t generation = sqlite3_column_int64(s.s, 0);
    auto key = open_sealed(kek, blob(s.s, 1), wrap_aad(customer, generation));
    if (!key || key->size() != kKeyBytes)
      throw std::runtime_error("the personal-data key of a customer does not unwrap: wrong key-encryption key?");
    Live live{generation, *key};
    OPENSSL_cleanse(key->data(), key->size());
    if (read_only) return live;  // an erasure by the writer must take effect for this reader at once
    return cache[customer] = live;
  }

  Live create(const std::string& customer) {
    Statement next(db, "SELECT coalesce(max(generation), 0) + 1 FROM keys WHERE customer = ?1");
    sqlite3_bind_text(next.s, 1, customer.data(), static_cast<int>(customer.size()), SQLITE_STATIC);
    sqlite3_step(next.s);
    Live live{sqlite3_column_int64(next.s, 0), random_bytes(kKeyBytes)};
    std::string wrapped = seal(kek, live.key, wrap_aad(customer, live.generation));
    Statement insert(db, "INSERT INTO keys(customer, generation, wrapped, state, created) VALUES(?1, ?2, ?3, 'live', ?4)");
    std::string now = log::utc_now_rfc3339();
    sqlite3_bind_text(insert.s, 1, customer.data(), static_cast<int>(customer.size()), SQLITE_STATIC);
    sqlite3_bind_int64(insert.s, 2, live.generation);
    sqlite3_bind_blob(insert.s, 3, wrapped.data(), static_cast<int>(wrapped.size()), SQLITE_STATIC);
    sqlite3_bind_text(insert.s, 4, now.data(), static_cast<int>(now.size()), SQLITE_STATIC);
    if (sqlite3_step(insert.s) != SQLITE_DONE)  // autocommit: durable (synchronous=FULL) before use
      throw std::runtime_error(std::string("cannot store a personal-data key: ") + sqlite3_errmsg(db));
    return cache[customer] = live;
  }
};

PersonalKeys::PersonalKeys(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
PersonalKeys::~PersonalKeys() = default;

std::unique_ptr<PersonalKeys> PersonalKeys::open(const fs::path& file, const fs::path& kek_file, bool read_only) {
  auto impl = std::make_unique<Impl>();
  impl->file = file;
  impl->read_only = read_only;
  std::error_code ec;
  if (!read_only && !fs::exists(kek_file, ec)) create_key_file(kek_file, b64(random_bytes(kKeyBytes)) + "\n", 0600);
  auto kek = unb64(read_key_file(kek_file));
  if (!kek || kek->size() != kKeyBytes)
    throw std::runtime_error(kek_file.string() + " is not a key-encryption key (base64 of 32 bytes)");
  impl->kek = *kek;
  OPENSSL_cleanse(kek->data(), kek->size());
  int flags = read_only ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
  if (sqlite3_open_v2(file.c_str(), &impl->db, flags, nullptr) != SQLITE_OK)
    throw std::runtime_error("personal-data keys " + file.string() + ": cannot open");
  sqlite3_busy_timeout(impl->db, 5000);
  if (!read_only) exec(impl->db, file,
       "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA secure_delete=ON;"
       "CREATE TABLE IF NOT EXISTS keys (customer TEXT NOT NULL, generation INTEGER NOT NULL, wrapped BLOB,"
       " state TEXT NOT NULL, created TEXT NOT NULL, erased TEXT, PRIMARY KEY (customer, generation)) WITHOUT ROWID;");
  return std::unique_ptr<PersonalKeys>(new PersonalKeys(std::move(impl)));
}

boost::json::object PersonalKeys::encrypt(const std::string& customer, std::string_view plaintext, std::string_view aad) {
  auto live = impl_->load_live(customer);
  Impl::Live key = live ? *live : impl_->create(customer);
  std::string sealed = seal(key.key, plaintext, aad);
  return boost::json::object{{"alg", "A256GCM"},
                             {"kid", customer + "#" + std::to_string(key.generation)},
                             {"iv", b64(std::string_view(sealed).substr(0, kIvBytes))},
                             {"ct", b64(std::string_view(sealed).substr(kIvBytes))}};
}

std::optional<std::string> PersonalKeys::decrypt(const boost::json::object& sealed, std::string_view aad) {
  auto field = [&](const char* name) -> std::optional<std::string> {
    auto* v = sealed.if_contains(name);
    return v && v->is_string() ? std::optional<std::string>(std::string(v->as_string())) : std::nullopt;
  };
  auto alg = field("alg"), kid = field("kid"), iv = field("iv"), ct = field("ct");
  if (!alg || *alg != "A256GCM" || !kid || !iv || !ct) return std::nullopt;
  std::size_t hash = kid->rfind('#');
  if (hash == std::string::npos) return std::nullopt;
  std::string customer = kid->substr(0, hash);
  std::int64_t generation = 0;
  std::string_view digits = std::string_view(*kid).substr(hash + 1);
  auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), generation);
  if (ec != std::errc() || end != digits.data() + digits.size() || generation < 1) return std::nullopt;
  auto live = impl_->load_live(customer);
  if (!live || live->generation != generation) {
    // An older generation is never live: erased (or never ours).
    return std::nullopt;
  }
  auto iv_bytes = unb64(*iv), ct_bytes = unb64(*ct);
  if (!iv_bytes || !ct_bytes || iv_bytes->size() != kIvBytes) return std::nullopt;
  return open_sealed(live->key, *iv_bytes + *ct_bytes, aad);
}

bool PersonalKeys::has_key(const std::string& customer) { return impl_->load_live(customer).has_value(); }

void PersonalKeys::begin_erase(const std::string& customer) {
  if (auto it = impl_->cache.find(customer); it != impl_->cache.end()) {
    OPENSSL_cleanse(it->second.key.data(), it->second.key.size());
    impl_->cache.erase(it);
  }
  Statement s(impl_->db, "UPDATE keys SET state = 'erasing' WHERE customer = ?1 AND state = 'live'");
  sqlite3_bind_text(s.s, 1, customer.data(), static_cast<int>(customer.size()), SQLITE_STATIC);
  if (sqlite3_step(s.s) != SQLITE_DONE) throw std::runtime_error(std::string("cannot mark a key for erasure: ") + sqlite3_errmsg(impl_->db));
}

void PersonalKeys::cancel_erase(const std::string& customer) {
  Statement s(impl_->db, "UPDATE keys SET state = 'live' WHERE customer = ?1 AND state = 'erasing'");
  sqlite3_bind_text(s.s, 1, customer.data(), static_cast<int>(customer.size()), SQLITE_STATIC);
  if (sqlite3_step(s.s) != SQLITE_DONE) throw std::runtime_error(std::string("cannot restore a key: ") + sqlite3_errmsg(impl_->db));
}

void PersonalKeys::finish_erase(const std::string& customer) {
  std::string now = log::utc_now_rfc3339();
  Statement s(impl_->db,
              "UPDATE keys SET wrapped = NULL, state = 'erased', erased = ?2 WHERE customer = ?1 AND state = 'erasing'");
  sqlite3_bind_text(s.s, 1, customer.data(), static_cast<int>(customer.size()), SQLITE_STATIC);
  sqlite3_bind_text(s.s, 2, now.data(), static_cast<int>(now.size()), SQLITE_STATIC);
  if (sqlite3_step(s.s) != SQLITE_DONE) throw std::runtime_error(std::string("cannot erase a key: ") + sqlite3_errmsg(impl_->db));
  // Old page images with the wrapped key may still be in the WAL: copy the current pages back and
  // truncate it. A reader holding an old snapshot makes this busy; it is retried briefly.
  for (int attempt = 0; attempt < 50; ++attempt) {
    if (sqlite3_wal_checkpoint_v2(impl_->db, nullptr, SQLITE_CHECKPOINT_TRUNCATE, nullptr, nullptr) == SQLITE_OK) return;
    sqlite3_sleep(20);
  }
  log::warn("audit", "the personal-data key file's WAL could not be truncated now; the next checkpoint will");
}

std::vector<std::string> PersonalKeys::pending_erasures() {
  std::vector<std::string> out;
  Statement s(impl_->db, "SELECT DISTINCT customer FROM keys WHERE state = 'erasing'");
  while (sqlite3_step(s.s) == SQLITE_ROW) out.emplace_back(text(s.s, 0));
  return out;
}

}  // namespace branchline::audit
