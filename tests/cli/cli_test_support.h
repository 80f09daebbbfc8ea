/// Test support for the CLI tests: running the built xentcheck, fixture paths, ulp distances.
#pragma once

#include <cstdint>
#include <optional>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace xentcheck::cli::testing {

/// What a run of the executable produced.
struct run_result {
    int exit_code = -1;  ///< the exit status, or 128 + signal when killed
    std::string out;     ///< stdout (with stderr too when run on a terminal)
    std::string err;     ///< stderr (empty when run on a terminal)
};

/// An environment change for the child: a value to set, or nullopt to unset.
using env_change = std::pair<std::string, std::optional<std::string>>;

/// Runs the built xentcheck with `args` in the source directory (so fixture paths are
/// relative, as a user would type them). stdout and stderr go to files (not terminals) unless
/// `terminal` is set, when both go to a pseudo-terminal.
run_result run_xentcheck(const std::vector<std::string>& args,
                         const std::vector<env_change>& env = {}, bool terminal = false);

/// The absolute path of a file in the source tree.
std::string source_path(const std::string& relative);

/// Parses a JSON report (throws on malformed JSON).
nlohmann::json parse_report(const std::string& text);

/// A number of a JSON report: numbers, or the strings "nan", "inf", "-inf".
double report_number(const nlohmann::json& v);

/// The number of representable doubles between a and b (0 when equal; huge across signs).
std::uint64_t ulp_distance(double a, double b);

/// The case entries of a report with the given file (as passed on the command line).
std::vector<nlohmann::json> entries_of(const nlohmann::json& report, const std::string& file);

/// One or two edits that keep most of `text`: a few bytes replaced by, or `pieces[k]` inserted
/// at, or a few bytes erased at, random places (for mutant inputs of the direct readers).
std::string mutate_with(std::string text, const std::vector<std::string>& pieces,
                        std::mt19937_64& rng);

}  // namespace xentcheck::cli::testing
