#pragma once

#include "ops/registry.hpp"

namespace sluice {

// One function per stage kind, each defined in its own ops/<kind>.cpp and
// listed once in registry.cpp.

stage_kind describe_source_file();     // ops/source_file.cpp
stage_kind describe_source_generate(); // ops/source_generate.cpp
stage_kind describe_source_dlq();      // ops/source_dlq.cpp
stage_kind describe_map();             // ops/map.cpp
stage_kind describe_filter();          // ops/filter.cpp
stage_kind describe_validate();        // ops/validate.cpp
stage_kind describe_route();           // ops/route.cpp
stage_kind describe_dedupe();          // ops/dedupe.cpp
stage_kind describe_aggregate();       // ops/aggregate.cpp
stage_kind describe_chaos();           // ops/chaos.cpp
stage_kind describe_http();            // ops/http.cpp
stage_kind describe_classify();        // ops/classify.cpp
stage_kind describe_sink_file();       // ops/sinks.cpp
stage_kind describe_sink_stdout();     // ops/sinks.cpp
stage_kind describe_sink_null();       // ops/sinks.cpp

} // namespace sluice
