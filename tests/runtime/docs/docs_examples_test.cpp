// Every JSON example in docs/ that is a stage or a pipeline must be one that
// sluice accepts: docs cannot drift from the code. A stage example is wired
// into a minimal pipeline (a generator feeding it, a sink.null on each of its
// outputs); a source.file example gets a small input file created where its
// path points.

#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>

#include "config/loader.hpp"
#include "ops/registry.hpp"

using namespace sluice;
namespace fs = std::filesystem;

namespace {

fs::path repo_root() {
  return fs::path{SLUICE_SOURCE_DIR};
}

std::vector<std::string> json_blocks(const fs::path& md) {
  std::ifstream in{md};
  std::vector<std::string> out;
  std::string line;
  std::string block;
  bool inside = false;
  while (std::getline(in, line)) {
    if (!inside && line.rfind("```json", 0) == 0) {
      inside = true;
      block.clear();
    } else if (inside && line.rfind("```", 0) == 0) {
      inside = false;
      out.push_back(block);
    } else if (inside) {
      block += line + '\n';
    }
  }
  return out;
}

// Creates the file(s) a source.file example reads, under `dir`.
void make_inputs(const fs::path& dir, const json& stage) {
  auto params = stage.value("params", json::object());
  auto path = params.value("path", std::string{});
  if (path.empty() || path == "-" || path.front() == '/' || path.front() == '$')
    return;
  auto name = std::regex_replace(path, std::regex{"[*?]"}, "x");
  fs::create_directories((dir / name).parent_path());
  std::ofstream out{dir / name};
  auto format = params.value("format", std::string{});
  if (format == "csv" || (format.empty() && name.size() > 4 && name.substr(name.size() - 4) == ".csv"))
    out << "a,b\n1,2\n";
  else
    out << "{\"a\": 1}\n";
}

// A pipeline around one stage example.
json wrap(const json& stage) {
  auto kind = stage_registry::instance().find(stage.value("type", std::string{}));
  REQUIRE(kind != nullptr);
  json p = {{"name", "docs"}, {"dlq", {{"path", "out/dead.jsonl"}}}, {"stages", json::array()}};
  json st = stage;
  auto id = st.value("id", std::string{"stage"});
  if (kind->role != stage_role::source) {
    p["stages"].push_back({{"id", "src"}, {"type", "source.generate"}, {"params", {{"count", 1}}}});
    st["inputs"] = json::array({"src"});
  }
  p["stages"].push_back(st);
  // A calling stage's limits, declared as the pipeline around it would.
  if (stage.contains("rate_limit")) {
    auto names = stage["rate_limit"].is_array() ? stage["rate_limit"] : json::array({stage["rate_limit"]});
    for (auto& n : names)
      p["resources"]["rate_limits"][n.get<std::string>()] = {{"rate", 10}};
  }
  if (kind->role != stage_role::sink) {
    std::vector<std::string> outs;
    if (stage.contains("params") && stage["params"].contains("routes")) {
      for (auto& [name, v] : stage["params"]["routes"].items())
        outs.push_back(id + "." + name);
      if (stage["params"].contains("default"))
        outs.push_back(id + "." + stage["params"]["default"].get<std::string>());
    } else {
      outs.push_back(id);
    }
    p["stages"].push_back({{"id", "sink"}, {"type", "sink.null"}, {"inputs", outs}});
  }
  return p;
}

} // namespace

TEST_CASE("every stage and pipeline example in docs/ is accepted by the validator", "[docs]") {
  size_t checked = 0;
  for (auto doc : {"docs/stages.md", "docs/config.md", "docs/fault-tolerance.md",
                   "docs/observability.md", "docs/expressions.md", "docs/lineage.md",
                   "docs/rate-limits.md"}) {
    auto blocks = json_blocks(repo_root() / doc);
    REQUIRE(!blocks.empty());
    for (auto& text : blocks) {
      auto j = json::parse(text, nullptr, false);
      if (j.is_discarded() || !j.is_object())
        continue; // an illustration that is not JSON on its own (e.g. "..." elided)
      bool pipeline = j.contains("stages") && j.contains("name");
      bool stage = j.contains("type") && j.contains("id");
      if (!pipeline && !stage)
        continue; // output samples: dead letters, summaries
      char tmpl[] = "/tmp/sluice-docs-XXXXXX";
      REQUIRE(mkdtemp(tmpl) != nullptr);
      fs::path dir = tmpl;
      auto p = pipeline ? j : wrap(j);
      for (auto& st : p["stages"])
        if (st.value("type", std::string{}) == "source.file" || st.value("type", std::string{}) == "source.dlq")
          make_inputs(dir, st);
      diagnostics diags;
      auto plan = load_pipeline_text(p.dump(), std::string{doc} + " example", dir.string(), {}, diags);
      INFO(doc << ":\n" << text << "\n" << diags.render());
      CHECK(plan != nullptr);
      ++checked;
      fs::remove_all(dir);
    }
  }
  CHECK(checked >= 10);
}
