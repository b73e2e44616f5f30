// The snapshot model (runtime/metrics/snapshot.*): counters summed, the
// JSON form and its round trip, edges summed per stage pair, and listen
// addresses (runtime/metrics/listen_address.*).

#include <string>

#include <catch2/catch.hpp>

#include <limits>

#include "metrics/listen_address.hpp"
#include "metrics/snapshot.hpp"
#include "runtime/metrics/sample_snapshot.hpp"

using namespace sluice;

// -- counters and JSON ----------------------------------------------------------------

TEST_CASE("stage counters add field by field", "[metrics][snapshot]") {
  stage_counters a;
  a.records_in = 1;
  a.busy_us = 10;
  a.breaker_opened = 1;
  stage_counters b;
  b.records_in = 2;
  b.written = 5;
  b.duplicates = 3;
  b.busy_us = 5;
  a.add(b);
  CHECK(a.records_in == 3);
  CHECK(a.written == 5);
  CHECK(a.duplicates == 3);
  CHECK(a.breaker_opened == 1);
  CHECK(a.busy_us == 15);
}

TEST_CASE("a snapshot survives a JSON round trip", "[metrics][snapshot][json]") {
  auto s = test::sample_snapshot();
  auto j = to_json(s);
  auto back = snapshot_from_json(j);
  CHECK(to_json(back) == j);
  REQUIRE(back.stages.size() == 3);
  CHECK(back.stages[1].replicas.size() == 2);
  CHECK(back.stages[1].replicas[0].latency_hist == s.stages[1].replicas[0].latency_hist);
  CHECK(back.stages[2].end_to_end_hist == s.stages[2].end_to_end_hist);
  CHECK(back.stages[1].replicas[1].totals.busy_us == 1'500'001);
  CHECK(back.node.rss_bytes == 52'428'800);
  CHECK(back.edges.size() == 4);
  CHECK(back.events.at(0).kind == "pipeline_started");
  // through text as well
  CHECK(to_json(snapshot_from_json(nlohmann::json::parse(j.dump()))) == j);
}

TEST_CASE("the JSON form names fields after the struct members", "[metrics][snapshot][json]") {
  auto j = to_json(test::sample_snapshot());
  CHECK(j["pipeline"] == "orders");
  CHECK(j["records_read"] == 1000);
  CHECK(j["node"]["threads"] == 4);
  CHECK(j["stages"][1]["replicas"][1]["totals"]["records_out"] == 451);
  auto& h = j["stages"][2]["end_to_end_hist"];
  CHECK(h["count"] == 900);
  CHECK(h["sum_us"] == 11'200'000);
  CHECK(h["bounds_us"].size() == latency_histogram::bounds_us.size());
  CHECK(h["buckets"].size() == latency_histogram::bucket_count);
  CHECK(j["edges"][0]["to"] == "shape");

  auto stage = to_json(test::sample_snapshot().stages[1]);
  CHECK(stage == j["stages"][1]);
  CHECK(stage["id"] == "shape");
}

TEST_CASE("fields missing from the JSON take their defaults", "[metrics][snapshot][json]") {
  auto s = snapshot_from_json(nlohmann::json{{"pipeline", "p"}, {"stages", {{{"id", "a"}}}}});
  CHECK(s.pipeline == "p");
  CHECK(s.status == "starting");
  CHECK(s.interval_ms == 1000);
  REQUIRE(s.stages.size() == 1);
  CHECK(s.stages[0].id == "a");
  CHECK(s.stages[0].parallelism == 1);
  CHECK(s.stages[0].latency_hist.count() == 0);
}

TEST_CASE("a JSON value of the wrong type throws a json exception", "[metrics][snapshot][json]") {
  CHECK_THROWS_AS(snapshot_from_json(nlohmann::json{{"records_read", "many"}}),
                  nlohmann::json::exception);
}

TEST_CASE("edges sum per sending stage, port and receiving stage", "[metrics][snapshot]") {
  auto s = test::sample_snapshot();
  s.edges[3].port = "ok";
  s.edges[0].per_s = 1.5;
  s.edges[1].per_s = 2.5;
  auto sums = stage_edges(s.edges);
  REQUIRE(sums.size() == 3);
  CHECK(sums[0].from == "read");
  CHECK(sums[0].to == "shape");
  CHECK(sums[0].records == 1000);
  CHECK(sums[0].per_s == Approx(4.0));
  CHECK(sums[0].in_flight == 2);
  CHECK(sums[0].window == 8);
  CHECK(sums[1].from == "shape");
  CHECK(sums[1].port == "");
  CHECK(sums[1].records == 450);
  CHECK(sums[2].port == "ok");
  CHECK(sums[2].records == 451);
  CHECK(stage_edges({}).empty());
}

// -- listen addresses -----------------------------------------------------------------

TEST_CASE("a listen address is host and port, or a port alone", "[metrics][listen]") {
  struct want {
    const char* text;
    const char* host;
    uint16_t port;
  };
  for (auto w : {want{"127.0.0.1:7464", "127.0.0.1", 7464}, want{"localhost:9464", "localhost", 9464},
                 want{"[::1]:9464", "::1", 9464}, want{":9464", "127.0.0.1", 9464},
                 want{"9464", "127.0.0.1", 9464}, want{"0.0.0.0:0", "0.0.0.0", 0},
                 want{"65535", "127.0.0.1", 65535}}) {
    INFO(w.text);
    auto a = parse_listen_address(w.text);
    REQUIRE(a);
    CHECK(a->host == w.host);
    CHECK(a->port == w.port);
  }
}

TEST_CASE("a listen address prints IPv6 hosts in brackets", "[metrics][listen]") {
  CHECK(listen_address{"127.0.0.1", 80}.text() == "127.0.0.1:80");
  CHECK(listen_address{"::1", 9464}.text() == "[::1]:9464");
  CHECK(parse_listen_address(listen_address{"::1", 9464}.text())->host == "::1");
}

TEST_CASE("a malformed listen address says what is wrong and the expected form",
          "[metrics][listen]") {
  struct want {
    const char* text;
    const char* why;
  };
  for (auto w : {want{"[::1:9464", "is not closed"}, want{"[::1]", "a port must follow"},
                 want{"[::1]9464", "a port must follow"}, want{"::1:9464", "in brackets"},
                 want{"[]:9464", "the host is empty"}, want{"host:", "the port is missing"},
                 want{"", "the port is missing"}, want{"web", "is not a number"},
                 want{"host:9x", "is not a number"}, want{"host:-1", "is not a number"},
                 want{"host:65536", "above 65535"}, want{"99999999999999999999", "above 65535"}}) {
    INFO(w.text);
    auto a = parse_listen_address(w.text);
    REQUIRE_FALSE(a);
    CHECK(a.err().code == errc::invalid_config);
    CHECK_THAT(a.err().message, Catch::Contains(w.why));
    CHECK_THAT(a.err().message, Catch::Contains("expected HOST:PORT"));
    CHECK_THAT(a.err().message, Catch::Contains(std::string{"'"} + w.text + "'"));
  }
}

TEST_CASE("a non-finite rate is written as 0 and reads back", "[metrics][snapshot][json]") {
  metrics_snapshot s;
  stage_view v;
  v.id = "x";
  v.utilization = std::numeric_limits<double>::quiet_NaN();
  v.in_per_s = std::numeric_limits<double>::infinity();
  v.history = {1.0, std::numeric_limits<double>::quiet_NaN()};
  s.stages.push_back(v);
  auto j = to_json(s);
  CHECK(j["stages"][0]["utilization"] == 0.0);
  CHECK(j["stages"][0]["in_per_s"] == 0.0);
  auto back = snapshot_from_json(nlohmann::json::parse(j.dump()));
  REQUIRE(back.stages.size() == 1);
  CHECK(back.stages[0].utilization == 0.0);
  CHECK(back.stages[0].history == std::vector<double>{1.0, 0.0});
  CHECK(to_json(v)["in_per_s"] == 0.0);
}
