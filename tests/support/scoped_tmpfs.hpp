// scoped_tmpfs: a size-limited tmpfs mounted for one test, for real "disk full" faults (ENOSPC
// from the kernel, not a simulation). Mounting needs CAP_SYS_ADMIN: ./tests/run.sh runs as root
// and has it; elsewhere the test is skipped with that reason.
#pragma once

#include <sys/mount.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>

namespace branchline::test {

class ScopedTmpfs {
 public:
  ScopedTmpfs(const std::filesystem::path& where, const std::string& size) : path_(where) {
    std::filesystem::create_directories(path_);
    std::string options = "size=" + size + ",mode=0700";
    if (::mount("tmpfs", path_.c_str(), "tmpfs", MS_NOSUID | MS_NODEV, options.c_str()) == 0) mounted_ = true;
    else error_ = errno;
  }
  ~ScopedTmpfs() {
    if (mounted_) ::umount2(path_.c_str(), MNT_DETACH);
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  bool mounted() const { return mounted_; }
  bool permission_denied() const { return error_ == EPERM; }
  std::string error() const { return std::strerror(error_); }
  const std::filesystem::path& path() const { return path_; }

  // Fills the file system with a file named `name` until about `leave` bytes are free.
  void fill_leaving(std::uintmax_t leave, const std::string& name = "filler") {
    std::ofstream filler(path_ / name, std::ios::binary);
    std::string block(64 * 1024, 'f');
    for (auto space = std::filesystem::space(path_); space.available > leave; space = std::filesystem::space(path_)) {
      filler.write(block.data(), static_cast<std::streamsize>(std::min<std::uintmax_t>(block.size(), space.available - leave)));
      filler.flush();
      if (!filler) break;
    }
  }

 private:
  std::filesystem::path path_;
  bool mounted_ = false;
  int error_ = 0;
};

}  // namespace branchline::test
