// crypto_policy: see crypto_policy.hpp.
#include "security/crypto_policy.hpp"

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/provider.h>

namespace branchline::security {
namespace {

std::string openssl_error() {
  unsigned long code = ERR_get_error();
  if (code == 0) return "no reason given";
  char buffer[256];
  ERR_error_string_n(code, buffer, sizeof buffer);
  ERR_clear_error();
  return buffer;
}

}  // namespace

std::optional<std::string> require_fips_provider() {
  OSSL_PROVIDER* fips = OSSL_PROVIDER_load(nullptr, "fips");
  if (!fips) return "OpenSSL's FIPS provider cannot be loaded (" + openssl_error() + ")";
  // The base provider supplies encoders and decoders (keys from files), which the FIPS module has not.
  if (!OSSL_PROVIDER_load(nullptr, "base")) return "OpenSSL's base provider cannot be loaded (" + openssl_error() + ")";
  if (EVP_default_properties_enable_fips(nullptr, 1) != 1)
    return "OpenSSL refused to make FIPS algorithms the default (" + openssl_error() + ")";
  return std::nullopt;
}

bool fips_available() {
  bool available = OSSL_PROVIDER_available(nullptr, "fips") == 1;
  if (!available) {
    // Try to load it without keeping it, to tell whether it is installed and configured.
    if (OSSL_PROVIDER* p = OSSL_PROVIDER_try_load(nullptr, "fips", 1)) {
      available = true;
      OSSL_PROVIDER_unload(p);
    }
    ERR_clear_error();
  }
  return available;
}

}  // namespace branchline::security
