// How fast the lineage store takes events: a 4-stage run of N records
// (default 1,000,000: ~4M events) appended in batches of 250, 1000 and 8192
// events (8192: what the recorder gathers at most before a write). Prints
// events/second. (Repeats are the recorder's to drop, by batch number, before
// the store; the store appends what it is given.)
//
//   bench_lineage_store [RECORDS] [DIR]

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>

#include "lineage_bench_data.hpp"

using namespace sluice;
namespace fs = std::filesystem;

int main(int argc, char** argv) {
  uint64_t records = argc > 1 ? std::strtoull(argv[1], nullptr, 10) : 1'000'000;
  fs::path dir = argc > 2 ? fs::path{argv[2]} : fs::temp_directory_path();
  printf("%-30s %10s %8s %8s %12s %12s %8s\n", "case", "events", "wall s", "cpu s",
         "events/s wall", "events/s cpu", "file MB");
  for (size_t batch : {250, 1000, 8192}) {
    auto path = dir / ("lineage_store_bench_" + std::to_string(batch) + ".db");
    for (auto suffix : {"", "-wal", "-shm"})
      fs::remove(path.string() + suffix);
    auto store = lineage_store::open(path.string());
    if (!store) {
      fprintf(stderr, "%s\n", store.err().message.c_str());
      return 1;
    }
    auto run = (*store)->begin_run(bench::bench_run_info());
    if (!run) {
      fprintf(stderr, "%s\n", run.err().message.c_str());
      return 1;
    }
    auto mb = [&] {
      double bytes = 0;
      for (auto suffix : {"", "-wal"})
        if (fs::exists(path.string() + suffix))
          bytes += static_cast<double>(fs::file_size(path.string() + suffix));
      return bytes / 1e6;
    };
    auto report = [&](const std::string& what, int64_t n, const bench::stopwatch& t) {
      double wall = t.wall_s(), cpu = t.cpu_s();
      printf("%-30s %10lld %8.2f %8.2f %12.0f %12.0f %8.1f\n", what.c_str(),
             static_cast<long long>(n), wall, cpu, static_cast<double>(n) / wall,
             static_cast<double>(n) / cpu, mb());
    };
    bench::stopwatch t;
    auto n = bench::append_bench_run(**store, *run, records, batch);
    if (n < 0)
      return 1;
    report("append, batch " + std::to_string(batch), n, t);
    store->reset();
    for (auto suffix : {"", "-wal", "-shm"})
      fs::remove(path.string() + suffix);
  }
  return 0;
}
