#pragma once

// The ncurses front end of `sluice top`: draws console::compose() every
// time something changes, maps keys to the console, redraws on resize.

namespace sluice::top {

class console;
class snapshot_feed;

/// Runs the interactive console on the terminal until the user presses q,
/// or SIGINT, SIGTERM or SIGHUP arrives. The terminal is restored (endwin)
/// on every way out, exceptions included. Returns the exit code: 0 after q,
/// 128 + the signal after a signal (130 for Ctrl-C).
int run_screen(console& model, snapshot_feed& feed);

} // namespace sluice::top
