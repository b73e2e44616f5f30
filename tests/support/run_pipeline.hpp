#pragma once

#include <chrono>
#include <filesystem>
#include <memory>
#include <string>

#include <catch2/catch.hpp>

#include "config/loader.hpp"
#include "coordinator.hpp"
#include "support/actor_fixture.hpp"

namespace sluice::test {

/// Runs `config` (a pipeline JSON text, paths relative to `dir`) through a
/// coordinator in an actor system of its own, to its end; returns the
/// summary (`--summary-json`'s content).
inline json run_pipeline(const std::string& config, const std::filesystem::path& dir,
                         std::chrono::seconds limit = std::chrono::seconds(60)) {
  diagnostics diags;
  auto loaded = load_pipeline_text(config, (dir / "pipeline.json").string(), dir.string(), {},
                                   diags);
  INFO(diags.render());
  REQUIRE(loaded != nullptr);
  std::shared_ptr<const pipeline_plan> plan(std::move(loaded));
  actor_fixture f;
  auto coord = f.sys.spawn(coordinator, plan, run_options{});
  std::string text;
  f.self->request(coord, limit, run_atom::value)
    .receive([&](std::string& s) { text = std::move(s); }, [](caf::error&) {});
  REQUIRE_FALSE(text.empty());
  return json::parse(text);
}

} // namespace sluice::test
