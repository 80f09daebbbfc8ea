/// The `xentcheck gen` subcommand: generated cases with the reference's outputs, as JSON Lines.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <CLI/App.hpp>

namespace xentcheck::cli {

/// The options of `xentcheck gen`.
struct gen_options {
    int count = 100;                    ///< cases to write
    std::optional<std::uint64_t> seed;  ///< random when absent
    std::string dtype = "float64";      ///< float64 | float32
    std::string targets = "index";      ///< index | probs
    std::string reduction = "mean";     ///< none | mean | sum
    std::vector<std::string> features;  ///< subset of weight, ignore_index, label_smoothing
};

/// Adds `gen` to `app`; its exit code is stored in `exit_code` when it runs.
void setup_gen(CLI::App& app, int& exit_code);

/// Writes options.count generated cases to stdout, one per line, each with `expect` holding
/// the reference's probs, loss and grad (long double, rounded to double). The problems are
/// those `check` draws with the same seed and options (sizes grow over the count). Returns 0.
int run_gen(const gen_options& options);

}  // namespace xentcheck::cli
