// tls_context: OpenSSL server contexts and the development certificate (see tls_context.hpp).
#include "api/tls_context.hpp"

#include <boost/asio/ssl/context.hpp>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <ctime>

namespace ssl = boost::asio::ssl;
namespace fs = std::filesystem;

namespace branchline::api {

namespace {

std::string openssl_reason() {
  unsigned long code = ERR_get_error();
  ERR_clear_error();
  if (code == 0) return "unknown OpenSSL error";
  char buffer[256];
  ERR_error_string_n(code, buffer, sizeof buffer);
  return buffer;
}

// TLS 1.2 suites allowed for legacy clients: ECDHE key exchange and AEAD only.
constexpr const char* kTls12Ciphers =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:"
    "ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305";
constexpr const char* kTls13Suites = "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256";

template <class T, void (*Free)(T*)>
struct Deleter {
  void operator()(T* p) const { Free(p); }
};
using Pkey = std::unique_ptr<EVP_PKEY, Deleter<EVP_PKEY, EVP_PKEY_free>>;
using Cert = std::unique_ptr<X509, Deleter<X509, X509_free>>;

void write_private(const fs::path& path, const std::string& pem) {
  fs::path tmp = path;
  tmp += ".tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) throw TlsError(tmp.string() + ": cannot create: " + std::strerror(errno));
  bool ok = ::write(fd, pem.data(), pem.size()) == static_cast<ssize_t>(pem.size()) && ::fsync(fd) == 0;
  ::close(fd);
  if (!ok) throw TlsError(tmp.string() + ": cannot write");
  fs::rename(tmp, path);
}

std::string pem_of(int (*write)(BIO*, void*), void* object) {
  BIO* bio = BIO_new(BIO_s_mem());
  write(bio, object);
  char* data = nullptr;
  long size = BIO_get_mem_data(bio, &data);
  std::string out(data, static_cast<std::size_t>(size));
  BIO_free(bio);
  return out;
}

bool still_valid(const fs::path& cert_file) {
  FILE* f = std::fopen(cert_file.c_str(), "rb");
  if (!f) return false;
  Cert cert(PEM_read_X509(f, nullptr, nullptr, nullptr));
  std::fclose(f);
  // Renewed a day before it ends, so a long-running dev server is not caught out.
  time_t tomorrow = ::time(nullptr) + 86400;
  return cert && X509_cmp_time(X509_get0_notAfter(cert.get()), &tomorrow) > 0;
}

}  // namespace

std::shared_ptr<ssl::context> make_server_context(const TlsSettings& settings) {
  if (settings.min_version != "1.3" && settings.min_version != "1.2")
    throw TlsError("tls.min_version must be \"1.3\" or \"1.2\", not \"" + settings.min_version + "\"");
  auto context = std::make_shared<ssl::context>(ssl::context::tls_server);
  SSL_CTX* ctx = context->native_handle();
  SSL_CTX_set_min_proto_version(ctx, settings.min_version == "1.3" ? TLS1_3_VERSION : TLS1_2_VERSION);
  SSL_CTX_set_max_proto_version(ctx, TLS1_3_VERSION);
  SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_TICKET |
                               SSL_OP_CIPHER_SERVER_PREFERENCE);
  if (SSL_CTX_set_ciphersuites(ctx, kTls13Suites) != 1 || SSL_CTX_set_cipher_list(ctx, kTls12Ciphers) != 1)
    throw TlsError("cannot set the cipher suites: " + openssl_reason());
  if (SSL_CTX_set1_groups_list(ctx, "X25519:P-256:P-384") != 1)
    throw TlsError("cannot set the key exchange groups: " + openssl_reason());
  // No session cache across connections: nothing that resumes a session outlives it.
  SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
  if (SSL_CTX_use_certificate_chain_file(ctx, settings.cert_file.c_str()) != 1)
    throw TlsError(settings.cert_file.string() + ": cannot use the certificate: " + openssl_reason());
  if (SSL_CTX_use_PrivateKey_file(ctx, settings.key_file.c_str(), SSL_FILETYPE_PEM) != 1)
    throw TlsError(settings.key_file.string() + ": cannot use the private key: " + openssl_reason());
  if (SSL_CTX_check_private_key(ctx) != 1)
    throw TlsError(settings.key_file.string() + ": the key does not match the certificate " +
                   settings.cert_file.string());
  return context;
}

TlsContextHolder::TlsContextHolder(TlsSettings settings)
    : settings_(std::move(settings)), context_(make_server_context(settings_)) {}

std::shared_ptr<ssl::context> TlsContextHolder::current() const {
  std::lock_guard lock(mutex_);
  return context_;
}

std::string TlsContextHolder::reload() {
  try {
    auto fresh = make_server_context(settings_);
    std::lock_guard lock(mutex_);
    context_ = std::move(fresh);
    return {};
  } catch (const TlsError& e) {
    return e.what();
  }
}

TlsSettings ensure_development_certificate(const fs::path& dir) {
  TlsSettings settings{dir / "dev-cert.pem", dir / "dev-key.pem", "1.3"};
  if (fs::exists(settings.key_file) && still_valid(settings.cert_file)) return settings;
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) throw TlsError(dir.string() + ": cannot create: " + ec.message());

  Pkey key(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
  Cert cert(X509_new());
  if (!key || !cert) throw TlsError("cannot make a development key: " + openssl_reason());
  X509_set_version(cert.get(), 2);
  unsigned char serial[16];
  RAND_bytes(serial, sizeof serial);
  serial[0] &= 0x7f;  // positive
  BIGNUM* bn = BN_bin2bn(serial, sizeof serial, nullptr);
  BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(cert.get()));
  BN_free(bn);
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), -300);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), 90L * 86400);
  X509_set_pubkey(cert.get(), key.get());
  X509_NAME* name = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC, reinterpret_cast<const unsigned char*>("Branchline development"), -1, -1, 0);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>("localhost"), -1, -1, 0);
  X509_set_issuer_name(cert.get(), name);
  X509V3_CTX v3;
  X509V3_set_ctx_nodb(&v3);
  X509V3_set_ctx(&v3, cert.get(), cert.get(), nullptr, nullptr, 0);
  for (auto [nid, value] : {std::pair{NID_subject_alt_name, "DNS:localhost,IP:127.0.0.1,IP:::1"},
                            std::pair{NID_basic_constraints, "critical,CA:FALSE"},
                            std::pair{NID_key_usage, "critical,digitalSignature"},
                            std::pair{NID_ext_key_usage, "serverAuth"}}) {
    X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &v3, nid, value);
    if (!ext || X509_add_ext(cert.get(), ext, -1) != 1) {
      X509_EXTENSION_free(ext);
      throw TlsError("cannot make a development certificate: " + openssl_reason());
    }
    X509_EXTENSION_free(ext);
  }
  if (X509_sign(cert.get(), key.get(), EVP_sha256()) <= 0)
    throw TlsError("cannot sign the development certificate: " + openssl_reason());

  write_private(settings.key_file, pem_of(
                                       [](BIO* b, void* k) {
                                         return PEM_write_bio_PrivateKey(b, static_cast<EVP_PKEY*>(k), nullptr, nullptr,
                                                                         0, nullptr, nullptr);
                                       },
                                       key.get()));
  write_private(settings.cert_file,
                pem_of([](BIO* b, void* c) { return PEM_write_bio_X509(b, static_cast<X509*>(c)); }, cert.get()));
  return settings;
}

}  // namespace branchline::api
