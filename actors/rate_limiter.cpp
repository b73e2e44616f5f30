#include "rate_limiter.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <map>
#include <memory>
#include <optional>
#include <unordered_map>

#include <caf/actor_cast.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/stateful_actor.hpp>

#include "messages.hpp"

namespace sluice {

namespace {

/// The token timer: "the head's tokens should be there at `target_us`".
using wake_atom = caf::atom_constant<caf::atom("rlwake")>;

struct limiter_state {
  /// One ticket of one requester. `id` is the limiter's own ticket in the
  /// rate_limiter_state (requesters' tickets are unique per requester only).
  struct entry {
    uint64_t id = 0;
    bool granted = false;
    int64_t since_us = 0;
  };
  /// A requester, monitored from its first request until it dies.
  struct requester {
    caf::strong_actor_ptr handle;
    std::map<uint64_t, entry> tickets; ///< by the requester's ticket
  };
  struct owner {
    caf::actor_addr who;
    uint64_t ticket = 0;
  };

  std::unique_ptr<rate_limiter_state> limit;
  std::map<caf::actor_addr, requester> requesters;
  std::unordered_map<uint64_t, owner> owners; ///< by the limiter's id
  uint64_t next_id = 1;
  std::optional<int64_t> armed_us; ///< the earliest pending wake
  uint64_t released_by_monitor = 0;

  static inline const char* name = "sluice.rate_limiter";
};

using limiter_actor = caf::stateful_actor<limiter_state>;

int64_t now_us(limiter_actor* self) {
  using namespace std::chrono;
  return duration_cast<microseconds>(self->clock().now().time_since_epoch()).count();
}

// Arms the token timer if the head waits for tokens and no wake is due
// earlier. A stale wake (the head left meanwhile) only causes a spare pump.
// A long wait is one long timer: a pending timer does not delay the system's
// shutdown once the limiter has exited (checked with CAF 0.17.6).
void arm(limiter_actor* self, int64_t now) {
  auto& st = self->state;
  auto next = st.limit->next_ready_us(now);
  if (!next)
    return;
  auto target = *next;
  if (st.armed_us && *st.armed_us <= target)
    return;
  st.armed_us = target;
  self->delayed_send(self, std::chrono::microseconds(std::max<int64_t>(1, target - now)),
                     wake_atom::value, target);
}

// Grants whoever can go now, tells them, and arms the timer for the next.
void pump(limiter_actor* self) {
  auto& st = self->state;
  auto now = now_us(self);
  for (auto id : st.limit->grant(now)) {
    auto o = st.owners.find(id);
    if (o == st.owners.end())
      continue; // cannot happen: every queued id has an owner
    auto& req = st.requesters[o->second.who];
    auto& e = req.tickets[o->second.ticket];
    e.granted = true;
    auto waited = static_cast<uint64_t>(std::max<int64_t>(0, now - e.since_us));
    self->send(caf::actor_cast<caf::actor>(req.handle),
               permit_grant{st.limit->settings().name, o->second.ticket, waited});
  }
  arm(self, now);
}

// The requester's ticket ends, waiting or granted (release and cancel).
void finish(limiter_actor* self, uint64_t ticket) {
  auto& st = self->state;
  auto r = st.requesters.find(caf::actor_cast<caf::actor_addr>(self->current_sender()));
  if (r == st.requesters.end())
    return;
  auto t = r->second.tickets.find(ticket);
  if (t == r->second.tickets.end())
    return;
  if (t->second.granted)
    st.limit->release();
  else
    st.limit->cancel(t->second.id);
  st.owners.erase(t->second.id);
  r->second.tickets.erase(t);
  pump(self);
}

caf::behavior rate_limiter_actor(limiter_actor* self, rate_limit_settings settings) {
  self->state.limit = std::make_unique<rate_limiter_state>(std::move(settings), now_us(self));
  self->set_down_handler([self](caf::down_msg& dm) {
    auto& st = self->state;
    auto r = st.requesters.find(dm.source);
    if (r == st.requesters.end())
      return;
    for (auto& [ticket, e] : r->second.tickets) {
      (void) ticket;
      if (e.granted) {
        st.limit->release();
        ++st.released_by_monitor;
      } else {
        st.limit->cancel(e.id);
      }
      st.owners.erase(e.id);
    }
    st.requesters.erase(r);
    pump(self);
  });
  return {
    [self](const permit_request& req) {
      auto sender = self->current_sender();
      if (!sender)
        return; // anonymous: nobody to grant to
      auto& st = self->state;
      auto [r, fresh] = st.requesters.try_emplace(caf::actor_cast<caf::actor_addr>(sender));
      if (fresh) {
        r->second.handle = sender;
        self->monitor(sender);
      }
      if (r->second.tickets.count(req.ticket) > 0)
        return; // a duplicate request
      auto cost = std::isfinite(req.cost) && req.cost >= 0 ? req.cost : 1.0;
      auto id = st.next_id++;
      auto now = now_us(self);
      r->second.tickets.emplace(req.ticket, limiter_state::entry{id, false, now});
      st.owners.emplace(id, limiter_state::owner{r->first, req.ticket});
      st.limit->enqueue(id, cost, now);
      pump(self);
    },
    [self](const permit_release& rel) { finish(self, rel.ticket); },
    [self](const permit_cancel& c) { finish(self, c.ticket); },
    [self](wake_atom, int64_t target) {
      auto& st = self->state;
      if (st.armed_us == target)
        st.armed_us.reset();
      pump(self);
    },
    [self](metrics_atom) {
      auto& st = self->state;
      auto& l = *st.limit;
      auto& s = l.settings();
      rate_limit_metrics m;
      m.resource = s.name;
      m.rate = s.rate;
      m.per_us = s.per_us;
      m.burst = s.burst;
      m.max_concurrency = s.max_concurrency;
      m.tokens = l.tokens(now_us(self));
      m.in_use = l.in_use();
      m.waiting = l.waiting();
      m.granted = l.granted_total();
      m.released_by_monitor = st.released_by_monitor;
      m.waited_us_total = l.waited_us_total();
      m.max_wait_us = l.max_wait_us();
      return m;
    },
  };
}

} // namespace

void register_rate_limit_messages(caf::actor_system_config& cfg) {
  cfg.add_message_type<permit_request>("sluice.permit_request")
    .add_message_type<permit_grant>("sluice.permit_grant")
    .add_message_type<permit_release>("sluice.permit_release")
    .add_message_type<permit_cancel>("sluice.permit_cancel")
    .add_message_type<rate_limit_metrics>("sluice.rate_limit_metrics");
}

caf::actor spawn_rate_limiter(caf::actor_system& sys, rate_limit_settings s) {
  return sys.spawn(rate_limiter_actor, std::move(s));
}

} // namespace sluice
