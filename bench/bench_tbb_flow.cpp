// bench_tbb_flow IN OUT [THREADS]: the benchmark job as a oneTBB flow graph.
//
// The strongest simple alternative to sluice on one machine:
//
//   input_node (serial: read, cut 1000-line batches)
//     -> limiter_node (at most `tokens` batches in flight: bounded memory)
//     -> function_node, unlimited concurrency (parse, filter, map, serialise)
//     -> function_node, serial (write the batch's output bytes)
//     -> limiter's decrementer (gives the batch's token back)
//
// Batches are recycled through a pool, so after start-up no batch buffer is
// allocated. Output order follows completion order, not input order (the
// benchmark compares sorted outputs). THREADS defaults to 2, the machine the
// targets are set for; tbb::global_control caps the whole process at it.

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>

#include <tbb/concurrent_queue.h>
#include <tbb/flow_graph.h>
#include <tbb/global_control.h>

#include "bench_job.hpp"

namespace {

using namespace sluice::bench;

constexpr size_t batch_lines = 1000;

/// One batch: input lines joined by '\n', then the serialised output.
struct work_batch {
  std::string text;
  std::string out;
  job_counts counts;

  void clear() {
    text.clear();
    out.clear();
    counts = job_counts{};
  }
};

using batch_ptr = std::shared_ptr<work_batch>;

/// Runs the job on every line of a batch.
void process(work_batch& b) {
  const char* p = b.text.data();
  const char* end = p + b.text.size();
  while (p < end) {
    auto nl = static_cast<const char*>(std::memchr(p, '\n', static_cast<size_t>(end - p)));
    b.counts.add(run_job(std::string_view{p, static_cast<size_t>(nl - p)}, b.out));
    p = nl + 1;
  }
}

} // namespace

int main(int argc, char** argv) {
  if (argc != 3 && argc != 4) {
    std::fprintf(stderr, "usage: bench_tbb_flow IN OUT [THREADS]\n"
                         "runs filter .amount > 50 | map amount_cents, user->customer\n"
                         "as a oneTBB flow graph on THREADS threads (default 2)\n");
    return 2;
  }
  int threads = 2;
  if (argc == 4) {
    char* end = nullptr;
    long v = std::strtol(argv[3], &end, 10);
    if (*end != '\0' || v < 1 || v > 256) {
      std::fprintf(stderr, "bench_tbb_flow: THREADS must be 1 to 256, got '%s'\n", argv[3]);
      return 2;
    }
    threads = static_cast<int>(v);
  }
  std::FILE* in = std::fopen(argv[1], "rb");
  if (in == nullptr) {
    std::fprintf(stderr, "bench_tbb_flow: cannot open '%s': %s\n", argv[1],
                 std::strerror(errno));
    return 1;
  }
  std::FILE* out = std::fopen(argv[2], "wb");
  if (out == nullptr) {
    std::fprintf(stderr, "bench_tbb_flow: cannot open '%s' for writing: %s\n", argv[2],
                 std::strerror(errno));
    return 1;
  }

  tbb::global_control parallelism{tbb::global_control::max_allowed_parallelism,
                                  static_cast<size_t>(threads)};
  // Four batches per thread keep every worker busy while the writer drains;
  // the same order of magnitude as sluice's default window of 8.
  const size_t tokens = 4 * static_cast<size_t>(threads);

  line_reader reader{in};
  tbb::concurrent_queue<batch_ptr> pool;
  job_counts totals;
  bool write_failed = false;

  namespace flow = tbb::flow;
  flow::graph g;

  flow::input_node<batch_ptr> source{g, [&](tbb::flow_control& fc) -> batch_ptr {
    batch_ptr b;
    if (!pool.try_pop(b))
      b = std::make_shared<work_batch>();
    size_t n = 0;
    std::string_view line;
    while (n < batch_lines && reader.next(line)) {
      b->text.append(line);
      b->text.push_back('\n');
      ++n;
    }
    if (n == 0) {
      fc.stop();
      return nullptr;
    }
    return b;
  }};
  flow::limiter_node<batch_ptr> limiter{g, tokens};
  flow::function_node<batch_ptr, batch_ptr> worker{g, flow::unlimited, [](batch_ptr b) {
    process(*b);
    return b;
  }};
  flow::function_node<batch_ptr, flow::continue_msg> writer{
    g, flow::serial, [&](batch_ptr b) {
      if (!write_failed)
        write_failed = !write_all(out, b->out);
      totals.add(b->counts);
      b->clear();
      pool.push(std::move(b));
      return flow::continue_msg{};
    }};

  flow::make_edge(source, limiter);
  flow::make_edge(limiter, worker);
  flow::make_edge(worker, writer);
  flow::make_edge(writer, limiter.decrementer());
  source.activate();
  g.wait_for_all();

  write_failed = std::fclose(out) != 0 || write_failed;
  std::fclose(in);
  if (reader.failed()) {
    std::fprintf(stderr, "bench_tbb_flow: reading '%s' failed\n", argv[1]);
    return 1;
  }
  if (write_failed) {
    std::fprintf(stderr, "bench_tbb_flow: writing '%s' failed: %s\n", argv[2],
                 std::strerror(errno));
    return 1;
  }
  totals.print("bench_tbb_flow");
  return 0;
}
