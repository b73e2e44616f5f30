#include "graph/pipeline_graph.hpp"

#include <algorithm>
#include <functional>

namespace sluice {

pipeline_graph::pipeline_graph(const std::vector<stage_spec>& stages,
                               const std::vector<std::vector<std::string>>& ports,
                               const std::vector<bool>& is_sink)
  : stages_(stages), is_sink_(is_sink) {
  for (auto& st : stages) {
    for (auto& in : st.inputs) {
      auto up = std::find_if(stages.begin(), stages.end(),
                             [&](const stage_spec& s) { return s.id == in.stage; });
      if (up == stages.end())
        continue;
      port_index port = 0;
      if (!in.port.empty()) {
        auto& names = ports[up->index];
        auto i = std::find(names.begin(), names.end(), in.port);
        if (i == names.end())
          continue;
        port = static_cast<port_index>(i - names.begin());
      }
      edges_.push_back(graph_edge{up->index, port, st.index, in.str()});
    }
  }
}

std::vector<const graph_edge*> pipeline_graph::out_edges(stage_index s) const {
  std::vector<const graph_edge*> out;
  for (auto& e : edges_)
    if (e.from == s)
      out.push_back(&e);
  return out;
}

std::vector<const graph_edge*> pipeline_graph::in_edges(stage_index s) const {
  std::vector<const graph_edge*> out;
  for (auto& e : edges_)
    if (e.to == s)
      out.push_back(&e);
  return out;
}

pipeline_graph::order_or_cycle pipeline_graph::topological_order() const {
  // Depth-first search with colours; a grey node reached again closes a cycle.
  enum colour : uint8_t { white, grey, black };
  auto n = stages_.size();
  std::vector<colour> colours(n, white);
  std::vector<stage_index> stack;
  order_or_cycle result;
  std::function<bool(stage_index)> visit = [&](stage_index s) {
    colours[s] = grey;
    stack.push_back(s);
    for (auto* e : out_edges(s)) {
      if (colours[e->to] == grey) {
        auto from = std::find(stack.begin(), stack.end(), e->to);
        result.cycle.assign(from, stack.end());
        result.cycle.push_back(e->to);
        return false;
      }
      if (colours[e->to] == white && !visit(e->to))
        return false;
    }
    stack.pop_back();
    colours[s] = black;
    result.order.push_back(s);
    return true;
  };
  for (size_t s = 0; s < n; ++s) {
    if (colours[s] == white && !visit(static_cast<stage_index>(s))) {
      result.order.clear();
      return result;
    }
  }
  std::reverse(result.order.begin(), result.order.end());
  return result;
}

std::vector<bool> pipeline_graph::reaches_sink() const {
  auto n = stages_.size();
  std::vector<bool> reach(is_sink_);
  // Propagate backwards until nothing changes (graphs are small).
  for (bool changed = true; changed;) {
    changed = false;
    for (auto& e : edges_) {
      if (reach[e.to] && !reach[e.from]) {
        reach[e.from] = true;
        changed = true;
      }
    }
  }
  reach.resize(n);
  return reach;
}

namespace {

std::string quoted(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\')
      out.push_back('\\');
    out.push_back(c);
  }
  return out + '"';
}

} // namespace

std::string pipeline_graph::to_dot(const std::string& name) const {
  std::string out = "digraph " + quoted(name) + " {\n  rankdir=LR;\n"
                    "  node [shape=box, style=rounded, fontname=\"Helvetica\"];\n";
  for (auto& st : stages_) {
    auto label = st.id + "\\n" + st.type;
    if (st.parallelism > 1)
      label += " x" + std::to_string(st.parallelism);
    std::string shape;
    if (is_sink_[st.index])
      shape = ", shape=cds";
    else if (st.inputs.empty())
      shape = ", shape=invhouse";
    out += "  " + quoted(st.id) + " [label=\"" + label + "\"" + shape + "];\n";
  }
  for (auto& e : edges_) {
    out += "  " + quoted(stages_[e.from].id) + " -> " + quoted(stages_[e.to].id);
    auto dot = e.label.find('.');
    if (dot != std::string::npos)
      out += " [label=" + quoted(e.label.substr(dot + 1)) + "]";
    out += ";\n";
  }
  return out + "}\n";
}

std::string pipeline_graph::to_mermaid() const {
  // Mermaid node ids must be plain: use s<index> and put the stage id in the label.
  std::string out = "flowchart LR\n";
  for (auto& st : stages_) {
    auto label = st.id + "<br/>" + st.type;
    if (st.parallelism > 1)
      label += " x" + std::to_string(st.parallelism);
    auto id = "s" + std::to_string(st.index);
    if (is_sink_[st.index])
      out += "  " + id + "[(\"" + label + "\")]\n";
    else if (st.inputs.empty())
      out += "  " + id + "[/\"" + label + "\"/]\n";
    else
      out += "  " + id + "[\"" + label + "\"]\n";
  }
  for (auto& e : edges_) {
    out += "  s" + std::to_string(e.from) + " -->";
    auto dot = e.label.find('.');
    if (dot != std::string::npos)
      out += "|" + e.label.substr(dot + 1) + "|";
    out += " s" + std::to_string(e.to) + "\n";
  }
  return out;
}

} // namespace sluice
