// The view model of `sluice top` (apps/sluice/top/): table rows, sorting,
// filtering, expanding, formatting, layout, highlighting, the DAG and the
// status line. No terminal, no actors.

#include <catch2/catch.hpp>

#include <algorithm>

#include "top/console.hpp"
#include "top/format.hpp"
#include "top/table.hpp"

using namespace sluice;
using namespace sluice::top;

namespace {

stage_view stage(std::string id, std::string role, double in_s, double out_s, uint64_t in,
                 uint64_t out, uint64_t errors = 0) {
  stage_view v;
  v.id = std::move(id);
  v.role = std::move(role);
  v.type = v.role == "source" ? "source.generate" : "map";
  v.state = "running";
  v.in_per_s = in_s;
  v.out_per_s = out_s;
  v.totals.records_in = in;
  v.totals.records_out = out;
  v.totals.errors = errors;
  v.window = 4;
  return v;
}

/// Four stages in pipeline order, each column ordering them differently.
metrics_snapshot sample() {
  metrics_snapshot s;
  s.pipeline = "stream";
  s.status = "running";
  s.interval_ms = 1000;
  s.records_read = 123456;
  s.in_flight = 512;
  s.node.uptime_s = 3725;
  s.node.cpu_percent = 37.4;
  s.node.rss_bytes = 45u << 20;
  s.node.pid = 4242;
  auto a = stage("orders", "source", 0, 2000, 0, 120000);
  a.history = {1900, 2000, 2100, 2000};
  a.latency = {0.2, 0.4, 0.5, 10};
  a.utilization = 0.10;
  auto b = stage("big", "transform", 2000, 990, 120000, 60000, 3);
  b.parallelism = 2;
  b.totals.dead_lettered = 7;
  b.totals.restarts = 1;
  b.utilization = 0.55;
  b.latency = {1, 2.5, 3, 10};
  b.in_flight = 1;
  for (uint32_t r = 0; r < 2; ++r) {
    replica_view rep;
    rep.replica = r;
    rep.state = "running";
    rep.in_per_s = 1000;
    rep.out_per_s = 495;
    rep.totals.records_in = 60000;
    rep.window = 2;
    b.replicas.push_back(rep);
  }
  auto c = stage("per_category", "transform", 990, 2, 60000, 40);
  c.utilization = 0.05;
  c.latency = {4, 9, 12, 10};
  c.totals.dead_lettered = 1;
  c.in_flight = 3;
  auto d = stage("show", "sink", 2, 0, 40, 0);
  d.totals.written = 30;
  d.totals.restarts = 4;
  d.utilization = 0.90;
  d.latency = {0.1, 0.2, 0.3, 10};
  d.window = 0;
  d.history = {0, 0};
  d.state = "done";
  s.stages = {a, b, c, d};
  return s;
}

std::vector<std::string> order_of(const std::vector<table_row>& rows) {
  std::vector<std::string> ids;
  for (auto& r : rows)
    if (!r.replica)
      ids.push_back(r.stage);
  return ids;
}

std::vector<std::string> sorted_by(column c, bool reverse) {
  table_options o;
  o.sort = c;
  o.reverse = reverse;
  return order_of(table_rows(sample(), o));
}

using ids = std::vector<std::string>;

} // namespace

TEST_CASE("the table keeps pipeline order until a sort column is chosen", "[top]") {
  CHECK(order_of(table_rows(sample(), {})) == ids{"orders", "big", "per_category", "show"});
  table_options o;
  o.reverse = true;
  CHECK(order_of(table_rows(sample(), o)) == ids{"show", "per_category", "big", "orders"});
}

TEST_CASE("each column sorts largest or worst first and reverses", "[top]") {
  CHECK(sorted_by(column::stage, false) == ids{"big", "orders", "per_category", "show"});
  CHECK(sorted_by(column::stage, true) == ids{"show", "per_category", "orders", "big"});
  CHECK(sorted_by(column::in_rate, false) == ids{"big", "per_category", "show", "orders"});
  CHECK(sorted_by(column::in_rate, true) == ids{"orders", "show", "per_category", "big"});
  CHECK(sorted_by(column::out_rate, false) == ids{"orders", "big", "per_category", "show"});
  CHECK(sorted_by(column::out_rate, true) == ids{"show", "per_category", "big", "orders"});
  CHECK(sorted_by(column::in_total, false) == ids{"big", "per_category", "show", "orders"});
  CHECK(sorted_by(column::out_total, false) == ids{"orders", "big", "per_category", "show"});
  CHECK(sorted_by(column::out_total, true) == ids{"show", "per_category", "big", "orders"});
  auto rows = table_rows(sample(), {});
  CHECK(rows[3].cells[static_cast<size_t>(column::out_total)] == "30"); // a sink's writes
  CHECK(sorted_by(column::errors, false).front() == "big");
  CHECK(sorted_by(column::dlq, false) == ids{"big", "per_category", "orders", "show"});
  CHECK(sorted_by(column::dlq, true) == ids{"orders", "show", "per_category", "big"});
  CHECK(sorted_by(column::restarts, false) == ids{"show", "big", "orders", "per_category"});
  CHECK(sorted_by(column::in_flight, false) == ids{"per_category", "big", "orders", "show"});
  CHECK(sorted_by(column::util, false) == ids{"show", "big", "orders", "per_category"});
  CHECK(sorted_by(column::util, true) == ids{"per_category", "orders", "big", "show"});
  CHECK(sorted_by(column::p95, false) == ids{"per_category", "big", "orders", "show"});
  CHECK(sorted_by(column::trend, false) == ids{"orders", "big", "per_category", "show"});
}

TEST_CASE("sorting by state puts failing stages first", "[top]") {
  auto s = sample();
  s.stages[2].state = "failing";
  s.stages[1].state = "backpressured";
  table_options o;
  o.sort = column::state;
  CHECK(order_of(table_rows(s, o)) == ids{"per_category", "big", "orders", "show"});
  o.reverse = true;
  CHECK(order_of(table_rows(s, o)) == ids{"show", "orders", "big", "per_category"});
}

TEST_CASE("the s key cycles the sort column and S reverses it", "[top]") {
  console c{"127.0.0.1:7464", true};
  c.update(sample(), 1);
  CHECK_FALSE(c.options().sort);
  c.press('s');
  REQUIRE(c.options().sort);
  CHECK(*c.options().sort == column::stage);
  c.press('s');
  CHECK(*c.options().sort == column::state);
  c.press('<');
  CHECK(*c.options().sort == column::stage);
  c.press('S');
  CHECK(c.options().reverse);
  CHECK(order_of(c.rows()) == ids{"show", "per_category", "orders", "big"});
  for (size_t i = 0; i < column_count; ++i)
    c.press('>');
  CHECK_FALSE(c.options().sort); // back to pipeline order after every column
}

TEST_CASE("the filter keeps stages whose id contains the text", "[top]") {
  table_options o;
  o.filter = "e";
  CHECK(order_of(table_rows(sample(), o)) == ids{"orders", "per_category"});
  o.filter = "nothing";
  CHECK(table_rows(sample(), o).empty());

  console c{"127.0.0.1:7464", true};
  c.update(sample(), 1);
  c.press('/');
  CHECK(c.editing_filter());
  for (char ch : std::string{"cat"})
    c.press(ch);
  CHECK(order_of(c.rows()) == ids{"per_category"});
  c.press(key_backspace);
  CHECK(c.options().filter == "ca");
  c.press(key_enter);
  CHECK_FALSE(c.editing_filter());
  CHECK(c.options().filter == "ca");
  CHECK(c.status_lines(80).front().find("filter 'ca'") != std::string::npos);
  c.press(key_escape);
  CHECK(c.options().filter.empty());
  c.press('/');
  c.press('x');
  c.press(key_escape);
  CHECK_FALSE(c.editing_filter());
  CHECK(c.rows().size() == 4);
}

TEST_CASE("expanding a stage lists its replicas under it as a tree", "[top]") {
  table_options o;
  o.expanded = {"big"};
  auto rows = table_rows(sample(), o);
  REQUIRE(rows.size() == 6);
  CHECK(rows[1].stage == "big");
  CHECK(rows[1].expanded);
  CHECK(rows[1].cells[0] == "▾ big");
  CHECK(rows[2].replica == 0u);
  CHECK(rows[2].cells[0] == "  ├ #0");
  CHECK(rows[3].replica == 1u);
  CHECK(rows[3].cells[0] == "  └ #1");
  CHECK(rows[3].cells[static_cast<size_t>(column::in_rate)] == "1.0k");
  CHECK(rows[4].stage == "per_category");
  o.utf8 = false;
  rows = table_rows(sample(), o);
  CHECK(rows[1].cells[0] == "- big");
  CHECK(rows[3].cells[0] == "  `-#1");

  console c{"127.0.0.1:7464", true};
  c.update(sample(), 1);
  c.press(key_down);
  CHECK(c.selected_stage() == "big");
  c.press('e');
  CHECK(c.rows().size() == 6);
  c.press('j');
  CHECK(c.selected_replica() == 0u);
  c.press(key_enter); // collapses the stage of the selected replica
  CHECK(c.rows().size() == 4);
  CHECK(c.selected_stage() == "big");
  CHECK_FALSE(c.selected_replica());
}

TEST_CASE("numbers fit their columns", "[top]") {
  CHECK(format_count(0) == "0");
  CHECK(format_count(999) == "999");
  CHECK(format_count(1000) == "1.0k");
  CHECK(format_count(1234) == "1.2k");
  CHECK(format_count(12345) == "12k");
  CHECK(format_count(123456) == "123k");
  CHECK(format_count(999999) == "1.0M");
  CHECK(format_count(3.4e6) == "3.4M");
  CHECK(format_count(5.6e9) == "5.6G");
  CHECK(format_rate(0) == "0");
  CHECK(format_rate(0.5) == "0.5");
  CHECK(format_rate(3) == "3");
  CHECK(format_rate(2000) == "2.0k");
  CHECK(format_latency_ms(0.85, 1) == "850us");
  CHECK(format_latency_ms(3.42, 1) == "3.4ms");
  CHECK(format_latency_ms(123, 1) == "123ms");
  CHECK(format_latency_ms(1234, 1) == "1.2s");
  CHECK(format_latency_ms(5, 0) == "-");
  CHECK(format_bytes(512) == "512B");
  CHECK(format_bytes(45u << 20) == "45M");
  CHECK(format_uptime(42) == "42s");
  CHECK(format_uptime(303) == "5m03s");
  CHECK(format_uptime(3725) == "1h02m");
  CHECK(format_uptime(3 * 86400 + 4 * 3600) == "3d04h");
  CHECK(format_latency_ms(1'020'000, 1) == "17m");
  for (double v = 1; v < 1e15; v *= 1.7) {
    CHECK(format_count(v).size() <= 4);
    CHECK(format_rate(v / 100).size() <= 4);
    CHECK(format_latency_ms(v / 1000, 1).size() <= 6);
  }
}

TEST_CASE("a sparkline scales the history to its largest value", "[top]") {
  CHECK(sparkline({0, 1, 2, 3, 4, 5, 6, 7}, 8, true) == "▁▂▃▄▅▆▇█");
  CHECK(sparkline({0, 7}, 2, false) == "_#");
  CHECK(sparkline({5, 5}, 4, true) == "  ██");
  CHECK(sparkline({1, 2, 3, 4, 100}, 3, false) == "..#");
  CHECK(sparkline({}, 3, true) == "   ");
  CHECK(sparkline({0, 0, 0}, 3, true) == "▁▁▁");
  CHECK(display_width(sparkline({1, 2, 3}, 10, true)) == 10);
}

TEST_CASE("the layout fits 80, 40 and 200 columns without wrapping", "[top]") {
  auto s = sample();
  s.stages[2].id = "a_stage_with_a_rather_long_name_indeed";
  table_options o;
  o.expanded = {"big"};
  for (bool utf8 : {true, false}) {
    o.utf8 = utf8;
    auto rows = table_rows(s, o);
    for (int width : {200, 120, 80, 60, 40, 20, 12}) {
      auto l = layout_table(width, rows);
      CHECK(display_width(render_header(l, o, width, utf8)) <= width);
      for (auto& r : rows)
        CHECK(display_width(render_row(r, l, width, utf8)) <= width);
    }
  }
  auto has = [](const table_layout& l, column c) {
    return std::any_of(l.slots.begin(), l.slots.end(), [&](auto& sl) { return sl.col == c; });
  };
  auto rows = table_rows(sample(), {});
  auto wide = layout_table(200, rows);
  CHECK(wide.slots.size() == column_count);
  auto l80 = layout_table(80, rows);
  CHECK(has(l80, column::trend));
  CHECK(has(l80, column::p95));
  CHECK_FALSE(has(l80, column::in_total));
  auto l40 = layout_table(40, rows);
  CHECK(has(l40, column::stage));
  CHECK(has(l40, column::state));
  CHECK(has(l40, column::out_rate));
  CHECK_FALSE(has(l40, column::trend));
  // The stage id is never cut at 80 columns for ids of ordinary length.
  auto line = render_row(rows[2], l80, 80, true);
  CHECK(line.find("per_category") != std::string::npos);
}

TEST_CASE("the whole screen is exactly its height and never wider than its width", "[top]") {
  console c{"127.0.0.1:7464", true};
  auto s = sample();
  s.events = {{1, "pipeline_started", "", "4 stages"}, {2, "stage_started", "big", ""}};
  c.update(s, 1);
  for (auto [w, h] : {std::pair{80, 24}, {100, 30}, {40, 10}, {200, 60}, {20, 5}}) {
    for (char view : {'x', 'd', '?'}) {
      console v = c;
      if (view != 'x')
        v.press(view);
      auto frame = v.compose(w, h);
      CHECK(frame.size() == static_cast<size_t>(h));
      for (auto& line : frame)
        CHECK(display_width(line.text) <= w);
    }
  }
  auto frame = c.compose(80, 24);
  CHECK(frame[0].text.find("stream") != std::string::npos);
  CHECK(frame[0].text.find("up 1h02m") != std::string::npos);
  CHECK(frame[0].text.find("read 123k") != std::string::npos);
  CHECK(frame[0].text.find("in flight 512") != std::string::npos);
  CHECK(frame[1].text.find("cpu 37%") != std::string::npos);
  CHECK(frame[1].text.find("rss 45M") != std::string::npos);
  CHECK(frame[2].st == style::title);
  CHECK(frame[3].selected);
  CHECK(frame[3].text.find("orders") != std::string::npos);
}

TEST_CASE("calls, their cost and the rate limits get a header line of their own", "[top]") {
  console c{"127.0.0.1:7464", true};
  auto s = sample();
  c.update(s, 1);
  CHECK(c.header_lines(120).size() == 2); // no calling stage, no limit: no line
  s.stages[1].totals.calls = 1500;
  s.stages[1].totals.call_failures = 3;
  s.stages[1].totals.prompt_tokens = 40000;
  s.stages[1].totals.completion_tokens = 2000;
  s.stages[1].totals.cost_usd = 7.456;
  rate_limit_view llm;
  llm.name = "llm";
  llm.max_concurrency = 4;
  llm.in_use = 4;
  llm.waiting = 12;
  s.rate_limits.push_back(llm);
  c.update(s, 2);
  auto lines = c.header_lines(120);
  REQUIRE(lines.size() == 3);
  CHECK_THAT(lines[2], Catch::Contains("calls 1.5k (3 failed)"));
  CHECK_THAT(lines[2], Catch::Contains("tokens 42k  cost $7.46"));
  CHECK_THAT(lines[2], Catch::Contains("limit llm: 4/4 in use, 12 waiting"));
  auto frame = c.compose(80, 24);
  CHECK(frame.size() == 24);
  CHECK(frame[3].st == style::title); // the table follows the three header lines
}

TEST_CASE("backpressured and failing stages are highlighted", "[top]") {
  auto s = sample();
  s.stages[0].state = "backpressured";
  s.stages[1].in_flight = 4; // its window is full
  s.stages[2].state = "failing";
  auto rows = table_rows(s, {});
  CHECK(rows[0].hl == highlight::backpressured);
  CHECK(rows[1].hl == highlight::backpressured);
  CHECK(rows[2].hl == highlight::failing);
  CHECK(rows[3].hl == highlight::done);
  s.stages[2].state = "failed";
  CHECK(table_rows(s, {})[2].hl == highlight::failing);

  // Errors rising between two pictures mark a running stage as failing.
  console c{"127.0.0.1:7464", true};
  auto calm = sample();
  calm.sequence = 1;
  c.update(calm, 1);
  CHECK(c.rows()[1].hl == highlight::normal);
  auto worse = calm;
  worse.sequence = 2;
  worse.stages[1].totals.errors += 5;
  c.update(worse, 2);
  CHECK(c.rows()[1].hl == highlight::failing);
  c.update(worse, 3); // the same picture again (polled faster than the run samples)
  CHECK(c.rows()[1].hl == highlight::failing);
  worse.sequence += 1;
  c.update(worse, 4); // a new picture without new errors
  CHECK(c.rows()[1].hl == highlight::normal);
  auto lines = c.compose(80, 24);
  CHECK(std::any_of(lines.begin(), lines.end(), [](auto& l) { return l.st == style::done; }));
}

TEST_CASE("the DAG view sums replica edges per stage pair in pipeline order", "[top]") {
  auto s = sample();
  auto edge = [](std::string from, uint32_t fr, std::string to, uint32_t tr, uint64_t n,
                 double rate, uint32_t flight, uint32_t window, std::string port = "") {
    edge_view e;
    e.from = std::move(from);
    e.from_replica = fr;
    e.to = std::move(to);
    e.to_replica = tr;
    e.records = n;
    e.per_s = rate;
    e.in_flight = flight;
    e.window = window;
    e.port = std::move(port);
    return e;
  };
  s.edges = {edge("orders", 0, "big", 0, 60000, 1000, 1, 4),
             edge("orders", 0, "big", 1, 60000, 1000, 3, 4),
             edge("big", 0, "per_category", 0, 30000, 500, 4, 4),
             edge("big", 1, "per_category", 0, 30000, 490, 4, 4),
             edge("big", 1, "dlq", 0, 7, 0.5, 0, 0, "error"),
             edge("per_category", 0, "show", 0, 40, 2, 0, 4)};
  std::reverse(s.edges.begin(), s.edges.end()); // the view lists them in pipeline order
  console c{"127.0.0.1:7464", true};
  c.update(s, 1);
  c.press('d');
  CHECK(c.dag_view());
  auto lines = c.dag_lines(80);
  REQUIRE(lines.size() == 5); // a title and four stage pairs
  CHECK(lines[0].text.find("EDGE") == 0);
  CHECK(lines[1].text.find("orders → big") == 0);
  CHECK(lines[1].text.find("2.0k") != std::string::npos);
  CHECK(lines[1].text.find("120k") != std::string::npos);
  CHECK(lines[1].text.find("4/8") != std::string::npos);
  CHECK(lines[2].text.find("big → per_category") == 0);
  CHECK(lines[2].text.find("990") != std::string::npos);
  CHECK(lines[2].st == style::backpressured);
  CHECK(lines[3].text.find("big.error → dlq") == 0);
  CHECK(lines[4].text.find("per_category → show") == 0);
  auto frame = c.compose(80, 24);
  CHECK(frame[2].text.find("EDGE") == 0);
}

TEST_CASE("the events pane shows the newest events last", "[top]") {
  auto s = sample();
  for (int i = 0; i < 8; ++i)
    s.events.push_back({1'700'000'000'000'000 + i, "stage_started", "s" + std::to_string(i), ""});
  console c{"127.0.0.1:7464", true};
  c.update(s, 1);
  auto lines = c.event_lines(80, 3);
  REQUIRE(lines.size() == 3);
  CHECK(lines[2].find("stage_started s7") != std::string::npos);
  CHECK(lines[0].find("s5") != std::string::npos);
  auto frame = c.compose(80, 24);
  CHECK(std::any_of(frame.begin(), frame.end(),
                    [](auto& l) { return l.text.find("── events") == 0; }));
  c.press('v');
  frame = c.compose(80, 24);
  CHECK(std::none_of(frame.begin(), frame.end(),
                     [](auto& l) { return l.text.find("events") != std::string::npos; }));
}

TEST_CASE("when the process is gone the last picture stays and the status line says so", "[top]") {
  console c{"127.0.0.1:7464", true};
  int64_t at = 1'700'000'000'000'000;
  c.update(sample(), at);
  c.set_link(link_state::gone, "retrying every 3 s");
  auto status = c.status_lines(200);
  REQUIRE(status.size() == 1);
  CHECK(status[0] == "pipeline process at 127.0.0.1:7464 is gone (last update "
                       + format_clock(at) + "); press q to quit; retrying every 3 s");
  auto narrow = c.status_lines(80);
  REQUIRE(narrow.size() == 2);
  CHECK(narrow[0].find("is gone (last update") != std::string::npos);
  CHECK(narrow[1].find("press q to quit") == 0);
  auto frame = c.compose(80, 24);
  CHECK(frame[23].st == style::alert);
  CHECK(frame[22].text.find("is gone") != std::string::npos);
  CHECK(frame[3].text.find("orders") != std::string::npos); // the last picture
  CHECK(c.press('q') == false);
}

TEST_CASE("pause keeps the picture until resumed", "[top]") {
  console c{"127.0.0.1:7464", true};
  c.update(sample(), 1);
  c.press('p');
  CHECK(c.paused());
  auto other = sample();
  other.pipeline = "changed";
  c.update(other, 2);
  CHECK(c.snapshot()->pipeline == "stream");
  CHECK(c.compose(80, 24)[0].text.find("PAUSED") != std::string::npos);
  c.press('p');
  c.update(other, 3);
  CHECK(c.snapshot()->pipeline == "changed");
}

TEST_CASE("help lists every key and any key closes it", "[top]") {
  console c{"127.0.0.1:7464", false};
  c.update(sample(), 1);
  c.press('?');
  CHECK(c.help_shown());
  auto frame = c.compose(80, 24);
  for (auto k : {"quit", "sort", "filter", "expand", "DAG", "events", "pause"})
    CHECK(std::any_of(frame.begin(), frame.end(),
                      [&](auto& l) { return l.text.find(k) != std::string::npos; }));
  CHECK(c.press('x'));
  CHECK_FALSE(c.help_shown());
}
