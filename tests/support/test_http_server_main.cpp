// test_http_server: the tests' HTTP server (support/http_test_server.hpp) as
// a program, for trying a pipeline's HTTP stages by hand or from a script.
//
//   test_http_server [--port N] [--tls-cert FILE --tls-key FILE]
//
// Prints "listening on 127.0.0.1:PORT" once it is, then serves until SIGTERM,
// SIGINT or, when its standard input is a pipe, the end of that input.

#include <csignal>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <thread>

#include <pthread.h>
#include <sys/stat.h>
#include <unistd.h>

#include "support/http_test_server.hpp"

namespace {

bool read_file(const std::string& path, std::string& out) {
  std::ifstream in{path, std::ios::binary};
  if (!in)
    return false;
  std::ostringstream text;
  text << in.rdbuf();
  out = text.str();
  return true;
}

int usage(const std::string& problem) {
  std::cerr << "test_http_server: " << problem << "\n"
            << "usage: test_http_server [--port N] [--tls-cert FILE --tls-key FILE]\n";
  return 2;
}

} // namespace

int main(int argc, char** argv) {
  sluice::testing::http_test_server::options opts;
  std::string cert_file, key_file;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (i + 1 >= argc)
      return usage("'" + arg + "' is not an option with a value");
    std::string value = argv[++i];
    if (arg == "--port") {
      try {
        auto port = std::stoul(value);
        if (port > 65535)
          throw std::out_of_range{"port"};
        opts.port = static_cast<uint16_t>(port);
      } catch (const std::exception&) {
        return usage("--port '" + value + "': expected a number from 0 to 65535");
      }
    } else if (arg == "--tls-cert") {
      cert_file = value;
    } else if (arg == "--tls-key") {
      key_file = value;
    } else {
      return usage("unknown option '" + arg + "'");
    }
  }
  if (cert_file.empty() != key_file.empty())
    return usage("--tls-cert and --tls-key go together");
  if (!cert_file.empty()) {
    opts.tls = true;
    if (!read_file(cert_file, opts.cert_pem))
      return usage("cannot read the certificate file '" + cert_file + "'");
    if (!read_file(key_file, opts.key_pem))
      return usage("cannot read the key file '" + key_file + "'");
  }

  // Every thread inherits the blocked signals; main waits for them below.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  try {
    sluice::testing::http_test_server server{opts};
    std::cout << "listening on 127.0.0.1:" << server.port() << std::endl;
    // A parent that pipes to our stdin stops us by closing it (then we
    // cannot outlive it). Started in the background of a shell, stdin is
    // /dev/null or a terminal: only the signals stop us.
    struct stat in {};
    if (::fstat(STDIN_FILENO, &in) == 0 && S_ISFIFO(in.st_mode)) {
      std::thread{[] {
        char buf[256];
        while (::read(STDIN_FILENO, buf, sizeof buf) > 0) {
        }
        ::kill(::getpid(), SIGTERM); // end of input: stop as on SIGTERM
      }}.detach();
    }
    int received = 0;
    sigwait(&signals, &received);
  } catch (const std::exception& e) {
    std::cerr << "test_http_server: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
