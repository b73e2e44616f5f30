#pragma once

#include <string>
#include <vector>

#include "ops/operator.hpp"

namespace sluice::test {

/// An emitter that keeps everything an operator did, for unit tests:
///   recording_emitter out;
///   op->process(make_record({{"a", 1}}), out);
///   REQUIRE(out.emitted.size() == 1);
struct recording_emitter : emitter {
  struct emitted_record {
    record rec;
    port_index port;
  };
  struct failure {
    record rec;
    error err;
  };

  std::vector<emitted_record> emitted;
  std::vector<std::pair<record, disposition>> discarded;
  std::vector<failure> failed;

  void emit(record&& rec, port_index port) override {
    emitted.push_back({std::move(rec), port});
  }
  void discard(const record& rec, disposition why) override {
    discarded.emplace_back(rec, why);
  }
  void fail(record&& rec, error err) override {
    failed.push_back({std::move(rec), std::move(err)});
  }

  /// The content of each emitted record on `port`, in order.
  std::vector<json> contents(port_index port = 0) const {
    std::vector<json> out;
    for (auto& e : emitted)
      if (e.port == port)
        out.push_back(e.rec.content());
    return out;
  }
};

/// A record with the given content and a made-up origin (source 0, line n).
inline record make_record(json content, uint64_t line = 1) {
  lineage_trail trail;
  trail.origin.line = line;
  return record{"test:" + std::to_string(line), std::move(content), std::move(trail)};
}

} // namespace sluice::test
