// sha256: SHA-256 of a file or bytes, as lowercase hex (OpenSSL EVP).
//
// Contract: reads through a file descriptor the caller already opened, so that the bytes hashed are
// the bytes later loaded (the loader dlopens the same descriptor; no check-then-open race).
#pragma once

#include <string>
#include <string_view>

namespace branchline {

// Hex SHA-256 of everything readable from fd, from offset 0. Throws std::runtime_error on a read error.
std::string sha256_hex_of_fd(int fd);

// Hex SHA-256 of bytes.
std::string sha256_hex(std::string_view bytes);

}  // namespace branchline
