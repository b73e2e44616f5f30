#pragma once

#include <algorithm>
#include <map>
#include <memory>
#include <vector>

#include <caf/actor_cast.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/send.hpp>

#include "messages.hpp"

namespace sluice::test {

using cork_atom = caf::atom_constant<caf::atom("cork")>;
using uncork_atom = caf::atom_constant<caf::atom("uncork")>;
using release_atom = caf::atom_constant<caf::atom("release")>;
using peek_atom = caf::atom_constant<caf::atom("peek")>;

/// What a corked_sink saw, as a reply to (peek_atom).
struct sink_view {
  uint64_t batches = 0;
  uint64_t records = 0;
  uint64_t acked = 0;
  uint64_t max_unacked = 0;      ///< most batches ever outstanding on one edge
  uint64_t max_unacked_records = 0; ///< most records ever outstanding on one edge
  bool eos = false;
  std::vector<record> kept;      ///< every record, in arrival order
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, sink_view& x) {
  return f(caf::meta::type_name("sink_view"), x.batches, x.records, x.acked, x.max_unacked,
           x.max_unacked_records, x.eos, x.kept);
}

/// A recording sink for edge-protocol tests. Corked, it acknowledges
/// nothing, so its senders run out of window; (release_atom, n) acks the
/// oldest n batches; uncorked, it acks every batch at once. It measures the
/// largest number of unacknowledged batches (and records) per edge.
inline caf::behavior corked_sink(caf::event_based_actor* self, bool corked) {
  struct pending {
    caf::actor sender;
    edge_id edge;
    uint64_t seq;
    uint64_t records;
  };
  struct state {
    bool corked;
    sink_view view;
    std::vector<pending> unacked;
    std::map<edge_id, std::pair<uint64_t, uint64_t>> outstanding; // batches, records
  };
  auto st = std::make_shared<state>();
  st->corked = corked;
  auto ack = [=](size_t n) {
    n = std::min(n, st->unacked.size());
    for (size_t i = 0; i < n; ++i) {
      auto& p = st->unacked[i];
      auto& o = st->outstanding[p.edge];
      --o.first;
      o.second -= p.records;
      ++st->view.acked;
      self->send(p.sender, ack_msg{p.edge, p.seq});
    }
    st->unacked.erase(st->unacked.begin(), st->unacked.begin() + static_cast<ptrdiff_t>(n));
  };
  return {
    [=](wiring&) { return std::string{}; },
    [=](batch_msg& b) {
      auto& o = st->outstanding[b.edge];
      ++o.first;
      o.second += b.records->size();
      st->view.max_unacked = std::max(st->view.max_unacked, o.first);
      st->view.max_unacked_records = std::max(st->view.max_unacked_records, o.second);
      ++st->view.batches;
      st->view.records += b.records->size();
      st->unacked.push_back({caf::actor_cast<caf::actor>(self->current_sender()), b.edge, b.seq,
                             b.records->size()});
      for (auto& r : *b.records)
        st->view.kept.push_back(std::move(r));
      if (!st->corked)
        ack(st->unacked.size());
    },
    [=](const eos_msg&) { st->view.eos = true; },
    [=](cork_atom) { st->corked = true; },
    [=](uncork_atom) {
      st->corked = false;
      ack(st->unacked.size());
    },
    [=](release_atom, uint64_t n) { ack(n); },
    [=](peek_atom) { return st->view; },
  };
}

} // namespace sluice::test
