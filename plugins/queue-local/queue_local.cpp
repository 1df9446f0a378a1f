// queue-local: an in-memory line with a simple skills match, for development, demos and a single
// branch. (The full routing engine is a later milestone; this is its reference behaviour.)
//
// Tickets wait in order of priority (9 first), then arrival. Whenever the line or an advisor
// changes, each waiting ticket without an offer is offered to an available advisor who has every
// skill it asks for, speaks its language (when it names one), has room under their capacity and
// has not declined it: the plugin emits "queue.offer". An offer not accepted within
// offer_timeout_ms, or declined, goes back to the line and to the next advisor. Positions that
// change are emitted as "queue.position". All state is in memory and guarded by one mutex; no
// operation blocks, so each completes on the calling host thread.
#include "../common/ids.hpp"
#include "../common/json.hpp"

#include <branchline/plugin.hpp>
#include <branchline_plugin_info.h>

#include <openssl/rand.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <mutex>
#include <set>

namespace {

using namespace branchline;
using namespace branchline::plugins;
using Clock = std::chrono::steady_clock;

struct Ticket {
  std::string id, customer, queue, language;
  std::vector<std::string> skills;
  int priority = 0;
  std::uint64_t arrival = 0;  // order of arrival
  Clock::time_point enqueued;
  std::string offer;  // the open offer, if any
  std::set<std::string> declined_by;
  int last_position = 0;
};

struct Worker {
  std::string id;
  bool available = false;
  std::vector<std::string> skills, languages;
  int capacity = 1;
  int active = 0;  // offers accepted since the last availability report
  std::string open_offer;
  Clock::time_point idle_since = Clock::now();
};

struct Offer {
  std::string id, ticket, worker;
  Clock::time_point expires;
};

class QueueLocal final : public sdk::QueuePlugin {
 public:
  explicit QueueLocal(const sdk::CreateContext& ctx) : QueuePlugin(ctx) {
    json::object settings = parse_object(ctx.settings);
    offer_timeout_ = std::chrono::milliseconds(optional_integer(settings, "offer_timeout_ms", 30000, 1000, 600000));
    average_handling_s_ = optional_integer(settings, "average_handling_s", 300, 10, 36000);
    max_waiting_ = static_cast<std::size_t>(optional_integer(settings, "max_waiting", 10000, 1, 100000));
    // Expire offers once a second.
    bl_status status = host().api()->timer_start(host().ctx(), 1000, 1000, &QueueLocal::on_tick, this, &timer_);
    if (status != BL_OK) throw sdk::Error(status, "cannot start the offer timer");
  }
  ~QueueLocal() override { host().api()->timer_stop(host().ctx(), timer_); }

  void enqueue(sdk::Call call) override {
    json::object body = parse_object(call.body());
    Ticket t;
    t.id = required_string(body, "ticket_id", 128);
    t.customer = optional_string(body, "customer_id");
    t.queue = required_string(body, "queue", 64);
    t.skills = string_list(body, "skills", 32);
    t.language = optional_string(body, "language", 16);
    t.priority = static_cast<int>(optional_integer(body, "priority", 0, 0, 9));
    std::lock_guard lock(mutex_);
    if (!tickets_.count(t.id)) {  // idempotent on ticket_id
      if (tickets_.size() >= max_waiting_) throw sdk::Error(BL_RESOURCE_EXHAUSTED, "the line is full");
      t.arrival = next_arrival_++;
      t.enqueued = Clock::now();
      tickets_.emplace(t.id, t);
      rebalance();
    }
    const Ticket& stored = tickets_.at(t.id);
    int position = position_of(stored);
    call.ok(json::serialize(json::object{
        {"ticket_id", stored.id}, {"position", position}, {"estimated_wait_s", estimated_wait(position)}}));
  }

  void cancel_ticket(sdk::Call call) override {
    json::object body = parse_object(call.body());
    std::string id = required_string(body, "ticket_id", 128);
    std::lock_guard lock(mutex_);
    auto it = tickets_.find(id);
    if (it == tickets_.end()) throw sdk::Error(BL_NOT_FOUND, "the ticket is not waiting");
    if (!it->second.offer.empty()) withdraw(it->second.offer);
    tickets_.erase(it);
    rebalance();
    call.ok("{}");
  }

  void set_worker_availability(sdk::Call call) override {
    json::object body = parse_object(call.body());
    std::string id = required_string(body, "worker_id", 128);
    auto available = body.find("available");
    if (available == body.end() || !available->value().is_bool())
      throw sdk::Error(BL_INVALID_ARGUMENT, "'available' must be true or false");
    std::lock_guard lock(mutex_);
    Worker& w = workers_[id];
    w.id = id;
    bool was_available = w.available;
    w.available = available->value().as_bool();
    w.skills = string_list(body, "skills", 64);
    w.languages = string_list(body, "languages", 16);
    w.capacity = static_cast<int>(optional_integer(body, "capacity", 1, 1, 16));
    w.active = 0;
    if (w.available && !was_available) w.idle_since = Clock::now();
    if (!w.available && !w.open_offer.empty()) withdraw(w.open_offer);
    rebalance();
    call.ok("{}");
  }

  void accept_offer(sdk::Call call) override {
    json::object body = parse_object(call.body());
    std::string offer_id = required_string(body, "offer_id", 128);
    std::string worker_id = required_string(body, "worker_id", 128);
    std::lock_guard lock(mutex_);
    auto it = offers_.find(offer_id);
    if (it == offers_.end() || it->second.worker != worker_id)
      throw sdk::Error(BL_FAILED_PRECONDITION, "the offer expired or was withdrawn");
    std::string ticket = it->second.ticket;
    offers_.erase(it);
    Worker& w = workers_[worker_id];
    w.open_offer.clear();
    w.active++;
    tickets_.erase(ticket);
    rebalance();
    call.ok(json::serialize(json::object{{"ticket_id", ticket}}));
  }

  void decline_offer(sdk::Call call) override {
    json::object body = parse_object(call.body());
    std::string offer_id = required_string(body, "offer_id", 128);
    std::string worker_id = required_string(body, "worker_id", 128);
    std::lock_guard lock(mutex_);
    auto it = offers_.find(offer_id);
    if (it != offers_.end() && it->second.worker == worker_id) {
      auto t = tickets_.find(it->second.ticket);
      if (t != tickets_.end()) t->second.declined_by.insert(worker_id);
      withdraw(offer_id);
      rebalance();
    }
    call.ok("{}");
  }

  void snapshot(sdk::Call call) override {
    json::object body = parse_object(call.body());
    std::string queue = optional_string(body, "queue", 64);
    std::lock_guard lock(mutex_);
    json::array tickets;
    for (const Ticket* t : ordered()) {
      if (!queue.empty() && t->queue != queue) continue;
      auto waiting = std::chrono::duration_cast<std::chrono::seconds>(Clock::now() - t->enqueued).count();
      tickets.push_back(json::object{
          {"ticket_id", t->id}, {"queue", t->queue}, {"position", position_of(*t)}, {"waiting_s", waiting}});
    }
    json::array workers;
    for (const auto& [id, w] : workers_)
      workers.push_back(json::object{{"worker_id", id}, {"available", w.available}, {"active", w.active}});
    call.ok(json::serialize(json::object{{"tickets", std::move(tickets)}, {"workers", std::move(workers)}}));
  }

  std::string health() override {
    std::lock_guard lock(mutex_);
    return json::serialize(json::object{
        {"status", "ok"},
        {"detail", std::to_string(tickets_.size()) + " waiting, " + std::to_string(offers_.size()) + " offered"}});
  }

 private:
  static void on_tick(void* user) {
    auto* self = static_cast<QueueLocal*>(user);
    std::lock_guard lock(self->mutex_);
    auto now = Clock::now();
    std::vector<std::string> expired;
    for (const auto& [id, offer] : self->offers_)
      if (offer.expires <= now) expired.push_back(id);
    for (const std::string& id : expired) {
      const Offer& offer = self->offers_.at(id);
      auto t = self->tickets_.find(offer.ticket);
      if (t != self->tickets_.end()) t->second.declined_by.insert(offer.worker);
      self->withdraw(id);
    }
    if (!expired.empty()) self->rebalance();
  }

  // Tickets in serving order: priority first, then arrival.
  std::vector<const Ticket*> ordered() const {
    std::vector<const Ticket*> out;
    for (const auto& [id, t] : tickets_) out.push_back(&t);
    std::sort(out.begin(), out.end(), [](const Ticket* a, const Ticket* b) {
      return a->priority != b->priority ? a->priority > b->priority : a->arrival < b->arrival;
    });
    return out;
  }

  int position_of(const Ticket& ticket) const {
    int position = 1;
    for (const Ticket* t : ordered()) {
      if (t->id == ticket.id) return position;
      if (t->queue == ticket.queue) ++position;
    }
    return position;
  }

  std::int64_t estimated_wait(int position) const {
    std::int64_t serving = 0;
    for (const auto& [id, w] : workers_)
      if (w.available) serving += w.capacity;
    return (position - 1) * average_handling_s_ / std::max<std::int64_t>(1, serving);
  }

  static bool has_all(const std::vector<std::string>& have, const std::vector<std::string>& need) {
    return std::all_of(need.begin(), need.end(),
                       [&](const std::string& s) { return std::find(have.begin(), have.end(), s) != have.end(); });
  }

  void withdraw(const std::string& offer_id) {
    auto it = offers_.find(offer_id);
    if (it == offers_.end()) return;
    auto t = tickets_.find(it->second.ticket);
    if (t != tickets_.end()) t->second.offer.clear();
    auto w = workers_.find(it->second.worker);
    if (w != workers_.end()) w->second.open_offer.clear();
    offers_.erase(it);
  }

  // Offers waiting tickets to free advisors, then tells tickets whose position changed.
  void rebalance() {
    for (const Ticket* ct : ordered()) {
      Ticket& t = tickets_.at(ct->id);
      if (!t.offer.empty()) continue;
      Worker* best = nullptr;
      for (auto& [id, w] : workers_) {
        if (!w.available || !w.open_offer.empty() || w.active >= w.capacity) continue;
        if (t.declined_by.count(id) || !has_all(w.skills, t.skills)) continue;
        if (!t.language.empty() && std::find(w.languages.begin(), w.languages.end(), t.language) == w.languages.end())
          continue;
        // The least busy, then the longest idle.
        if (!best || w.active < best->active || (w.active == best->active && w.idle_since < best->idle_since))
          best = &w;
      }
      if (!best) continue;
      Offer offer{random_id("offer-"), t.id, best->id, Clock::now() + offer_timeout_};
      t.offer = offer.id;
      best->open_offer = offer.id;
      offers_.emplace(offer.id, offer);
      host().emit(BL_EVENT_QUEUE_OFFER, json::serialize(json::object{
                                            {"offer_id", offer.id},
                                            {"ticket_id", t.id},
                                            {"worker_id", best->id},
                                            {"expires_in_ms", static_cast<std::int64_t>(offer_timeout_.count())}}));
    }
    // Positions in one pass over the serving order (position_of per ticket would sort per ticket).
    std::map<std::string, int> next_in_queue;
    for (const Ticket* ct : ordered()) {
      Ticket& t = tickets_.at(ct->id);
      int position = ++next_in_queue[t.queue];
      if (position == t.last_position) continue;
      t.last_position = position;
      host().emit(BL_EVENT_QUEUE_POSITION,
                  json::serialize(json::object{
                      {"ticket_id", t.id}, {"position", position}, {"estimated_wait_s", estimated_wait(position)}}));
    }
  }

  std::chrono::milliseconds offer_timeout_{30000};
  std::int64_t average_handling_s_ = 300;
  std::size_t max_waiting_ = 10000;
  std::mutex mutex_;
  std::map<std::string, Ticket> tickets_;
  std::map<std::string, Worker> workers_;
  std::map<std::string, Offer> offers_;
  std::uint64_t next_arrival_ = 0;
  bl_timer_id timer_ = 0;
};

}  // namespace

BRANCHLINE_PLUGIN(QueueLocal)
