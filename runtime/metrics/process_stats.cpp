#include "metrics/process_stats.hpp"

#include <fstream>
#include <sstream>
#include <string>

#include <unistd.h>

namespace sluice {

namespace {

/// Seconds since the epoch at which the machine booted (/proc/stat btime).
double boot_time_s() {
  std::ifstream in{"/proc/stat"};
  std::string key;
  while (in >> key) {
    if (key == "btime") {
      double t = 0;
      in >> t;
      return t;
    }
    in.ignore(1 << 20, '\n');
  }
  return 0;
}

} // namespace

process_sample read_process_sample() {
  process_sample out;
  auto ticks = static_cast<double>(sysconf(_SC_CLK_TCK));
  std::ifstream stat{"/proc/self/stat"};
  std::string line;
  if (ticks > 0 && std::getline(stat, line)) {
    // The command name (field 2) is in parentheses and may hold spaces:
    // count fields from the last ')'.
    auto close = line.rfind(')');
    if (close != std::string::npos) {
      std::istringstream rest{line.substr(close + 2)};
      std::string field;
      // Fields from 3 (state) on; utime 14, stime 15, num_threads 20, starttime 22.
      for (int i = 3; i <= 22 && rest >> field; ++i) {
        if (i == 14 || i == 15)
          out.cpu_seconds += std::stod(field) / ticks;
        else if (i == 20)
          out.threads = static_cast<uint32_t>(std::stoul(field));
        else if (i == 22)
          out.start_time_s = boot_time_s() + std::stod(field) / ticks;
      }
    }
  }
  std::ifstream statm{"/proc/self/statm"};
  uint64_t size = 0;
  uint64_t resident = 0;
  if (statm >> size >> resident)
    out.rss_bytes = resident * static_cast<uint64_t>(sysconf(_SC_PAGESIZE));
  return out;
}

std::string host_name() {
  char buf[256] = {};
  if (gethostname(buf, sizeof buf - 1) != 0)
    return {};
  return buf;
}

} // namespace sluice
