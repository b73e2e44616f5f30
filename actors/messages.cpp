#include "messages.hpp"

#include "rate_limiter.hpp"

namespace sluice {

void register_message_types(caf::actor_system_config& cfg) {
  cfg.add_message_type<nlohmann::json>("sluice.json")
    .add_message_type<record>("sluice.record")
    .add_message_type<batch_msg>("sluice.batch")
    .add_message_type<ack_msg>("sluice.ack")
    .add_message_type<eos_msg>("sluice.eos")
    .add_message_type<resend_msg>("sluice.resend")
    .add_message_type<in_edge_desc>("sluice.in_edge")
    .add_message_type<stage_restarted>("sluice.stage_restarted")
    .add_message_type<out_edge_desc>("sluice.out_edge")
    .add_message_type<wiring>("sluice.wiring")
    .add_message_type<stage_stats>("sluice.stage_stats")
    .add_message_type<stage_done>("sluice.stage_done")
    .add_message_type<stage_failed>("sluice.stage_failed")
    .add_message_type<replica_metrics>("sluice.replica_metrics")
    .add_message_type<run_topology>("sluice.run_topology")
    .add_message_type<run_event_msg>("sluice.run_event")
    .add_message_type<lineage_batch_msg>("sluice.lineage_batch")
    .add_message_type<lineage_ack_msg>("sluice.lineage_ack")
    .add_message_type<lineage_eos_msg>("sluice.lineage_eos");
  register_rate_limit_messages(cfg);
}

} // namespace sluice
