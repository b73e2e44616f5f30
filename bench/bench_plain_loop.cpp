// bench_plain_loop IN OUT: the benchmark job as one single-threaded loop.
//
// The baseline a user would write by hand instead of a pipeline: read the
// file in 1 MiB chunks, cut lines without copying, parse each with
// nlohmann::json, filter, map, serialise into one output buffer and write it
// out in ~1 MiB pieces. No threads, no queues.

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>

#include "bench_job.hpp"

int main(int argc, char** argv) {
  using namespace sluice::bench;
  if (argc != 3) {
    std::fprintf(stderr, "usage: bench_plain_loop IN OUT\n"
                         "runs filter .amount > 50 | map amount_cents, user->customer\n");
    return 2;
  }
  std::FILE* in = std::fopen(argv[1], "rb");
  if (in == nullptr) {
    std::fprintf(stderr, "bench_plain_loop: cannot open '%s': %s\n", argv[1],
                 std::strerror(errno));
    return 1;
  }
  std::FILE* out = std::fopen(argv[2], "wb");
  if (out == nullptr) {
    std::fprintf(stderr, "bench_plain_loop: cannot open '%s' for writing: %s\n", argv[2],
                 std::strerror(errno));
    return 1;
  }

  constexpr size_t flush_bytes = 1u << 20;
  line_reader reader{in};
  job_counts counts;
  std::string buf;
  buf.reserve(flush_bytes + 4096);
  bool write_failed = false;
  std::string_view line;
  while (!write_failed && reader.next(line)) {
    counts.add(run_job(line, buf));
    if (buf.size() >= flush_bytes) {
      write_failed = !write_all(out, buf);
      buf.clear();
    }
  }
  if (!write_failed)
    write_failed = !write_all(out, buf);
  write_failed = std::fclose(out) != 0 || write_failed;
  std::fclose(in);

  if (reader.failed()) {
    std::fprintf(stderr, "bench_plain_loop: reading '%s' failed\n", argv[1]);
    return 1;
  }
  if (write_failed) {
    std::fprintf(stderr, "bench_plain_loop: writing '%s' failed: %s\n", argv[2],
                 std::strerror(errno));
    return 1;
  }
  counts.print("bench_plain_loop");
  return 0;
}
