// The stateless transforms map, filter and route, built through the stage
// registry exactly as the loader builds them.

#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "ops/registry.hpp"
#include "support/recording_emitter.hpp"

using namespace sluice;
using sluice::test::make_record;
using sluice::test::recording_emitter;

namespace {

// One stage (stage 0 of a pipeline) of `type` with `params_text` as params.
struct stage {
  stage_spec spec;
  diagnostics diags{"test.json"};
  const stage_kind* kind = nullptr;
  op_ptr op;

  stage(const std::string& type, const std::string& params_text) {
    spec.id = "s";
    spec.type = type;
    spec.index = 0;
    spec.json_path = "/stages/0";
    spec.params = json::parse(params_text);
    spec.params_ordered = nlohmann::ordered_json::parse(params_text);
    kind = stage_registry::instance().find(type);
    REQUIRE(kind != nullptr);
    params_reader p{spec.params, "/stages/0/params", spec.type, diags, &spec.params_ordered};
    op = kind->make_op(spec, p);
  }

  // The op, which must have been built without any diagnostic.
  sluice::op& ok() {
    INFO(diags.render());
    REQUIRE(op != nullptr);
    REQUIRE(diags.all().empty());
    return *op;
  }

  // The diagnostics of a config the kind must refuse.
  std::string refused() {
    CHECK(op == nullptr);
    CHECK(diags.has_errors());
    return diags.render();
  }
};

} // namespace

// -- map ----------------------------------------------------------------------------

TEST_CASE("map sets fields in the order written, and later sets see earlier ones", "[ops][map]") {
  // Sorted, "a_double" would run before "total" and see null.
  stage s{"map", R"({"set": {"total": ".qty * .price", "a_double": ".total * 2",
                             "qty": ".qty + 1"}})"};
  recording_emitter out;
  s.ok().process(make_record({{"qty", 3}, {"price", 5}}, 4), out);
  INFO((out.failed.empty() ? "" : out.failed[0].err.message));
  REQUIRE(out.emitted.size() == 1);
  CHECK(out.emitted[0].port == 0);
  CHECK(out.emitted[0].rec.id() == "test:4");
  CHECK(out.contents() == std::vector<json>{{{"qty", 4}, {"price", 5}, {"total", 15}, {"a_double", 30}}});
}

TEST_CASE("map renames after setting, drops after renaming, keeps last", "[ops][map]") {
  stage s{"map", R"J({"keep": ["customer", "cents", "tmp", "gone"], "drop": ["gone"],
                      "rename": {"user": "customer", "tmp": "gone"},
                      "set": {"cents": "round(.amount * 100)", "tmp": "1"}})J"};
  recording_emitter out;
  s.ok().process(make_record({{"user", "ann"}, {"amount", 12.34}, {"note", "x"}}), out);
  REQUIRE(out.emitted.size() == 1);
  // set made tmp and cents; rename moved user and tmp; drop removed what tmp
  // became; keep removed amount and note (tmp is gone by then).
  CHECK(out.contents() == std::vector<json>{{{"customer", "ann"}, {"cents", 1234}}});
}

TEST_CASE("map sets nested fields and keeps nested paths", "[ops][map]") {
  stage s{"map", R"({"set": {".who.name": ".user", ".\"odd key\"": "true"},
                     "keep": [".who.name", ".\"odd key\"", ".tags[0]"]})"};
  recording_emitter out;
  s.ok().process(make_record({{"user", "ann"}, {"age", 3}}), out);
  REQUIRE(out.emitted.size() == 1);
  CHECK(out.contents() == std::vector<json>{json::parse(R"({"who": {"name": "ann"}, "odd key": true})")});
}

TEST_CASE("map keeps integers integers", "[ops][map]") {
  stage s{"map", R"J({"set": {"cents": "round(.amount * 100)", "next": ".n + 1",
                              "ratio": ".n / 4"}})J"};
  recording_emitter out;
  s.ok().process(make_record({{"amount", 19.99}, {"n", 6}}), out);
  REQUIRE(out.emitted.size() == 1);
  auto& c = out.emitted[0].rec.content();
  CHECK(c["cents"] == 1999);
  CHECK(c["cents"].is_number_integer());
  CHECK(c["next"] == 7);
  CHECK(c["next"].is_number_integer());
  CHECK(c["ratio"] == 1.5);
  std::string line;
  out.emitted[0].rec.serialize(line);
  CHECK(line.find("\"cents\":1999,") != std::string::npos);
  CHECK(line.find("\"next\":7") != std::string::npos);
}

TEST_CASE("a failing set expression fails the record and emits nothing", "[ops][map]") {
  stage s{"map", R"({"set": {"a": "1", "x": ".name * 2"}})"};
  recording_emitter out;
  s.ok().process(make_record({{"name", "ann"}}, 9), out);
  CHECK(out.emitted.empty());
  CHECK(out.discarded.empty());
  REQUIRE(out.failed.size() == 1);
  CHECK(out.failed[0].rec.id() == "test:9");
  CHECK(out.failed[0].err.code == errc::type_error);
  CHECK(out.failed[0].err.message.rfind("set .x: ", 0) == 0);
  // The next record is processed normally.
  s.op->process(make_record({{"name", 4}}, 10), out);
  REQUIRE(out.emitted.size() == 1);
  CHECK(out.contents() == std::vector<json>{{{"name", 4}, {"a", 1}, {"x", 8}}});
}

TEST_CASE("a record that fails in map is failed exactly as it came in", "[ops][map]") {
  // Sets that worked (an overwrite, new nested objects, a null turned into an
  // object, an array element) and renames that worked (one over an existing
  // field, one out of an array) are all undone when a later step fails.
  const json input = json::parse(R"({"id": 7, "note": null, "tags": ["a", "b"],
                                     "user": "ann", "amount": 5, "old": 1})");
  std::string worked = R"("set": {"id": ".id + 1", ".a.b": "1", ".note.text": "\"x\"",
                                  ".tags[1]": "\"z\"")";
  for (auto failing : {R"(, "bad": ".user * 2"})",         // an expression that fails
                       R"(, ".amount.cents": "1"})",       // a target that cannot be set
                       R"(}, "rename": {"user": "old", "tags[0]": "first", "id": "amount.x"})",
                       R"(}, "rename": {"tags[0]": "first", "user": "tags[5]"})"}) {
    auto params = "{" + worked + failing + "}";
    INFO(params);
    stage s{"map", params};
    recording_emitter out;
    s.ok().process(make_record(input, 3), out);
    CHECK(out.emitted.empty());
    REQUIRE(out.failed.size() == 1);
    CHECK(out.failed[0].rec.id() == "test:3");
    CHECK(out.failed[0].rec.content() == input);
    // The same op fails the same input the same way again, and goes on with
    // a record it can change as if nothing had happened.
    s.op->process(make_record(input, 3), out);
    REQUIRE(out.failed.size() == 2);
    CHECK(out.failed[1].rec.content() == input);
    CHECK(out.failed[1].err.message == out.failed[0].err.message);
    s.op->process(make_record(json::parse(R"({"id": 1, "user": 2, "amount": {},
                                              "tags": ["q", "r", "s", "t", "u", "v", "w"]})"),
                              4),
                  out);
    REQUIRE(out.emitted.size() == 1);
    CHECK(out.emitted[0].rec.content()["a"] == json{{"b", 1}});
    CHECK(out.emitted[0].rec.content()["note"] == json{{"text", "x"}});
  }
}

TEST_CASE("map's failure messages say which set failed and why", "[ops][map]") {
  stage s{"map", R"({"set": {"a": "1", ".\"odd key\"": ".name * 2"}})"};
  recording_emitter out;
  s.ok().process(make_record({{"name", "ann"}}), out);
  REQUIRE(out.failed.size() == 1);
  CHECK(out.failed[0].err.message.rfind(R"(set ."odd key": )", 0) == 0);
  CHECK(out.failed[0].rec.content() == json{{"name", "ann"}});
}

TEST_CASE("a set target that cannot be set fails the record", "[ops][map]") {
  stage s{"map", R"({"set": {".amount.cents": "1"}})"};
  recording_emitter out;
  s.ok().process(make_record({{"amount", 5}}), out);
  CHECK(out.emitted.empty());
  REQUIRE(out.failed.size() == 1);
  CHECK(out.failed[0].err.code == errc::type_error);
  CHECK(out.failed[0].err.message
        == "cannot set .amount.cents: a step before 'cents' is not an object");
}

TEST_CASE("a rename whose target cannot be set fails the record", "[ops][map]") {
  stage s{"map", R"({"rename": {"user": "amount.who"}})"};
  recording_emitter out;
  s.ok().process(make_record({{"user", "ann"}, {"amount", 5}}), out);
  CHECK(out.emitted.empty());
  REQUIRE(out.failed.size() == 1);
  CHECK(out.failed[0].err.code == errc::type_error);
  CHECK(out.failed[0].err.message == "cannot set .amount.who: a step before 'who' is not an object");
}

TEST_CASE("map's rename of a missing field and drop of a missing field are no-ops",
          "[ops][map]") {
  stage s{"map", R"({"rename": {"user": "customer"}, "drop": ["note", ".a.b"]})"};
  recording_emitter out;
  s.ok().process(make_record({{"id", 1}, {"a", 2}}), out);
  REQUIRE(out.emitted.size() == 1);
  CHECK(out.failed.empty());
  CHECK(out.contents() == std::vector<json>{{{"id", 1}, {"a", 2}}});
}

TEST_CASE("map accepts a single string for drop and keep", "[ops][map]") {
  stage s{"map", R"({"drop": "note"})"};
  recording_emitter out;
  s.ok().process(make_record({{"id", 1}, {"note", "x"}}), out);
  REQUIRE(out.emitted.size() == 1);
  CHECK(out.contents() == std::vector<json>{{{"id", 1}}});
}

TEST_CASE("a map with nothing to do is a config error", "[ops][map]") {
  CHECK(stage{"map", "{}"}.refused()
        == "test.json: /stages/0/params: a map needs at least one of set, rename, drop, keep\n");
  CHECK(stage{"map", R"({"set": {}, "drop": []})"}.refused()
        == "test.json: /stages/0/params: a map needs at least one of set, rename, drop, keep\n");
}

TEST_CASE("map reports every bad param with its path", "[ops][map]") {
  auto out = stage{"map", R"({"set": {".a.": "1", "b": ".x +", "c": 3},
                             "rename": {"user": ".", "x": "y z"},
                             "drop": ["ok", 5], "keep": ["[x]"], "sett": {}})"}
               .refused();
  CHECK(out
        == "test.json: /stages/0/params/set/c: expected a string, got integer\n"
           "test.json: /stages/0/params/rename/user: rename takes field names, not '.'\n"
           "test.json: /stages/0/params/rename/x: field path 'y z': column 2: expected '.', '[' "
           "or a field name\n"
           "test.json: /stages/0/params/drop/1: expected a string, got integer\n"
           "test.json: /stages/0/params/keep/0: field path '[x]': column 2: expected an index "
           "like [0] or [-1]\n"
           "test.json: /stages/0/params/sett: unknown param 'sett' for stage type 'map' (hint: "
           "known params: drop, keep, rename, set)\n");
}

TEST_CASE("map reports a bad set target and a bad set expression", "[ops][map]") {
  CHECK(stage{"map", R"({"set": {".a.": "1", "b": ".x +"}})"}.refused()
        == "test.json: /stages/0/params/set/.a.: field path '.a.': column 4: expected a field "
           "name after '.'\n"
           "test.json: /stages/0/params/set/b: column 5: expected an expression after '+' in "
           "'.x +'\n");
}

TEST_CASE("map's set paths are JSON pointers, escaped", "[ops][map]") {
  // A target written as ."a/b" is reported at .../set/."a~1b" (RFC 6901).
  CHECK(stage{"map", R"({"set": {".\"a/b\"": ".x +"}})"}.refused()
        == "test.json: /stages/0/params/set/.\"a~1b\": column 5: expected an expression after "
           "'+' in '.x +'\n");
}

TEST_CASE("map's rename paths are JSON pointers, escaped", "[ops][map]") {
  CHECK(stage{"map", R"({"rename": {"a/b~c": "."}})"}.refused()
        == "test.json: /stages/0/params/rename/a~1b~0c: field path 'a/b~c': column 2: "
           "expected '.', '[' or a field name\n");
}

TEST_CASE("map has one unnamed output", "[ops][map]") {
  stage s{"map", R"({"drop": ["x"]})"};
  s.ok();
  CHECK_FALSE(static_cast<bool>(s.kind->outputs));
  CHECK(s.kind->role == stage_role::transform);
  CHECK(s.kind->allows_parallelism);
}

// -- filter -------------------------------------------------------------------------

TEST_CASE("filter emits records for which when is true and filters the rest", "[ops][filter]") {
  stage s{"filter", R"({"when": ".amount > 10"})"};
  recording_emitter out;
  auto& op = s.ok();
  op.process(make_record({{"amount", 11}}, 1), out);
  op.process(make_record({{"amount", 10}}, 2), out);
  op.process(make_record({{"amount", 10.5}}, 3), out);
  REQUIRE(out.emitted.size() == 2);
  CHECK(out.emitted[0].rec.id() == "test:1");
  CHECK(out.emitted[1].rec.id() == "test:3");
  CHECK(out.emitted[0].port == 0);
  CHECK(out.contents() == std::vector<json>{{{"amount", 11}}, {{"amount", 10.5}}});
  REQUIRE(out.discarded.size() == 1);
  CHECK(out.discarded[0].first.id() == "test:2");
  CHECK(out.discarded[0].second == disposition::filtered);
  CHECK(out.failed.empty());
}

TEST_CASE("a filter whose when fails or is not boolean fails the record", "[ops][filter]") {
  stage s{"filter", R"({"when": ".amount * 2"})"};
  recording_emitter out;
  s.ok().process(make_record({{"amount", 3}}, 1), out);
  s.op->process(make_record({{"amount", "x"}}, 2), out);
  CHECK(out.emitted.empty());
  CHECK(out.discarded.empty());
  REQUIRE(out.failed.size() == 2);
  CHECK(out.failed[0].rec.id() == "test:1");
  CHECK(out.failed[0].err.code == errc::type_error);
  CHECK(out.failed[1].rec.id() == "test:2");
  CHECK(out.failed[1].err.code == errc::type_error);
  // Run-time errors say which param they come from.
  for (auto& f : out.failed) {
    INFO(f.err.message);
    CHECK(f.err.message.rfind("when: ", 0) == 0);
    CHECK(f.err.message.rfind("when: when: ", 0) == std::string::npos);
  }
  CHECK(out.failed[1].rec.content() == json{{"amount", "x"}});
}

TEST_CASE("filter needs a when that compiles", "[ops][filter]") {
  CHECK(stage{"filter", "{}"}.refused()
        == "test.json: /stages/0/params/when: missing required param 'when' for stage type "
           "'filter'\n");
  CHECK(stage{"filter", R"({"when": ".a > 1 &&"})"}.refused()
        == "test.json: /stages/0/params/when: column 10: expected an expression after '&&' in "
           "'.a > 1 &&'\n");
  CHECK(stage{"filter", R"({"when": true})"}.refused()
        == "test.json: /stages/0/params/when: expected a string, got boolean\n");
  CHECK(stage{"filter", R"({"when": "true", "where": "x"})"}.refused()
        == "test.json: /stages/0/params/where: unknown param 'where' for stage type 'filter' "
           "(hint: known params: when)\n");
}

// -- route --------------------------------------------------------------------------

namespace {

// Routes written out of alphabetical order: ports follow the written order.
constexpr const char* three_routes = R"({"routes": {"small": ".amount < 10", "big": ".amount >= 100",
                                        "even": ".amount % 2 == 0"}, "default": "rest")";

std::string with(const std::string& extra) {
  return std::string{three_routes} + extra + "}";
}

} // namespace

TEST_CASE("route's outputs are its routes in written order, then the default", "[ops][route]") {
  stage s{"route", with("")};
  s.ok();
  REQUIRE(static_cast<bool>(s.kind->outputs));
  CHECK(s.kind->outputs(s.spec) == std::vector<std::string>{"small", "big", "even", "rest"});
  stage no_default{"route", R"({"routes": {"z": "true", "a": "false"}})"};
  no_default.ok();
  CHECK(no_default.kind->outputs(no_default.spec) == std::vector<std::string>{"z", "a"});
}

TEST_CASE("route sends each record to the first matching output", "[ops][route]") {
  stage s{"route", with("")};
  recording_emitter out;
  auto& op = s.ok();
  for (auto amount : {4, 200, 12, 51})
    op.process(make_record({{"amount", amount}}, static_cast<uint64_t>(amount)), out);
  REQUIRE(out.emitted.size() == 4);
  CHECK(out.emitted[0].port == 0); // 4: small (also even)
  CHECK(out.emitted[1].port == 1); // 200: big (also even)
  CHECK(out.emitted[2].port == 2); // 12: even
  CHECK(out.emitted[3].port == 3); // 51: the default
  CHECK(out.emitted[3].rec.id() == "test:51");
  CHECK(out.discarded.empty());
  CHECK(out.failed.empty());
}

TEST_CASE("route in mode all copies a record to every matching output", "[ops][route]") {
  stage s{"route", with(R"(, "mode": "all")")};
  recording_emitter out;
  auto& op = s.ok();
  op.process(make_record({{"amount", 4}}, 1), out);
  op.process(make_record({{"amount", 200}}, 2), out);
  op.process(make_record({{"amount", 51}}, 3), out);
  REQUIRE(out.emitted.size() == 5);
  std::vector<std::pair<std::string, port_index>> got;
  for (auto& e : out.emitted)
    got.emplace_back(e.rec.id(), e.port);
  CHECK(got == std::vector<std::pair<std::string, port_index>>{
                 {"test:1", 0}, {"test:1", 2}, {"test:2", 1}, {"test:2", 2}, {"test:3", 3}});
  CHECK(out.contents(2) == std::vector<json>{{{"amount", 4}}, {{"amount", 200}}});
  CHECK(out.emitted[0].rec.trail().origin.line == 1);
  CHECK(out.emitted[1].rec.trail().origin.line == 1);
}

TEST_CASE("a record no route matches is filtered when there is no default", "[ops][route]") {
  stage s{"route", R"({"routes": {"small": ".amount < 10", "big": ".amount >= 100"}, "mode": "all"})"};
  recording_emitter out;
  s.ok().process(make_record({{"amount", 50}}, 7), out);
  CHECK(out.emitted.empty());
  CHECK(out.failed.empty());
  REQUIRE(out.discarded.size() == 1);
  CHECK(out.discarded[0].first.id() == "test:7");
  CHECK(out.discarded[0].second == disposition::filtered);
}

TEST_CASE("a failing predicate fails the record before any copy goes out", "[ops][route]") {
  stage s{"route", R"({"routes": {"pos": ".x > 0", "long": "len(.s) > 1"}, "mode": "all"})"};
  recording_emitter out;
  s.ok().process(make_record({{"x", 1}, {"s", 5}}, 3), out);
  CHECK(out.emitted.empty());
  CHECK(out.discarded.empty());
  REQUIRE(out.failed.size() == 1);
  CHECK(out.failed[0].rec.id() == "test:3");
  CHECK(out.failed[0].err.code == errc::type_error);
  CHECK(out.failed[0].err.message.rfind("route 'long': ", 0) == 0);
  CHECK(out.failed[0].rec.content() == json{{"x", 1}, {"s", 5}});
}

TEST_CASE("a failing predicate is named in the message", "[ops][route]") {
  stage s{"route", R"({"routes": {"food": ".kind == \"food\"", "big/small": ".amount > 10"},
                      "default": "rest"})"};
  recording_emitter out;
  s.ok().process(make_record({{"kind", "toy"}, {"amount", "lots"}}, 5), out);
  REQUIRE(out.failed.size() == 1);
  auto& msg = out.failed[0].err.message;
  INFO(msg);
  CHECK(msg.rfind("route 'big/small': ", 0) == 0);
  CHECK(msg.size() > std::string{"route 'big/small': "}.size());
  CHECK(out.failed[0].rec.content() == json{{"kind", "toy"}, {"amount", "lots"}});
  CHECK(out.emitted.empty());
}

TEST_CASE("route's names in error paths are JSON pointers, escaped", "[ops][route]") {
  CHECK(stage{"route", R"({"routes": {"a/b~c": ".x =="}})"}.refused()
        == "test.json: /stages/0/params/routes/a~1b~0c: column 6: expected an expression after "
           "'==' in '.x =='\n");
}

TEST_CASE("in mode first, predicates after the first match are not evaluated", "[ops][route]") {
  stage s{"route", R"({"routes": {"pos": ".x > 0", "long": "len(.s) > 1"}})"};
  recording_emitter out;
  s.ok().process(make_record({{"x", 1}, {"s", 5}}, 3), out);
  CHECK(out.failed.empty());
  REQUIRE(out.emitted.size() == 1);
  CHECK(out.emitted[0].port == 0);
}

TEST_CASE("route refuses a default named like a route", "[ops][route]") {
  CHECK(stage{"route", R"({"routes": {"food": "true", "other": "false"}, "default": "other"})"}
          .refused()
        == "test.json: /stages/0/params/default: the default output 'other' is also a route "
           "name\n");
}

TEST_CASE("route reports bad routes, modes and predicates", "[ops][route]") {
  CHECK(stage{"route", "{}"}.refused()
        == "test.json: /stages/0/params/routes: missing required param 'routes' for stage type "
           "'route'\n");
  CHECK(stage{"route", R"({"routes": {}})"}.refused()
        == "test.json: /stages/0/params/routes: a route needs at least one named predicate\n");
  CHECK(stage{"route", R"({"routes": {"a": "true"}, "mode": "any"})"}.refused()
        == "test.json: /stages/0/params/mode: 'any' is not one of 'first', 'all'\n");
  CHECK(stage{"route", R"({"routes": {"a": ".x ==", "b": 1}})"}.refused()
        == "test.json: /stages/0/params/routes/b: expected a string, got integer\n");
  CHECK(stage{"route", R"({"routes": {"a": ".x ==", "b": "true"}})"}.refused()
        == "test.json: /stages/0/params/routes/a: column 6: expected an expression after '==' "
           "in '.x =='\n");
  CHECK(stage{"route", R"({"routes": {"a": "true"}, "default": 3})"}.refused()
        == "test.json: /stages/0/params/default: expected a string, got integer\n");
}
