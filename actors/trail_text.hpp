#pragma once

#include <string>

#include "config/loader.hpp"
#include "core/record.hpp"

namespace sluice {

/// "data/orders.csv:12": where a record entered the pipeline.
std::string origin_text(const pipeline_plan& plan, const record& rec);

/// The record's hops as JSON for people: [{"stage": "check", "at": "2026-...Z"}].
json hops_json(const pipeline_plan& plan, const record& rec);

/// "2026-11-22T03:04:05.123Z" for microseconds since the epoch.
std::string iso_time(int64_t us);

} // namespace sluice
