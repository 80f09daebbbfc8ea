/// The `xentcheck eval` subcommand: evaluate case files against the reference.
#pragma once

#include <string>
#include <vector>

#include <CLI/App.hpp>

namespace xentcheck::cli {

/// The options of `xentcheck eval`.
struct eval_options {
    std::vector<std::string> files;  ///< case files, in order
    std::string format = "text";     ///< "text" or "json"
    std::string color = "auto";      ///< "auto", "always" or "never" (text only)
    unsigned jobs = 0;               ///< threads evaluating cases; 0: default_eval_jobs()
};

/// Adds the `eval` subcommand to `app`; when it is parsed, run_eval runs and its exit code is
/// stored in `exit_code`.
void setup_eval(CLI::App& app, int& exit_code);

/// Evaluates every case of every file in order, streaming the report to stdout (problems in
/// the JSON format are also written to stderr). Returns 2 if any file or case could not be
/// read, else 1 if any check failed, else 0. Throws std::runtime_error if stdout cannot be
/// written.
int run_eval(const eval_options& options);

}  // namespace xentcheck::cli
