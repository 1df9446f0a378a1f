// oidc_peer: the real OpenID Provider for tests (npm oidc-provider, tests/peers/oidc-provider.mjs)
// as a child process on loopback over HTTPS, and its /test helpers (headless login, logout, key
// rotation, back-channel delivery events). Needs BRANCHLINE_NODE_EXECUTABLE and
// BRANCHLINE_TEST_PEERS_DIR; ./tests/run.sh installs the npm packages.
#pragma once

#include "test_node.hpp"

#include "https_call.hpp"
#include "net/http_client.hpp"

#include <boost/json.hpp>

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <future>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

extern char** environ;

namespace branchline::test {

class OidcPeer {
 public:
  // cert/key: the TLS identity it serves (a development certificate for 127.0.0.1), also trusted
  // by its own HTTP client for back-channel delivery (NODE_EXTRA_CA_CERTS).
  OidcPeer(const std::filesystem::path& dir, const std::filesystem::path& cert, const std::filesystem::path& key,
           const std::string& backchannel_url = "")
      : cert_(cert) {
    std::filesystem::create_directories(dir);
    std::filesystem::path out = dir / "peer.out", err = dir / "peer.err";
    std::vector<std::string> argv{test_node(),
                                  std::string(BRANCHLINE_TEST_PEERS_DIR) + "/oidc-provider.mjs",
                                  "--cert", cert.string(), "--key", key.string(), "--state", (dir / "state").string()};
    if (!backchannel_url.empty()) argv.insert(argv.end(), {"--backchannel", backchannel_url});
    std::vector<char*> args;
    for (auto& a : argv) args.push_back(a.data());
    args.push_back(nullptr);
    std::vector<std::string> env_strings{"NODE_EXTRA_CA_CERTS=" + cert.string()};
    for (char** e = environ; *e; ++e)
      if (std::string_view(*e).rfind("NODE_EXTRA_CA_CERTS=", 0) != 0) env_strings.emplace_back(*e);
    std::vector<char*> env;
    for (auto& e : env_strings) env.push_back(e.data());
    env.push_back(nullptr);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 1, out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    posix_spawn_file_actions_addopen(&actions, 2, err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    int rc = posix_spawn(&pid_, args[0], &actions, nullptr, args.data(), env.data());
    posix_spawn_file_actions_destroy(&actions);
    if (rc != 0) throw std::runtime_error("cannot start node for the OIDC provider");
    // Its first stdout line says where it listens.
    for (int i = 0; i < 300; ++i) {
      std::ifstream in(out);
      std::string line;
      if (std::getline(in, line) && !line.empty() && in) {
        boost::json::object info = boost::json::parse(line).as_object();
        issuer_ = std::string(info.at("issuer").as_string());
        return;
      }
      int status = 0;
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    std::ifstream in(err);
    std::stringstream s;
    s << in.rdbuf();
    stop();
    throw std::runtime_error("the OIDC provider did not start: " + s.str());
  }
  ~OidcPeer() { stop(); }
  OidcPeer(const OidcPeer&) = delete;
  OidcPeer& operator=(const OidcPeer&) = delete;

  const std::string& issuer() const { return issuer_; }

  // POST/GET one of its /test helpers; the parsed JSON answer, or a throw with its error.
  boost::json::value call(const std::string& method, const std::string& path, const boost::json::object& body = {}) {
    net::HttpPolicy policy;
    policy.ca_file = cert_.string();
    net::HttpHeaders headers;
    std::string text;
    if (method == "POST") {
      headers = {{"Content-Type", "application/json"}};
      text = boost::json::serialize(body);
    }
    net::HttpResponse r = https_call(client_, policy, method, issuer_ + path, std::move(headers), std::move(text));
    if (r.status != BL_OK || r.http_status != 200)
      throw std::runtime_error(path + ": " + r.message + " HTTP " + std::to_string(r.http_status) + " " + r.body);
    return boost::json::parse(r.body);
  }

  // A whole login; the token response plus "browser" (for logout).
  boost::json::object login(const std::string& user, const std::string& acr = "", const boost::json::object& dpop_jwk = {}) {
    boost::json::object body{{"user", user}};
    if (!acr.empty()) body["acr"] = acr;
    if (!dpop_jwk.empty()) body["dpop_jwk"] = dpop_jwk;
    return call("POST", "/test/login", body).as_object();
  }
  void logout(const std::string& browser) { call("POST", "/test/logout", {{"browser", browser}}); }
  std::string rotate() { return std::string(call("POST", "/test/rotate").at("kid").as_string()); }
  boost::json::array events() { return call("GET", "/test/events").as_array(); }
  // A JWS of `payload` signed with the provider's own key `kid` (header: typ and the like).
  std::string sign(const std::string& kid, const boost::json::object& header, const boost::json::object& payload) {
    return std::string(call("POST", "/test/sign", {{"kid", kid}, {"header", header}, {"payload", payload}}).at("jws").as_string());
  }
  // The provider's published key set, as its jwks_uri serves it.
  std::string jwks_text() {
    net::HttpPolicy policy;
    policy.ca_file = cert_.string();
    net::HttpResponse r = https_call(client_, policy, "GET", issuer_ + "/jwks", {});
    if (r.status != BL_OK || r.http_status != 200) throw std::runtime_error("jwks: HTTP " + std::to_string(r.http_status));
    return r.body;
  }

 private:
  void stop() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGTERM);
    for (int i = 0; i < 50; ++i) {
      if (::waitpid(pid_, nullptr, WNOHANG) == pid_) return void(pid_ = -1);
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
    pid_ = -1;
  }

  std::filesystem::path cert_;
  pid_t pid_ = -1;
  std::string issuer_;
  net::HttpClient client_;
};

}  // namespace branchline::test
