// live_routes: the live channel, a WebSocket on the API's own port (GET /api/v1/live) for
// signaling and live events. See api_routes.hpp and docs/api/README.md#the-live-channel.
//
// The socket belongs to a sign-in: it is opened with an access token (the Authorization header,
// or, since browsers cannot set headers on a WebSocket, the subprotocol
// "branchline.bearer.<token>" beside "branchline.v1"), decided (session.live.connect) and audited
// like any request, and attached to the session registry under the token's principal and IdP
// session (`sid`). Single logout of that session closes it at once (1008); so does the token's
// expiry. Later issues publish their events (consultation, queue) on it.
#include "api/access_gate.hpp"
#include "api/api_routes.hpp"
#include "api/session_registry.hpp"

#include <boost/json.hpp>

namespace json = boost::json;

namespace branchline::api {
namespace {

constexpr std::string_view kSubprotocol = "branchline.v1";
constexpr std::string_view kBearerPrefix = "branchline.bearer.";

// The offered subprotocols (Sec-WebSocket-Protocol, comma-separated tokens).
std::vector<std::string> offered_subprotocols(const HttpRequest& request) {
  std::vector<std::string> out;
  for (const auto& [name, value] : request.headers) {
    if (name != "sec-websocket-protocol") continue;
    std::size_t start = 0;
    while (start <= value.size()) {
      std::size_t comma = value.find(',', start);
      if (comma == std::string::npos) comma = value.size();
      std::string item = value.substr(start, comma - start);
      item.erase(0, item.find_first_not_of(" \t"));
      item.erase(item.find_last_not_of(" \t") + 1);
      if (!item.empty()) out.push_back(std::move(item));
      start = comma + 1;
    }
  }
  return out;
}

// What the socket's client sends: {"type":"ping","id":...} is answered {"type":"pong","id":...};
// anything else gets an error message (the socket stays open).
std::string answer_message(std::string_view text) {
  boost::system::error_code ec;
  json::value v = json::parse(text, ec);
  if (ec || !v.is_object()) return json::serialize(json::object{{"type", "error"}, {"detail", "a message is a JSON object"}});
  const json::object& message = v.as_object();
  const json::value* type = message.if_contains("type");
  if (type && *type == "ping") {
    json::object pong{{"type", "pong"}};
    if (const json::value* id = message.if_contains("id")) pong["id"] = *id;
    return json::serialize(pong);
  }
  return json::serialize(json::object{{"type", "error"}, {"detail", "unknown message type; this channel takes ping"}});
}

// The socket's link to the session registry, alive as long as the socket.
struct LiveSocket {
  std::shared_ptr<const AccessGate> gate;  // keeps the registry alive while attached
  std::shared_ptr<WebSocket> socket;       // once open
  SessionRegistry::Attachment attachment;
};

void connect(std::shared_ptr<const AccessGate> gate, const HttpRequest& original, Respond refuse, AcceptWebSocket accept) {
  // The request as the gate sees it: with the token of the subprotocol as its Authorization.
  auto request = std::make_shared<HttpRequest>(original);
  std::vector<std::string> offered = offered_subprotocols(original);
  std::string subprotocol, subprotocol_token;
  for (const auto& p : offered) {
    if (p == kSubprotocol) subprotocol = p;
    else if (p.rfind(kBearerPrefix, 0) == 0) subprotocol_token = p.substr(kBearerPrefix.size());
  }
  if (!subprotocol_token.empty()) {
    if (!original.header("authorization").empty() || subprotocol.empty())
      return refuse(HttpResponse::problem(400, "give the token once: Authorization, or the subprotocol "
                                               "branchline.bearer.<token> beside branchline.v1"));
    request->headers.emplace_back("authorization", "Bearer " + subprotocol_token);
  }
  Respond respond = [request, refuse](HttpResponse r) { refuse(std::move(r)); };  // keeps `request` alive
  gate->authenticate(*request, respond, [gate, request, respond, accept, subprotocol](std::shared_ptr<const Principal> principal) {
    Question question;
    question.action = "session.live.connect";
    question.resource = {"User", principal->id()};
    question.audit_resource = json::object{{"type", "live_channel"}, {"id", principal->session_id}};
    // The channel will carry customers' events: it opens only once its entry is durable, and
    // not at all (503) when the ledger cannot take it.
    question.durable = true;
    gate->authorize(*request, *principal, std::move(question), respond, [gate, principal, accept, subprotocol](Verdict verdict) {
      auto live = std::make_shared<LiveSocket>();
      live->gate = gate;
      WebSocketHandlers handlers;
      handlers.subprotocol = subprotocol;
      handlers.deadline = std::chrono::system_clock::time_point(std::chrono::seconds(principal->expires_at));
      handlers.deadline_reason = "the sign-in expired; connect again with a new token";
      handlers.opened = [live, principal, decision = verdict.decision_id](std::shared_ptr<WebSocket> socket) {
        json::object hello{{"type", "session"},
                           {"principal", principal->id()},
                           {"expires_at", principal->expires_at},
                           {"decision_id", decision}};
        if (!principal->session_id.empty()) hello["session_id"] = principal->session_id;
        socket->send(json::serialize(hello));
        live->socket = socket;
        // Attached last: a logout that already happened closes it at once.
        live->attachment = live->gate->authenticator().sessions().attach(
            SessionKey{principal->issuer, principal->subject, principal->session_id}, principal->issued_at,
            [socket] { socket->close(1008, "the session ended (single logout)"); });
      };
      handlers.message = [live](std::string_view text) { live->socket->send(answer_message(text)); };
      handlers.closed = [live] {
        live->attachment = {};
        live->socket.reset();
      };
      accept(std::move(handlers));
    });
  });
}

}  // namespace

void add_live_routes(Router& router, std::shared_ptr<const AccessGate> gate) {
  router.add_websocket("/api/v1/live", [gate](const HttpRequest& request, Respond refuse, AcceptWebSocket accept) {
    connect(gate, request, std::move(refuse), std::move(accept));
  });
}

}  // namespace branchline::api
