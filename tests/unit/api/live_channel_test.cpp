// The live channel end to end on loopback: a real WebSocket client over TLS (Beast), the API with
// the gate, the real identity-oidc plugin and the real ledger. The socket is opened with a token,
// decided and audited, carries the principal and the IdP session, and is closed at once by single
// logout of that session (within a second, measured), by the token's expiry and by a drain.
#include "../../support/api_stack.hpp"
#include "../../support/wss_client.hpp"

#include <boost/json/serialize.hpp>

namespace branchline::test {
namespace {

namespace json = boost::json;
using namespace std::chrono_literals;

class LiveChannel : public ApiStack {
 protected:
  void SetUp() override {
    ApiStack::SetUp();
    start_api();
  }
  WssClient client() { return WssClient(tls_.cert_file.string()); }
  int open(WssClient& ws, const std::string& token) {
    return ws.connect(api_->port(), "/api/v1/live", {{"Authorization", "Bearer " + token}});
  }
};

TEST_F(LiveChannel, ASignedInCallerOpensItAndItCarriesThePrincipalAndTheIdpSession) {
  WssClient ws = client();
  ASSERT_EQ(open(ws, idp_.token()), 101);
  // The 101 carries the security headers of every response, and no library's name or version.
  EXPECT_EQ(std::string(ws.response()["X-Content-Type-Options"]), "nosniff");
  EXPECT_NE(std::string(ws.response()["Strict-Transport-Security"]).find("max-age="), std::string::npos);
  EXPECT_EQ(std::string(ws.response()["Server"]), "branchline");
  auto hello = ws.read();
  ASSERT_TRUE(hello);
  json::value h = json::parse(*hello);
  EXPECT_EQ(h.at("type"), "session");
  EXPECT_EQ(h.at("principal"), json::value(idp_.issuer + "|advisor-1"));
  EXPECT_EQ(h.at("session_id"), "sid-advisor-1");
  EXPECT_EQ(sessions_->live(), 1u);

  ws.write(R"({"type":"ping","id":7})");
  EXPECT_EQ(json::parse(ws.read().value_or("{}")), (json::object{{"type", "pong"}, {"id", 7}}));
  ws.write("not json");
  EXPECT_EQ(json::parse(ws.read().value_or("{}")).at("type"), "error");  // the socket stays open
  ws.write(R"({"type":"ping"})");
  EXPECT_EQ(json::parse(ws.read().value_or("{}")).at("type"), "pong");

  // The opening was decided and audited like any request.
  json::object decided = decision_entry(h.at("decision_id"));
  ASSERT_FALSE(decided.empty());
  EXPECT_EQ(decided.at("decision").at("action"), "session.live.connect");
  EXPECT_EQ(decided.at("decision").at("result"), "allow");
  EXPECT_EQ(decided.at("resource"), (json::object{{"type", "live_channel"}, {"id", "sid-advisor-1"}}));
}

TEST_F(LiveChannel, SingleLogoutOfItsSessionClosesItWithinASecond) {
  WssClient mine = client(), other = client();
  ASSERT_EQ(open(mine, idp_.token()), 101);
  json::object claims = idp_.claims();
  claims["sid"] = "sid-2";
  ASSERT_EQ(open(other, idp_.token(claims)), 101);
  ASSERT_TRUE(mine.read());
  ASSERT_TRUE(other.read());
  ASSERT_EQ(sessions_->live(), 2u);

  auto started = std::chrono::steady_clock::now();
  ASSERT_EQ(logout(idp_.token(logout_claims(idp_, "lo-ws"), "es-1", "logout+jwt")).http_status, 200);
  EXPECT_FALSE(mine.read(2s));  // the close frame, not a message
  auto took = std::chrono::steady_clock::now() - started;
  EXPECT_TRUE(mine.closed());
  EXPECT_FALSE(mine.timed_out());
  EXPECT_EQ(mine.close_code(), 1008);
  EXPECT_EQ(mine.close_reason(), "the session ended (single logout)");
  EXPECT_LT(took, 1s);
  std::printf("single logout: the WebSocket of the session was closed %.1f ms after the logout was sent\n",
              std::chrono::duration<double, std::milli>(took).count());

  // The other session's socket stays open and answers.
  other.write(R"({"type":"ping","id":1})");
  EXPECT_EQ(json::parse(other.read().value_or("{}")).at("type"), "pong");
  EXPECT_EQ(json::parse(json::serialize(entries("auth.logout").at(0))).at("closed"), 1);
  EXPECT_TRUE([&] {
    for (int i = 0; i < 50 && sessions_->live() != 1u; ++i) std::this_thread::sleep_for(20ms);
    return sessions_->live() == 1u;
  }());

  // A token of the ended session cannot open a new socket.
  WssClient again = client();
  EXPECT_EQ(open(again, idp_.token()), 401);
}

TEST_F(LiveChannel, ItClosesWhenTheTokenExpires) {
  json::object claims = idp_.claims();
  auto now = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
  claims["exp"] = now + 3;
  WssClient ws = client();
  ASSERT_EQ(open(ws, idp_.token(claims)), 101);
  ASSERT_TRUE(ws.read());
  ws.write(R"({"type":"ping"})");
  EXPECT_EQ(json::parse(ws.read().value_or("{}")).at("type"), "pong");  // open and working until then
  EXPECT_FALSE(ws.read(6s));
  auto closed_at = std::chrono::system_clock::now();
  EXPECT_TRUE(ws.closed());
  EXPECT_EQ(ws.close_code(), 1008);
  EXPECT_NE(ws.close_reason().find("expired"), std::string::npos) << ws.close_reason();
  EXPECT_GE(closed_at, std::chrono::system_clock::time_point(std::chrono::seconds(now + 3)));  // not before exp
}

TEST_F(LiveChannel, WithoutAValidTokenTheUpgradeIsRefusedAndAudited) {
  WssClient none = client();
  EXPECT_EQ(none.connect(api_->port(), "/api/v1/live"), 401) << none.error();
  EXPECT_NE(std::string(none.response()["WWW-Authenticate"]).find("Bearer"), std::string::npos);
  WssClient forged = client();
  EXPECT_EQ(open(forged, "eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0."), 401);
  EXPECT_EQ(entries("auth.token").size(), 2u);
  EXPECT_EQ(sessions_->live(), 0u);

  // A plain GET is told to upgrade.
  net::HttpResponse plain = send("GET", "/api/v1/live", {{"Authorization", "Bearer " + idp_.token()}});
  EXPECT_EQ(plain.http_status, 426);
  EXPECT_EQ(header(plain, "Upgrade"), "websocket");
  // A handshake Beast would refuse is refused before anything is decided, as a problem.
  net::HttpHeaders upgrade{{"Authorization", "Bearer " + idp_.token()}, {"Connection", "Upgrade"}, {"Upgrade", "websocket"}};
  net::HttpHeaders old_version = upgrade;
  old_version.emplace_back("Sec-WebSocket-Version", "8");
  old_version.emplace_back("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==");
  net::HttpResponse v8 = send("GET", "/api/v1/live", old_version);
  EXPECT_EQ(v8.http_status, 426);
  EXPECT_EQ(header(v8, "Sec-WebSocket-Version"), "13");
  EXPECT_EQ(header(v8, "Content-Type"), "application/problem+json");
  upgrade.emplace_back("Sec-WebSocket-Version", "13");
  EXPECT_EQ(send("GET", "/api/v1/live", upgrade).http_status, 400);  // no key
  EXPECT_TRUE(entries("policy.decide").empty());
}

TEST_F(LiveChannel, ABrowserGivesItsTokenAsASubprotocolAndGetsOnlyBranchlineV1Back) {
  WssClient ws = client();
  ASSERT_EQ(ws.connect(api_->port(), "/api/v1/live", {}, "branchline.v1, branchline.bearer." + idp_.token()), 101);
  EXPECT_EQ(ws.subprotocol(), "branchline.v1");  // never the token
  ASSERT_TRUE(ws.read());
  // Without branchline.v1 beside it, or with an Authorization header as well: 400.
  WssClient alone = client();
  EXPECT_EQ(alone.connect(api_->port(), "/api/v1/live", {}, "branchline.bearer." + idp_.token()), 400);
  WssClient twice = client();
  EXPECT_EQ(twice.connect(api_->port(), "/api/v1/live", {{"Authorization", "Bearer " + idp_.token()}},
                          "branchline.v1, branchline.bearer." + idp_.token()),
            400);
}

TEST_F(LiveChannel, AnOversizedOrBinaryMessageClosesTheSocketAndADrainSaysGoingAway) {
  WssClient big = client();
  ASSERT_EQ(open(big, idp_.token()), 101);
  ASSERT_TRUE(big.read());
  big.write(std::string(70 * 1024, 'x'));  // over the 64 KiB default
  EXPECT_FALSE(big.read());
  EXPECT_EQ(big.close_code(), 1009);
  WssClient binary = client();
  ASSERT_EQ(open(binary, idp_.token()), 101);
  ASSERT_TRUE(binary.read());
  binary.write("\x01\x02", /*binary=*/true);
  EXPECT_FALSE(binary.read());
  EXPECT_EQ(binary.close_code(), 1003);

  // More than 40 messages at once (20 a second after that) is more than a client needs.
  WssClient chatty = client();
  ASSERT_EQ(open(chatty, idp_.token()), 101);
  ASSERT_TRUE(chatty.read());
  for (int i = 0; i < 60; ++i) chatty.write(R"({"type":"ping"})");
  int pongs = 0;
  while (chatty.read()) ++pongs;
  EXPECT_EQ(chatty.close_code(), 1008);
  EXPECT_EQ(chatty.close_reason(), "too many messages");
  EXPECT_LT(pongs, 60);

  WssClient drained = client();
  ASSERT_EQ(open(drained, idp_.token()), 101);
  ASSERT_TRUE(drained.read());
  auto started = std::chrono::steady_clock::now();
  std::thread stop([this] { api_->shutdown(5s); });
  EXPECT_FALSE(drained.read());
  stop.join();
  EXPECT_LT(std::chrono::steady_clock::now() - started, 2s);  // the socket closed; the drain did not run out
  EXPECT_EQ(drained.close_code(), 1001);
  EXPECT_EQ(sessions_->live(), 0u);
  api_.reset();
}

// A socket nothing comes back from (no pong to the server's ping, no message) is closed after
// websocket_idle_timeout; one that speaks stays open past it.
TEST_F(LiveChannel, ASilentClientIsPingedAndClosedAndATalkingOneStaysOpen) {
  api_->shutdown(500ms);
  limits_.websocket_idle_timeout = 1000ms;  // pinged after 500 ms of silence
  start_api();
  WssClient silent = client(), talking = client();
  ASSERT_EQ(open(silent, idp_.token()), 101);
  ASSERT_TRUE(silent.read());  // its hello; from now on it reads nothing, so it answers no ping
  ASSERT_EQ(open(talking, idp_.token()), 101);
  ASSERT_TRUE(talking.read());
  EXPECT_EQ(sessions_->live(), 2u);
  auto until = std::chrono::steady_clock::now() + 2500ms;
  for (int id = 0; std::chrono::steady_clock::now() < until; ++id) {
    talking.write(R"({"type":"ping","id":)" + std::to_string(id) + "}");
    ASSERT_EQ(json::parse(talking.read(2s).value_or("{}")).at("type"), "pong");
    std::this_thread::sleep_for(300ms);
  }
  EXPECT_EQ(sessions_->live(), 1u);  // the silent one is gone, and left the registry
  EXPECT_FALSE(silent.read(2s));
  EXPECT_TRUE(silent.closed());
  talking.write(R"({"type":"ping","id":99})");
  EXPECT_EQ(json::parse(talking.read(2s).value_or("{}")), (json::object{{"type", "pong"}, {"id", 99}}));
}

TEST_F(LiveChannel, AClientThatDoesNotReadIsDroppedAndLeavesTheRegistry) {
  WssClient ws = client();
  ASSERT_EQ(open(ws, idp_.token()), 101);
  ASSERT_TRUE(ws.read());
  // Pings whose pongs carry 60 KiB each, and the client reads none of them: the server's queue
  // passes 1 MiB once the socket buffers are full, and the server drops the connection.
  std::string ping = R"({"type":"ping","id":")" + std::string(60 * 1024, 'x') + R"("})";
  for (int i = 0; i < 38 && sessions_->live() == 1u; ++i) {
    for (int j = 0; j < 10; ++j) ws.write(ping);  // within the message rate: 10 a burst, then a pause
    std::this_thread::sleep_for(600ms);
  }
  EXPECT_TRUE([&] {
    for (int i = 0; i < 100 && sessions_->live() != 0u; ++i) std::this_thread::sleep_for(50ms);
    return sessions_->live() == 0u;
  }());
  int pongs = 0;
  while (ws.read(2s)) ++pongs;
  EXPECT_TRUE(ws.closed() || ws.timed_out());
  EXPECT_LT(pongs, 380);  // not everything it asked for: it was dropped
}

}  // namespace
}  // namespace branchline::test
