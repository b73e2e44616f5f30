#include "config/replay.hpp"

#include <deque>
#include <filesystem>
#include <map>
#include <set>

#include "ops/registry.hpp"
#include "ops/schema.hpp"

namespace sluice {

namespace {

using ojson = nlohmann::ordered_json;

std::string id_of(const ojson& st) {
  if (st.is_object() && st.contains("id") && st["id"].is_string())
    return st["id"].get<std::string>();
  return {};
}

// "split.food" -> "split".
std::string ref_stage(const std::string& ref) {
  return ref.substr(0, ref.find('.'));
}

error refuse(std::string message) {
  return error{errc::runtime_error, std::move(message)};
}

} // namespace

result<replay_config> make_replay_config(const ojson& pipeline, const replay_request& req) {
  if (!pipeline.is_object() || !pipeline.contains("stages") || !pipeline["stages"].is_array())
    return error{errc::invalid_config, "the config has no list of stages"};
  auto& stages = pipeline["stages"];
  std::map<std::string, size_t> by_id;
  std::vector<std::string> ids;
  for (size_t i = 0; i < stages.size(); ++i) {
    auto id = id_of(stages[i]);
    if (!id.empty() && by_id.emplace(id, i).second)
      ids.push_back(id);
  }
  auto target = by_id.find(req.stage);
  if (target == by_id.end()) {
    std::string msg = "the pipeline has no stage '" + req.stage + "'";
    if (auto near = closest_name(req.stage, ids); !near.empty())
      msg += "; did you mean '" + near + "'?";
    else {
      msg += "; its stages are";
      for (size_t i = 0; i < ids.size(); ++i)
        msg += (i == 0 ? " '" : ", '") + ids[i] + "'";
    }
    return refuse(msg);
  }
  auto t = target->second;
  auto& tst = stages[t];
  if (tst.contains("type") && tst["type"].is_string()) {
    auto kind = stage_registry::instance().find(tst["type"].get<std::string>());
    if (kind != nullptr && kind->role == stage_role::source)
      return refuse("stage '" + req.stage + "' is a source (" + kind->name
                    + "): dead letters are replayed into the stage after it; a record a source"
                      " could not read never became a record, so fix the input and rerun");
  }
  // The new source's id: free in this pipeline.
  std::string source_id = "dlq_replay";
  for (int n = 2; by_id.count(source_id) > 0; ++n)
    source_id = "dlq_replay_" + std::to_string(n);

  // Downstream of the target, following `inputs` backwards.
  std::vector<std::vector<size_t>> feeds(stages.size());
  for (size_t j = 0; j < stages.size(); ++j) {
    if (!stages[j].is_object() || !stages[j].contains("inputs") || !stages[j]["inputs"].is_array())
      continue;
    for (auto& ref : stages[j]["inputs"]) {
      if (!ref.is_string())
        continue;
      auto up = by_id.find(ref_stage(ref.get<std::string>()));
      if (up != by_id.end() && j != t) // the target's own inputs go away
        feeds[up->second].push_back(j);
    }
  }
  std::vector<bool> keep(stages.size(), false);
  std::deque<size_t> todo{t};
  keep[t] = true;
  while (!todo.empty()) {
    auto i = todo.front();
    todo.pop_front();
    for (auto j : feeds[i])
      if (!keep[j]) {
        keep[j] = true;
        todo.push_back(j);
      }
  }
  std::set<std::string> kept_ids{source_id};
  for (size_t i = 0; i < stages.size(); ++i)
    if (keep[i] && !id_of(stages[i]).empty())
      kept_ids.insert(id_of(stages[i]));

  replay_config rc;
  rc.source_id = source_id;
  ojson source = ojson::object();
  source["id"] = source_id;
  source["type"] = "source.dlq";
  if (tst.contains("on_error"))
    source["on_error"] = tst["on_error"];
  ojson params = ojson::object();
  params["path"] = req.dlq_path;
  if (req.only_stage)
    params["stage"] = *req.only_stage;
  if (req.only_class)
    params["class"] = *req.only_class;
  source["params"] = std::move(params);
  auto out = ojson::array();
  out.push_back(std::move(source));
  rc.original_index.push_back(-1);
  for (size_t i = 0; i < stages.size(); ++i) {
    if (!keep[i])
      continue;
    auto st = stages[i];
    if (i == t) {
      st["inputs"] = ojson::array({source_id});
    } else if (st.contains("inputs") && st["inputs"].is_array()) {
      auto ins = ojson::array();
      for (auto& ref : st["inputs"])
        if (!ref.is_string() || kept_ids.count(ref_stage(ref.get<std::string>())) > 0)
          ins.push_back(ref);
      st["inputs"] = std::move(ins);
    }
    // A replay adds to what the first run wrote: a sink.file without an
    // explicit mode appends instead of replacing the file with only the
    // replayed records (`--set stages.ID.params.mode=overwrite` to replace).
    if (st.value("type", std::string{}) == "sink.file") {
      if (!st.contains("params") || !st["params"].is_object())
        st["params"] = ojson::object();
      if (!st["params"].contains("mode")) {
        st["params"]["mode"] = "append";
        rc.appending.push_back(id_of(st));
      }
    }
    out.push_back(std::move(st));
    rc.original_index.push_back(static_cast<int>(i));
  }
  // `stages` where the original had it, so the config reads the same.
  ojson ordered = ojson::object();
  for (auto& [key, value] : pipeline.items())
    ordered[key] = key == "stages" ? out : value;
  rc.config = std::move(ordered);
  return rc;
}

std::string original_json_path(const replay_config& rc, const std::string& path) {
  static const std::string prefix = "/stages/";
  if (path.compare(0, prefix.size(), prefix) != 0)
    return path;
  size_t end = prefix.size();
  while (end < path.size() && path[end] >= '0' && path[end] <= '9')
    ++end;
  if (end == prefix.size())
    return path;
  auto n = std::stoul(path.substr(prefix.size(), end - prefix.size()));
  if (n >= rc.original_index.size())
    return path;
  auto rest = path.substr(end);
  if (rc.original_index[n] < 0)
    return "(replay source '" + rc.source_id + "')" + rest;
  return prefix + std::to_string(rc.original_index[n]) + rest;
}

status check_replay_file(const pipeline_config& cfg, const std::string& dlq_file) {
  if (cfg.dlq_path.empty())
    return {};
  namespace fs = std::filesystem;
  std::error_code ec;
  bool same = fs::equivalent(cfg.dlq_path, dlq_file, ec);
  if (ec) // one of them does not exist: compare the paths
    same = fs::absolute(cfg.dlq_path, ec).lexically_normal()
           == fs::absolute(dlq_file, ec).lexically_normal();
  if (!same)
    return {};
  return error{errc::runtime_error,
               "'" + dlq_file + "' is the pipeline's own dead-letter file: the replay would"
               " empty it when it starts and the records that fail again would replace the ones"
               " being replayed; move it aside first, or send this run's dead letters elsewhere"
               " with --set dlq.path=out/replayed.dead.jsonl"};
}

} // namespace sluice
