#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "core/record.hpp"
#include "core/result.hpp"

namespace sluice {

/// Index of an operator's output port. 0 is the default (and, for most
/// kinds, the only) output; `route` numbers its routes 0..n-1 in the order
/// `outputs()` of its kind lists them.
using port_index = uint16_t;

/// Why a record left a stage without being emitted and without an error.
enum class disposition : uint8_t {
  filtered, ///< discarded on purpose by the stage's rule (filter, dedupe)
  folded,   ///< absorbed into the stage's state (aggregate)
  written,  ///< delivered to the outside world (sinks)
};

/// Where an operator puts what it produces. The stage actor implements it
/// (batching per port, counting, lineage stamping, the error policy); tests
/// use tests/support's recording emitter.
///
/// For every input record, an operator calls exactly one of these at least
/// once: `emit` (one or more times: route with all matches), `discard`, or
/// `fail`. The stage actor checks that, and a record nobody accounted for
/// fails the run's conservation check.
class emitter {
public:
  virtual ~emitter() = default;

  /// Sends a record on to output `port`.
  virtual void emit(record&& rec, port_index port = 0) = 0;

  /// The record ends here, on purpose.
  virtual void discard(const record& rec, disposition why) = 0;

  /// The record ends here, folded into the state that becomes this
  /// replica's output record number `output` (1, 2, ... in the order it
  /// emits them): an aggregate's group. Counts as discard(rec, folded); the
  /// stage actor also records, for lineage, that the output derives from
  /// it (docs/lineage.md).
  virtual void fold(const record& rec, uint64_t output) {
    (void) output;
    discard(rec, disposition::folded);
  }

  /// The record failed in this stage. The stage's `on_error` policy decides
  /// what happens: fail the run, drop it (counted) or dead-letter it with
  /// `err` as the reason.
  virtual void fail(record&& rec, error err) = 0;
};

/// The operator interface: what one stage replica does to records. Plain
/// C++, no actors: a unit test calls it directly.
///
/// Contract (the stage actor keeps these; an operator may rely on them):
/// 1. One instance per replica. All calls come from the one actor hosting
///    it, never concurrently; an operator needs no locks.
/// 2. `process` is called once per input record, in the order records
///    arrived on each input edge (edges of a fan-in interleave by batch).
/// 3. `end_batch` is called after the last record of each input batch, and
///    `tick` when `tick_interval_us()` (if non-zero) has passed since the
///    last tick; both may emit (window closes, flushes).
/// 4. `finish` is called exactly once, after every input is complete (end
///    of stream on every input edge); it emits what state remains
///    (aggregates). No `process` follows it.
/// 5. `commit` is called after `finish` once the whole run succeeded;
///    `abort` when it failed. Sinks make output visible in `commit` (rename
///    the temporary file); in `abort` they keep what they fully received
///    aside (e.g. `<path>.partial`), never under the final name, and return
///    a note saying where (or "" when there is nothing to say). Both are
///    called at most once, and only one of them.
/// 6. `start` is called once, when the run starts and before any record
///    arrives (not when a config is only validated): a sink opens its file
///    there, so a path that cannot be written fails the run before a record
///    moves.
/// 7. Operators never throw for bad data: a record-level problem goes to
///    `emitter::fail`. An exception escaping an operator is a bug and fails
///    the stage.
class op {
public:
  virtual ~op() = default;

  virtual status start() {
    return {};
  }

  virtual void process(record&& rec, emitter& out) = 0;

  virtual void end_batch(emitter&) {
    // nop by default
  }

  virtual int64_t tick_interval_us() const {
    return 0;
  }

  virtual void tick(int64_t /*now_us*/, emitter&) {
    // nop by default
  }

  virtual void finish(emitter&) {
    // nop by default
  }

  virtual status commit() {
    return {};
  }

  virtual std::string abort() {
    return {};
  }
};

using op_ptr = std::unique_ptr<op>;

} // namespace sluice
