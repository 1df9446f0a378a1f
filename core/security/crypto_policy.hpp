// crypto_policy: which OpenSSL implementations the process may use.
//
// Contract: require_fips_provider() loads OpenSSL 3's "fips" provider and makes "fips=yes" the
// default property for every algorithm fetched afterwards (so SHA-256, AES-GCM, Ed25519, TLS all
// come from the validated module, or fail). It must run before anything fetches an algorithm.
// It returns the reason when the provider cannot be loaded: Debian 12 ships none, so a bank
// installs a validated one (docs/compliance.md). fips_available() says whether it could be.
#pragma once

#include <optional>
#include <string>

namespace branchline::security {

std::optional<std::string> require_fips_provider();  // nullopt: in force
bool fips_available();

}  // namespace branchline::security
