// Fuzz target: what reaches the API's way in from outside. The first byte chooses what the rest is:
//   0: an Authorization header value (and, after a NUL, a DPoP header), parsed by the
//      authenticator up to where it would ask the identity plugin;
//   1: an identity plugin's validate_token result (plugins are untrusted too), also read as the
//      error document of a failed call;
//   2: a validate_logout result;
//   3: an application/x-www-form-urlencoded body (the back-channel logout request).
// Every input must end in an answer or a std::invalid_argument: never a crash, a hang or any
// other exception.
#include "api/authenticator.hpp"
#include "api/plugin_ports.hpp"
#include "api/session_registry.hpp"

#include <cstddef>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string_view>

namespace {

using namespace branchline::api;

const Authenticator& authenticator() {
  // No identity plugin: every well-formed header ends in 503, after all the parsing.
  static const Authenticator a(nullptr, std::make_shared<SessionRegistry>(std::chrono::seconds(3600)), AuthOptions{});
  return a;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  std::string_view input(reinterpret_cast<const char*>(data) + 1, size - 1);
  try {
    switch (data[0] % 4) {
      case 0: {
        HttpRequest request;
        request.method = "GET";
        request.path = "/api/v1/me";
        std::size_t nul = input.find('\0');
        request.headers.emplace_back("authorization", std::string(input.substr(0, nul)));
        if (nul != std::string_view::npos) request.headers.emplace_back("dpop", std::string(input.substr(nul + 1)));
        int answers = 0;
        authenticator().authenticate(request, [&answers](AuthResult r) {
          ++answers;
          if (r.principal || r.refusal.status < 400) __builtin_trap();  // nothing is let in without a plugin
        });
        if (answers != 1) __builtin_trap();
        break;
      }
      case 1: {
        PluginErrorDocument document = plugin_error_document(input);
        const std::string& code = document.code;
        if (code.size() > 64) __builtin_trap();
        if (document.retry_after_s < 0 || document.retry_after_s > 86400) __builtin_trap();
        for (char c : code)
          if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_')) __builtin_trap();
        Authenticator::principal_from_result(input, "urn:branchline:identity:fuzz");
        break;
      }
      case 2:
        Authenticator::logout_from_result(input, "urn:branchline:identity:fuzz", 1'800'000'000, 60);
        break;
      default:
        parse_form(input);
        break;
    }
  } catch (const std::invalid_argument&) {
  }
  return 0;
}
