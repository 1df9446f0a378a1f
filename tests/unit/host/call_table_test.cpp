// The asynchronous call contract, driven through a real plugin (cpp-crm) in each of its modes:
// every caller is answered exactly once; deadlines and cancels answer the caller while the
// plugin's late completion is dropped; a plugin that throws, forgets or completes twice cannot
// hurt the host.
#include "host_fixture.hpp"

#include <atomic>
#include <fstream>

namespace branchline::test {
namespace {

template <class Predicate>
bool eventually_true(Predicate p) {
  for (int i = 0; i < 500 && !p(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  return p();
}

class Calls : public HostFixture {};

TEST_F(Calls, AnswersFromThePluginsOwnThread) {
  auto instance = instantiate("cpp-crm", R"({"mode": "async", "delay_ms": 5})");
  auto r = lookup(*instance, "c-7");
  ASSERT_EQ(r.status, BL_OK) << r.message;
  EXPECT_EQ(boost::json::parse(r.result).at("customer_id").as_string(), "c-7");
  EXPECT_EQ(instance->outstanding_calls(), 0u);
}

TEST_F(Calls, DeadlineAnswersTheCallerAndDropsTheLateResult) {
  auto instance = instantiate("cpp-crm", R"({"mode": "async", "delay_ms": 300})");
  auto r = lookup(*instance, "c-7", std::chrono::milliseconds(20));
  EXPECT_EQ(r.status, BL_DEADLINE_EXCEEDED);
  // The request's buffers stay alive until the plugin completes; then the result is dropped.
  EXPECT_EQ(instance->outstanding_calls(), 1u);
  for (int i = 0; i < 200 && instance->outstanding_calls() > 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_EQ(instance->outstanding_calls(), 0u);
  EXPECT_EQ(instance->stray_completions(), 0u);
}

TEST_F(Calls, DeadlineSendsTheCancelHintAndThePluginStillCompletesOnce) {
  auto instance = instantiate("cpp-crm", R"({"mode": "never"})");
  auto r = lookup(*instance, "c-7", std::chrono::milliseconds(20));
  EXPECT_EQ(r.status, BL_DEADLINE_EXCEEDED);
  // cpp-crm honours the hint by completing with BL_CANCELLED: the call is then released.
  EXPECT_EQ(instance->outstanding_calls(), 0u);
  EXPECT_EQ(instance->health(), R"({"status":"ok","detail":"cancels=1"})");
}

TEST_F(Calls, CallerCancelAnswersCancelledOnce) {
  auto instance = instantiate("cpp-crm", R"({"mode": "never"})");
  std::atomic<int> answers{0};
  std::promise<host::CallResult> answer;
  bl_call_id id = instance->call(&bl_crm_api::lookup_customer, R"({"customer_id":"c-1"})", "{}",
                                 std::chrono::milliseconds(5000), io_.get_executor(), [&](host::CallResult r) {
                                   if (answers++ == 0) answer.set_value(std::move(r));
                                 });
  instance->cancel(id);
  auto r = answer.get_future().get();
  EXPECT_EQ(r.status, BL_CANCELLED);
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_EQ(answers.load(), 1);
}

TEST_F(Calls, ThrowingOperationBecomesAStatus) {
  auto instance = instantiate("cpp-crm", R"({"mode": "throw"})");
  auto r = lookup(*instance, "c-1");
  EXPECT_EQ(r.status, BL_UNCAUGHT_EXCEPTION);
  EXPECT_NE(r.message.find("lookup exploded on purpose"), std::string::npos);
}

TEST_F(Calls, DroppedCallIsCompletedByTheHelper) {
  auto instance = instantiate("cpp-crm", R"({"mode": "drop"})");
  auto r = lookup(*instance, "c-1");
  EXPECT_EQ(r.status, BL_INTERNAL);
  EXPECT_NE(r.message.find("dropped"), std::string::npos);
}

TEST_F(Calls, SecondCompletionIsIgnoredAndCounted) {
  auto instance = instantiate("cpp-crm", R"({"mode": "twice"})");
  auto r = lookup(*instance, "c-1");
  EXPECT_EQ(r.status, BL_OK);
  // Two raw completions plus the helper's own (ignored) one after them.
  EXPECT_GE(instance->stray_completions(), 1u);
}

// host->audit_append end to end: the plugin's call completes only once its entry is durable, the
// journal names the plugin as the source, and an entry that is not a JSON object is refused.
TEST_F(Calls, AnErrorDocumentUpTo4KiBIsKeptALargerOneIsDroppedWithAWarningAndTheFailureKept) {
  auto kept = instantiate("cpp-crm", R"({"mode": "error_document", "document_bytes": 4096})");
  auto r = lookup(*kept, "c-7");
  EXPECT_EQ(r.status, BL_UNAVAILABLE);
  EXPECT_EQ(r.message, "the vendor is down");
  ASSERT_EQ(r.result.size(), 4096u);
  EXPECT_EQ(boost::json::parse(r.result).at("error"), "vendor_down");

  auto large = instantiate("cpp-crm", R"({"mode": "error_document", "document_bytes": 4097})");
  testing::internal::CaptureStderr();
  r = lookup(*large, "c-7");
  std::string log = testing::internal::GetCapturedStderr();
  EXPECT_EQ(r.status, BL_UNAVAILABLE);
  EXPECT_EQ(r.message, "the vendor is down");
  EXPECT_EQ(r.result, "");
  EXPECT_NE(log.find("error document of 4097 bytes"), std::string::npos) << log;
  EXPECT_NE(log.find("plugin instance '" + large->id() + "'"), std::string::npos) << log;  // which vendor's
  EXPECT_EQ(log.find("vendor_down"), std::string::npos) << log;  // never the document itself
}

TEST_F(Calls, AuditAppendFromAPlugin) {
  auto instance = instantiate("cpp-crm");
  auto add_note = [&](const std::string& body) {
    std::promise<host::CallResult> answer;
    instance->call(&bl_crm_api::add_note, body, "{}", std::chrono::milliseconds(2000), io_.get_executor(),
                   [&](host::CallResult r) { answer.set_value(std::move(r)); });
    return answer.get_future().get();
  };
  auto ok = add_note(R"({"customer_id":"c-42","idempotency_key":"k-1"})");
  ASSERT_EQ(ok.status, BL_OK) << ok.message;
  auto entry = ledger_entry(data_dir_ / "audit.db", "crm.note.add");
  ASSERT_FALSE(entry.empty());
  EXPECT_EQ(entry.at("source").at("plugin").as_string(), "cpp-crm");
  EXPECT_EQ(entry.at("resource").at("customer").as_string(), "c-42");
  auto refused = add_note(R"({"customer_id":"c-42","bad_audit":true})");
  EXPECT_EQ(refused.status, BL_INVALID_ARGUMENT);
}

TEST_F(Calls, UnimplementedOptionalOperation) {
  auto instance = instantiate("c-crm");
  std::promise<host::CallResult> answer;
  instance->call(&bl_crm_api::search_customers, R"({"query":{}})", "{}", std::chrono::milliseconds(1000),
                 io_.get_executor(), [&](host::CallResult r) { answer.set_value(std::move(r)); });
  EXPECT_EQ(answer.get_future().get().status, BL_UNIMPLEMENTED);
}

TEST_F(Calls, ManyConcurrentCallsEachAnsweredOnce) {
  auto instance = instantiate("cpp-crm", R"({"mode": "async", "delay_ms": 1})");
  constexpr int kCalls = 200;
  std::atomic<int> ok{0};
  std::promise<void> all;
  for (int i = 0; i < kCalls; ++i) {
    instance->call(&bl_crm_api::lookup_customer, R"({"customer_id":"c-)" + std::to_string(i) + R"("})", "{}",
                   std::chrono::milliseconds(5000), io_.get_executor(), [&](host::CallResult r) {
                     if (r.status == BL_OK && ++ok == kCalls) all.set_value();
                   });
  }
  EXPECT_EQ(all.get_future().wait_for(std::chrono::seconds(20)), std::future_status::ready);
  EXPECT_EQ(ok.load(), kCalls);
}

}  // namespace
}  // namespace branchline::test

namespace branchline::test {
namespace {

// A table destroyed while a call it never saw completed still has its deadline armed: the timer
// must find nothing rather than a destroyed table, and the caller is answered exactly once
// (BL_CANCELLED at destruction), never again by the deadline.
TEST_F(Calls, TableDestroyedWithAnArmedDeadline) {
  std::atomic<int> answers{0};
  std::atomic<bl_status> status{BL_OK};
  {
    host::CallTable table(io_.get_executor());
    table.start("{}", "{}", std::chrono::milliseconds(20), io_.get_executor(),
                [&](host::CallResult r) {
                  status = r.status;
                  ++answers;
                },
                [](const bl_request*) { /* never completes */ }, {});
    EXPECT_EQ(table.outstanding(), 1u);
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(80));
  EXPECT_EQ(answers.load(), 1);
  EXPECT_EQ(status.load(), BL_CANCELLED);
}

// After close() no cancel hint reaches the plugin (it may be destroyed next), and waiting callers
// are answered once with BL_CANCELLED; a completion that arrives afterwards is still accepted.
TEST_F(Calls, CloseStopsHintsAndAnswersWaitingCallers) {
  host::CallTable table(io_.get_executor());
  std::atomic<int> hints{0};
  std::atomic<int> answers{0};
  std::promise<host::CallResult> answer;
  bl_call_id id = table.start("{}", "{}", std::chrono::milliseconds(20), io_.get_executor(),
                              [&](host::CallResult r) {
                                if (answers++ == 0) answer.set_value(std::move(r));
                              },
                              [](const bl_request*) {}, [&](bl_call_id) { ++hints; });
  table.close();
  EXPECT_EQ(answer.get_future().get().status, BL_CANCELLED);
  std::this_thread::sleep_for(std::chrono::milliseconds(80));  // past the deadline
  EXPECT_EQ(hints.load(), 0);
  EXPECT_EQ(answers.load(), 1);
  table.complete(id, BL_OK, "{}", "");
  EXPECT_EQ(table.outstanding(), 0u);
  EXPECT_FALSE(table.gate()->run([] {}));
}

// The deadline answers the caller once, with the plugin's late completion dropped.
TEST_F(Calls, TableDeadlineThenLateCompletion) {
  host::CallTable table(io_.get_executor());
  std::promise<host::CallResult> answer;
  std::atomic<int> answers{0};
  bl_call_id id = table.start("{}", "{}", std::chrono::milliseconds(10), io_.get_executor(),
                              [&](host::CallResult r) {
                                if (answers++ == 0) answer.set_value(std::move(r));
                              },
                              [](const bl_request*) {}, {});
  EXPECT_EQ(answer.get_future().get().status, BL_DEADLINE_EXCEEDED);
  table.complete(id, BL_OK, "{}", "");
  table.complete(id, BL_OK, "{}", "");
  std::this_thread::sleep_for(std::chrono::milliseconds(30));
  EXPECT_EQ(answers.load(), 1);
  EXPECT_EQ(table.outstanding(), 0u);
  EXPECT_EQ(table.stray_completions(), 1u);
}

// After close(), a call is answered BL_CANCELLED without reaching the plugin.
TEST_F(Calls, StartAfterCloseIsCancelledAndNeverInvoked) {
  host::CallTable table(io_.get_executor());
  table.close();
  std::promise<host::CallResult> answer;
  bool invoked = false;
  table.start("{}", "{}", std::chrono::milliseconds(1000), io_.get_executor(),
              [&](host::CallResult r) { answer.set_value(std::move(r)); },
              [&](const bl_request*) { invoked = true; }, {});
  EXPECT_EQ(answer.get_future().get().status, BL_CANCELLED);
  EXPECT_FALSE(invoked);
  EXPECT_EQ(table.outstanding(), 0u);
}

// Deadlines of many calls share one timer: each still fires on time, in order, and calls that
// complete first leave no deadline behind.
TEST_F(Calls, ManyDeadlinesShareOneTimer) {
  host::CallTable table(io_.get_executor());
  std::mutex mutex;
  std::vector<int> order;
  std::atomic<int> answered{0};
  std::vector<bl_call_id> ids;
  for (int i = 0; i < 6; ++i) {
    // Started in reverse order of deadline: 60, 50, ... 10 ms; odd ones complete at once.
    int ms = 60 - 10 * i;
    ids.push_back(table.start("{}", "{}", std::chrono::milliseconds(ms), io_.get_executor(),
                              [&, ms](host::CallResult r) {
                                std::lock_guard lock(mutex);
                                if (r.status == BL_DEADLINE_EXCEEDED) order.push_back(ms);
                                ++answered;
                              },
                              [](const bl_request*) {}, {}));
    if (i % 2 == 1) table.complete(ids.back(), BL_OK, "{}", "");
  }
  ASSERT_TRUE(eventually_true([&] { return answered.load() == 6; }));
  std::lock_guard lock(mutex);
  EXPECT_EQ(order, (std::vector<int>{20, 40, 60}));
  for (bl_call_id id : ids) table.complete(id, BL_OK, "{}", "");
  EXPECT_EQ(table.outstanding(), 0u);
}

}  // namespace
}  // namespace branchline::test
