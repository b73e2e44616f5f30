// The runtime core: field paths, records (get/set/rename/drop/keep/serialize),
// diagnostics and the result type.

#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "core/diagnostic.hpp"
#include "core/field_path.hpp"
#include "core/record.hpp"
#include "core/result.hpp"

using namespace sluice;

namespace {

using seg = field_path::segment;

field_path path(const std::string& text) {
  auto p = field_path::parse(text);
  REQUIRE(p.has_value());
  return *p;
}

// The message of a parse that must fail with invalid_config.
std::string parse_error(const std::string& text) {
  auto p = field_path::parse(text);
  REQUIRE_FALSE(p.has_value());
  CHECK(p.err().code == errc::invalid_config);
  return p.err().message;
}

record make(json content) {
  return record{"r1", std::move(content), lineage_trail{}};
}

json orders() {
  return json::parse(R"({"id": 7, "user": {"name": "ann", "age": 31},
                         "tags": ["a", "b", "c"], "amount": 12.5, "note": null})");
}

} // namespace

// -- field_path ---------------------------------------------------------------

TEST_CASE("field paths parse keys, indexes and quoted keys", "[core][field_path]") {
  CHECK(path(".a.b").segments() == std::vector<seg>{std::string{"a"}, std::string{"b"}});
  CHECK(path(".tags[0]").segments() == std::vector<seg>{std::string{"tags"}, int64_t{0}});
  CHECK(path(".tags[-1]").segments() == std::vector<seg>{std::string{"tags"}, int64_t{-1}});
  CHECK(path(".tags[12].name").segments()
        == std::vector<seg>{std::string{"tags"}, int64_t{12}, std::string{"name"}});
  CHECK(path(".m[0][1]").segments()
        == std::vector<seg>{std::string{"m"}, int64_t{0}, int64_t{1}});
  CHECK(path(R"(."odd key")").segments() == std::vector<seg>{std::string{"odd key"}});
  CHECK(path(R"(."say \"hi\"".x)").segments()
        == std::vector<seg>{std::string{R"(say "hi")"}, std::string{"x"}});
  CHECK(path(R"(."a.b")").segments() == std::vector<seg>{std::string{"a.b"}});
  CHECK(path(R"(."")").segments() == std::vector<seg>{std::string{}});
  CHECK(path(".user_id-2").segments() == std::vector<seg>{std::string{"user_id-2"}});
}

TEST_CASE("a bare name is read as a top-level field", "[core][field_path]") {
  CHECK(path("user") == path(".user"));
  CHECK(path("user.name") == path(".user.name"));
  CHECK(path("tags[1]") == path(".tags[1]"));
}

TEST_CASE("'.' is the whole record", "[core][field_path]") {
  auto p = path(".");
  CHECK(p.empty());
  CHECK(p.segments().empty());
  CHECK(p.str() == ".");
  CHECK(p == field_path{});
}

TEST_CASE("bad field paths name the column and what was expected", "[core][field_path]") {
  CHECK(parse_error("")
        == "empty field path: write '.' for the whole record or '.name' for a field");
  CHECK(parse_error(".a.") == "field path '.a.': column 4: expected a field name after '.'");
  CHECK(parse_error("..a") == "field path '..a': column 2: expected a field name after '.'");
  CHECK(parse_error(".a b") == "field path '.a b': column 3: expected '.', '[' or a field name");
  CHECK(parse_error("$x") == "field path '$x': column 1: expected '.', '[' or a field name");
  CHECK(parse_error(".tags[") == "field path '.tags[': column 7: expected an index like [0] or [-1]");
  CHECK(parse_error(".tags[x]")
        == "field path '.tags[x]': column 7: expected an index like [0] or [-1]");
  CHECK(parse_error(".tags[0") == "field path '.tags[0': column 8: expected an index like [0] or [-1]");
  CHECK(parse_error(".tags[-]")
        == "field path '.tags[-]': column 8: expected an index like [0] or [-1]");
  CHECK(parse_error(R"(."abc)") == R"(field path '."abc': column 6: unterminated quoted key)");
  CHECK(parse_error("a..b") == "field path 'a..b': column 3: expected a field name after '.'");
}

TEST_CASE("an index too large for int64 is refused, not wrapped", "[core][field_path]") {
  // 2^64 + 1 would wrap to 1 (signed overflow, undefined behaviour).
  auto p = field_path::parse(".a[18446744073709551617]");
  CHECK_FALSE(p.has_value());
  CHECK(parse_error(".a[18446744073709551617]")
        == "field path '.a[18446744073709551617]': column 4: index too large (at most "
           "9223372036854775807)");
  // The edge: INT64_MAX is an index, one more is not, with either sign.
  CHECK(path(".a[9223372036854775807]").segments()
        == std::vector<seg>{std::string{"a"}, int64_t{INT64_MAX}});
  CHECK(path(".a[-9223372036854775807]").segments()
        == std::vector<seg>{std::string{"a"}, int64_t{-INT64_MAX}});
  CHECK(parse_error(".a[9223372036854775808]")
        == "field path '.a[9223372036854775808]': column 4: index too large (at most "
           "9223372036854775807)");
  CHECK(parse_error(".xy[-9223372036854775808].z")
        == "field path '.xy[-9223372036854775808].z': column 6: index too large (at most "
           "9223372036854775807)");
  // A huge index that does parse simply finds nothing.
  CHECK(make(orders()).get(path(".tags[9223372036854775807]")) == nullptr);
  CHECK(make(orders()).get(path(".tags[-9223372036854775807]")) == nullptr);
}

TEST_CASE("str renders a path in the syntax it parses", "[core][field_path]") {
  CHECK(path(".a.b").str() == ".a.b");
  CHECK(path("user").str() == ".user");
  CHECK(path(".tags[0]").str() == ".tags[0]");
  CHECK(path(".tags[-1]").str() == ".tags[-1]");
  CHECK(path(R"(."odd key")").str() == R"(."odd key")");
  CHECK(path(R"(."say \"hi\"")").str() == R"(."say \"hi\"")");
  CHECK(path(R"(."back\\slash")").str() == R"(."back\\slash")");
  CHECK(path(R"(."")").str() == R"(."")");
  CHECK(field_path{{std::string{"a.b"}, int64_t{2}}}.str() == R"(."a.b"[2])");
}

TEST_CASE("parse(str(p)) gives p back", "[core][field_path]") {
  for (auto text : {".a.b", "user", ".tags[0]", ".tags[-1].x", R"(."odd key")",
                    R"(."q\"uote".z[3])", R"(."a.b"[1])", R"(."")", ".", R"(."x[0]")"}) {
    INFO(text);
    auto p = path(text);
    auto again = field_path::parse(p.str());
    REQUIRE(again.has_value());
    CHECK(*again == p);
    CHECK(again->str() == p.str());
  }
}

// -- record: get ----------------------------------------------------------------

TEST_CASE("get finds fields by path and returns nullptr for what is not there",
          "[core][record]") {
  auto r = make(orders());
  REQUIRE(r.get(path(".")) == &r.content());
  REQUIRE(r.get(path(".user.name")) != nullptr);
  CHECK(*r.get(path(".user.name")) == "ann");
  CHECK(*r.get(path(".tags[0]")) == "a");
  CHECK(*r.get(path(".tags[-1]")) == "c");
  CHECK(*r.get(path(".tags[-3]")) == "a");
  REQUIRE(r.get(path(".note")) != nullptr); // present, null
  CHECK(r.get(path(".note"))->is_null());

  CHECK(r.get(path(".missing")) == nullptr);
  CHECK(r.get(path(".user.missing")) == nullptr);
  CHECK(r.get(path(".tags[3]")) == nullptr);
  CHECK(r.get(path(".tags[-4]")) == nullptr);
  CHECK(r.get(path(".amount.x")) == nullptr);  // a key into a number
  CHECK(r.get(path(".user[0]")) == nullptr);   // an index into an object
  CHECK(r.get(path(".tags.x")) == nullptr);    // a key into an array
  CHECK(r.get(path(".note.x")) == nullptr);    // a key into null
}

// -- record: set ----------------------------------------------------------------

TEST_CASE("set creates intermediate objects and overwrites values", "[core][record]") {
  record r;
  CHECK(r.content() == json::object());
  REQUIRE(r.set(path(".a.b.c"), 1));
  CHECK(r.content() == json::parse(R"({"a": {"b": {"c": 1}}})"));
  REQUIRE(r.set(path(".a.b.d"), "x"));
  REQUIRE(r.set(path(".a.b.c"), json::array({1, 2})));
  CHECK(r.content() == json::parse(R"({"a": {"b": {"c": [1, 2], "d": "x"}}})"));
  REQUIRE(r.set(path(R"(."odd key")"), true));
  CHECK(r.content()["odd key"] == true);
}

TEST_CASE("set turns a null step into an object", "[core][record]") {
  auto r = make(json{{"note", nullptr}});
  REQUIRE(r.set(path(".note.text"), "hi"));
  CHECK(r.content() == json::parse(R"({"note": {"text": "hi"}})"));
}

TEST_CASE("set replaces array elements by index, counting negatives from the end",
          "[core][record]") {
  auto r = make(orders());
  REQUIRE(r.set(path(".tags[1]"), "B"));
  REQUIRE(r.set(path(".tags[-1]"), "C"));
  CHECK(r.content()["tags"] == json::array({"a", "B", "C"}));
  auto nested = make(json::parse(R"({"items": [{"qty": 1}]})"));
  REQUIRE(nested.set(path(".items[0].qty"), 2));
  REQUIRE(nested.set(path(".items[0].price"), 3.5));
  CHECK(nested.content() == json::parse(R"({"items": [{"qty": 2, "price": 3.5}]})"));
}

TEST_CASE("set through a value that is not an object fails and changes nothing",
          "[core][record]") {
  auto r = make(orders());
  auto st = r.set(path(".amount.cents"), 1250);
  REQUIRE_FALSE(st);
  CHECK(st.err().code == errc::type_error);
  CHECK(st.err().message == "cannot set .amount.cents: a step before 'cents' is not an object");
  CHECK(r.content() == orders());

  auto through_array = r.set(path(".tags.first"), 1);
  REQUIRE_FALSE(through_array);
  CHECK(through_array.err().code == errc::type_error);
  CHECK(through_array.err().message
        == "cannot set .tags.first: a step before 'first' is not an object");
  CHECK(r.content() == orders());
}

TEST_CASE("set at an index that does not exist fails and changes nothing", "[core][record]") {
  auto r = make(orders());
  auto st = r.set(path(".tags[3]"), "d");
  REQUIRE_FALSE(st);
  CHECK(st.err().code == errc::type_error);
  CHECK(st.err().message == "cannot set .tags[3]: index 3 does not exist");
  auto neg = r.set(path(".tags[-4]"), "d");
  REQUIRE_FALSE(neg);
  CHECK(neg.err().message == "cannot set .tags[-4]: index -4 does not exist");
  auto into_object = r.set(path(".user[0]"), "d");
  REQUIRE_FALSE(into_object);
  CHECK(into_object.err().message == "cannot set .user[0]: index 0 does not exist");
  CHECK(r.content() == orders());
}

TEST_CASE("a failed set through a missing field leaves no field behind", "[core][record]") {
  // `.missing` does not exist, so `.missing[0]` cannot be set; the record must
  // not gain a `"missing": null` on the way.
  auto r = make(orders());
  auto st = r.set(path(".missing[0]"), 1);
  REQUIRE_FALSE(st);
  CHECK(st.err().message == "cannot set .missing[0]: index 0 does not exist");
  CHECK(r.content() == orders());
  auto deep = r.set(path(".x.y[2]"), 1);
  REQUIRE_FALSE(deep);
  CHECK(deep.err().message == "cannot set .x.y[2]: index 2 does not exist");
  CHECK(r.content() == orders());
}

TEST_CASE("a failed set through a null leaves the null a null", "[core][record]") {
  // `.note` is null and would become an object on the way to `.note.x`; the
  // index after it cannot exist, so nothing may change.
  auto r = make(orders());
  auto st = r.set(path(".note.x[0]"), 1);
  REQUIRE_FALSE(st);
  CHECK(st.err().message == "cannot set .note.x[0]: index 0 does not exist");
  auto blocked = r.set(path(".user.more.name.first"), 1);
  REQUIRE(blocked); // .user.more is created: a set that works still works
  auto through_string = r.set(path(".user.more.name.first.x"), 2);
  REQUIRE_FALSE(through_string);
  CHECK(through_string.err().message
        == "cannot set .user.more.name.first.x: a step before 'x' is not an object");
  CHECK(r.content()["user"] == json::parse(R"({"name": "ann", "age": 31,
                                               "more": {"name": {"first": 1}}})"));
  CHECK(r.content()["note"].is_null());
}

TEST_CASE("the whole record can be replaced only by an object", "[core][record]") {
  auto r = make(orders());
  REQUIRE(r.set(path("."), json{{"only", 1}}));
  CHECK(r.content() == json{{"only", 1}});
  auto st = r.set(path("."), json::array({1}));
  REQUIRE_FALSE(st);
  CHECK(st.err().code == errc::type_error);
  CHECK(st.err().message == "the whole record can only be set to an object");
  CHECK(r.content() == json{{"only", 1}});
}

// -- record: rename -------------------------------------------------------------

TEST_CASE("rename moves a value to a new name", "[core][record]") {
  auto r = make(orders());
  auto moved = r.rename(path("user"), path("customer"));
  REQUIRE(moved.has_value());
  CHECK(*moved == true);
  CHECK_FALSE(r.content().contains("user"));
  CHECK(r.content()["customer"] == json::parse(R"({"name": "ann", "age": 31})"));
}

TEST_CASE("rename creates nested targets and moves nested sources", "[core][record]") {
  auto r = make(orders());
  REQUIRE(*r.rename(path(".user.name"), path(".who.first.name")));
  CHECK(r.content()["user"] == json{{"age", 31}});
  CHECK(r.content()["who"] == json::parse(R"({"first": {"name": "ann"}})"));
  // Into its own subtree: the value is taken out first, then set.
  REQUIRE(*r.rename(path(".amount"), path(".amount.value")));
  CHECK(r.content()["amount"] == json{{"value", 12.5}});
}

TEST_CASE("rename overwrites an existing target", "[core][record]") {
  auto r = make(json{{"a", 1}, {"b", 2}});
  REQUIRE(*r.rename(path(".a"), path(".b")));
  CHECK(r.content() == json{{"b", 1}});
}

TEST_CASE("rename of a missing source returns false and leaves the record unchanged",
          "[core][record]") {
  auto r = make(orders());
  for (auto from : {".missing", ".user.missing", ".tags[5]", ".amount.x", ".nothing.deeper"}) {
    INFO(from);
    auto moved = r.rename(path(from), path(".target"));
    REQUIRE(moved.has_value());
    CHECK(*moved == false);
    CHECK(r.content() == orders());
  }
}

TEST_CASE("rename of an array element moves the value out of the array", "[core][record]") {
  // Like drop, the element is removed: the elements after it move up.
  auto r = make(orders());
  REQUIRE(*r.rename(path(".tags[0]"), path(".first_tag")));
  CHECK(r.content()["first_tag"] == "a");
  CHECK(r.content()["tags"] == json::parse(R"(["b", "c"])"));
  REQUIRE(*r.rename(path(".tags[-1]"), path(".last_tag")));
  CHECK(r.content()["last_tag"] == "c");
  CHECK(r.content()["tags"] == json::parse(R"(["b"])"));
  // Within the same array: taken out first, then set at the index that is
  // then there.
  auto s = make(orders());
  REQUIRE(*s.rename(path(".tags[0]"), path(".tags[1]")));
  CHECK(s.content()["tags"] == json::parse(R"(["b", "a"])"));
}

TEST_CASE("rename of a path to itself changes nothing", "[core][record]") {
  auto r = make(orders());
  CHECK(*r.rename(path(".tags[0]"), path(".tags[0]")));
  CHECK(*r.rename(path(".user.name"), path(".user.name")));
  CHECK(r.content() == orders());
  CHECK_FALSE(*r.rename(path(".missing"), path(".missing")));
  CHECK(r.content() == orders());
}

TEST_CASE("rename of the whole record is an invalid_config error", "[core][record]") {
  auto r = make(orders());
  auto from_root = r.rename(path("."), path(".x"));
  REQUIRE_FALSE(from_root.has_value());
  CHECK(from_root.err().code == errc::invalid_config);
  CHECK(from_root.err().message == "rename needs two field paths, not the whole record");
  auto to_root = r.rename(path(".id"), path("."));
  REQUIRE_FALSE(to_root.has_value());
  CHECK(to_root.err().code == errc::invalid_config);
  CHECK(r.content() == orders());
}

TEST_CASE("a rename whose target cannot be set fails without losing the value",
          "[core][record]") {
  // `.amount` is a number, so `.amount.x` cannot be set. The source must still
  // be there afterwards: a failed record goes to the dead-letter file as it was.
  auto r = make(orders());
  auto moved = r.rename(path(".id"), path(".amount.x"));
  REQUIRE_FALSE(moved.has_value());
  CHECK(moved.err().code == errc::type_error);
  CHECK(moved.err().message == "cannot set .amount.x: a step before 'x' is not an object");
  CHECK(r.content() == orders());
}

TEST_CASE("a rename of an array element whose target cannot be set puts the element back",
          "[core][record]") {
  auto r = make(orders());
  for (auto from : {".tags[0]", ".tags[1]", ".tags[-1]"}) {
    INFO(from);
    auto moved = r.rename(path(from), path(".amount.x"));
    REQUIRE_FALSE(moved.has_value());
    CHECK(r.content() == orders());
  }
  // Into the element's own array, at an index the removal made disappear.
  auto own = r.rename(path(".tags[0]"), path(".tags[2]"));
  REQUIRE_FALSE(own.has_value());
  CHECK(own.err().message == "cannot set .tags[2]: index 2 does not exist");
  CHECK(r.content() == orders());
}

// -- record: drop ---------------------------------------------------------------

TEST_CASE("drop removes a field and says whether it did", "[core][record]") {
  auto r = make(orders());
  CHECK(r.drop(path(".note")));
  CHECK_FALSE(r.content().contains("note"));
  CHECK_FALSE(r.drop(path(".note")));
  CHECK(r.drop(path(".user.age")));
  CHECK(r.content()["user"] == json{{"name", "ann"}});
}

TEST_CASE("drop erases array elements, counting negatives from the end", "[core][record]") {
  auto r = make(orders());
  CHECK(r.drop(path(".tags[0]")));
  CHECK(r.content()["tags"] == json::array({"b", "c"}));
  CHECK(r.drop(path(".tags[-1]")));
  CHECK(r.content()["tags"] == json::array({"b"}));
  CHECK_FALSE(r.drop(path(".tags[1]")));
  CHECK_FALSE(r.drop(path(".tags[-2]")));
  CHECK(r.content()["tags"] == json::array({"b"}));
}

TEST_CASE("drop of what is not there changes nothing", "[core][record]") {
  auto r = make(orders());
  CHECK_FALSE(r.drop(path(".missing")));
  CHECK_FALSE(r.drop(path(".missing.deeper")));
  CHECK_FALSE(r.drop(path(".amount.x")));
  CHECK_FALSE(r.drop(path(".user[0]")));
  CHECK_FALSE(r.drop(path(".tags.x")));
  CHECK_FALSE(r.drop(path(".")));
  CHECK(r.content() == orders());
}

// -- record: keep ---------------------------------------------------------------

TEST_CASE("keep keeps only the given paths, nested ones inside their parents",
          "[core][record]") {
  auto r = make(orders());
  r.keep({path(".id"), path(".user.name"), path(".missing")});
  CHECK(r.content() == json::parse(R"({"id": 7, "user": {"name": "ann"}})"));
}

TEST_CASE("keep of a parent and its child keeps the whole parent", "[core][record]") {
  auto r = make(orders());
  r.keep({path(".user"), path(".user.name")});
  CHECK(r.content() == json::parse(R"({"user": {"name": "ann", "age": 31}})"));
}

TEST_CASE("keep of nothing that exists leaves an empty object", "[core][record]") {
  auto r = make(orders());
  r.keep({path(".missing")});
  CHECK(r.content() == json::object());
  auto all = make(orders());
  all.keep({path(".")});
  CHECK(all.content() == orders());
}

TEST_CASE("keep of an array element keeps it in an array", "[core][record]") {
  // As jq's pick(.tags[0]): {"tags": ["a"]}. It must not become "tags": null.
  auto r = make(orders());
  r.keep({path(".id"), path(".tags[0]")});
  CHECK(r.content() == json::parse(R"({"id": 7, "tags": ["a"]})"));
}

TEST_CASE("keep of a later array element pads the kept array with null", "[core][record]") {
  auto two = make(json::parse(R"({"tags": ["a", "b"]})"));
  two.keep({path(".tags[1]")});
  CHECK(two.content() == json::parse(R"({"tags": [null, "b"]})"));

  // A negative index counts from the end of the record's array.
  auto r = make(orders());
  r.keep({path(".tags[-2]")});
  CHECK(r.content() == json::parse(R"({"tags": [null, "b"]})"));

  // Several elements, in any order, fill their own slots.
  auto many = make(orders());
  many.keep({path(".tags[2]"), path(".tags[0]")});
  CHECK(many.content() == json::parse(R"({"tags": ["a", null, "c"]})"));

  // An index out of range keeps nothing, not even the array.
  auto none = make(orders());
  none.keep({path(".tags[3]"), path(".tags[-4]"), path(".user[0]")});
  CHECK(none.content() == json::object());
}

TEST_CASE("keep builds nested arrays and objects as the record has them", "[core][record]") {
  auto r = make(json::parse(R"({"m": [[1, 2], [3, 4, 5]],
                                "items": [{"sku": "x", "qty": 1}, {"sku": "y", "qty": 2}],
                                "other": 1})"));
  auto all = r;
  r.keep({path(".m[1][2]"), path(".items[1].sku")});
  CHECK(r.content() == json::parse(R"({"m": [null, [null, null, 5]],
                                       "items": [null, {"sku": "y"}]})"));
  // A whole array and one of its elements: the array stays whole, either way.
  auto whole = all;
  whole.keep({path(".items[0].qty"), path(".items"), path(".m[0]"), path(".m")});
  CHECK(whole.content() == json::parse(R"({"m": [[1, 2], [3, 4, 5]],
                                           "items": [{"sku": "x", "qty": 1},
                                                     {"sku": "y", "qty": 2}]})"));
}

// -- record: undoing sets and renames ---------------------------------------------

TEST_CASE("undoing sets newest first gives back the content exactly", "[core][record]") {
  auto r = make(orders());
  // One of each kind of change: overwrite, new key, new nested objects, a null
  // turned into an object, an array element, the whole record.
  std::vector<field_path> targets{path(".id"), path(".fresh"), path(".a.b.c"),
                                  path(".note.text"), path(".tags[-1]"), path(".user.age")};
  std::vector<record::change> log(targets.size());
  for (size_t i = 0; i < targets.size(); ++i)
    REQUIRE(r.set(targets[i], json{{"v", i}}, log[i]));
  CHECK(r.content() == json::parse(R"({"id": {"v": 0}, "fresh": {"v": 1},
                                       "a": {"b": {"c": {"v": 2}}},
                                       "note": {"text": {"v": 3}},
                                       "tags": ["a", "b", {"v": 4}], "amount": 12.5,
                                       "user": {"name": "ann", "age": {"v": 5}}})"));
  for (size_t i = log.size(); i-- > 0;)
    r.undo(std::move(log[i]));
  CHECK(r.content() == orders());

  auto whole_path = path(".");
  record::change whole;
  REQUIRE(r.set(whole_path, json{{"only", 1}}, whole));
  r.undo(std::move(whole));
  CHECK(r.content() == orders());
}

TEST_CASE("a failed set logs no change and undoing it does nothing", "[core][record]") {
  auto r = make(orders());
  auto target = path(".amount.cents");
  record::change c;
  REQUIRE_FALSE(r.set(target, 1, c));
  CHECK_FALSE(c.applied);
  r.undo(std::move(c));
  CHECK(r.content() == orders());
}

TEST_CASE("undoing renames puts values back where they were", "[core][record]") {
  auto r = make(orders());
  std::vector<std::pair<field_path, field_path>> renames{
    {path(".user.name"), path(".who.first")}, // nested, creates its target
    {path(".tags[0]"), path(".id")},           // array element over an existing key
    {path(".tags[-1]"), path(".tags[0]")},     // within one array
    {path(".amount"), path(".amount.value")},  // into its own subtree
    {path(".missing"), path(".x")},            // nothing to move
    {path(".note"), path(".note")},            // onto itself
  };
  std::vector<record::change> log(renames.size());
  for (size_t i = 0; i < renames.size(); ++i)
    REQUIRE(r.rename(renames[i].first, renames[i].second, log[i]).has_value());
  CHECK(r.content() == json::parse(R"({"id": "a", "who": {"first": "ann"},
                                       "user": {"age": 31}, "tags": ["c"],
                                       "amount": {"value": 12.5}, "note": null})"));
  CHECK_FALSE(log[4].applied);
  CHECK_FALSE(log[5].applied);
  for (size_t i = log.size(); i-- > 0;)
    r.undo(std::move(log[i]));
  CHECK(r.content() == orders());
}

// -- record: serialize, identity ------------------------------------------------

TEST_CASE("serialize appends compact JSON with keys in nlohmann's (sorted) order",
          "[core][record]") {
  auto r = make(json::parse(R"({"b": [1, 2.5, "x"], "a": {"z": null, "y": true}, "c": -3})"));
  std::string out = "prefix:";
  r.serialize(out);
  CHECK(out == R"(prefix:{"a":{"y":true,"z":null},"b":[1,2.5,"x"],"c":-3})");
  std::string empty;
  record{}.serialize(empty);
  CHECK(empty == "{}");
}

TEST_CASE("serialize keeps UTF-8, escapes control characters and replaces invalid bytes",
          "[core][record]") {
  auto r = make(json{{"s", "caf\xC3\xA9\n\"q\""}, {"bad", std::string{"a\xFF" "b"}}});
  std::string out;
  REQUIRE_NOTHROW(r.serialize(out));
  CHECK(out == "{\"bad\":\"a\xEF\xBF\xBD" "b\",\"s\":\"caf\xC3\xA9\\n\\\"q\\\"\"}");
}

TEST_CASE("a record keeps its id, metadata and lineage apart from its content",
          "[core][record]") {
  lineage_trail trail;
  trail.origin = source_position{2, 1, 40};
  record r{"orders.csv:40", json{{"a", 1}}, trail};
  CHECK(r.id() == "orders.csv:40");
  r.id("other");
  CHECK(r.id() == "other");
  CHECK(r.meta().is_null());
  r.meta()["route"] = "food";
  r.stamp(3, 1000);
  r.stamp(5, 2000);
  CHECK(r.trail().origin.source == 2);
  CHECK(r.trail().origin.file == 1);
  CHECK(r.trail().origin.line == 40);
  REQUIRE(r.trail().hops.size() == 2);
  CHECK(r.trail().hops[0].stage == 3);
  CHECK(r.trail().hops[0].at_us == 1000);
  CHECK(r.trail().hops[1].stage == 5);
  CHECK(r.content() == json{{"a", 1}});
  std::string out;
  r.serialize(out);
  CHECK(out == R"({"a":1})");
  record copy{r};
  CHECK(copy.meta()["route"] == "food");
  CHECK(copy.trail().hops.size() == 2);
}

// -- diagnostics ----------------------------------------------------------------

TEST_CASE("a diagnostic renders as file: path: message (hint: ...)", "[core][diagnostic]") {
  diagnostic d{diagnostic::level::error, "orders.json", "/stages/3/params/when",
               "column 9: expected an expression after '&&'", "finish the condition"};
  CHECK(d.render()
        == "orders.json: /stages/3/params/when: column 9: expected an expression after '&&' "
           "(hint: finish the condition)");
  d.hint.clear();
  CHECK(d.render() == "orders.json: /stages/3/params/when: column 9: expected an expression after '&&'");
  d.file.clear();
  CHECK(d.render() == "/stages/3/params/when: column 9: expected an expression after '&&'");
  d.json_path.clear();
  d.file = "orders.json";
  CHECK(d.render() == "orders.json: column 9: expected an expression after '&&'");
  d.severity = diagnostic::level::warning;
  d.json_path = "/dlq";
  CHECK(d.render() == "orders.json: /dlq: warning: column 9: expected an expression after '&&'");
}

TEST_CASE("diagnostics carry the file and keep the order they were found in",
          "[core][diagnostic]") {
  diagnostics diags{"p.json"};
  CHECK_FALSE(diags.has_errors());
  CHECK(diags.render().empty());
  diags.error("/stages/0/type", "unknown stage type 'mapp'").hint = "known types: 'map'";
  diags.warning("/stages/1", "slow");
  diags.error("/name", "missing or empty pipeline name");
  REQUIRE(diags.all().size() == 3);
  CHECK(diags.all()[0].file == "p.json");
  CHECK(diags.all()[0].severity == diagnostic::level::error);
  CHECK(diags.all()[1].severity == diagnostic::level::warning);
  CHECK(diags.has_errors());
  CHECK(diags.render()
        == "p.json: /stages/0/type: unknown stage type 'mapp' (hint: known types: 'map')\n"
           "p.json: /stages/1: warning: slow\n"
           "p.json: /name: missing or empty pipeline name\n");
}

TEST_CASE("warnings alone are not errors", "[core][diagnostic]") {
  diagnostics diags;
  diags.warning("/a", "x");
  CHECK_FALSE(diags.has_errors());
  CHECK(diags.render() == "/a: warning: x\n");
}

TEST_CASE("the same diagnostic added twice is kept once", "[core][diagnostic]") {
  diagnostics diags{"p.json"};
  diags.error("/stages/2/params/x", "unknown param 'x'").hint = "known params: when";
  auto& again = diags.error("/stages/2/params/x", "unknown param 'x'");
  CHECK(&again == &diags.all()[0]);
  CHECK(again.hint == "known params: when");
  CHECK(diags.all().size() == 1);
  // A different path, message or severity is a different diagnostic.
  diags.error("/stages/3/params/x", "unknown param 'x'");
  diags.error("/stages/2/params/x", "unknown param 'y'");
  diags.warning("/stages/2/params/x", "unknown param 'x'");
  CHECK(diags.all().size() == 4);
  CHECK(diags.render()
        == "p.json: /stages/2/params/x: unknown param 'x' (hint: known params: when)\n"
           "p.json: /stages/3/params/x: unknown param 'x'\n"
           "p.json: /stages/2/params/x: unknown param 'y'\n"
           "p.json: /stages/2/params/x: warning: unknown param 'x'\n");
}

TEST_CASE("a file set later names the diagnostics added after it", "[core][diagnostic]") {
  diagnostics diags;
  diags.error("/a", "first");
  diags.file("later.json");
  diags.error("/b", "second");
  CHECK(diags.file() == "later.json");
  CHECK(diags.render() == "/a: first\nlater.json: /b: second\n");
}

// -- result, status, SLUICE_TRY ---------------------------------------------------

namespace {

result<int> half(int x) {
  if (x % 2 != 0)
    return error{errc::runtime_error, std::to_string(x) + " is odd"};
  return x / 2;
}

// Quarter via two halvings; returns the first error.
result<int> quarter(int x, int& steps) {
  SLUICE_TRY(h, half(x));
  ++steps;
  SLUICE_TRY(q, half(h));
  ++steps;
  return q;
}

status check_positive(int x) {
  if (x <= 0)
    return error{errc::invalid_config, "not positive"};
  return status::ok();
}

} // namespace

TEST_CASE("result holds a value or an error", "[core][result]") {
  auto ok = half(8);
  REQUIRE(ok);
  CHECK(ok.has_value());
  CHECK(*ok == 4);
  auto bad = half(3);
  REQUIRE_FALSE(bad);
  CHECK(bad.err().code == errc::runtime_error);
  CHECK(bad.err().message == "3 is odd");
  result<std::string> s{std::string{"abc"}};
  CHECK(s->size() == 3);
}

TEST_CASE("SLUICE_TRY returns the first error and continues on values", "[core][result]") {
  int steps = 0;
  auto q = quarter(8, steps);
  REQUIRE(q);
  CHECK(*q == 2);
  CHECK(steps == 2);
  steps = 0;
  auto first = quarter(3, steps);
  REQUIRE_FALSE(first);
  CHECK(first.err().message == "3 is odd");
  CHECK(steps == 0);
  auto second = quarter(6, steps);
  REQUIRE_FALSE(second);
  CHECK(second.err().message == "3 is odd");
  CHECK(steps == 1);
}

TEST_CASE("status is ok by default and carries an error otherwise", "[core][result]") {
  CHECK(static_cast<bool>(status{}));
  CHECK(static_cast<bool>(check_positive(1)));
  auto st = check_positive(0);
  REQUIRE_FALSE(st);
  CHECK(st.err().code == errc::invalid_config);
  CHECK(st.err().message == "not positive");
}

TEST_CASE("every error class has a name", "[core][result]") {
  CHECK(std::string{to_string(errc::invalid_config)} == "invalid_config");
  CHECK(std::string{to_string(errc::parse_error)} == "parse_error");
  CHECK(std::string{to_string(errc::type_error)} == "type_error");
  CHECK(std::string{to_string(errc::schema_violation)} == "schema_violation");
  CHECK(std::string{to_string(errc::io_error)} == "io_error");
  CHECK(std::string{to_string(errc::runtime_error)} == "runtime_error");
}
