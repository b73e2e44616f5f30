// Runs one pipeline case folder (tests/pipelines/<case>/, layout in
// tests/pipelines/README.md): copies it to a temporary directory, runs the
// sluice binary there, and compares exit code, output files, stderr and the
// summary with what the case expects. Exit 0 when everything matches; else
// prints each difference and exits 1.

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <vector>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <sys/wait.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

std::string slurp(const fs::path& p) {
  std::ifstream in{p, std::ios::binary};
  std::stringstream buf;
  buf << in.rdbuf();
  return buf.str();
}

std::string quote(const std::string& s) {
  std::string out = "'";
  for (char c : s)
    out += c == '\'' ? std::string{"'\\''"} : std::string(1, c);
  return out + "'";
}

int failures = 0;

void problem(const std::string& what) {
  ++failures;
  std::cerr << "FAIL: " << what << '\n';
}

// Every key of `want` must be in `got` with an equal value (recursively for
// objects; arrays compare element by element with the same rule).
void expect_subset(const json& want, const json& got, const std::string& at) {
  if (want.is_object()) {
    if (!got.is_object()) {
      problem(at + ": expected an object, got " + got.dump());
      return;
    }
    for (auto& [k, v] : want.items()) {
      if (!got.contains(k))
        problem(at + "/" + k + ": missing");
      else
        expect_subset(v, got[k], at + "/" + k);
    }
  } else if (want.is_array() && got.is_array() && want.size() == got.size()) {
    for (size_t i = 0; i < want.size(); ++i)
      expect_subset(want[i], got[i], at + "/" + std::to_string(i));
  } else if (want.is_number_float() && got.is_number()) {
    // Sums of prices and the like: equal up to rounding.
    auto w = want.get<double>();
    auto g = got.get<double>();
    if (std::fabs(w - g) > 1e-9 * std::max(1.0, std::fabs(w)))
      problem(at + ": expected " + want.dump() + ", got " + got.dump());
  } else if (want != got) {
    problem(at + ": expected " + want.dump() + ", got " + got.dump());
  }
}

} // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::cerr << "usage: pipeline_case_runner SLUICE_BINARY CASE_DIR\n";
    return 2;
  }
  fs::path sluice = fs::absolute(argv[1]);
  fs::path case_dir = argv[2];
  json spec = json::object();
  if (fs::exists(case_dir / "case.json"))
    spec = json::parse(slurp(case_dir / "case.json"));
  char tmpl[] = "/tmp/sluice-case-XXXXXX";
  if (mkdtemp(tmpl) == nullptr) {
    std::perror("mkdtemp");
    return 2;
  }
  fs::path work = tmpl;
  fs::copy(case_dir, work, fs::copy_options::recursive);
  fs::remove_all(work / "expected");
  // "example": a config shipped in the repo (e.g. configs/examples/orders.json)
  // runs in a copy of its own folder, so docs' examples are tested as shipped.
  if (spec.contains("example")) {
    auto repo = fs::absolute(case_dir).parent_path().parent_path().parent_path();
    fs::path example = repo / spec["example"].get<std::string>();
    // Everything but out/: earlier runs' outputs are not part of the example
    // (and a run writing there meanwhile, e.g. its lineage store's WAL,
    // would make the copy fail).
    for (auto& entry : fs::directory_iterator(example.parent_path())) {
      if (entry.path().filename() == "out")
        continue;
      fs::copy(entry.path(), work / entry.path().filename(),
               fs::copy_options::recursive | fs::copy_options::overwrite_existing);
    }
    spec["config"] = example.filename().string();
  }

  auto command = spec.value("command", std::string{"run"});
  std::string cmd = "cd " + quote(work.string()) + " && ";
  if (spec.contains("env"))
    for (auto& [k, v] : spec["env"].items())
      cmd += k + "=" + quote(v.get<std::string>()) + " ";
  // A command of several words ("dlq replay") passes each as an argument.
  cmd += quote(sluice.string());
  {
    std::stringstream words{command};
    for (std::string w; words >> w;)
      cmd += " " + quote(w);
  }
  cmd += " " + quote(spec.value("config", std::string{"pipeline.json"}));
  if (command == "run" || command == "dlq replay")
    cmd += " --summary-json summary.json --no-progress";
  for (auto& a : spec.value("args", json::array()))
    cmd += " " + quote(a.get<std::string>());
  cmd += " < " + (spec.contains("stdin") ? quote(spec["stdin"].get<std::string>()) : "/dev/null");
  cmd += " > stdout.txt 2> stderr.txt";
  int status = std::system(cmd.c_str());
  int code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  auto stderr_text = slurp(work / "stderr.txt");

  int want_code = spec.value("exit", 0);
  if (code != want_code)
    problem("exit code " + std::to_string(code) + ", expected " + std::to_string(want_code));
  for (auto& s : spec.value("stderr_contains", json::array()))
    if (stderr_text.find(s.get<std::string>()) == std::string::npos)
      problem("stderr lacks: " + s.get<std::string>());
  for (auto& s : spec.value("stderr_lacks", json::array()))
    if (stderr_text.find(s.get<std::string>()) != std::string::npos)
      problem("stderr should not contain: " + s.get<std::string>());
  for (auto& p : spec.value("absent", json::array()))
    if (fs::exists(work / p.get<std::string>()))
      problem("file should not exist: " + p.get<std::string>());
  // "empty_dirs": directories that must exist and hold nothing (e.g. no
  // temporary file left behind by an aborted run).
  for (auto& d : spec.value("empty_dirs", json::array())) {
    auto rel = d.get<std::string>();
    if (!fs::is_directory(work / rel))
      problem("not a directory: " + rel);
    else
      for (auto& entry : fs::directory_iterator(work / rel))
        problem("left behind in " + rel + ": " + entry.path().filename().string());
  }
  if (fs::exists(case_dir / "expected")) {
    for (auto& entry : fs::recursive_directory_iterator(case_dir / "expected")) {
      if (!entry.is_regular_file())
        continue;
      auto rel = fs::relative(entry.path(), case_dir / "expected");
      if (!fs::exists(work / rel)) {
        problem("missing output file: " + rel.string());
        continue;
      }
      auto want = slurp(entry.path());
      auto got = slurp(work / rel);
      if (want != got)
        problem("output " + rel.string() + " differs:\n--- expected\n" + want + "--- got\n" + got);
    }
  }
  // "sorted": outputs compared as sorted lines (replicas interleave records).
  for (auto& p : spec.value("sorted", json::array())) {
    auto rel = p.get<std::string>();
    auto lines = [](const std::string& text) {
      std::vector<std::string> out;
      std::stringstream in{text};
      for (std::string line; std::getline(in, line);)
        out.push_back(line);
      std::sort(out.begin(), out.end());
      return out;
    };
    if (lines(slurp(work / rel)) != lines(slurp(case_dir / "expected-sorted" / rel)))
      problem("sorted lines of " + rel + " differ from expected-sorted/" + rel + ":\n"
              + slurp(work / rel));
  }
  // "jsonl_subset": {"file": [subset of line 1, subset of line 2, ...]}:
  // each line is a JSON object holding at least the given keys and values
  // (for files with times in them, such as dead letters).
  if (spec.contains("jsonl_subset")) {
    for (auto& [rel, want] : spec["jsonl_subset"].items()) {
      std::stringstream in{slurp(work / rel)};
      std::vector<json> got;
      for (std::string line; std::getline(in, line);)
        got.push_back(json::parse(line, nullptr, false));
      if (got.size() != want.size()) {
        problem(rel + ": " + std::to_string(got.size()) + " lines, expected "
                + std::to_string(want.size()) + ":\n" + slurp(work / rel));
        continue;
      }
      for (size_t i = 0; i < got.size(); ++i)
        expect_subset(want[i], got[i], " " + rel + " line " + std::to_string(i + 1));
    }
  }
  if (spec.contains("summary")) {
    if (!fs::exists(work / "summary.json"))
      problem("no summary.json was written");
    else
      expect_subset(spec["summary"], json::parse(slurp(work / "summary.json")), "summary");
  }
  if (failures > 0) {
    std::cerr << "--- stderr of the run:\n" << stderr_text << "--- (work dir kept: " << work.string()
              << ")\n";
    return 1;
  }
  fs::remove_all(work);
  std::cout << case_dir.filename().string() << ": ok\n";
  return 0;
}
