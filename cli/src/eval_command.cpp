/// The `xentcheck eval` subcommand: read cases, evaluate them, stream the report.
#include "eval_command.h"

#include <cstdio>
#include <memory>

#include <CLI/CLI.hpp>

#include "xentcheck/cli/eval_run.h"
#include "xentcheck/cli/report.h"

namespace xentcheck::cli {

void setup_eval(CLI::App& app, int& exit_code) {
    auto options = std::make_shared<eval_options>();
    CLI::App* sub = app.add_subcommand(
        "eval",
        "Evaluate case files: reference probabilities, loss and gradient, invariant checks and "
        "the comparison with each case's `expect` values. Exit code 0: all checks passed; 1: a "
        "check failed; 2: a file or case could not be read (see docs/case-format.md).");
    sub->add_option("files", options->files,
                    "Case files: JSON (a case, an array of cases or "
                    "{\"cases\": [...]}) or JSON Lines (*.jsonl)")
        ->required();
    sub->add_option("--format", options->format, "Report format")
        ->check(CLI::IsMember({"text", "json"}))
        ->capture_default_str();
    sub->add_option("--color", options->color,
                    "Colour the text report: auto (a terminal, and NO_COLOR unset), always, never")
        ->check(CLI::IsMember({"auto", "always", "never"}))
        ->capture_default_str();
    sub->add_option("--jobs,-j", options->jobs,
                    "Threads evaluating cases (default: the number of cores, at most 8). The "
                    "report is the same for any count; 1 runs everything on one thread")
        ->check(CLI::Range(1, 256));
    sub->callback([options, &exit_code]() { exit_code = run_eval(*options); });
}

namespace {

color_mode parse_color_mode(const std::string& name) {
    if (name == "always") return color_mode::always;
    if (name == "never") return color_mode::never;
    return color_mode::automatic;
}

}  // namespace

int run_eval(const eval_options& options) {
    output_sink sink(stdout);
    const std::unique_ptr<report> out =
        options.format == "json"
            ? make_json_report(sink, stderr)
            : make_text_report(sink, use_color(parse_color_mode(options.color), stdout));
    eval_run_options run;
    run.jobs = options.jobs ? options.jobs : default_eval_jobs();
    const run_summary summary = evaluate_files(options.files, *out, run);
    out->finish(summary);
    sink.flush();
    return summary.exit_code();
}

}  // namespace xentcheck::cli
