#pragma once

// The limiter actor: one per named rate limit (`resources.rate_limits` in the
// config), shared by every stage replica that names it, in this process or
// another. It hosts a rate_limiter_state (runtime/limits/rate_limit.hpp): a
// token bucket and a counting semaphore, served first come, first served.
//
// The protocol, as numbered rules:
//  1. A requester sends `permit_request{ticket, cost}` with `send` (the sender
//     is the holder; an anonymous request is dropped). Tickets are chosen by
//     the requester, unique per requester actor; a ticket already waiting or
//     held by that requester is ignored. A negative or non-finite cost is
//     taken as 1.
//  2. When the request reaches the head of the queue and its tokens and a
//     slot are there, the limiter sends `permit_grant{resource, ticket,
//     waited_us}` to the requester. The tokens are consumed; the slot is held.
//  3. The holder sends `permit_release{ticket}` when the call ends, whatever
//     its outcome. Unknown or duplicate tickets are ignored; releasing a
//     ticket that still waits cancels it.
//  4. `permit_cancel{ticket}` stops waiting; for a granted ticket it releases.
//  5. The limiter monitors every requester (once, for as long as it lives).
//     When one dies, its permits come back (counted in released_by_monitor)
//     and its waiters are dropped.
//  6. `metrics_atom` (actors/messages.hpp) is answered with rate_limit_metrics.
//  7. The limiter never blocks: when the head waits only for tokens it arms
//     one timer for the moment they will be there. It stops on an exit
//     message like any actor (no exit trapping).
//
// Messages are serializable; register_rate_limit_messages adds them to a
// config (call it on every node).

#include <cstdint>
#include <string>

#include <caf/actor.hpp>
#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/meta/type_name.hpp>

#include "limits/rate_limit.hpp"

namespace sluice {

/// Requester -> limiter: "I want a permit of `cost` tokens" (>= 0; 0 takes
/// only a concurrency slot).
struct permit_request {
  uint64_t ticket = 0;
  double cost = 1;
};

/// Limiter -> requester: the permit for `ticket` is yours; `waited_us` from
/// the request's arrival to the grant.
struct permit_grant {
  std::string resource;
  uint64_t ticket = 0;
  uint64_t waited_us = 0;
};

/// Holder -> limiter: the call of `ticket` ended (any outcome).
struct permit_release {
  uint64_t ticket = 0;
};

/// Requester -> limiter: stop waiting for `ticket` (a release if granted).
struct permit_cancel {
  uint64_t ticket = 0;
};

/// The limiter's answer to metrics_atom: its settings and its state now.
struct rate_limit_metrics {
  std::string resource;
  double rate = 0;
  int64_t per_us = 0;
  double burst = 0;
  uint32_t max_concurrency = 0;
  double tokens = 0; ///< the bucket now; negative while in debt
  uint32_t in_use = 0;
  uint32_t waiting = 0;
  uint64_t granted = 0;
  uint64_t released_by_monitor = 0; ///< permits given back because the holder died
  uint64_t waited_us_total = 0;
  uint64_t max_wait_us = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, permit_request& x) {
  return f(caf::meta::type_name("permit_request"), x.ticket, x.cost);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, permit_grant& x) {
  return f(caf::meta::type_name("permit_grant"), x.resource, x.ticket, x.waited_us);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, permit_release& x) {
  return f(caf::meta::type_name("permit_release"), x.ticket);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, permit_cancel& x) {
  return f(caf::meta::type_name("permit_cancel"), x.ticket);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, rate_limit_metrics& x) {
  return f(caf::meta::type_name("rate_limit_metrics"), x.resource, x.rate, x.per_us, x.burst,
           x.max_concurrency, x.tokens, x.in_use, x.waiting, x.granted, x.released_by_monitor,
           x.waited_us_total, x.max_wait_us);
}

/// Adds the message types above to `cfg` ("sluice.permit_request", ...).
void register_rate_limit_messages(caf::actor_system_config& cfg);

/// Spawns the limiter for `s` (valid settings, see parse_resources) as an
/// event-based actor. Time is the actor clock, so a test_coordinator's
/// virtual time drives it.
caf::actor spawn_rate_limiter(caf::actor_system& sys, rate_limit_settings s);

} // namespace sluice
