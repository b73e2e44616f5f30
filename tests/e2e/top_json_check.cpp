// For top_tmux_test.sh: reads `sluice top --once --json` output from a file
// and prints "pipeline=NAME stages=N", or says why it is not a snapshot
// (exit 1). Keeps the shell test free of jq or python.

#include <fstream>
#include <iostream>

#include <nlohmann/json.hpp>

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: top_json_check FILE\n";
    return 2;
  }
  std::ifstream in{argv[1]};
  try {
    auto j = nlohmann::json::parse(in);
    std::cout << "pipeline=" << j.at("pipeline").get<std::string>()
              << " stages=" << j.at("stages").size() << '\n';
  } catch (const std::exception& e) {
    std::cerr << argv[1] << ": not a snapshot: " << e.what() << '\n';
    return 1;
  }
  return 0;
}
