#pragma once

#include <deque>
#include <memory>
#include <optional>
#include <vector>

#include <caf/event_based_actor.hpp>

#include "config/pipeline_config.hpp"
#include "expr/expression.hpp"
#include "messages.hpp"

namespace sluice {

/// The sending side of an actor: its output ports, the fan-out groups on
/// each port (one per downstream stage), the replica edges of each group with
/// their windows, and the partial batch each group is filling.
///
/// Rules it keeps:
/// 1. An edge never has more than `window` unacknowledged batches; what does
///    not fit waits in the edge's queue. A sent batch is kept until its ack
///    (by seq: acks are idempotent), so `resend` can deliver it again to a
///    restarted receiver; a resend never widens the window. `clear()` says the queues are empty:
///    the owner processes its next input only then, so memory stays bounded
///    by windows and batch sizes, not by input size.
/// 2. A record pushed on a port goes to every group on it (copied for all
///    but the last) and, within a group, to one replica: by `partition_by`
///    of the downstream stage (the same key always meets the same replica)
///    or to the replica with the fewest batches outstanding.
/// 3. `close()` sends end of stream on every edge after its last batch.
class outbox {
public:
  /// `edges` are this actor's outgoing edges; partition expressions of the
  /// downstream stages come from `plan_stages`.
  void init(const std::vector<out_edge_desc>& edges, const std::vector<stage_spec>& plan_stages,
            uint32_t batch_size);

  /// Appends a record to the partial batches of every group on `port`.
  /// Fails (leaving the record untouched) if a downstream partition_by
  /// expression fails on it.
  status push(record& rec, port_index port);

  /// Cuts full batches (and with `all`, partial ones too), queues them on
  /// their edges and sends what the windows allow.
  void flush(caf::event_based_actor* self, bool all);

  /// Whether a partial batch is waiting (the owner arms its linger timer).
  bool has_partial() const;

  /// An ack for batch `seq` on `edge` (ignored if the edge is not one of
  /// ours, or the batch was acked before). Returns whether the edge is ours.
  bool on_ack(caf::event_based_actor* self, edge_id edge, uint64_t seq);

  /// Sends every unacknowledged batch of `edge` again, in seq order, and its
  /// end of stream if that was sent; to `to` from now on if it is set (the
  /// receiver's current worker). Returns whether the edge is ours.
  bool resend(caf::event_based_actor* self, edge_id edge, const caf::actor& to = {});

  /// resend() on every edge: a restarted sender's first act, since acks sent
  /// to its dead actor were lost (receivers ack duplicates again).
  void resend_all(caf::event_based_actor* self);

  /// Batches sent and not yet acknowledged, over all edges.
  size_t unacked() const;

  /// No batch waits for window room.
  bool clear() const;

  /// Nothing waits and nothing is unacknowledged.
  bool idle() const;

  /// Sends end of stream on every edge once its queue has drained (call
  /// after flush(self, true)); later acks send the rest.
  void close(caf::event_based_actor* self);

  bool empty() const noexcept { return edges_.empty(); }

  uint64_t records_out() const noexcept { return records_out_; }
  uint64_t batches_out() const noexcept { return batches_out_; }
  std::vector<std::pair<edge_id, uint64_t>> sent_per_edge() const;

  /// Each edge's load now (for the metrics collector).
  std::vector<edge_load> loads() const;

private:
  struct edge_state {
    out_edge_desc desc;
    std::deque<std::pair<uint64_t, batch_payload>> unacked; ///< sent, in seq order
    uint64_t next_seq = 0;
    uint64_t records_sent = 0; ///< committed to this edge (queued or sent)
    std::deque<std::vector<record>> queue;
    bool closing = false;
    bool eos_sent = false;
  };

  struct group {
    port_index port = 0;
    stage_index to_stage = 0;
    std::vector<size_t> edges; ///< indexes into edges_
    std::optional<expr::expression> partition;
    std::vector<record> partial;              ///< round-robin groups
    std::vector<std::vector<record>> parts;   ///< partitioned groups: per edge
  };

  void enqueue(size_t edge, std::vector<record>&& records);
  void drain(caf::event_based_actor* self, edge_state& e);
  size_t least_loaded(const group& g) const;

  std::vector<edge_state> edges_;
  std::vector<group> groups_;
  std::vector<std::vector<size_t>> by_port_; ///< port -> groups
  uint32_t batch_size_ = 1024;
  uint64_t records_out_ = 0;
  uint64_t batches_out_ = 0;
};

} // namespace sluice
