#pragma once

// The console's view model: the latest metrics snapshot, what the user chose
// to see (sort, filter, expanded stages, views, pause), the state of the link
// to the pipeline process, and the screen composed as plain lines with a
// style each. No terminal here: screen.cpp draws the lines with ncurses,
// `sluice top --once` prints them, and tests read them.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "metrics/snapshot.hpp"
#include "top/table.hpp"

namespace sluice::top {

/// Keys beyond plain characters; the front end maps its key codes to these.
enum key : int {
  key_up = 0x10000,
  key_down,
  key_page_up,
  key_page_down,
  key_home,
  key_end,
  key_enter,
  key_escape,
  key_backspace,
};

/// How the console reaches the pipeline process.
enum class link_state {
  connecting,    ///< no snapshot yet
  live,          ///< the last request was answered
  not_answering, ///< the last request timed out; still trying
  gone,          ///< the process (or its connection) went away
};

/// How a line is drawn; the front end maps each to colours.
enum class style : uint8_t { header, title, normal, backpressured, failing, done, status, alert };

struct frame_line {
  std::string text; ///< at most the frame's width in columns
  style st = style::normal;
  bool selected = false;
};

/// The console's state and its rendering. One instance per `sluice top`;
/// used from one thread (the UI thread), fed by snapshot_feed.
class console {
public:
  console(std::string address, bool utf8);

  // -- feed ----------------------------------------------------------------

  /// A new picture arrived at `now_us` (since the epoch). Ignored while
  /// paused (the screen keeps its picture; the link state still updates).
  void update(metrics_snapshot s, int64_t now_us);
  /// The link changed; `note` adds to the status line (e.g. "retrying
  /// every 3 s").
  void set_link(link_state st, std::string note = {});

  // -- keys ----------------------------------------------------------------

  /// Handles a key (a character or a `key`); returns false when the user
  /// asked to quit.
  bool press(int k);

  // -- what is shown -------------------------------------------------------

  /// The whole screen: header, table (or DAG, or help), events pane and
  /// status line; exactly `height` lines of at most `width` columns.
  std::vector<frame_line> compose(int width, int height) const;
  /// `sluice top --once`: header, the stage table and the edges, no status.
  std::vector<std::string> plain_text(int width) const;

  std::vector<std::string> header_lines(int width) const;
  std::vector<table_row> rows() const;
  std::vector<frame_line> dag_lines(int width) const;
  std::vector<std::string> event_lines(int width, size_t max) const;
  /// One line, or two when the message does not fit one.
  std::vector<std::string> status_lines(int width) const;

  const table_options& options() const { return opts_; }
  bool paused() const { return paused_; }
  bool dag_view() const { return dag_; }
  bool events_pane() const { return events_; }
  bool help_shown() const { return help_; }
  bool editing_filter() const { return editing_; }
  link_state link() const { return link_; }
  /// The selected row: its stage id and, on a replica row, the replica.
  std::string selected_stage() const { return sel_stage_; }
  std::optional<uint32_t> selected_replica() const { return sel_replica_; }
  const std::optional<metrics_snapshot>& snapshot() const { return snap_; }

private:
  int selected_index(const std::vector<table_row>& rows) const;
  void select(const std::vector<table_row>& rows, int index);

  std::string address_;
  bool utf8_;
  std::optional<metrics_snapshot> snap_;
  std::map<std::string, uint64_t> errors_before_; ///< per stage, the picture before
  int64_t last_update_us_ = 0;
  link_state link_ = link_state::connecting;
  std::string link_note_;
  table_options opts_;
  bool dag_ = false;
  bool events_ = true;
  bool help_ = false;
  bool paused_ = false;
  bool editing_ = false;
  std::string sel_stage_;
  std::optional<uint32_t> sel_replica_;
};

/// The help text (every key), one line each.
const std::vector<std::string>& help_text();

} // namespace sluice::top
