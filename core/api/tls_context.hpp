// tls_context: the API server's TLS settings, its certificate, and the development certificate
// made on first start.
//
// Contract:
//  - The default is TLS 1.3 only (every TLS 1.3 suite is AEAD with ephemeral key exchange, so
//    forward secrecy holds). min_version "1.2" adds TLS 1.2 for legacy clients with ECDHE key
//    exchange and AEAD suites only (AES-GCM, ChaCha20-Poly1305): no RSA key exchange, no CBC, no
//    SHA-1 MAC. Compression, renegotiation and session tickets (whose key would outlive the
//    connection and weaken forward secrecy) are off.
//  - TlsContextHolder hands each new connection the current context; reload() builds a new one
//    from the same files (SIGHUP after a certificate renewal). A reload that fails keeps the old
//    context and says why; connections already open keep theirs.
//  - ensure_development_certificate() makes a self-signed P-256 certificate for localhost,
//    127.0.0.1 and ::1 (valid 90 days, key file 0600) when the files do not exist, and makes a
//    new one when the existing one has expired. Never used when node.environment is production.
#pragma once

#include <filesystem>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>

namespace boost::asio::ssl {
class context;
}

namespace branchline::api {

struct TlsSettings {
  std::filesystem::path cert_file;  // PEM: the certificate, then its chain
  std::filesystem::path key_file;   // PEM private key
  std::string min_version = "1.3";  // "1.3" | "1.2"
};

class TlsError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Throws TlsError naming the file and OpenSSL's reason.
std::shared_ptr<boost::asio::ssl::context> make_server_context(const TlsSettings& settings);

class TlsContextHolder {
 public:
  explicit TlsContextHolder(TlsSettings settings);  // throws TlsError

  std::shared_ptr<boost::asio::ssl::context> current() const;
  // Rebuilds from the files. Returns an empty string on success, else why it kept the old one.
  std::string reload();
  const TlsSettings& settings() const { return settings_; }

 private:
  TlsSettings settings_;
  mutable std::mutex mutex_;
  std::shared_ptr<boost::asio::ssl::context> context_;
};

// Makes <dir>/dev-cert.pem and <dir>/dev-key.pem if missing or expired; returns their paths.
// Throws TlsError.
TlsSettings ensure_development_certificate(const std::filesystem::path& dir);

}  // namespace branchline::api
