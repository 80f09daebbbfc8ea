/// End-to-end tests: the built `xentcheck eval` on the fixtures, its reports and exit codes.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "cli_test_support.h"

namespace xentcheck::cli {
namespace {

using nlohmann::json;
using testing::report_number;
using testing::run_xentcheck;
using testing::ulp_distance;

bool has(const std::string& text, const std::string& part) {
    return text.find(part) != std::string::npos;
}

TEST(EvalEndToEnd, WorkedExampleTextShowsValuesAndPassingChecks) {
    const auto r = run_xentcheck({"eval", "fixtures/worked_example.json"});
    EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
    EXPECT_TRUE(has(r.out, "PASS  worked example")) << r.out;
    EXPECT_TRUE(has(r.out, "probs  [0.3, 0.6, 0.1]")) << r.out;
    EXPECT_TRUE(has(r.out, "loss   1.203972804325936")) << r.out;
    EXPECT_TRUE(has(r.out, "grad   [-0.7, 0.6, 0.1]")) << r.out;
    for (const char* check :
         {"probs_in_unit_interval", "probs_sum_to_one", "grad_rows_sum_to_zero", "loss_nonnegative",
          "grad_matches_finite_difference", "expect.probs", "expect.loss", "expect.grad"}) {
        EXPECT_TRUE(has(r.out, std::string(check))) << check;
    }
    EXPECT_FALSE(has(r.out, "FAIL"));
    EXPECT_TRUE(has(r.out, "1 passed, 0 failed, 0 errors (exit code 0)"));
    EXPECT_TRUE(r.err.empty()) << r.err;
}

TEST(EvalEndToEnd, WorkedExampleJsonIsWithinFourUlpOfTheHandDerivation) {
    const auto r = run_xentcheck({"eval", "--format", "json", "fixtures/worked_example.json"});
    ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
    const json report = testing::parse_report(r.out);
    const json& c = report.at("cases").at(0);
    // -ln 0.3 = ln 10 - ln 3 = 2.302585092994045684 - 1.098612288668109691 = 1.203972804325935993.
    EXPECT_LE(ulp_distance(report_number(c.at("loss")), 1.203972804325935993), 4u);
    const double grad[] = {-0.7, 0.6, 0.1};  // dE/dz = p - y
    const double probs[] = {0.3, 0.6, 0.1};
    for (std::size_t j = 0; j < 3; ++j) {
        EXPECT_LE(ulp_distance(report_number(c.at("grad").at(j)), grad[j]), 4u) << j;
        EXPECT_LE(ulp_distance(report_number(c.at("probs").at(j)), probs[j]), 4u) << j;
    }
}

TEST(EvalEndToEnd, JsonReportStructure) {
    const auto r = run_xentcheck({"eval", "--format", "json", "fixtures/worked_example.json",
                                  "fixtures/cases/failing/grad_wrt_probs.json"});
    ASSERT_EQ(r.exit_code, 1) << r.out << r.err;
    const json report = testing::parse_report(r.out);
    ASSERT_EQ(report.at("cases").size(), 2u);
    for (const json& c : report.at("cases")) {
        for (const char* key :
             {"file", "index", "name", "status", "probs", "loss", "grad", "checks", "error"}) {
            EXPECT_TRUE(c.contains(key)) << key;
        }
        EXPECT_TRUE(c.at("error").is_null());
        EXPECT_EQ(c.at("index"), 0);
        for (const json& check : c.at("checks")) {
            for (const char* key : {"name", "status", "max_abs_error", "max_rel_error", "tolerance",
                                    "where", "findings"}) {
                EXPECT_TRUE(check.contains(key)) << key;
            }
            EXPECT_TRUE(check.at("tolerance").contains("atol"));
            EXPECT_TRUE(check.at("tolerance").contains("rtol"));
            EXPECT_TRUE(check.at("status") == "pass" || check.at("status") == "fail");
        }
    }
    EXPECT_EQ(report.at("cases").at(0).at("status"), "pass");
    EXPECT_EQ(report.at("summary"),
              json({{"passed", 1}, {"failed", 1}, {"errors", 0}, {"exit_code", 1}}));
}

TEST(EvalEndToEnd, GradientWithRespectToProbabilitiesFailsWithExitCode1) {
    const auto r =
        run_xentcheck({"eval", "--format", "json", "fixtures/cases/failing/grad_wrt_probs.json"});
    EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
    const json c = testing::parse_report(r.out).at("cases").at(0);
    EXPECT_EQ(c.at("status"), "fail");
    json grad_check;
    for (const json& check : c.at("checks"))
        if (check.at("name") == "expect.grad") grad_check = check;
    ASSERT_FALSE(grad_check.is_null());
    EXPECT_EQ(grad_check.at("status"), "fail");
    EXPECT_EQ(grad_check.at("where"), "row 0, class 0");
    const json& f = grad_check.at("findings").at(0);
    EXPECT_EQ(f.at("where"), "row 0, class 0");
    EXPECT_LE(ulp_distance(report_number(f.at("expected")), -0.7), 4u);
    EXPECT_EQ(report_number(f.at("actual")), -3.3333333333333335);
    EXPECT_LT(report_number(f.at("allowed")), 1e-13);
    const auto text = run_xentcheck({"eval", "fixtures/cases/failing/grad_wrt_probs.json"});
    EXPECT_EQ(text.exit_code, 1);
    EXPECT_TRUE(has(text.out, "FAIL  worked example with dE/dp")) << text.out;
    EXPECT_TRUE(has(text.out, "row 0, class 0: expected -0.7")) << text.out;
}

TEST(EvalEndToEnd, EveryFileFormPasses) {
    const std::vector<std::pair<std::string, std::size_t>> files = {
        {"fixtures/cases/object.json", 1},
        {"fixtures/cases/array.json", 7},
        {"fixtures/cases/wrapped.json", 2},
        {"fixtures/cases/lines.jsonl", 3}};
    std::vector<std::string> args = {"eval", "--format", "json"};
    for (const auto& f : files)
        args.push_back(f.first);
    const auto r = run_xentcheck(args);
    EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
    const json report = testing::parse_report(r.out);
    for (const auto& [file, count] : files) {
        const auto entries = testing::entries_of(report, file);
        ASSERT_EQ(entries.size(), count) << file;
        for (std::size_t k = 0; k < count; ++k) {
            EXPECT_EQ(entries[k].at("index"), k) << file;
            EXPECT_EQ(entries[k].at("status"), "pass") << file << " " << entries[k].dump();
        }
    }
    EXPECT_EQ(report.at("summary").at("passed"), 13);
    // JSON Lines entries carry their line (a blank line follows the first case).
    const auto lines = testing::entries_of(report, "fixtures/cases/lines.jsonl");
    EXPECT_EQ(lines[0].at("line"), 1);
    EXPECT_EQ(lines[1].at("line"), 3);
    // Non-finite numbers are written as strings; the NaN row stays NaN.
    EXPECT_EQ(lines[0].at("loss").at(0), "nan");
    EXPECT_EQ(lines[0].at("grad").at(0).at(1), "nan");
}

struct expected_error {
    std::string file;
    int index;  // -1: a file-level problem
    std::string name;
    std::string field;
    std::string message;  // a part of the message
};

const std::vector<expected_error> expected_errors = {
    {"fixtures/bad/ragged.json", 1, "empty logits", "logits", "empty"},
    {"fixtures/bad/ragged.json", 2, "empty row", "logits", "row 1 is empty"},
    {"fixtures/bad/ragged.json", 3, "ragged", "logits", "row 1 has 2 values, expected 3"},
    {"fixtures/bad/ragged.json", 4, "mixed depth", "logits", "mixed 1-D and 2-D"},
    {"fixtures/bad/ragged.json", 5, "ragged expect.grad", "expect.grad", "row 1 has 2 values"},
    {"fixtures/bad/target.json", 1, "target out of range", "target", "out of range [0, 3)"},
    {"fixtures/bad/target.json", 2, "negative target", "target", "out of range"},
    {"fixtures/bad/target.json", 3, "fractional target", "target", "integer"},
    {"fixtures/bad/target.json", 4, "missing target", "target", "missing"},
    {"fixtures/bad/target.json", 5, "one index for two rows", "target", "expected 2"},
    {"fixtures/bad/target.json", 6, "NaN target", "target", "NaN"},
    {"fixtures/bad/target.json", 7, "string target", "target", "got a string"},
    {"fixtures/bad/probs.json", 1, "probs sum to 0.9", "probs", "row 1: sums to"},
    {"fixtures/bad/probs.json", 2, "negative probability", "probs", "negative"},
    {"fixtures/bad/probs.json", 3, "NaN probability", "probs", "NaN"},
    {"fixtures/bad/probs.json", 4, "infinite probability", "probs", "inf"},
    {"fixtures/bad/probs.json", 5, "logits and probs", "probs", "both"},
    {"fixtures/bad/probs.json", 6, "neither logits nor probs", "logits", "missing"},
    {"fixtures/bad/non_finite.json", 1, "NaN weight", "weight", "NaN"},
    {"fixtures/bad/non_finite.json", 2, "NaN label_smoothing", "label_smoothing", "NaN"},
    {"fixtures/bad/non_finite.json", 3, "NaN ignore_index", "ignore_index", "NaN"},
    {"fixtures/bad/non_finite.json", 4, "NaN tolerance", "tolerance.rtol", "NaN"},
    {"fixtures/bad/non_finite.json", 5, "inf in a probability target", "target", "inf"},
    {"fixtures/bad/fields.json", 1, "misspelt field", "lable_smoothing", "unknown field"},
    {"fixtures/bad/fields.json", 2, "unknown key in expect", "expect.gard", "unknown field"},
    {"fixtures/bad/fields.json", 3, "unknown key in tolerance", "tolerance.reltol", "unknown"},
    {"fixtures/bad/fields.json", 4, "target given twice", "target", "more than once"},
    {"fixtures/bad/fields.json", 5, "#5", "name", "expected a string"},
    {"fixtures/bad/types.json", 1, "logits is a string", "logits", "expected an array"},
    {"fixtures/bad/types.json", 2, "boolean logit", "logits", "got true"},
    {"fixtures/bad/types.json", 3, "weight is an object", "weight", "got an object"},
    {"fixtures/bad/types.json", 4, "weight of the wrong length", "weight", "expected 3"},
    {"fixtures/bad/types.json", 5, "reduction is a number", "reduction", "expected a string"},
    {"fixtures/bad/types.json", 6, "dtype is a boolean", "dtype", "expected a string"},
    {"fixtures/bad/types.json", 7, "expect is an array", "expect", "expected an object"},
    {"fixtures/bad/types.json", 8, "#8", "", "must be a JSON object"},
    {"fixtures/bad/types.json", 9, "label_smoothing above 1", "label_smoothing", "[0, 1]"},
    {"fixtures/bad/strings.json", 1, "bad reduction", "reduction", "\"avg\""},
    {"fixtures/bad/strings.json", 2, "bad dtype", "dtype", "\"float16\""},
    {"fixtures/bad/expect_shapes.json", 1, "1-D expect.probs for 2-D logits", "expect.probs",
     "1-D"},
    {"fixtures/bad/expect_shapes.json", 2, "2-D expect.grad for 1-D logits", "expect.grad", "2-D"},
    {"fixtures/bad/expect_shapes.json", 3, "array expect.loss for mean", "expect.loss",
     "one number"},
    {"fixtures/bad/expect_shapes.json", 4, "expect.loss count for none", "expect.loss",
     "expected 2"},
    {"fixtures/bad/expect_shapes.json", 5, "expect.probs row count", "expect.probs", "has 1 row"},
    {"fixtures/bad/expect_shapes.json", 6, "expect.loss is a word", "expect.loss", "\"abc\""},
    {"fixtures/bad/lines.jsonl", 1, "#1", "", "invalid JSON"},
    {"fixtures/bad/lines.jsonl", 2, "bad field line", "reduction", "\"max\""},
    {"fixtures/bad/malformed.json", -1, "", "", "line 1, column 46: invalid JSON"},
    {"fixtures/bad/top_level.json", -1, "", "comment", "unknown top-level field"},
    {"fixtures/bad/missing.json", -1, "", "", "cannot open"},
};

/// The good cases in the bad files, evaluated despite their neighbours.
const std::vector<std::pair<std::string, int>> good_in_bad_files = {
    {"fixtures/bad/ragged.json", 0},  {"fixtures/bad/target.json", 0},
    {"fixtures/bad/probs.json", 0},   {"fixtures/bad/non_finite.json", 0},
    {"fixtures/bad/fields.json", 0},  {"fixtures/bad/types.json", 0},
    {"fixtures/bad/strings.json", 0}, {"fixtures/bad/expect_shapes.json", 0},
    {"fixtures/bad/lines.jsonl", 0},  {"fixtures/bad/lines.jsonl", 3}};

std::vector<std::string> all_bad_files_and_a_good_one() {
    std::set<std::string> files;
    for (const auto& e : expected_errors)
        files.insert(e.file);
    std::vector<std::string> args = {"eval", "--format", "json", "fixtures/worked_example.json"};
    args.insert(args.end(), files.begin(), files.end());
    args.push_back("fixtures/cases/object.json");
    return args;
}

TEST(EvalEndToEnd, EveryBadInputIsReportedAndNothingElseIsHidden) {
    const auto r = run_xentcheck(all_bad_files_and_a_good_one());
    EXPECT_EQ(r.exit_code, 2) << r.err;
    const json report = testing::parse_report(r.out);
    std::size_t errors = 0;
    for (const json& c : report.at("cases"))
        errors += c.at("status") == "error" ? 1 : 0;
    EXPECT_EQ(errors, expected_errors.size());
    for (const auto& e : expected_errors) {
        SCOPED_TRACE(e.file + " case " + std::to_string(e.index));
        json found;
        for (const json& c : testing::entries_of(report, e.file)) {
            if ((e.index < 0 && c.at("index").is_null()) ||
                (e.index >= 0 && c.at("index") == e.index)) {
                found = c;
            }
        }
        ASSERT_FALSE(found.is_null()) << r.out;
        EXPECT_EQ(found.at("status"), "error");
        const std::string message = found.at("error").get<std::string>();
        // The message names the file, the case (index and name) and the field.
        EXPECT_EQ(message.rfind(e.file + ": ", 0), 0u) << message;
        if (e.index >= 0) {
            EXPECT_EQ(found.at("name"), e.name);
            const std::string named = "case " + std::to_string(e.index) +
                                      (e.name[0] == '#' ? ": " : " (\"" + e.name + "\"): ");
            EXPECT_TRUE(has(message, named)) << message;
        }
        if (!e.field.empty()) {
            EXPECT_EQ(found.at("field"), e.field);
            EXPECT_TRUE(has(message, ": " + e.field + ": ")) << message;
        }
        EXPECT_TRUE(has(message, e.message)) << message;
        // Every problem is also written to stderr.
        EXPECT_TRUE(has(r.err, message)) << r.err;
    }
    for (const auto& [file, index] : good_in_bad_files) {
        bool passed = false;
        for (const json& c : testing::entries_of(report, file))
            passed |= c.at("index") == index && c.at("status") == "pass";
        EXPECT_TRUE(passed) << file << " case " << index;
    }
    EXPECT_EQ(testing::entries_of(report, "fixtures/worked_example.json").at(0).at("status"),
              "pass");
    EXPECT_EQ(testing::entries_of(report, "fixtures/cases/object.json").at(0).at("status"), "pass");
    EXPECT_EQ(report.at("summary").at("errors"), expected_errors.size());
    EXPECT_EQ(report.at("summary").at("failed"), 0);
    EXPECT_EQ(report.at("summary").at("passed"), good_in_bad_files.size() + 2);
}

TEST(EvalEndToEnd, SpecExampleMessageInTextReport) {
    const auto r = run_xentcheck({"eval", "fixtures/bad/ragged.json"});
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_TRUE(has(r.out,
                    "ERROR fixtures/bad/ragged.json: case 3 (\"ragged\"): logits: row 1 "
                    "has 2 values, expected 3\n"))
        << r.out;
    EXPECT_TRUE(has(r.out, "PASS  good")) << r.out;
}

TEST(EvalEndToEnd, ErrorsOutrankFailures) {
    const auto r = run_xentcheck(
        {"eval", "fixtures/cases/failing/grad_wrt_probs.json", "fixtures/bad/strings.json"});
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_TRUE(has(r.out, "1 passed, 1 failed, 2 errors (exit code 2)")) << r.out;
}

TEST(EvalEndToEnd, UsageErrorsExitWith2) {
    EXPECT_EQ(run_xentcheck({}).exit_code, 2);
    EXPECT_EQ(run_xentcheck({"eval"}).exit_code, 2);
    EXPECT_EQ(run_xentcheck({"eval", "--format", "xml", "fixtures/worked_example.json"}).exit_code,
              2);
    EXPECT_EQ(run_xentcheck({"eval", "--colour", "fixtures/worked_example.json"}).exit_code, 2);
    EXPECT_EQ(run_xentcheck({"evaluate", "fixtures/worked_example.json"}).exit_code, 2);
    const auto help = run_xentcheck({"eval", "--help"});
    EXPECT_EQ(help.exit_code, 0);
    EXPECT_TRUE(has(help.out, "--format")) << help.out;
}

const std::string escape = "\x1b[";

TEST(EvalEndToEnd, NoColourWhenNotATerminal) {
    const auto r = run_xentcheck(
        {"eval", "fixtures/worked_example.json", "fixtures/cases/failing/grad_wrt_probs.json"},
        {{"NO_COLOR", std::nullopt}});
    EXPECT_FALSE(has(r.out, escape));
    EXPECT_FALSE(has(r.err, escape));
}

TEST(EvalEndToEnd, ColourOnATerminalUnlessNoColor) {
    const std::vector<std::string> args = {"eval", "fixtures/worked_example.json"};
    const auto tty = run_xentcheck(args, {{"NO_COLOR", std::nullopt}}, true);
    EXPECT_EQ(tty.exit_code, 0);
    EXPECT_TRUE(has(tty.out, escape + "32mPASS")) << tty.out;
    const auto no_color = run_xentcheck(args, {{"NO_COLOR", "1"}}, true);
    EXPECT_EQ(no_color.exit_code, 0);
    EXPECT_TRUE(has(no_color.out, "PASS")) << no_color.out;
    EXPECT_FALSE(has(no_color.out, escape)) << no_color.out;
    const auto never = run_xentcheck({"eval", "--color", "never", "fixtures/worked_example.json"},
                                     {{"NO_COLOR", std::nullopt}}, true);
    EXPECT_FALSE(has(never.out, escape));
    const auto always =
        run_xentcheck({"eval", "--color", "always", "fixtures/worked_example.json"});
    EXPECT_TRUE(has(always.out, escape));
    const auto json_on_tty =
        run_xentcheck({"eval", "--format", "json", "fixtures/worked_example.json"},
                      {{"NO_COLOR", std::nullopt}}, true);
    EXPECT_FALSE(has(json_on_tty.out, escape));
}

TEST(EvalEndToEnd, TheCaseFormatDocumentsExamplePasses) {
    std::ifstream doc(testing::source_path("docs/case-format.md"));
    std::stringstream text;
    text << doc.rdbuf();
    const std::string s = text.str();
    const auto begin = s.find("```json\n");
    ASSERT_NE(begin, std::string::npos);
    const auto end = s.find("```", begin + 8);
    const std::string path = ::testing::TempDir() + "case_format_example.json";
    std::ofstream(path) << s.substr(begin + 8, end - begin - 8);
    const auto r = run_xentcheck({"eval", path});
    EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
    std::remove(path.c_str());
}

}  // namespace
}  // namespace xentcheck::cli
