// rsyslog_receiver: Debian's rsyslogd (with rsyslog-gnutls) started for a test as an RFC 5425
// receiver on loopback: TLS with the client's certificate required and checked against a test CA
// (x509/certvalid), octet-counted framing, every message written raw, one per line, to a file.
// The CA, the server's and a client's certificate are made with the openssl CLI.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>

extern char** environ;

namespace branchline::test {

inline bool rsyslog_available() { return std::filesystem::exists("/usr/sbin/rsyslogd"); }

// A CA and certificates it signs (CN=name, SAN localhost and 127.0.0.1), as PEM files in `dir`.
inline bool make_test_pki(const std::filesystem::path& dir, const std::string& ca = "ca") {
  std::string d = dir.string();
  std::string cmd = "cd " + d + " && openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 -subj /CN=" +
                    ca + " -keyout " + ca + ".key -out " + ca + ".pem 2>/dev/null && printf "
                    "'subjectAltName=DNS:localhost,IP:127.0.0.1\\nextendedKeyUsage=serverAuth,clientAuth\\n' > ext.cnf";
  for (const char* n : {"server", "client"}) {
    std::string name = ca == "ca" ? n : ca + "-" + n;
    cmd += " && openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj /CN=" + name + " -keyout " + name +
           ".key -out " + name + ".csr 2>/dev/null && openssl x509 -req -in " + name + ".csr -CA " + ca + ".pem -CAkey " + ca +
           ".key -CAcreateserial -days 2 -extfile ext.cnf -out " + name + ".pem 2>/dev/null";
  }
  return std::system(cmd.c_str()) == 0;
}

class RsyslogReceiver {
 public:
  explicit RsyslogReceiver(const std::filesystem::path& dir) : dir_(dir) {
    port_ = free_port();
    std::ofstream(dir_ / "rsyslog.conf")
        << "global(workDirectory=\"" << dir_.string() << "\" DefaultNetstreamDriver=\"gtls\"\n"
        << "  DefaultNetstreamDriverCAFile=\"" << (dir_ / "ca.pem").string() << "\"\n"
        << "  DefaultNetstreamDriverCertFile=\"" << (dir_ / "server.pem").string() << "\"\n"
        << "  DefaultNetstreamDriverKeyFile=\"" << (dir_ / "server.key").string() << "\")\n"
        << "module(load=\"imtcp\" StreamDriver.Name=\"gtls\" StreamDriver.Mode=\"1\" StreamDriver.AuthMode=\"x509/certvalid\")\n"
        << "input(type=\"imtcp\" port=\"" << port_ << "\" address=\"127.0.0.1\")\n"
        << "template(name=\"raw\" type=\"string\" string=\"%rawmsg%\\n\")\n"
        << "action(type=\"omfile\" file=\"" << (dir_ / "received.log").string() << "\" template=\"raw\" flushOnTXEnd=\"on\")\n";
    std::string conf = (dir_ / "rsyslog.conf").string(), pid = (dir_ / "rsyslog.pid").string();
    std::string log = (dir_ / "rsyslogd.out").string();
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 1, log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    posix_spawn_file_actions_adddup2(&actions, 1, 2);
    std::vector<std::string> argv{"/usr/sbin/rsyslogd", "-n", "-f", conf, "-i", pid};
    std::vector<char*> args;
    for (auto& a : argv) args.push_back(a.data());
    args.push_back(nullptr);
    if (posix_spawn(&pid_, args[0], &actions, nullptr, args.data(), environ) != 0) pid_ = -1;
    posix_spawn_file_actions_destroy(&actions);
    // Ready when it accepts connections.
    for (int i = 0; i < 200 && pid_ > 0 && !listening(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(25));
  }
  ~RsyslogReceiver() {
    if (pid_ > 0) {
      ::kill(pid_, SIGTERM);
      int status = 0;
      ::waitpid(pid_, &status, 0);
    }
  }
  bool running() const { return pid_ > 0 && listening(); }
  unsigned short port() const { return port_; }
  std::string received() const { return read(dir_ / "received.log"); }
  std::string log() const { return read(dir_ / "rsyslogd.out"); }

 private:
  static std::string read(const std::filesystem::path& file) {
    std::ifstream in(file);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
  }
  static unsigned short free_port() {
    int s = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t n = sizeof a;
    ::bind(s, reinterpret_cast<sockaddr*>(&a), sizeof a);
    ::getsockname(s, reinterpret_cast<sockaddr*>(&a), &n);
    ::close(s);
    return ntohs(a.sin_port);
  }
  bool listening() const {
    int s = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port_);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bool ok = ::connect(s, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
    ::close(s);
    return ok;
  }

  std::filesystem::path dir_;
  unsigned short port_ = 0;
  pid_t pid_ = -1;
};

}  // namespace branchline::test
