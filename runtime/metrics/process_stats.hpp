#pragma once

#include <cstdint>
#include <string>

namespace sluice {

/// What the kernel says about this process (Linux /proc), for the node row
/// of the metrics snapshot. Fields it cannot read stay 0.
struct process_sample {
  double cpu_seconds = 0;      ///< user + system time so far
  uint64_t rss_bytes = 0;      ///< resident set size
  double start_time_s = 0;     ///< when the process started, seconds since the epoch
  uint32_t threads = 0;        ///< OS threads of the process
};

process_sample read_process_sample();

/// This machine's host name ("" if unknown).
std::string host_name();

} // namespace sluice
