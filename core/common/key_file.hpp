// key_file: small secret files (signing keys, key-encryption keys) that the host creates once and
// reads at every start.
//
// Contract: create_key_file() makes a new file that must not exist yet (O_EXCL, no symlink
// followed) with the given mode, writes it whole and fsyncs it; read_key_file() reads at most
// `max_bytes`, drops trailing newlines, and logs a warning naming the fix when the file is
// readable by group or others. Both throw std::runtime_error naming the file.
#pragma once

#include <filesystem>
#include <string>
#include <sys/types.h>

namespace branchline {

void create_key_file(const std::filesystem::path& path, const std::string& content, mode_t mode = 0600);
std::string read_key_file(const std::filesystem::path& path, std::size_t max_bytes = 4096);

}  // namespace branchline
