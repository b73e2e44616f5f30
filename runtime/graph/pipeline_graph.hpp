#pragma once

#include <optional>
#include <string>
#include <vector>

#include "config/pipeline_config.hpp"
#include "ops/operator.hpp"

namespace sluice {

/// An edge of the stage DAG: output `port` of stage `from` feeds stage `to`.
struct graph_edge {
  stage_index from = 0;
  port_index port = 0;
  stage_index to = 0;
  std::string label; ///< "split.food" for a named port, else "split"
};

/// The stage DAG of a pipeline: who feeds whom, in which order stages can be
/// started, cycles, and which stages can reach a sink. Pure data; built once
/// from a config whose inputs were resolved to (stage, port) pairs.
class pipeline_graph {
public:
  /// `ports[i]` lists stage i's named output ports (empty: one unnamed);
  /// `is_sink[i]` says whether stage i is a sink. Input references must
  /// already be known to exist (the loader reports the ones that don't).
  pipeline_graph(const std::vector<stage_spec>& stages,
                 const std::vector<std::vector<std::string>>& ports,
                 const std::vector<bool>& is_sink);

  const std::vector<graph_edge>& edges() const noexcept { return edges_; }

  /// Edges leaving stage `s` (any port) / entering stage `s`.
  std::vector<const graph_edge*> out_edges(stage_index s) const;
  std::vector<const graph_edge*> in_edges(stage_index s) const;

  /// Stages in an order where every stage comes after all its inputs, or the
  /// stages of one cycle (in order, the first repeated at the end) if there
  /// is one.
  struct order_or_cycle {
    std::vector<stage_index> order;
    std::vector<stage_index> cycle;
  };
  order_or_cycle topological_order() const;

  /// For each stage, whether some sink can be reached from it.
  std::vector<bool> reaches_sink() const;

  /// Graphviz DOT and Mermaid renderings (`sluice graph`).
  std::string to_dot(const std::string& name) const;
  std::string to_mermaid() const;

private:
  const std::vector<stage_spec>& stages_;
  std::vector<bool> is_sink_;
  std::vector<graph_edge> edges_;
};

} // namespace sluice
