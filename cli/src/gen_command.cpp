/// The `xentcheck gen` subcommand: test vectors for other suites.
#include "gen_command.h"

#include <algorithm>
#include <cstdio>
#include <memory>
#include <random>
#include <stdexcept>

#include <rapidcheck/Gen.h>
#include <rapidcheck/Random.h>
#include <CLI/CLI.hpp>

#include "generation_options.h"
#include "xentcheck/check/check_cases.h"
#include "xentcheck/cli/report.h"

namespace xentcheck::cli {

void setup_gen(CLI::App& app, int& exit_code) {
    auto o = std::make_shared<gen_options>();
    CLI::App* sub = app.add_subcommand(
        "gen",
        "Write generated cases with the reference's outputs as `expect`, one JSON object per "
        "line (test vectors; each is read and passed by `xentcheck eval`).");
    sub->add_option("--count", o->count, "Number of cases")
        ->check(CLI::Range(0, 100000000))
        ->capture_default_str();
    sub->add_option("--seed", o->seed, "Seed (default: random; written in each case's note)");
    sub->add_option("--dtype", o->dtype, "Precision of the cases")
        ->check(CLI::IsMember({"float64", "float32"}))
        ->capture_default_str();
    sub->add_option("--targets", o->targets, "Target form: class indices or probability rows")
        ->check(CLI::IsMember({"index", "probs"}))
        ->capture_default_str();
    sub->add_option("--reduction", o->reduction, "How row losses are combined")
        ->check(CLI::IsMember({"none", "mean", "sum"}))
        ->capture_default_str();
    sub->add_option("--features", o->features,
                    "Optional inputs, comma-separated: weight, ignore_index, label_smoothing")
        ->delimiter(',')
        ->check(CLI::IsMember({"weight", "ignore_index", "label_smoothing"}));
    sub->callback([o, &exit_code]() { exit_code = run_gen(*o); });
}

int run_gen(const gen_options& o) {
    const properties::generator_config config =
        generator_config_for(o.dtype, o.targets, o.reduction, o.features);
    const std::uint64_t seed = o.seed ? *o.seed : std::random_device{}();
    const auto gen = properties::gen_labelled_problem(config);
    rc::Random random(seed);
    constexpr int max_size = 100;
    // Every line passes `xentcheck eval` as drawn, so none is left out: where no
    // finite-difference step resolves the gradient (logits near 1e300), eval's check counts
    // those coordinates inconclusive, not violations (docs/finite-differences.md).
    for (int i = 0; i < o.count; ++i) {
        const rc::Random r = random.split();
        const int size = o.count <= 1
                             ? max_size
                             : static_cast<int>(static_cast<long long>(std::min(i, o.count - 1)) *
                                                max_size / (o.count - 1));
        const properties::problem p = gen(r, size).value().value;
        const properties::outputs truth = properties::reference_outputs(p);
        const std::string note = "xentcheck gen --seed " + std::to_string(seed) + ", case " +
                                 std::to_string(i + 1) + " of " + std::to_string(o.count) +
                                 "; expect: the long double reference rounded to double";
        const cli::eval_case c = check::case_of(p, &truth, "gen-" + std::to_string(i + 1), note);
        std::string line = check::case_json(c);
        line += '\n';
        if (std::fwrite(line.data(), 1, line.size(), stdout) != line.size())
            throw std::runtime_error("cannot write the cases");
    }
    if (std::fflush(stdout) != 0) throw std::runtime_error("cannot write the cases");
    return exit_codes::ok;
}

}  // namespace xentcheck::cli
