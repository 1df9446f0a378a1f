// queue-local through the host: skills match, offers as events, decline and accept, priority.
#include "reference_fixture.hpp"

namespace branchline::test {
namespace {

using QueueLocal = ReferencePlugin;
namespace json = boost::json;

std::vector<json::value> offers(const std::vector<std::pair<std::string, json::value>>& events) {
  std::vector<json::value> out;
  for (const auto& [type, payload] : events)
    if (type == "queue.offer") out.push_back(payload);
  return out;
}

TEST_F(QueueLocal, OffersAWaitingCustomerToAnAdvisorWithTheSkills) {
  auto q = start("queue-local", BL_KIND_QUEUE);
  json::value t = ok(*q, &bl_queue_api::enqueue,
                     R"({"ticket_id":"t-1","queue":"mortgages","skills":["mortgage"],"language":"fr","priority":0})");
  EXPECT_EQ(t.at("position").as_int64(), 1);
  ok(*q, &bl_queue_api::set_worker_availability,
     R"({"worker_id":"w-en","available":true,"skills":["mortgage"],"languages":["en"],"capacity":1})");
  ok(*q, &bl_queue_api::set_worker_availability,
     R"({"worker_id":"w-fr-cards","available":true,"skills":["cards"],"languages":["fr"],"capacity":1})");
  EXPECT_TRUE(offers(events()).empty()) << "nobody has both the skill and the language";
  ok(*q, &bl_queue_api::set_worker_availability,
     R"({"worker_id":"w-fr","available":true,"skills":["mortgage","cards"],"languages":["fr","en"],"capacity":1})");
  auto made = offers(events());
  ASSERT_EQ(made.size(), 1u);
  EXPECT_EQ(made[0].at("worker_id").as_string(), "w-fr");
  EXPECT_EQ(made[0].at("ticket_id").as_string(), "t-1");
  json::value accepted = ok(*q, &bl_queue_api::accept_offer,
                            R"({"offer_id":")" + std::string(made[0].at("offer_id").as_string()) + R"(","worker_id":"w-fr"})");
  EXPECT_EQ(accepted.at("ticket_id").as_string(), "t-1");
  // Gone from the line; the same offer cannot be accepted twice.
  EXPECT_TRUE(ok(*q, &bl_queue_api::snapshot, "{}").at("tickets").as_array().empty());
  EXPECT_EQ(call(*q, &bl_queue_api::accept_offer,
                 R"({"offer_id":")" + std::string(made[0].at("offer_id").as_string()) + R"(","worker_id":"w-fr"})")
                .status,
            BL_FAILED_PRECONDITION);
}

TEST_F(QueueLocal, DeclinedOfferGoesToTheNextAdvisor) {
  auto q = start("queue-local", BL_KIND_QUEUE);
  ok(*q, &bl_queue_api::set_worker_availability, R"({"worker_id":"a","available":true,"skills":[],"capacity":1})");
  ok(*q, &bl_queue_api::set_worker_availability, R"({"worker_id":"b","available":true,"skills":[],"capacity":1})");
  ok(*q, &bl_queue_api::enqueue, R"({"ticket_id":"t-1","queue":"general","skills":[]})");
  auto first = offers(events());
  ASSERT_EQ(first.size(), 1u);
  std::string declined_by(first[0].at("worker_id").as_string());
  clear_events();
  ok(*q, &bl_queue_api::decline_offer,
     R"({"offer_id":")" + std::string(first[0].at("offer_id").as_string()) + R"(","worker_id":")" + declined_by +
         R"(","reason":"declined"})");
  auto second = offers(events());
  ASSERT_EQ(second.size(), 1u);
  EXPECT_NE(second[0].at("worker_id").as_string(), declined_by);
}

TEST_F(QueueLocal, PriorityThenArrivalAndIdempotentEnqueue) {
  auto q = start("queue-local", BL_KIND_QUEUE);
  ok(*q, &bl_queue_api::enqueue, R"({"ticket_id":"t-1","queue":"general","skills":[],"priority":0})");
  ok(*q, &bl_queue_api::enqueue, R"({"ticket_id":"t-2","queue":"general","skills":[],"priority":0})");
  json::value urgent = ok(*q, &bl_queue_api::enqueue, R"({"ticket_id":"t-3","queue":"general","skills":[],"priority":9})");
  EXPECT_EQ(urgent.at("position").as_int64(), 1);
  json::value again = ok(*q, &bl_queue_api::enqueue, R"({"ticket_id":"t-2","queue":"general","skills":[],"priority":0})");
  EXPECT_EQ(again.at("position").as_int64(), 3);
  ok(*q, &bl_queue_api::cancel_ticket, R"({"ticket_id":"t-3","reason":"abandoned"})");
  EXPECT_EQ(call(*q, &bl_queue_api::cancel_ticket, R"({"ticket_id":"t-3","reason":"abandoned"})").status, BL_NOT_FOUND);
  json::value snap = ok(*q, &bl_queue_api::snapshot, R"({"queue":"general"})");
  ASSERT_EQ(snap.at("tickets").as_array().size(), 2u);
  EXPECT_EQ(snap.at("tickets").as_array()[0].at("ticket_id").as_string(), "t-1");
  bool position_event = false;
  for (const auto& [type, payload] : events()) position_event |= type == "queue.position";
  EXPECT_TRUE(position_event);
}

TEST_F(QueueLocal, AnOfferNotAcceptedInTimeMovesOn) {
  auto q = start("queue-local", BL_KIND_QUEUE, R"({"offer_timeout_ms":1000})");
  ok(*q, &bl_queue_api::set_worker_availability, R"({"worker_id":"a","available":true,"skills":[],"capacity":1})");
  ok(*q, &bl_queue_api::enqueue, R"({"ticket_id":"t-1","queue":"general","skills":[]})");
  ok(*q, &bl_queue_api::set_worker_availability, R"({"worker_id":"b","available":true,"skills":[],"capacity":1})");
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (offers(events()).size() < 2 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  auto made = offers(events());
  ASSERT_EQ(made.size(), 2u);
  EXPECT_EQ(made[0].at("worker_id").as_string(), "a");
  EXPECT_EQ(made[1].at("worker_id").as_string(), "b");
}

}  // namespace
}  // namespace branchline::test
