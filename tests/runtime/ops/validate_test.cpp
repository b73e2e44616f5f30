#include <catch2/catch.hpp>

#include "ops/validate.hpp"
#include "support/recording_emitter.hpp"

using namespace sluice;
using sluice::test::make_record;
using sluice::test::recording_emitter;

namespace {

// Builds a validate op from `params` as stage 1 of a pipeline.
op_ptr make(const json& params, diagnostics& diags) {
  stage_spec spec;
  spec.id = "check";
  spec.type = "validate";
  spec.index = 1;
  spec.json_path = "/stages/1";
  spec.params = params;
  params_reader p{spec.params, spec.json_path + "/params", "validate", diags};
  return describe_validate().make_op(spec, p);
}

const char* orders_schema = R"({
  "schema": {
    "type": "object",
    "required": ["user", "amount"],
    "properties": {
      "user": {"type": "string", "minLength": 1},
      "amount": {"type": "integer", "minimum": 0},
      "tags": {"type": "array", "items": {"type": "string"}}
    }
  }
})";

} // namespace

SCENARIO("validate passes valid records and fails invalid ones", "[ops][validate]") {
  GIVEN("a validate stage with an orders schema") {
    diagnostics diags;
    auto op = make(json::parse(orders_schema), diags);
    REQUIRE(op != nullptr);
    REQUIRE_FALSE(diags.has_errors());
    recording_emitter out;

    WHEN("a valid record arrives") {
      op->process(make_record({{"user", "ann"}, {"amount", 5}, {"tags", {"a"}}}, 1), out);
      THEN("it is emitted unchanged on port 0") {
        REQUIRE(out.emitted.size() == 1);
        CHECK(out.emitted[0].port == 0);
        CHECK(out.emitted[0].rec.id() == "test:1");
        CHECK(out.contents() == std::vector<json>{{{"user", "ann"}, {"amount", 5}, {"tags", {"a"}}}});
        CHECK(out.failed.empty());
        CHECK(out.discarded.empty());
      }
    }
    WHEN("an invalid record arrives") {
      op->process(make_record({{"amount", -5}, {"tags", {"a", "b", 3}}}, 2), out);
      THEN("it fails with a schema violation naming every broken rule") {
        REQUIRE(out.failed.size() == 1);
        CHECK(out.emitted.empty());
        CHECK(out.failed[0].rec.id() == "test:2");
        CHECK(out.failed[0].err.code == errc::schema_violation);
        CHECK(out.failed[0].err.message
              == "/: missing required property 'user'; /amount: -5 is less than the minimum 0; "
                 "/tags/2: expected string, got integer");
      }
    }
  }
}

TEST_CASE("validate requires a schema object", "[ops][validate]") {
  diagnostics missing;
  CHECK(make(json::object(), missing) == nullptr);
  REQUIRE(missing.all().size() == 1);
  CHECK(missing.all()[0].json_path == "/stages/1/params/schema");
  CHECK(missing.all()[0].message.rfind("missing required param 'schema'", 0) == 0);

  diagnostics wrong;
  CHECK(make(json{{"schema", "orders.json"}}, wrong) == nullptr);
  REQUIRE(wrong.all().size() == 1);
  CHECK(wrong.all()[0].json_path == "/stages/1/params/schema");
  CHECK(wrong.all()[0].message == "expected a JSON Schema object, got \"orders.json\"");
}

TEST_CASE("validate reports each schema problem at its path in the config", "[ops][validate]") {
  diagnostics diags;
  auto params = json::parse(R"({"schema": {"properties": {"amount": {"minimum": "0"}},
                                           "requried": ["id"]}})");
  CHECK(make(params, diags) == nullptr);
  REQUIRE(diags.all().size() == 2);
  CHECK(diags.all()[0].json_path == "/stages/1/params/schema/properties/amount/minimum");
  CHECK(diags.all()[0].message == "expected a number, got \"0\"");
  CHECK(diags.all()[1].json_path == "/stages/1/params/schema/requried");
  CHECK(diags.all()[1].message == "unknown schema keyword 'requried' (did you mean 'required'?)");
}

TEST_CASE("validate refuses unknown params", "[ops][validate]") {
  diagnostics diags;
  CHECK(make(json{{"schema", json::object()}, {"strict", true}}, diags) == nullptr);
  REQUIRE(diags.all().size() == 1);
  CHECK(diags.all()[0].json_path == "/stages/1/params/strict");
}

TEST_CASE("the documented validate example is accepted", "[ops][validate]") {
  // Same text as the example in docs/stages.md (validate).
  auto stage = json::parse(R"({
    "id": "check",
    "type": "validate",
    "inputs": ["orders"],
    "on_error": "dlq",
    "params": {
      "schema": {
        "type": "object",
        "required": ["order_id", "customer", "amount_cents"],
        "properties": {
          "order_id": {"type": "string", "pattern": "^o-[0-9]+$"},
          "customer": {"type": "string", "minLength": 1},
          "amount_cents": {"type": "integer", "minimum": 0},
          "currency": {"enum": ["EUR", "USD"]},
          "items": {"type": "array", "minItems": 1, "items": {"type": "object"}}
        }
      }
    }
  })");
  diagnostics diags;
  auto op = make(stage["params"], diags);
  INFO(diags.render());
  REQUIRE(op != nullptr);
  recording_emitter out;
  op->process(make_record({{"order_id", "o-1"}, {"customer", "ann"}, {"amount_cents", 1250},
                           {"currency", "EUR"}, {"items", {json::object()}}}),
              out);
  op->process(make_record({{"order_id", "x"}, {"customer", "ann"}, {"amount_cents", 1},
                           {"currency", "GBP"}}, 2),
              out);
  CHECK(out.emitted.size() == 1);
  REQUIRE(out.failed.size() == 1);
  CHECK(out.failed[0].err.message
        == "/currency: \"GBP\" is not one of [\"EUR\",\"USD\"]; "
           "/order_id: \"x\" does not match the pattern '^o-[0-9]+$'");
}
