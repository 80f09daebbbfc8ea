/// test_check_faults.cpp: faults of implementations are findings of `xentcheck check` (exit 1,
/// report intact, bounded time); implementations that cannot be started exit 2.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "command_test_support.h"

namespace {

using namespace xentcheck::check::testing;

/// A fault of examples/buggy/faults.py (committed on requests of 8 or more classes) and the
/// fault kind the report must name.
struct fault_case {
    const char* fault;
    const char* kind;  // "" for a wrong value rather than a protocol fault
};

class FaultyImplementation : public ::testing::TestWithParam<fault_case> {};

TEST_P(FaultyImplementation, FailsWithTheShrunkInputThatCausedIt) {
    const fault_case& f = GetParam();
    const auto r = run_xentcheck(
        {"check", "--impl", python_impl("buggy/faults.py", std::string("--fault ") + f.fault),
         "--seed", "3", "--max-success", "10", "--timeout", "0.5", "--format", "json"},
        90);
    ASSERT_FALSE(r.killed) << "not bounded";
    ASSERT_EQ(r.exit_code, 1) << r.err << r.out.substr(0, 3000);
    const auto report = parse_json(r.out);  // the report is intact
    EXPECT_EQ(report.at("passed"), false);
    const auto p = property_of(report, "agrees_with_reference");
    ASSERT_EQ(p.at("status"), "failed");
    if (*f.kind) {
        EXPECT_EQ(p.at("fault"), f.kind) << p.at("message");
        EXPECT_NE(p.at("message").get<std::string>().find(f.kind), std::string::npos);
        // A fault leaves no answer to put in `expect`.
        EXPECT_FALSE(p.at("counterexample").contains("expect"));
        // Every property fails on it (each evaluates the problem).
        EXPECT_EQ(report.at("summary").at("failed"), 17);
    }
    // faults.py misbehaves from 8 classes on: shrinking finds exactly that threshold.
    const auto& logits = p.at("counterexample").at("logits");
    EXPECT_EQ(logits.size(), 1u) << p.at("counterexample").dump();
    EXPECT_EQ(logits.at(0).size(), 8u) << p.at("counterexample").dump();
}

INSTANTIATE_TEST_SUITE_P(
    Check, FaultyImplementation,
    ::testing::Values(fault_case{"crash", "crashed"}, fault_case{"hang", "timed_out"},
                      fault_case{"garbage", "garbage"}, fault_case{"partial", "partial_line"},
                      fault_case{"wrong_id", "wrong_id"}, fault_case{"missing", "missing_field"},
                      fault_case{"wrong_shape", "wrong_shape"}, fault_case{"ragged", "wrong_shape"},
                      fault_case{"bad_string", "bad_value"}, fault_case{"nan", ""},
                      fault_case{"error", "error_response"}, fault_case{"exit", "exited"},
                      fault_case{"extra_line", "garbage"},
                      fault_case{"close_stdout", "output_closed"}),
    [](const ::testing::TestParamInfo<fault_case>& info) { return std::string(info.param.fault); });

TEST(CheckFaults, BareNonFiniteTokensAreAccepted) {
    const auto r =
        run_xentcheck({"check", "--impl", python_impl("buggy/faults.py", "--fault bare_tokens"),
                       "--seed", "3", "--max-success", "10"},
                      90);
    EXPECT_EQ(r.exit_code, 0) << r.out;
}

TEST(CheckFaults, AHangingImplementationCostsTwoTimeoutsNotOnePerShrinkingStep) {
    // One hang at the full timeout (3 s here, 10 s by default), shrinking under a timeout
    // scaled to the implementation's own pace, and one confirmation of the shrunk problem at
    // the full timeout; the other properties reuse the remembered outcome.
    const auto r =
        run_xentcheck({"check", "--impl", python_impl("buggy/faults.py", "--fault hang"), "--seed",
                       "3", "--max-success", "10", "--timeout", "3", "--format", "json"},
                      100);
    ASSERT_FALSE(r.killed);
    ASSERT_EQ(r.exit_code, 1) << r.err;
    EXPECT_LT(r.seconds, 20);
    const auto report = parse_json(r.out);
    const auto p = property_of(report, "agrees_with_reference");
    EXPECT_EQ(p.at("fault"), "timed_out");
    EXPECT_NE(p.at("message").get<std::string>().find("no response within 3000 ms"),
              std::string::npos)
        << p.at("message");
    EXPECT_EQ(p.at("counterexample").at("logits").at(0).size(), 8u);
    EXPECT_GT(p.at("shrinks"), 0);
}

TEST(CheckFaults, ACommandThatCannotRunExitsTwo) {
    for (const std::string& command :
         {std::string("/nonexistent/implementation"), std::string("exec true"),
          python_impl("buggy/faults.py", "--fault exit_at_start"),
          "exec " + source_file("examples/buggy/exit_at_start.sh")}) {
        const auto r = run_xentcheck({"check", "--impl", command, "--max-success", "5"}, 60);
        EXPECT_EQ(r.exit_code, 2) << command << ": " << r.out;
        EXPECT_NE(r.err.find("could not be started"), std::string::npos) << r.err;
        EXPECT_TRUE(r.out.empty()) << r.out;
    }
}

TEST(CheckFaults, AnImplementationCrashingOnEveryProblemIsAFindingNotAStartFailure) {
    const auto r = run_xentcheck(
        {"check", "--impl", "kill -SEGV $$", "--max-success", "10", "--format", "json"}, 60);
    ASSERT_EQ(r.exit_code, 1) << r.err;
    const auto report = parse_json(r.out);
    EXPECT_EQ(report.at("summary").at("failed"), 17);
    const auto p = property_of(report, "agrees_with_reference");
    EXPECT_EQ(p.at("fault"), "crashed");
    EXPECT_EQ(p.at("counterexample").at("logits"), nlohmann::json::parse("[[0]]"));
}

TEST(CheckFaults, AnImplementationThatNeverAnswersExitsTwo) {
    const auto r = run_xentcheck(
        {"check", "--impl", python_impl("buggy/faults.py", "--fault no_read"), "--timeout", "0.3"},
        60);
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_NE(r.err.find("timed_out"), std::string::npos) << r.err;
    EXPECT_LT(r.seconds, 20);
}

TEST(CheckFaults, ALibraryLackingTheSymbolsExitsTwoNamingThem) {
    const auto r = run_xentcheck({"check", "--lib", XENTCHECK_TEST_ABI_NO_SYMBOLS}, 60);
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_NE(r.err.find("xentcheck_cross_entropy_f64"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("could not be started"), std::string::npos) << r.err;
    const auto missing = run_xentcheck({"check", "--lib", "/nonexistent/libnothing.so"}, 60);
    EXPECT_EQ(missing.exit_code, 2);
    const auto version = run_xentcheck({"check", "--lib", XENTCHECK_TEST_ABI_WRONG_VERSION}, 60);
    EXPECT_EQ(version.exit_code, 2) << version.err;
}

TEST(CheckFaults, TheCrashingLibraryFailsWithItsThresholdAndAnIntactReport) {
    const auto r = run_xentcheck({"check", "--lib", XENTCHECK_EXAMPLE_ABI_CRASHING, "--seed", "4",
                                  "--max-success", "30", "--format", "junit"},
                                 120);
    ASSERT_EQ(r.exit_code, 1) << r.err;
    EXPECT_NE(r.out.find("</testsuites>"), std::string::npos);
    const auto json = run_xentcheck({"check", "--lib", XENTCHECK_EXAMPLE_ABI_CRASHING, "--seed",
                                     "4", "--max-success", "30", "--format", "json"},
                                    120);
    ASSERT_EQ(json.exit_code, 1);
    const auto p = property_of(parse_json(json.out), "agrees_with_reference");
    EXPECT_EQ(p.at("fault"), "crashed");
    // The library crashes above 7 classes: the minimal input has 8.
    EXPECT_EQ(p.at("counterexample").at("logits").at(0).size(), 8u);
}

TEST(CheckFaults, ALibraryPrintingToStdoutCannotCorruptTheProtocol) {
    // The test library prints to stdout, reads stdin and refuses every problem: the refusal
    // must arrive as an error response, not as garbage on the protocol stream.
    const auto r = run_xentcheck({"check", "--lib", XENTCHECK_TEST_ABI_PRINTS_TO_STDOUT,
                                  "--max-success", "5", "--format", "json"},
                                 60);
    ASSERT_EQ(r.exit_code, 1) << r.err;
    const auto p = property_of(parse_json(r.out), "agrees_with_reference");
    EXPECT_EQ(p.at("fault"), "error_response");
    EXPECT_NE(p.at("message").get<std::string>().find("refused by the test library"),
              std::string::npos);
}

}  // namespace
