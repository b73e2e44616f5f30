#include "outbox.hpp"

#include <algorithm>
#include <functional>

#include <caf/send.hpp>

namespace sluice {

void outbox::init(const std::vector<out_edge_desc>& edges,
                  const std::vector<stage_spec>& plan_stages, uint32_t batch_size) {
  batch_size_ = batch_size;
  for (auto& d : edges) {
    edge_state e;
    e.desc = d;
    edges_.push_back(std::move(e));
    auto idx = edges_.size() - 1;
    auto g = std::find_if(groups_.begin(), groups_.end(), [&](const group& x) {
      return x.port == d.port && x.to_stage == d.to_stage;
    });
    if (g == groups_.end()) {
      group ng;
      ng.port = d.port;
      ng.to_stage = d.to_stage;
      if (d.to_stage < plan_stages.size() && !plan_stages[d.to_stage].partition_by.empty()) {
        // Validated at load time; compile cannot fail here.
        auto e2 = expr::expression::compile(plan_stages[d.to_stage].partition_by);
        if (e2)
          ng.partition = std::move(*e2);
      }
      groups_.push_back(std::move(ng));
      g = groups_.end() - 1;
    }
    g->edges.push_back(idx);
  }
  for (size_t i = 0; i < groups_.size(); ++i) {
    auto& g = groups_[i];
    // Replica order = edge order by replica index, so key -> replica is stable.
    std::sort(g.edges.begin(), g.edges.end(), [&](size_t a, size_t b) {
      return edges_[a].desc.replica < edges_[b].desc.replica;
    });
    if (g.partition && g.edges.size() > 1)
      g.parts.resize(g.edges.size());
    else
      g.partition.reset();
    if (by_port_.size() <= g.port)
      by_port_.resize(g.port + 1);
    by_port_[g.port].push_back(i);
  }
}

status outbox::push(record& rec, port_index port) {
  if (port >= by_port_.size() || by_port_[port].empty())
    return {};
  auto& gs = by_port_[port];
  // Evaluate every partition key first: a failure must leave no copy behind.
  size_t targets[8];
  std::vector<size_t> many;
  size_t* target = targets;
  if (gs.size() > 8) {
    many.resize(gs.size());
    target = many.data();
  }
  for (size_t i = 0; i < gs.size(); ++i) {
    auto& g = groups_[gs[i]];
    target[i] = 0;
    if (g.partition) {
      auto key = g.partition->eval(rec);
      if (!key) {
        key.err().message = "partition_by of the next stage: " + key.err().message;
        return key.err();
      }
      auto h = std::hash<std::string>{}(key->dump());
      target[i] = h % g.edges.size();
    }
  }
  for (size_t i = 0; i < gs.size(); ++i) {
    auto& g = groups_[gs[i]];
    auto& dst = g.partition ? g.parts[target[i]] : g.partial;
    if (i + 1 < gs.size())
      dst.push_back(rec);
    else
      dst.push_back(std::move(rec));
    ++records_out_;
  }
  return {};
}

size_t outbox::least_loaded(const group& g) const {
  size_t best = g.edges.front();
  size_t best_load = SIZE_MAX;
  for (auto idx : g.edges) {
    auto& e = edges_[idx];
    auto load = e.unacked.size() + e.queue.size();
    if (load < best_load) {
      best = idx;
      best_load = load;
    }
  }
  return best;
}

void outbox::enqueue(size_t edge, std::vector<record>&& records) {
  // Counted when committed to the edge: a queued batch is always sent before
  // the edge's end of stream, and stats may be read before it leaves.
  auto& e = edges_[edge];
  e.records_sent += records.size();
  ++batches_out_;
  e.queue.push_back(std::move(records));
}

void outbox::flush(caf::event_based_actor* self, bool all) {
  for (auto& g : groups_) {
    auto cut = [&](std::vector<record>& buf, size_t edge_or_npos) {
      while (buf.size() >= batch_size_ || (all && !buf.empty())) {
        std::vector<record> chunk;
        if (buf.size() <= batch_size_) {
          chunk = std::move(buf);
          buf.clear();
        } else {
          chunk.reserve(batch_size_);
          std::move(buf.begin(), buf.begin() + batch_size_, std::back_inserter(chunk));
          buf.erase(buf.begin(), buf.begin() + batch_size_);
        }
        enqueue(edge_or_npos == SIZE_MAX ? least_loaded(g) : edge_or_npos, std::move(chunk));
      }
    };
    if (g.partition) {
      for (size_t i = 0; i < g.parts.size(); ++i)
        cut(g.parts[i], g.edges[i]);
    } else {
      cut(g.partial, SIZE_MAX);
    }
  }
  for (auto& e : edges_)
    drain(self, e);
}

void outbox::drain(caf::event_based_actor* self, edge_state& e) {
  while (!e.queue.empty() && e.unacked.size() < e.desc.window) {
    auto payload = std::make_shared<std::vector<record>>(std::move(e.queue.front()));
    e.queue.pop_front();
    auto seq = ++e.next_seq;
    e.unacked.emplace_back(seq, payload);
    self->send(e.desc.target, batch_msg{e.desc.edge, seq, std::move(payload)});
  }
  if (e.closing && !e.eos_sent && e.queue.empty()) {
    e.eos_sent = true;
    self->send(e.desc.target, eos_msg{e.desc.edge, e.next_seq});
  }
}

bool outbox::has_partial() const {
  for (auto& g : groups_) {
    if (!g.partial.empty())
      return true;
    for (auto& p : g.parts)
      if (!p.empty())
        return true;
  }
  return false;
}

bool outbox::on_ack(caf::event_based_actor* self, edge_id edge, uint64_t seq) {
  for (auto& e : edges_) {
    if (e.desc.edge != edge)
      continue;
    auto i = std::find_if(e.unacked.begin(), e.unacked.end(),
                          [&](auto& u) { return u.first == seq; });
    if (i != e.unacked.end()) {
      e.unacked.erase(i);
      drain(self, e);
    }
    return true;
  }
  return false;
}

bool outbox::resend(caf::event_based_actor* self, edge_id edge, const caf::actor& to) {
  for (auto& e : edges_) {
    if (e.desc.edge != edge)
      continue;
    if (to)
      e.desc.target = to;
    for (auto& [seq, payload] : e.unacked)
      self->send(e.desc.target, batch_msg{e.desc.edge, seq, payload});
    if (e.eos_sent)
      self->send(e.desc.target, eos_msg{e.desc.edge, e.next_seq});
    return true;
  }
  return false;
}

void outbox::resend_all(caf::event_based_actor* self) {
  for (auto& e : edges_)
    resend(self, e.desc.edge);
}

size_t outbox::unacked() const {
  size_t n = 0;
  for (auto& e : edges_)
    n += e.unacked.size();
  return n;
}

bool outbox::clear() const {
  for (auto& e : edges_)
    if (!e.queue.empty())
      return false;
  return true;
}

bool outbox::idle() const {
  for (auto& e : edges_)
    if (!e.queue.empty() || !e.unacked.empty())
      return false;
  return true;
}

void outbox::close(caf::event_based_actor* self) {
  for (auto& e : edges_) {
    e.closing = true;
    drain(self, e);
  }
}

std::vector<std::pair<edge_id, uint64_t>> outbox::sent_per_edge() const {
  std::vector<std::pair<edge_id, uint64_t>> out;
  for (auto& e : edges_)
    out.emplace_back(e.desc.edge, e.records_sent);
  return out;
}

std::vector<edge_load> outbox::loads() const {
  std::vector<edge_load> out;
  out.reserve(edges_.size());
  for (auto& e : edges_)
    out.push_back(edge_load{e.desc.edge, static_cast<uint32_t>(e.unacked.size()),
                            static_cast<uint32_t>(e.queue.size()), e.desc.window,
                            e.records_sent});
  return out;
}

} // namespace sluice
