/// The `xentcheck eval` subcommand: read cases, evaluate them, stream the report.
#include "eval_command.h"

#include <cstdio>
#include <memory>

#include <CLI/CLI.hpp>

#include "xentcheck/cli/case_reader.h"
#include "xentcheck/cli/evaluation.h"
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
    sub->callback([options, &exit_code]() { exit_code = run_eval(*options); });
}

namespace {

color_mode parse_color_mode(const std::string& name) {
    if (name == "always") return color_mode::always;
    if (name == "never") return color_mode::never;
    return color_mode::automatic;
}

/// A case the reference itself rejected (the reader should have caught it first).
input_problem rejected_case(const std::string& file, const eval_case& c,
                            const xentcheck::input_error& e) {
    input_problem p;
    p.file = file;
    p.case_index = c.index;
    p.case_name = c.name;
    p.line = c.line;
    p.field = e.field();
    p.message = e.what();
    return p;
}

}  // namespace

int run_eval(const eval_options& options) {
    output_sink sink(stdout);
    const std::unique_ptr<report> out =
        options.format == "json"
            ? make_json_report(sink, stderr)
            : make_text_report(sink, use_color(parse_color_mode(options.color), stdout));
    run_summary summary;
    evaluator engine;
    for (const std::string& file : options.files) {
        case_reader reader(file);
        for (;;) {
            const case_reader::status status = reader.next();
            if (status == case_reader::status::done) break;
            if (status == case_reader::status::error) {
                ++summary.errors;
                out->add_problem(reader.problem());
                continue;
            }
            const eval_case& c = reader.current();
            try {
                const evaluation& result = engine.evaluate(c);
                ++(result.failed() ? summary.failed : summary.passed);
                out->add_case(file, c, result);
            } catch (const xentcheck::input_error& e) {
                ++summary.errors;
                out->add_problem(rejected_case(file, c, e));
            }
        }
    }
    out->finish(summary);
    sink.flush();
    return summary.exit_code();
}

}  // namespace xentcheck::cli
