/// test_check_examples.cpp: `xentcheck check` passes the correct examples in every configuration
/// and catches each buggy one with a small counterexample.
#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "command_test_support.h"

namespace {

using namespace xentcheck::check::testing;

/// One run's configuration.
struct configuration {
    const char* dtype;
    const char* targets;
    const char* reduction;
    const char* features;  // "" for none
};

std::vector<std::string> args_for(const std::vector<std::string>& implementation,
                                  const configuration& c, int max_success, int seed) {
    std::vector<std::string> args{"check"};
    args.insert(args.end(), implementation.begin(), implementation.end());
    args.insert(args.end(), {"--dtype", c.dtype, "--targets", c.targets, "--reduction", c.reduction,
                             "--seed", std::to_string(seed), "--max-success",
                             std::to_string(max_success), "--format", "json"});
    if (*c.features) args.insert(args.end(), {"--features", c.features});
    return args;
}

std::string name_of(const configuration& c) {
    std::string n = std::string(c.dtype) + "_" + c.targets + "_" + c.reduction;
    std::string f = c.features;
    std::replace(f.begin(), f.end(), ',', '_');
    return f.empty() ? n : n + "_" + f;
}

void expect_passes(const std::vector<std::string>& implementation, const configuration& c,
                   int max_success, int seed) {
    const auto r = run_xentcheck(args_for(implementation, c, max_success, seed), 240);
    ASSERT_FALSE(r.killed);
    ASSERT_EQ(r.exit_code, 0) << r.err << r.out.substr(0, 4000);
    const auto report = parse_json(r.out);
    EXPECT_EQ(report.at("passed"), true);
    EXPECT_EQ(report.at("summary").at("failed"), 0);
    EXPECT_EQ(report.at("properties").size(), 17u);
    for (const auto& p : report.at("properties"))
        EXPECT_EQ(p.at("tests"), max_success) << p.at("name");
}

// Every axis value appears with the others varied; the C ABI example (fast) gets every
// dtype x target form x reduction with all features, the Python ones a compact cover.
const std::vector<configuration> abi_matrix{
    {"float64", "index", "mean", ""},
    {"float64", "index", "none", "weight,ignore_index,label_smoothing"},
    {"float64", "index", "sum", "ignore_index"},
    {"float64", "probs", "mean", "weight,label_smoothing"},
    {"float64", "probs", "none", ""},
    {"float64", "probs", "sum", "weight,ignore_index,label_smoothing"},
    {"float32", "index", "mean", "weight,ignore_index,label_smoothing"},
    {"float32", "index", "none", "label_smoothing"},
    {"float32", "index", "sum", "weight"},
    {"float32", "probs", "mean", ""},
    {"float32", "probs", "none", "weight,label_smoothing"},
    {"float32", "probs", "sum", "label_smoothing"},
};

const std::vector<configuration> python_matrix{
    {"float64", "index", "mean", ""},
    {"float32", "probs", "none", "weight,label_smoothing"},
    {"float64", "probs", "sum", "weight"},
    {"float32", "index", "sum", "ignore_index,label_smoothing"},
    {"float64", "index", "none", "weight,ignore_index,label_smoothing"},
    {"float32", "index", "mean", "weight,ignore_index"},
};

const std::vector<configuration> torch_matrix{
    {"float32", "index", "mean", "weight,ignore_index,label_smoothing"},
    {"float64", "probs", "none", "weight,label_smoothing"},
};

class CorrectAbi : public ::testing::TestWithParam<configuration> {};
class CorrectNumpy : public ::testing::TestWithParam<configuration> {};
class CorrectTorch : public ::testing::TestWithParam<configuration> {};

TEST_P(CorrectAbi, PassesEveryProperty) {
    expect_passes({"--lib", XENTCHECK_EXAMPLE_ABI}, GetParam(), 40, 101);
}

TEST_P(CorrectNumpy, PassesEveryProperty) {
    expect_passes({"--impl", python_impl("python/numpy_impl.py")}, GetParam(), 20, 202);
}

TEST_P(CorrectTorch, PassesEveryProperty) {
    expect_passes({"--impl", python_impl("python/torch_impl.py")}, GetParam(), 12, 303);
}

auto config_name = [](const ::testing::TestParamInfo<configuration>& info) {
    return name_of(info.param);
};
INSTANTIATE_TEST_SUITE_P(Check, CorrectAbi, ::testing::ValuesIn(abi_matrix), config_name);
INSTANTIATE_TEST_SUITE_P(Check, CorrectNumpy, ::testing::ValuesIn(python_matrix), config_name);
INSTANTIATE_TEST_SUITE_P(Check, CorrectTorch, ::testing::ValuesIn(torch_matrix), config_name);

/// A planted bug, the options that expose it, and what must catch it.
struct bug_case {
    const char* bug;
    configuration config;
    std::vector<std::string> caught_by;  // each must fail
    std::size_t max_rows = 2, min_classes = 1, max_classes = 3;
};

const std::vector<bug_case> bug_cases{
    {"no_max", {"float64", "index", "mean", ""}, {"agrees_with_reference", "probs_sum_to_one"}},
    {"nan_masked", {"float64", "index", "none", ""}, {"agrees_with_reference"}},
    {"grad_wrt_probs",
     {"float64", "index", "mean", ""},
     {"agrees_with_reference", "grad_rows_sum_to_zero", "self_consistency"}},
    {"mean_divisor",
     {"float64", "index", "mean", "weight,ignore_index"},
     {"agrees_with_reference", "batch_equals_rows"}},
    {"smoothing_unweighted",
     {"float32", "index", "sum", "weight,label_smoothing"},
     {"agrees_with_reference"}},
    {"block_max", {"float64", "index", "sum", ""}, {"agrees_with_reference"}, 1, 257, 260},
    {"f32_accumulate",
     {"float64", "probs", "mean", ""},
     {"agrees_with_reference", "probs_sum_to_one"}},
    {"noisy", {"float32", "index", "mean", ""}, {"determinism"}},
    {"row_mixup", {"float64", "index", "none", ""}, {"agrees_with_reference"}},
};

class BuggyPython : public ::testing::TestWithParam<bug_case> {};

TEST_P(BuggyPython, IsCaughtWithASmallCounterexample) {
    const bug_case& b = GetParam();
    const auto r = run_xentcheck(
        args_for({"--impl", python_impl("buggy/buggy_impl.py", std::string("--bug ") + b.bug)},
                 b.config, 25, 7),
        240);
    ASSERT_FALSE(r.killed);
    ASSERT_EQ(r.exit_code, 1) << r.err << r.out.substr(0, 4000);
    const auto report = parse_json(r.out);
    EXPECT_EQ(report.at("passed"), false);
    for (const std::string& name : b.caught_by) {
        const auto p = property_of(report, name);
        ASSERT_FALSE(p.is_null()) << name;
        ASSERT_EQ(p.at("status"), "failed") << b.bug << " not caught by " << name;
        const auto& logits = p.at("counterexample").at("logits");
        EXPECT_LE(logits.size(), b.max_rows) << name << ": " << p.at("counterexample").dump();
        EXPECT_GE(logits.at(0).size(), b.min_classes) << name;
        EXPECT_LE(logits.at(0).size(), b.max_classes) << name;
        EXPECT_FALSE(p.at("message").get<std::string>().empty());
    }
}

INSTANTIATE_TEST_SUITE_P(Check, BuggyPython, ::testing::ValuesIn(bug_cases),
                         [](const ::testing::TestParamInfo<bug_case>& info) {
                             return std::string(info.param.bug);
                         });

TEST(CheckBuggyAbi, GradientWithRespectToProbsIsCaughtOnOneLogit) {
    const auto r = run_xentcheck(
        {"check", "--lib", XENTCHECK_EXAMPLE_ABI_BUGGY, "--seed", "5", "--format", "json"}, 120);
    ASSERT_EQ(r.exit_code, 1) << r.err;
    const auto report = parse_json(r.out);
    for (const char* name : {"agrees_with_reference", "grad_rows_sum_to_zero", "self_consistency",
                             "grad_within_bounds", "grad_matches_chain_rule"}) {
        const auto p = property_of(report, name);
        ASSERT_EQ(p.at("status"), "failed") << name;
        const auto& c = p.at("counterexample");
        EXPECT_EQ(c.at("logits").size(), 1u) << c.dump();
        EXPECT_LE(c.at("logits").at(0).size(), 2u) << c.dump();
    }
    // The probabilities are right: their invariants hold.
    EXPECT_EQ(property_of(report, "probs_sum_to_one").at("status"), "passed");
}

}  // namespace
