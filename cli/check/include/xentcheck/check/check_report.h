/// xentcheck/check/check_report.h: the reports of `xentcheck check` (text, JSON, JUnit XML).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "xentcheck/check/check_run.h"

namespace xentcheck::check {

/// What a report says about the run besides its outcome.
struct report_context {
    std::string implementation;           ///< "--impl 'CMD'" or "--lib PATH"
    std::string implementation_name;      ///< the command or the library path
    std::uint64_t seed = 0;               ///< the run's seed
    std::string dtype = "float64";        ///< --dtype
    std::string targets = "index";        ///< --targets
    std::string reduction = "mean";       ///< --reduction
    std::vector<std::string> features;    ///< --features
    int max_success = 0;                  ///< generated cases per property
    std::vector<std::string> case_files;  ///< --cases
    std::string reproduce;                ///< the command line that reruns the same search
    std::vector<std::string> saved;       ///< per property: the file it was saved to, or ""
};

/// The counterexample of a failed property as a case (one line of JSON): its problem, the
/// implementation's answer in `expect` (when it answered), and a note naming the property,
/// the implementation and the seed. `xentcheck eval` and `check --cases` read it.
std::string counterexample_json(const property_outcome& p, const report_context& ctx);

/// The witness of a failed property (a related problem whose answer disagrees with the
/// reference) as a case, or "" when there is none.
std::string witness_json(const property_outcome& p, const report_context& ctx);

/// The file --save writes for a failed property: the counterexample case, or an array of the
/// counterexample and the witness.
std::string saved_file_text(const property_outcome& p, const report_context& ctx);

/// The human-readable report.
std::string text_report(const run_outcome& run, const report_context& ctx);

/// The JSON report: {"passed", "seed", "properties": [{"name", "status", "tests", "message",
/// "counterexample", ...}], "summary": {"passed", "failed", ...}, ...} (docs/check.md).
std::string json_report(const run_outcome& run, const report_context& ctx);

/// JUnit XML: one testsuite, a testcase per property, a failure element (message, the
/// counterexample case and how to reproduce it) per failed property.
std::string junit_report(const run_outcome& run, const report_context& ctx);

/// `text` made safe for XML 1.0 character data or attribute values: &, <, >, " and ' escaped,
/// characters XML forbids and invalid UTF-8 bytes replaced by U+FFFD.
std::string xml_escape(const std::string& text);

}  // namespace xentcheck::check
