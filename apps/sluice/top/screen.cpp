#include "top/screen.hpp"

#include <chrono>
#include <csignal>

#include <ncurses.h>

#include "top/console.hpp"
#include "top/feed.hpp"

namespace sluice::top {

namespace {

volatile std::sig_atomic_t stop_signal = 0;

extern "C" void on_stop_signal(int sig) { stop_signal = sig; }

/// Installs the stop handlers for its lifetime (no SA_RESTART, so getch
/// returns at once), then puts the old ones back.
struct signal_scope {
  struct sigaction old_int{}, old_term{}, old_hup{};
  signal_scope() {
    struct sigaction sa{};
    sa.sa_handler = on_stop_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, &old_int);
    sigaction(SIGTERM, &sa, &old_term);
    sigaction(SIGHUP, &sa, &old_hup);
  }
  ~signal_scope() {
    sigaction(SIGINT, &old_int, nullptr);
    sigaction(SIGTERM, &old_term, nullptr);
    sigaction(SIGHUP, &old_hup, nullptr);
  }
};

enum pair_id : short { pair_header = 1, pair_title, pair_backpressured, pair_failing, pair_done,
                       pair_status, pair_alert };

/// The curses session: started by the constructor, ended by the destructor
/// whatever happens in between.
struct curses_session {
  bool colours = false;
  curses_session() {
    initscr();
    cbreak();
    noecho();
    nonl();
    keypad(stdscr, TRUE);
    set_escdelay(25);
    curs_set(0);
    timeout(100);
    if (has_colors()) {
      start_color();
      use_default_colors();
      colours = true;
      init_pair(pair_header, COLOR_CYAN, -1);
      init_pair(pair_title, COLOR_BLACK, COLOR_CYAN);
      init_pair(pair_backpressured, COLOR_YELLOW, -1);
      init_pair(pair_failing, COLOR_RED, -1);
      init_pair(pair_done, COLOR_BLUE, -1);
      init_pair(pair_status, COLOR_BLACK, COLOR_WHITE);
      init_pair(pair_alert, COLOR_WHITE, COLOR_RED);
    }
  }
  ~curses_session() {
    curs_set(1);
    endwin();
  }

  attr_t attributes(style st, bool selected) const {
    attr_t a = A_NORMAL;
    auto colour = [&](short pair, attr_t fallback) { return colours ? COLOR_PAIR(pair) : fallback; };
    switch (st) {
      case style::header: a = colour(pair_header, A_BOLD); break;
      case style::title: a = colour(pair_title, A_REVERSE) | A_BOLD; break;
      case style::backpressured: a = colour(pair_backpressured, A_BOLD); break;
      case style::failing: a = colour(pair_failing, A_BOLD) | A_BOLD; break;
      case style::done: a = colour(pair_done, A_DIM); break;
      case style::status: a = colour(pair_status, A_REVERSE); break;
      case style::alert: a = colour(pair_alert, A_REVERSE) | A_BOLD; break;
      case style::normal: break;
    }
    if (selected)
      a |= A_REVERSE;
    return a;
  }
};

int to_console_key(int ch) {
  switch (ch) {
    case KEY_UP: return key_up;
    case KEY_DOWN: return key_down;
    case KEY_PPAGE: return key_page_up;
    case KEY_NPAGE: return key_page_down;
    case KEY_HOME: return key_home;
    case KEY_END: return key_end;
    case KEY_ENTER:
    case '\n':
    case '\r': return key_enter;
    case 27: return key_escape;
    case KEY_BACKSPACE:
    case 127:
    case 8: return key_backspace;
    default: return ch;
  }
}

void draw(const curses_session& s, const console& model) {
  int height = 0;
  int width = 0;
  getmaxyx(stdscr, height, width);
  erase();
  auto lines = model.compose(width, height);
  for (size_t i = 0; i < lines.size(); ++i) {
    auto& l = lines[i];
    bool band = l.selected || l.st == style::title || l.st == style::status
                || l.st == style::alert;
    attrset(s.attributes(l.st, l.selected));
    mvaddstr(static_cast<int>(i), 0, l.text.c_str());
    if (band) { // the bar spans the whole width
      int y = 0;
      int x = 0;
      getyx(stdscr, y, x);
      (void)y;
      bool last_line = static_cast<int>(i) == height - 1;
      for (; x < width - (last_line ? 1 : 0); ++x)
        addch(' ');
    }
    attrset(A_NORMAL);
  }
  refresh();
}

} // namespace

int run_screen(console& model, snapshot_feed& feed) {
  signal_scope signals;
  stop_signal = 0;
  curses_session session;
  bool dirty = true;
  auto last_draw = std::chrono::steady_clock::now();
  while (stop_signal == 0) {
    for (auto& n : feed.take()) {
      if (n.snapshot)
        model.update(std::move(*n.snapshot), n.at_us);
      else
        model.set_link(n.link, n.note);
      dirty = true;
    }
    auto now = std::chrono::steady_clock::now();
    if (dirty || now - last_draw > std::chrono::seconds(1)) {
      draw(session, model);
      dirty = false;
      last_draw = now;
    }
    int ch = getch();
    if (ch == ERR)
      continue;
    dirty = true;
    if (ch == KEY_RESIZE)
      continue;
    bool was_paused = model.paused();
    if (!model.press(to_console_key(ch)))
      break;
    if (was_paused && !model.paused())
      feed.poll_now();
  }
  return stop_signal != 0 ? 128 + stop_signal : 0;
}

} // namespace sluice::top
