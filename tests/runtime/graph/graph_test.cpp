// The stage DAG: edges from inputs, topological order, cycles, reachability
// of sinks, and the DOT / Mermaid renderings.

#include <algorithm>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "graph/pipeline_graph.hpp"

using namespace sluice;

namespace {

// A stage table built by hand: stage(i) gets index i in the order added.
struct table {
  std::vector<stage_spec> stages;
  std::vector<std::vector<std::string>> ports;
  std::vector<bool> is_sink;

  // Inputs are written as in a config: "split.food" or "read".
  table& add(const std::string& id, const std::string& type, std::vector<std::string> inputs,
             std::vector<std::string> out_ports = {}, bool sink = false) {
    stage_spec st;
    st.id = id;
    st.type = type;
    st.index = static_cast<stage_index>(stages.size());
    st.json_path = "/stages/" + std::to_string(stages.size());
    for (auto& in : inputs) {
      auto dot = in.find('.');
      st.inputs.push_back(dot == std::string::npos
                            ? input_ref{in, ""}
                            : input_ref{in.substr(0, dot), in.substr(dot + 1)});
    }
    stages.push_back(std::move(st));
    ports.push_back(std::move(out_ports));
    is_sink.push_back(sink);
    return *this;
  }

  table& sink(const std::string& id, std::vector<std::string> inputs) {
    return add(id, "sink.null", std::move(inputs), {}, true);
  }

  stage_index index_of(const std::string& id) const {
    for (auto& st : stages)
      if (st.id == id)
        return st.index;
    FAIL("no stage " << id);
    return 0;
  }

  // Stage ids of a list of indexes.
  std::vector<std::string> ids(const std::vector<stage_index>& idx) const {
    std::vector<std::string> out;
    for (auto i : idx)
      out.push_back(stages[i].id);
    return out;
  }
};

// Every edge as "from.port->to (label)".
std::vector<std::string> edge_list(const table& t, const pipeline_graph& g) {
  std::vector<std::string> out;
  for (auto& e : g.edges())
    out.push_back(t.stages[e.from].id + "." + std::to_string(e.port) + "->" + t.stages[e.to].id
                  + " (" + e.label + ")");
  return out;
}

// Checks that `order` holds every stage once and puts every edge's source first.
void check_topological(const table& t, const pipeline_graph& g,
                       const std::vector<stage_index>& order) {
  REQUIRE(order.size() == t.stages.size());
  std::vector<size_t> pos(t.stages.size(), SIZE_MAX);
  for (size_t i = 0; i < order.size(); ++i) {
    REQUIRE(order[i] < t.stages.size());
    REQUIRE(pos[order[i]] == SIZE_MAX);
    pos[order[i]] = i;
  }
  for (auto& e : g.edges()) {
    INFO(t.stages[e.from].id << " -> " << t.stages[e.to].id);
    CHECK(pos[e.from] < pos[e.to]);
  }
}

// Fan-out and fan-in, declared downstream-first so that the order of the
// table is not already a topological order.
table diamond() {
  table t;
  t.sink("out", {"join"})                                  // 0
    .add("join", "map", {"left", "right", "split.other"}) // 1
    .add("right", "filter", {"split.b"})                   // 2
    .add("left", "filter", {"split.a"})                    // 3
    .add("split", "route", {"read"}, {"a", "b", "other"})  // 4
    .add("read", "source.file", {})                        // 5
    .sink("tap", {"read"});                                // 6
  return t;
}

} // namespace

TEST_CASE("the graph has one edge per input, with the route port it names", "[graph]") {
  auto t = diamond();
  pipeline_graph g{t.stages, t.ports, t.is_sink};
  CHECK(edge_list(t, g)
        == std::vector<std::string>{"join.0->out (join)", "left.0->join (left)",
                                    "right.0->join (right)", "split.2->join (split.other)",
                                    "split.1->right (split.b)", "split.0->left (split.a)",
                                    "read.0->split (read)", "read.0->tap (read)"});
  auto split = t.index_of("split");
  std::vector<std::string> outs;
  for (auto* e : g.out_edges(split))
    outs.push_back(e->label);
  CHECK(outs == std::vector<std::string>{"split.other", "split.b", "split.a"});
  std::vector<std::string> ins;
  for (auto* e : g.in_edges(t.index_of("join")))
    ins.push_back(e->label);
  CHECK(ins == std::vector<std::string>{"left", "right", "split.other"});
  CHECK(g.in_edges(t.index_of("read")).empty());
  CHECK(g.out_edges(t.index_of("out")).empty());
}

TEST_CASE("the topological order respects every edge of fan-out and fan-in", "[graph]") {
  auto t = diamond();
  pipeline_graph g{t.stages, t.ports, t.is_sink};
  auto topo = g.topological_order();
  CHECK(topo.cycle.empty());
  check_topological(t, g, topo.order);
  CHECK(topo.order.front() == t.index_of("read"));
}

TEST_CASE("stages without edges still appear in the order", "[graph]") {
  table t;
  t.add("a", "source.generate", {}).add("b", "source.generate", {}).sink("c", {"b"});
  pipeline_graph g{t.stages, t.ports, t.is_sink};
  auto topo = g.topological_order();
  CHECK(topo.cycle.empty());
  check_topological(t, g, topo.order);
}

TEST_CASE("a cycle is returned in order with its first stage repeated", "[graph]") {
  table t;
  t.add("src", "source.generate", {})
    .add("a", "filter", {"src", "c"})
    .add("b", "map", {"a"})
    .add("c", "map", {"b"})
    .sink("out", {"c"});
  pipeline_graph g{t.stages, t.ports, t.is_sink};
  auto topo = g.topological_order();
  CHECK(topo.order.empty());
  CHECK(t.ids(topo.cycle) == std::vector<std::string>{"a", "b", "c", "a"});
}

TEST_CASE("a cycle is found wherever the search starts", "[graph]") {
  // The cycle is reached from a stage that is not on it and is declared first.
  table t;
  t.sink("out", {"x"}).add("x", "map", {"y"}).add("y", "map", {"x"});
  pipeline_graph g{t.stages, t.ports, t.is_sink};
  auto topo = g.topological_order();
  CHECK(topo.order.empty());
  REQUIRE(topo.cycle.size() == 3);
  CHECK(topo.cycle.front() == topo.cycle.back());
  auto names = t.ids(topo.cycle);
  CHECK((names == std::vector<std::string>{"x", "y", "x"}
         || names == std::vector<std::string>{"y", "x", "y"}));
}

TEST_CASE("a stage feeding itself is a cycle of one", "[graph]") {
  table t;
  t.add("src", "source.generate", {}).add("loop", "map", {"src", "loop"}).sink("out", {"loop"});
  pipeline_graph g{t.stages, t.ports, t.is_sink};
  auto topo = g.topological_order();
  CHECK(topo.order.empty());
  CHECK(t.ids(topo.cycle) == std::vector<std::string>{"loop", "loop"});
}

TEST_CASE("reaches_sink marks the stages with a path to a sink", "[graph]") {
  table t;
  t.add("read", "source.file", {})
    .add("split", "route", {"read"}, {"keep", "lose"})
    .add("kept", "map", {"split.keep"})
    .sink("out", {"kept"})
    .add("lost", "map", {"split.lose"})
    .add("lost2", "filter", {"lost"})
    .add("alone", "source.generate", {});
  pipeline_graph g{t.stages, t.ports, t.is_sink};
  CHECK(g.reaches_sink()
        == std::vector<bool>{true, true, true, true, false, false, false});
}

TEST_CASE("inputs to unknown stages or ports add no edge", "[graph]") {
  table t;
  t.add("read", "source.file", {})
    .add("split", "route", {"read"}, {"a"})
    .sink("out", {"split.a", "split.zzz", "ghost"});
  pipeline_graph g{t.stages, t.ports, t.is_sink};
  CHECK(edge_list(t, g)
        == std::vector<std::string>{"read.0->split (read)", "split.0->out (split.a)"});
}

namespace {

table orders() {
  table t;
  t.add("read", "source.file", {})
    .add("split", "route", {"read"}, {"food", "other"})
    .add("shape", "map", {"split.food"})
    .add("out", "sink.file", {"shape"}, {}, true)
    .add("rest", "sink.null", {"split.other"}, {}, true);
  t.stages[2].parallelism = 4;
  return t;
}

} // namespace

TEST_CASE("to_dot renders every stage and labels route edges with their port", "[graph]") {
  auto t = orders();
  pipeline_graph g{t.stages, t.ports, t.is_sink};
  CHECK(g.to_dot("orders")
        == "digraph \"orders\" {\n"
           "  rankdir=LR;\n"
           "  node [shape=box, style=rounded, fontname=\"Helvetica\"];\n"
           "  \"read\" [label=\"read\\nsource.file\", shape=invhouse];\n"
           "  \"split\" [label=\"split\\nroute\"];\n"
           "  \"shape\" [label=\"shape\\nmap x4\"];\n"
           "  \"out\" [label=\"out\\nsink.file\", shape=cds];\n"
           "  \"rest\" [label=\"rest\\nsink.null\", shape=cds];\n"
           "  \"read\" -> \"split\";\n"
           "  \"split\" -> \"shape\" [label=\"food\"];\n"
           "  \"shape\" -> \"out\";\n"
           "  \"split\" -> \"rest\" [label=\"other\"];\n"
           "}\n");
  CHECK(g.to_dot("say \"hi\"").rfind("digraph \"say \\\"hi\\\"\" {\n", 0) == 0);
}

TEST_CASE("to_mermaid renders every stage and labels route edges with their port", "[graph]") {
  auto t = orders();
  pipeline_graph g{t.stages, t.ports, t.is_sink};
  CHECK(g.to_mermaid()
        == "flowchart LR\n"
           "  s0[/\"read<br/>source.file\"/]\n"
           "  s1[\"split<br/>route\"]\n"
           "  s2[\"shape<br/>map x4\"]\n"
           "  s3[(\"out<br/>sink.file\")]\n"
           "  s4[(\"rest<br/>sink.null\")]\n"
           "  s0 --> s1\n"
           "  s1 -->|food| s2\n"
           "  s2 --> s3\n"
           "  s1 -->|other| s4\n");
}
