// random_id: unguessable identifiers from OpenSSL's CSPRNG (request ids, decision ids, channels).
//
// Contract: both abort the process if the CSPRNG fails (RAND_bytes returning 0 means OpenSSL
// cannot seed itself; no identifier is better than a predictable one).
#pragma once

#include <cstddef>
#include <string>

namespace branchline {

// `bytes` random bytes as lowercase hex (2 * bytes characters).
std::string random_hex(std::size_t bytes);

// A random (version 4) UUID in its canonical lowercase text, e.g. 3f2b...-....-4...-[89ab]...-....
std::string random_uuid();

}  // namespace branchline
