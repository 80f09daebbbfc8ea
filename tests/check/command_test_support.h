/// command_test_support.h: running the built xentcheck for the tests of `check` and `gen`.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace xentcheck::check::testing {

/// What a run of the executable produced.
struct command_result {
    int exit_code = -1;   ///< the exit status, or 128 + signal when killed
    std::string out;      ///< stdout (stdout and stderr together on a terminal)
    std::string err;      ///< stderr (empty on a terminal)
    double seconds = 0;   ///< wall time
    bool killed = false;  ///< the run exceeded its limit and was killed
};

/// Runs the built xentcheck with `args` in the source directory. stdout and stderr go to
/// files, or both to a pseudo-terminal when `terminal` is set. A run longer than
/// `limit_seconds` is killed (the test then fails on `killed`), so no test can hang.
command_result run_xentcheck(const std::vector<std::string>& args, double limit_seconds = 120,
                             bool terminal = false);

/// The path of a file in the source tree.
std::string source_file(const std::string& relative);

/// The `--impl` command running a Python file of examples/ with the test interpreter.
std::string python_impl(const std::string& script, const std::string& arguments = "");

/// A fresh empty directory under the test's temporary directory.
std::string fresh_directory(const std::string& name);

/// Writes `text` to `path`.
void write_text(const std::string& path, const std::string& text);
/// Reads a whole file.
std::string read_text(const std::string& path);

/// Parses a JSON report; throws on malformed JSON.
nlohmann::json parse_json(const std::string& text);

/// The entry of `report["properties"]` named `name` (null JSON when absent).
nlohmann::json property_of(const nlohmann::json& report, const std::string& name);

/// Names of the failed properties of a report.
std::vector<std::string> failed_properties(const nlohmann::json& report);

}  // namespace xentcheck::check::testing
