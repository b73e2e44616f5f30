// How fast the lineage queries answer on a store of N records (default
// 1,000,000) x 4 stages, written through the store API: trace of a random
// id, find by stage and outcome (dead_lettered: 1% of records), find by
// outcome alone and by a time window, runs, graph. Prints a table of the
// median and the slowest of repeated calls, each on a fresh connection's
// first call too (cold: "first").
//
//   bench_lineage_query [RECORDS] [DIR]

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "lineage/query.hpp"
#include "lineage_bench_data.hpp"

using namespace sluice;
namespace fs = std::filesystem;

int main(int argc, char** argv) {
  uint64_t records = argc > 1 ? std::strtoull(argv[1], nullptr, 10) : 1'000'000;
  fs::path dir = argc > 2 ? fs::path{argv[2]} : fs::temp_directory_path();
  auto path = (dir / "lineage_query_bench.db").string();
  for (auto suffix : {"", "-wal", "-shm"})
    fs::remove(path + suffix);
  {
    auto store = lineage_store::open(path);
    if (!store) {
      fprintf(stderr, "%s\n", store.err().message.c_str());
      return 1;
    }
    auto run = (*store)->begin_run(bench::bench_run_info());
    bench::stopwatch t;
    auto n = bench::append_bench_run(**store, *run, records, 500);
    if (n < 0)
      return 1;
    (void) (*store)->end_run(*run, "ok", bench::bench_run_info().started_us + 60'000'000);
    printf("filled: %llu records, %lld events in %.1f s wall, %.1f s cpu (%.0f rows/s cpu), %.0f MB\n",
           static_cast<unsigned long long>(records), static_cast<long long>(n), t.wall_s(),
           t.cpu_s(), static_cast<double>(n) / t.cpu_s(),
           static_cast<double>(fs::file_size(path)) / 1e6);
  }
  auto q = lineage_query::open(path);
  if (!q) {
    fprintf(stderr, "%s\n", q.err().message.c_str());
    return 1;
  }
  std::mt19937_64 rng{42};
  std::uniform_int_distribution<uint64_t> pick{0, records - 1};
  struct query_case {
    const char* name;
    std::function<bool()> call;
  };
  auto ok = [](auto&& r) {
    if (!r)
      fprintf(stderr, "error: %s\n", r.err().message.c_str());
    return static_cast<bool>(r);
  };
  lineage_find_filter dead;
  dead.stage = "check";
  dead.outcome = lineage_outcome::dead_lettered;
  lineage_find_filter written;
  written.outcome = lineage_outcome::written;
  lineage_find_filter window;
  window.since_us = bench::bench_run_info().started_us + 5'000'000;
  window.until_us = *window.since_us + 1'000'000;
  lineage_find_filter file_dead = dead;
  file_dead.file = "orders-b";
  std::vector<query_case> cases = {
    {"trace RANDOM_ID", [&] { return ok(q->trace(std::to_string(100000 + pick(rng)))); }},
    {"find --stage check --outcome dead_lettered", [&] { return ok(q->find(dead)); }},
    {"find ... --file orders-b (counted)", [&] { return ok(q->find(file_dead)); }},
    {"find --outcome written", [&] { return ok(q->find(written)); }},
    {"find --since T --until T+1s", [&] { return ok(q->find(window)); }},
    {"runs", [&] { return ok(q->runs()); }},
    {"graph", [&] { return ok(q->graph()); }},
  };
  printf("\n%-44s %10s %10s %10s %8s\n", "query (1 run, 4 stages)", "first ms", "median ms",
         "max ms", "calls");
  for (auto& c : cases) {
    std::vector<double> ms;
    for (int i = 0; i < 21; ++i) {
      bench::stopwatch t;
      if (!c.call())
        return 1;
      ms.push_back(t.wall_s() * 1000);
    }
    double first = ms.front();
    std::sort(ms.begin(), ms.end());
    printf("%-44s %10.2f %10.2f %10.2f %8zu\n", c.name, first, ms[ms.size() / 2], ms.back(),
           ms.size());
  }
  auto t = q->find(dead);
  printf("\n(find dead_lettered: total %lld)\n", static_cast<long long>(t->total));
  return 0;
}
