#pragma once

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <stdexcept>
#include <vector>
#include <algorithm>
#include <string>

namespace sluice::test {

/// A fresh directory under /tmp for one test, removed with everything in it
/// when the test ends.
///
///   temp_dir dir;
///   auto path = dir.write("in.csv", "a,b\n1,2\n");
///   REQUIRE(dir.read("out.jsonl") == "...");
class temp_dir {
public:
  temp_dir() {
    char tmpl[] = "/tmp/sluice-io-test-XXXXXX";
    if (::mkdtemp(tmpl) == nullptr)
      throw std::runtime_error("mkdtemp failed");
    path_ = tmpl;
  }
  ~temp_dir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;

  const std::string& path() const noexcept { return path_; }

  /// The absolute path of `name` inside the directory.
  std::string operator/(const std::string& name) const { return path_ + "/" + name; }

  /// Writes `content` to `name` (creating subdirectories); returns its path.
  std::string write(const std::string& name, const std::string& content) const {
    auto p = *this / name;
    std::filesystem::create_directories(std::filesystem::path(p).parent_path());
    std::ofstream out(p, std::ios::binary);
    out << content;
    return p;
  }

  std::string read(const std::string& name) const {
    std::ifstream in(*this / name, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }

  bool exists(const std::string& name) const {
    return std::filesystem::exists(*this / name);
  }

  /// The names of the entries in the directory (not recursive), sorted.
  std::string listing() const {
    std::string out;
    std::vector<std::string> names;
    for (auto& e : std::filesystem::directory_iterator(path_))
      names.push_back(e.path().filename().string());
    std::sort(names.begin(), names.end());
    for (auto& n : names)
      out += (out.empty() ? "" : " ") + n;
    return out;
  }

private:
  std::string path_;
};

} // namespace sluice::test
