// The `http` stage kind (runtime/ops/http.*): its params, and its operator
// driven as the stage actor drives a calling_op (launch, wait for `done`,
// read, complete per record) against the local test server
// (tests/support/http_test_server.*). Every wait has a deadline.

#include <chrono>
#include <cstdlib>
#include <future>
#include <memory>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "ops/call.hpp"
#include "ops/registry.hpp"
#include "support/http_test_server.hpp"
#include "support/recording_emitter.hpp"

using namespace sluice;
using sluice::test::make_record;
using sluice::test::recording_emitter;
using sluice::testing::http_test_server;

namespace {

constexpr auto deadline = std::chrono::seconds{10};

/// An `http` stage (stage 1) built through the registry as the loader
/// builds it, and started.
struct http_stage {
  stage_spec spec;
  diagnostics diags{"test.json"};
  op_ptr op;
  calling_op* call = nullptr;

  explicit http_stage(const json& params, const std::string& base_dir = {}) {
    spec.id = "lookup";
    spec.type = "http";
    spec.index = 1;
    spec.json_path = "/stages/1";
    spec.base_dir = base_dir;
    spec.params = params;
    spec.params_ordered = nlohmann::ordered_json::parse(params.dump());
    auto kind = stage_registry::instance().find("http");
    REQUIRE(kind != nullptr);
    params_reader p{spec.params, "/stages/1/params", spec.type, diags, &spec.params_ordered};
    op = kind->make_op(spec, p);
    call = dynamic_cast<calling_op*>(op.get());
  }

  /// Builds, checks it built and starts it.
  static std::unique_ptr<http_stage> started(const json& params) {
    auto s = std::make_unique<http_stage>(params);
    INFO(s->diags.render());
    REQUIRE(s->call != nullptr);
    auto st = s->op->start();
    INFO((st ? std::string{} : st.err().message));
    REQUIRE(st);
    return s;
  }

  /// One call for `recs`, as the stage actor makes it; what each record became.
  recording_emitter run(std::vector<record> recs) {
    auto promise = std::make_shared<std::promise<net::http_response>>();
    auto future = promise->get_future();
    call->launch(recs, [promise](net::http_response res) { promise->set_value(std::move(res)); });
    REQUIRE(future.wait_for(deadline) == std::future_status::ready);
    auto answer = call->read(recs, future.get());
    REQUIRE(answer != nullptr);
    CHECK(answer->prompt_tokens == 0);
    CHECK(answer->cost_usd == 0);
    recording_emitter out;
    for (size_t i = 0; i < recs.size(); ++i)
      call->complete(std::move(recs[i]), i, *answer, out);
    return out;
  }

  recording_emitter run_one(json content) {
    std::vector<record> recs;
    recs.push_back(make_record(std::move(content)));
    return run(std::move(recs));
  }
};

/// The diagnostics of params that must be refused.
std::string refused(const json& params) {
  http_stage s{params};
  CHECK(s.op == nullptr);
  CHECK(s.diags.has_errors());
  return s.diags.render();
}

/// The one failure of a one-record run.
error failure_of(const recording_emitter& out) {
  REQUIRE(out.failed.size() == 1);
  CHECK(out.emitted.empty());
  return out.failed[0].err;
}

std::string host(const http_test_server& server) {
  return "http://127.0.0.1:" + std::to_string(server.port());
}

} // namespace

// -- the kind -----------------------------------------------------------------------

TEST_CASE("the http kind is a calling transform", "[ops][http]") {
  auto kind = stage_registry::instance().find("http");
  REQUIRE(kind != nullptr);
  CHECK(kind->role == stage_role::transform);
  CHECK(kind->calls);
  CHECK(kind->allows_parallelism);
  CHECK_FALSE(kind->summary.empty());
  http_stage s{json{{"url", "http://127.0.0.1:1/x"}, {"mode", "batch"}, {"records_per_call", 20},
                    {"max_in_flight", 3}}};
  REQUIRE(s.call != nullptr);
  CHECK(s.call->records_per_call() == 20);
  CHECK(s.call->max_in_flight() == 3);
  http_stage d{json{{"url", "http://127.0.0.1:1/x"}}};
  REQUIRE(d.call != nullptr);
  CHECK(d.call->records_per_call() == 1);
  CHECK(d.call->max_in_flight() == 8);
  http_stage b{json{{"url", "http://127.0.0.1:1/x"}, {"mode", "batch"}}};
  REQUIRE(b.call != nullptr);
  CHECK(b.call->records_per_call() == 50);
}

// -- record mode --------------------------------------------------------------------

TEST_CASE("an http stage GETs a url with holes and puts the answer into a field", "[ops][http]") {
  http_test_server server;
  auto s = http_stage::started({{"url", server.base_url() + "/customers/{.cid}"}, {"into", "customer"}});
  auto out = s->run_one({{"cid", "c 7"}, {"amount", 3}});
  REQUIRE(out.emitted.size() == 1);
  CHECK(out.emitted[0].rec.id() == "test:1");
  auto& c = out.emitted[0].rec.content();
  CHECK(c["amount"] == 3);
  CHECK(c["customer"] == json{{"id", "c 7"}, {"tier", "silver"}, {"credit_limit", 1000}});
  CHECK(server.count("/customers/c 7") + server.count("/customers/c%207") == 1);
}

TEST_CASE("answer_at takes a part of the response as the answer", "[ops][http]") {
  http_test_server server;
  auto s = http_stage::started({{"url", server.base_url() + "/customers/{.cid}"},
                                {"answer_at", ".tier"}, {"into", ".profile.tier"}});
  auto out = s->run_one({{"cid", 8}});
  REQUIRE(out.emitted.size() == 1);
  CHECK(out.emitted[0].rec.content()["profile"] == json{{"tier", "gold"}});

  SECTION("a response without it fails the record") {
    auto t = http_stage::started({{"url", server.base_url() + "/customers/{.cid}"},
                                  {"answer_at", "score"}, {"into", "score"}});
    auto e = failure_of(t->run_one({{"cid", 8}}));
    CHECK(e.code == errc::parse_error);
    CHECK_THAT(e.message, Catch::Contains("has no .score (answer_at)"));
  }
}

TEST_CASE("a POST sends the rendered body template as JSON", "[ops][http]") {
  http_test_server server;
  auto s = http_stage::started({{"url", server.base_url() + "/echo"},
                                {"body", {{"name", "upper(.name)"}, {"fixed", 3}, {"tags", {".tag"}}}},
                                {"into", "echo"}});
  auto out = s->run_one({{"name", "ann"}, {"tag", "x"}});
  REQUIRE(out.emitted.size() == 1);
  auto echo = out.emitted[0].rec.content()["echo"];
  CHECK(echo["method"] == "POST");
  CHECK(echo["headers"]["content-type"] == "application/json");
  auto bodies = server.bodies("/echo");
  REQUIRE(bodies.size() == 1);
  CHECK(json::parse(bodies[0]) == json{{"name", "ANN"}, {"fixed", 3}, {"tags", {"x"}}});
}

TEST_CASE("a POST without a body template sends the record's content", "[ops][http]") {
  http_test_server server;
  auto s = http_stage::started({{"url", server.base_url() + "/echo"}, {"method", "PUT"}});
  auto out = s->run_one({{"a", 1}, {"b", {1, 2}}});
  REQUIRE(out.emitted.size() == 1);
  // No `into`: the record passes unchanged (a webhook).
  CHECK(out.emitted[0].rec.content() == json{{"a", 1}, {"b", {1, 2}}});
  auto bodies = server.bodies("/echo");
  REQUIRE(bodies.size() == 1);
  CHECK(json::parse(bodies[0]) == json{{"a", 1}, {"b", {1, 2}}});
}

TEST_CASE("headers from the environment reach the server and never a message", "[ops][http]") {
  http_test_server server;
  const std::string secret = "s3cret-token-4711";
  ::setenv("SLUICE_HTTP_TEST_TOKEN", secret.c_str(), 1);
  ::unsetenv("SLUICE_HTTP_TEST_MISSING");
  json headers = {{"Authorization", {{"env", "SLUICE_HTTP_TEST_TOKEN"}, {"prefix", "Bearer "}}},
                  {"X-Trace", "abc"}};
  auto s = http_stage::started({{"url", server.base_url() + "/echo"}, {"headers", headers},
                                {"into", "echo"}});
  auto out = s->run_one({{"a", 1}});
  REQUIRE(out.emitted.size() == 1);
  auto sent = out.emitted[0].rec.content()["echo"]["headers"];
  CHECK(sent["authorization"] == "Bearer " + secret);
  CHECK(sent["x-trace"] == "abc");
  CHECK(sent["accept"] == "application/json");
  CHECK_FALSE(sent.contains("content-type")); // a GET has no body

  SECTION("failed calls do not repeat the header") {
    for (auto query : {"/customers/missing-1", "/customers/1?status=500", "/customers/1?delay_ms=2000"}) {
      auto t = http_stage::started({{"url", server.base_url() + query}, {"headers", headers},
                                    {"timeout_ms", 200}, {"into", "c"}});
      auto e = failure_of(t->run_one({{"a", 1}}));
      CHECK_THAT(e.message, !Catch::Contains(secret));
    }
  }
  SECTION("a server echoing the header in a body a message quotes") {
    auto t = http_stage::started({{"url", server.base_url() + "/echo"}, {"headers", headers},
                                  {"answer_at", ".nothing"}, {"into", "c"}});
    auto e = failure_of(t->run_one({{"a", 1}}));
    CHECK_THAT(e.message, Catch::Contains("has no .nothing"));
    CHECK_THAT(e.message, Catch::Contains("Bearer ***"));
    CHECK_THAT(e.message, !Catch::Contains(secret));
  }
  SECTION("a missing variable fails the start, naming the param and the variable") {
    headers["X-Other"] = {{"env", "SLUICE_HTTP_TEST_MISSING"}};
    http_stage t{{{"url", server.base_url() + "/echo"}, {"headers", headers}}};
    REQUIRE(t.op != nullptr); // validation does not read the environment
    auto st = t.op->start();
    REQUIRE_FALSE(st);
    CHECK(st.err().code == errc::invalid_config);
    CHECK_THAT(st.err().message, Catch::Contains("/stages/1/params/headers/X-Other"));
    CHECK_THAT(st.err().message, Catch::Contains("'SLUICE_HTTP_TEST_MISSING' is not set"));
    CHECK_THAT(st.err().message, !Catch::Contains(secret));
  }
  ::unsetenv("SLUICE_HTTP_TEST_TOKEN");
}

TEST_CASE("a 404 fails the record permanently with the status and an excerpt", "[ops][http]") {
  http_test_server server;
  auto s = http_stage::started({{"url", server.base_url() + "/customers/{.cid}?key={.key}"},
                                {"into", "c"}});
  auto e = failure_of(s->run_one({{"cid", "missing-7"}, {"key", "k-123"}}));
  CHECK(e.code == errc::runtime_error);
  CHECK_THAT(e.message, Catch::StartsWith("GET " + host(server) + "/customers/missing-7: HTTP 404: "));
  CHECK_THAT(e.message, Catch::Contains("no such customer"));
  CHECK_THAT(e.message, !Catch::Contains("k-123")); // a query may hold a key
}

TEST_CASE("5xx, 429 and timeouts fail the record as transient", "[ops][http]") {
  http_test_server server;
  SECTION("500") {
    auto s = http_stage::started({{"url", server.base_url() + "/customers/1?status=503"}, {"into", "c"}});
    auto e = failure_of(s->run_one({{"a", 1}}));
    CHECK(e.code == errc::transient);
    CHECK_THAT(e.message, Catch::Contains("HTTP 503"));
  }
  SECTION("429 with Retry-After") {
    auto s = http_stage::started({{"url", server.base_url() + "/customers/1?retry429_every=1&retry_after=3"},
                                  {"into", "c"}});
    auto e = failure_of(s->run_one({{"a", 1}}));
    CHECK(e.code == errc::transient);
    CHECK(e.retry_after_ms == 3000);
  }
  SECTION("a timeout") {
    auto s = http_stage::started({{"url", server.base_url() + "/customers/1?delay_ms=3000"},
                                  {"timeout_ms", 100}, {"into", "c"}});
    auto e = failure_of(s->run_one({{"a", 1}}));
    CHECK(e.code == errc::transient);
    CHECK_THAT(e.message, Catch::Contains("timed out"));
  }
  SECTION("nobody listening") {
    auto s = http_stage::started({{"url", "http://127.0.0.1:1/x"}, {"timeout_ms", 2000}});
    auto e = failure_of(s->run_one({{"a", 1}}));
    CHECK(e.code == errc::transient);
    CHECK_THAT(e.message, Catch::StartsWith("GET http://127.0.0.1:1/x: "));
  }
}

TEST_CASE("an answer that is not JSON fails the record as a parse error when it is kept", "[ops][http]") {
  http_test_server server;
  auto s = http_stage::started({{"url", server.base_url() + "/customers/{.cid}"}, {"into", "c"}});
  auto e = failure_of(s->run_one({{"cid", "malformed-1"}}));
  CHECK(e.code == errc::parse_error);
  CHECK_THAT(e.message, Catch::Contains("the answer is not JSON: {\"id\": "));

  SECTION("a webhook does not read the answer") {
    auto t = http_stage::started({{"url", server.base_url() + "/customers/{.cid}"}});
    auto out = t->run_one({{"cid", "malformed-1"}});
    REQUIRE(out.emitted.size() == 1);
    CHECK(out.emitted[0].rec.content() == json{{"cid", "malformed-1"}});
  }
}

TEST_CASE("a record whose url does not render fails alone and nothing is sent", "[ops][http]") {
  http_test_server server;
  SECTION("a missing value") {
    auto s = http_stage::started({{"url", server.base_url() + "/customers/{.cid}"}, {"into", "c"}});
    auto e = failure_of(s->run_one({{"other", 1}}));
    CHECK(e.code == errc::type_error);
    CHECK_THAT(e.message, Catch::StartsWith("url: {.cid} is null or missing"));
  }
  SECTION("a rendered url that is not http") {
    auto s = http_stage::started({{"url", "http://{.host}/customers/1"}, {"into", "c"}});
    auto e = failure_of(s->run_one({{"host", "a b"}}));
    CHECK(e.code == errc::type_error);
    CHECK_THAT(e.message, Catch::StartsWith("url: the rendered url is not one to call: bad character '%'"));
  }
  SECTION("a body expression that fails") {
    auto s = http_stage::started({{"url", server.base_url() + "/echo"}, {"body", {{"x", ".n * 2"}}}});
    auto e = failure_of(s->run_one({{"n", "two"}}));
    CHECK(e.code == errc::type_error);
    CHECK_THAT(e.message, Catch::StartsWith("body: "));
  }
  CHECK(server.requests() == 0);
}

// -- batch mode ---------------------------------------------------------------------

TEST_CASE("batch mode sends one request for its records and matches answers by position", "[ops][http]") {
  http_test_server server;
  auto s = http_stage::started({{"url", server.base_url() + "/batch"}, {"mode", "batch"},
                                {"records_per_call", 4}, {"body", {{"v", ".v * 10"}}},
                                {"into", "result"}});
  std::vector<record> recs;
  recs.push_back(make_record({{"v", 1}}, 1));
  recs.push_back(make_record({{"v", "oops"}}, 2)); // its body does not render
  recs.push_back(make_record({{"v", 3}}, 3));
  recs.push_back(make_record({{"v", 4}}, 4));
  auto out = s->run(std::move(recs));
  CHECK(server.count("/batch") == 1);
  auto bodies = server.bodies("/batch");
  REQUIRE(bodies.size() == 1);
  CHECK(json::parse(bodies[0]) == json{{{"v", 10}}, {{"v", 30}}, {{"v", 40}}});
  REQUIRE(out.emitted.size() == 3);
  CHECK(out.emitted[0].rec.id() == "test:1");
  CHECK(out.emitted[0].rec.content()["result"] == json{{"n", 0}, {"echo", {{"v", 10}}}});
  CHECK(out.emitted[1].rec.id() == "test:3");
  CHECK(out.emitted[1].rec.content()["result"] == json{{"n", 1}, {"echo", {{"v", 30}}}});
  CHECK(out.emitted[2].rec.content()["result"]["n"] == 2);
  REQUIRE(out.failed.size() == 1);
  CHECK(out.failed[0].rec.id() == "test:2");
  CHECK(out.failed[0].err.code == errc::type_error);
  CHECK_THAT(out.failed[0].err.message, Catch::StartsWith("body: "));
}

TEST_CASE("batch mode wraps the array in batch_field and reads answers at answer_at", "[ops][http]") {
  http_test_server server;
  auto s = http_stage::started({{"url", server.base_url() + "/echo"}, {"mode", "batch"},
                                {"batch_field", "items"}, {"answer_at", ".body.items"},
                                {"into", "same"}});
  std::vector<record> recs;
  recs.push_back(make_record({{"a", 1}}, 1));
  recs.push_back(make_record({{"a", 2}}, 2));
  auto out = s->run(std::move(recs));
  REQUIRE(out.emitted.size() == 2);
  CHECK(out.emitted[1].rec.content()["same"] == json{{"a", 2}});
  CHECK(json::parse(server.bodies("/echo").at(0)) == json{{"items", {{{"a", 1}}, {{"a", 2}}}}});
}

TEST_CASE("a batch answer of the wrong length fails the whole call", "[ops][http]") {
  http_test_server server;
  std::vector<record> recs;
  for (int i = 1; i <= 3; ++i)
    recs.push_back(make_record({{"list", {1, 2}}}, i));
  SECTION("an array of another length") {
    auto s = http_stage::started({{"url", server.base_url() + "/echo"}, {"mode", "batch"},
                                  {"answer_at", ".body[0].list"}, {"into", "x"}});
    auto out = s->run(std::move(recs));
    CHECK(out.emitted.empty());
    REQUIRE(out.failed.size() == 3);
    for (auto& f : out.failed) {
      CHECK(f.err.code == errc::parse_error);
      CHECK_THAT(f.err.message, Catch::StartsWith("POST " + host(server) + "/echo: expected 3 answers"));
      CHECK_THAT(f.err.message, Catch::Contains("got 2"));
    }
  }
  SECTION("not an array") {
    auto s = http_stage::started({{"url", server.base_url() + "/echo"}, {"mode", "batch"}, {"into", "x"}});
    auto out = s->run(std::move(recs));
    REQUIRE(out.failed.size() == 3);
    CHECK_THAT(out.failed[0].err.message, Catch::Contains("expected 3 answers"));
    CHECK_THAT(out.failed[0].err.message, Catch::Contains("got an object"));
  }
}

TEST_CASE("a batch none of whose records render sends nothing and fails each", "[ops][http]") {
  http_test_server server;
  auto s = http_stage::started({{"url", server.base_url() + "/batch"}, {"mode", "batch"},
                                {"body", ".n * 1"}, {"into", "x"}});
  std::vector<record> recs;
  recs.push_back(make_record({{"n", "a"}}, 1));
  recs.push_back(make_record({{"n", "b"}}, 2));
  auto out = s->run(std::move(recs));
  CHECK(out.emitted.empty());
  REQUIRE(out.failed.size() == 2);
  CHECK(out.failed[1].err.code == errc::type_error);
  CHECK(server.requests() == 0);
}

// -- expand ---------------------------------------------------------------------------

TEST_CASE("expand makes a record of each element of an array answer", "[ops][http]") {
  http_test_server server;
  auto s = http_stage::started({{"url", server.base_url() + "/echo"}, {"body", ".items"},
                                {"answer_at", "body"}, {"expand", true}});
  SECTION("elements become records with derived ids and the source's lineage") {
    auto rec = make_record({{"items", {{{"sku", "a"}}, {{"sku", "b"}}}}}, 17);
    rec.meta() = json{{"note", "kept"}};
    std::vector<record> recs;
    recs.push_back(std::move(rec));
    auto out = s->run(std::move(recs));
    REQUIRE(out.emitted.size() == 2);
    CHECK(out.emitted[0].rec.id() == "test:17/1");
    CHECK(out.emitted[1].rec.id() == "test:17/2");
    CHECK(out.emitted[0].rec.content() == json{{"sku", "a"}});
    CHECK(out.emitted[1].rec.content() == json{{"sku", "b"}});
    CHECK(out.emitted[1].rec.trail().origin.line == 17);
    CHECK(out.emitted[1].rec.meta() == json{{"note", "kept"}});
  }
  SECTION("an empty array filters the record") {
    auto out = s->run_one({{"items", json::array()}});
    CHECK(out.emitted.empty());
    REQUIRE(out.discarded.size() == 1);
    CHECK(out.discarded[0].second == disposition::filtered);
  }
  SECTION("an answer that is not an array fails the record") {
    auto e = failure_of(s->run_one({{"items", {{"sku", "a"}}}}));
    CHECK(e.code == errc::type_error);
    CHECK_THAT(e.message, Catch::Contains("expand needs the answer to be an array, got an object"));
  }
  SECTION("an element that is not an object fails the record") {
    auto e = failure_of(s->run_one({{"items", {{{"sku", "a"}}, 7}}}));
    CHECK(e.code == errc::type_error);
    CHECK_THAT(e.message, Catch::Contains("element 1 is an integer"));
  }
}

// -- tls --------------------------------------------------------------------------------

TEST_CASE("tls.ca_file resolves against the config's folder and must be readable at start", "[ops][http]") {
  http_stage s{{{"url", "https://127.0.0.1:1/x"}, {"tls", {{"verify", true}, {"ca_file", "certs/none.pem"}}}},
               "/nonexistent-sluice-dir"};
  INFO(s.diags.render());
  REQUIRE(s.op != nullptr);
  auto st = s.op->start();
  REQUIRE_FALSE(st);
  CHECK_THAT(st.err().message,
             Catch::Contains("/stages/1/params/tls/ca_file: cannot read '/nonexistent-sluice-dir/certs/none.pem'"));
}

// -- params -------------------------------------------------------------------------------

TEST_CASE("http params are checked, each problem at its JSON path", "[ops][http]") {
  CHECK_THAT(refused(json::object()),
             Catch::Contains("/stages/1/params/url: missing required param 'url' for stage type 'http'"));
  CHECK_THAT(refused({{"url", "http://h/x"}, {"method", "FETCH"}}),
             Catch::Contains("/stages/1/params/method: 'FETCH' is not one of"));
  CHECK_THAT(refused({{"url", "http://h/x"}, {"method", "GET"}, {"body", {{"a", ".a"}}}}),
             Catch::Contains("/stages/1/params/method: a GET request has no body"));
  CHECK_THAT(refused({{"url", "http://h/x/{.id}"}, {"mode", "batch"}}),
             Catch::Contains("/stages/1/params/url: in batch mode"));
  CHECK_THAT(refused({{"url", "http://h/x"}, {"into", "a"}, {"expand", true}}),
             Catch::Contains("/stages/1/params/expand: expand and into exclude each other"));
  CHECK_THAT(refused({{"url", "http://h/x"}, {"mode", "batch"}, {"expand", true}}),
             Catch::Contains("/stages/1/params/expand: expand works in \"mode\": \"record\" only"));
  auto unknown = refused({{"url", "http://h/x"}, {"intoo", "a"}});
  CHECK_THAT(unknown, Catch::Contains("/stages/1/params/intoo: unknown param 'intoo'"));
  CHECK_THAT(unknown, Catch::Contains("into"));
  CHECK_THAT(refused({{"url", "ftp://h/x/{.id}"}}),
             Catch::Contains("/stages/1/params/url: unsupported scheme 'ftp'"));
  CHECK_THAT(refused({{"url", "ftp://h/x"}}),
             Catch::Contains("/stages/1/params/url: unsupported scheme 'ftp'"));
  CHECK_THAT(refused({{"url", "{.base}/x"}}),
             Catch::Contains("/stages/1/params/url: the url must begin with http:// or https://"));
  CHECK_THAT(refused({{"url", "http://h/x/{.id"}}), Catch::Contains("/stages/1/params/url: '{'"));
  CHECK_THAT(refused({{"url", "http://h/x/{.id +}"}}), Catch::Contains("/stages/1/params/url: "));
  CHECK_THAT(refused({{"url", "http://h/x"}, {"body", {{"a", ".a +"}}}}),
             Catch::Contains("/stages/1/params/body/a: "));
  CHECK_THAT(refused({{"url", "http://h/x"}, {"records_per_call", 5}}),
             Catch::Contains("/stages/1/params/records_per_call: records_per_call applies to"));
  CHECK_THAT(refused({{"url", "http://h/x"}, {"mode", "batch"}, {"records_per_call", 10001}}),
             Catch::Contains("/stages/1/params/records_per_call: expected an integer from 1 to 10000"));
  CHECK_THAT(refused({{"url", "http://h/x"}, {"max_in_flight", 0}}),
             Catch::Contains("/stages/1/params/max_in_flight: expected an integer from 1 to 1024"));
  CHECK_THAT(refused({{"url", "http://h/x"}, {"mode", "stream"}}),
             Catch::Contains("/stages/1/params/mode: 'stream' is not one of 'record', 'batch'"));
  CHECK_THAT(refused({{"url", "http://h/x"}, {"headers", {{"Bad Name", "x"}}}}),
             Catch::Contains("/stages/1/params/headers/Bad Name: "));
  CHECK_THAT(refused({{"url", "http://h/x"}, {"headers", {{"Authorization", {{"var", "T"}}}}}}),
             Catch::Contains("/stages/1/params/headers/Authorization/var: unknown key 'var'"));
  CHECK_THAT(refused({{"url", "http://h/x"}, {"tls", {{"verify", "yes"}}}}),
             Catch::Contains("/stages/1/params/tls/verify: expected true or false"));
  CHECK_THAT(refused({{"url", "http://h/x"}, {"into", "."}}),
             Catch::Contains("/stages/1/params/into: "));
}

TEST_CASE("a header value written in the config is never repeated in a diagnostic", "[ops][http]") {
  http_stage s{{{"url", "http://h/x"}, {"headers", {{"Authorization", "Bearer s3cret\nX: y"}}}}};
  CHECK(s.op == nullptr);
  CHECK_THAT(s.diags.render(), Catch::Contains("/stages/1/params/headers/Authorization: "));
  CHECK_THAT(s.diags.render(), !Catch::Contains("s3cret"));
  http_stage w{{{"url", "http://h/x"}, {"headers", {{"Authorization", "Bearer s3cret"}}}}};
  CHECK(w.op != nullptr); // allowed, with a warning
  CHECK_THAT(w.diags.render(), Catch::Contains("readable by anyone"));
  CHECK_THAT(w.diags.render(), !Catch::Contains("s3cret"));
}
