// key_file: see key_file.hpp.
#include "common/key_file.hpp"

#include "common/log.hpp"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <stdexcept>
#include <sys/stat.h>
#include <unistd.h>

namespace branchline {

void create_key_file(const std::filesystem::path& path, const std::string& content, mode_t mode) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
  if (fd < 0) throw std::runtime_error("cannot create " + path.string() + ": " + std::strerror(errno));
  bool ok = ::write(fd, content.data(), content.size()) == static_cast<ssize_t>(content.size()) && ::fsync(fd) == 0;
  ::close(fd);
  if (!ok) {
    ::unlink(path.c_str());
    throw std::runtime_error("cannot write " + path.string());
  }
}

std::string read_key_file(const std::filesystem::path& path, std::size_t max_bytes) {
  int fd = ::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) throw std::runtime_error("cannot read " + path.string() + ": " + std::strerror(errno));
  struct stat st {};
  if (::fstat(fd, &st) == 0 && (st.st_mode & 0077))
    log::warn("security", path.string() + " is readable by group or others; fix: chmod 600 " + path.string());
  std::string content(max_bytes + 1, '\0');
  ssize_t n = ::read(fd, content.data(), content.size());
  ::close(fd);
  if (n < 0) throw std::runtime_error("cannot read " + path.string());
  if (static_cast<std::size_t>(n) > max_bytes) throw std::runtime_error(path.string() + " is larger than a key file can be");
  content.resize(static_cast<std::size_t>(n));
  while (!content.empty() && (content.back() == '\n' || content.back() == '\r')) content.pop_back();
  return content;
}

}  // namespace branchline
