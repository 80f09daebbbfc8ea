/// The `xentcheck check` subcommand (and the hidden `serve-lib` behind `check --lib`).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <CLI/App.hpp>

namespace xentcheck::cli {

/// The options of `xentcheck check`.
struct check_options {
    std::string impl;                   ///< --impl CMD (run through /bin/sh -c)
    std::string lib;                    ///< --lib PATH (a shared library with the C ABI)
    std::string dtype = "float64";      ///< float64 | float32
    std::string targets = "index";      ///< index | probs
    std::string reduction = "mean";     ///< none | mean | sum
    std::vector<std::string> features;  ///< subset of weight, ignore_index, label_smoothing
    std::optional<std::uint64_t> seed;  ///< random when absent
    int max_success = 100;              ///< generated cases per property
    std::vector<std::string> cases;     ///< case files tried first
    double timeout = 10;                ///< seconds per request
    std::string format = "text";        ///< text | json | junit
    std::string save;                   ///< directory for counterexample cases, or ""
    /// --jobs N: properties whose --cases are tried at once (0: the machine's cores, at most 8)
    std::size_t jobs = 0;
};

/// Adds `check` (and the hidden `serve-lib PATH`) to `app`; the exit code of the one that runs
/// is stored in `exit_code`.
void setup_check(CLI::App& app, int& exit_code);

/// Runs the check: 0 when every property passed, 1 when any failed, 2 for an implementation
/// that cannot be started, unreadable --cases, or a --save directory that cannot be written.
int run_check_command(const check_options& options);

}  // namespace xentcheck::cli
