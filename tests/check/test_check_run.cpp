/// test_check_run.cpp: the run engine of `xentcheck check` through its API: counterexamples
/// with the implementation's answer and a witness, shrinking limits, carried counterexamples,
/// remembered answers, and the case conversions.
#include <gtest/gtest.h>

#include <algorithm>
#include <limits>

#include "check_test_support.h"
#include "xentcheck/check/check_run.h"

namespace {

using namespace xentcheck::check;
using namespace xentcheck::check::testing;
namespace xp = xentcheck::properties;

xp::generator_config float64_index_mean() {
    xp::generator_config c;
    c.dtypes = {xp::scalar_type::float64};
    c.targets = {xp::target_kind::index};
    c.reductions = {xentcheck::reduction::mean};
    c.weights = c.ignore_index = c.label_smoothing = false;
    return c;
}

run_options options_for(std::vector<std::string> properties) {
    run_options o;
    o.config = float64_index_mean();
    o.seed = 1;
    o.max_success = 100;
    o.properties = std::move(properties);
    return o;
}

TEST(CheckRun, AShiftBugGetsAWitnessBesidesItsInput) {
    // Without the max subtraction, rows shifted to a maximum of 709 overflow: the input itself
    // (three zero logits, a fixed case, so it is not shrunk into one that overflows by itself)
    // is answered correctly, the shifted problem is not.
    external_implementation ext("no_max", python_command("buggy/buggy_impl.py", "--bug no_max"));
    memo_implementation impl(ext);
    run_options o = options_for({"shift_invariance"});
    o.max_success = 0;
    xp::problem zeros;
    zeros.rows = 1;
    zeros.classes = 3;
    zeros.logits = {0, 0, 0};
    zeros.target = std::vector<std::int64_t>{0};
    o.cases.push_back({zeros, "three zeros"});
    const run_outcome run = run_check(impl, o);
    ASSERT_EQ(run.properties.size(), 1u);
    const property_outcome& p = run.properties[0];
    ASSERT_FALSE(p.passed);
    EXPECT_EQ(p.example->origin, "three zeros");
    ASSERT_TRUE(p.example && p.example->outputs && p.example->witness) << p.message;
    EXPECT_FALSE(eval_fails(case_of(p.example->problem, &*p.example->outputs, "", "")));
    EXPECT_TRUE(eval_fails(case_of(*p.example->witness, &p.example->witness_outputs, "", "")));
    EXPECT_EQ(p.example->witness->logits, (std::vector<double>{709, 709, 709}));
}

/// The block bug (it needs C > 256, so its failures take many steps to shrink) against
/// agrees_with_reference, with shrinking stopped after 3 simpler problems.
struct shrink_limited_block_max {
    external_implementation ext{"block_max",
                                python_command("buggy/buggy_impl.py", "--bug block_max")};
    memo_implementation impl{ext};
    run_options options = [] {
        run_options o = options_for({"agrees_with_reference"});
        o.shrink.max_evaluations = 3;
        return o;
    }();
};

TEST(CheckRun, ShrinkingStopsAtItsLimitsAndSaysSo) {
    shrink_limited_block_max c;
    const run_outcome run = run_check(c.impl, c.options);
    const property_outcome& p = run.properties[0];
    ASSERT_FALSE(p.passed);
    EXPECT_EQ(p.shrink_evaluations, 3u);
    EXPECT_NE(p.shrink_stopped.find("after 3 simpler problems tried"), std::string::npos)
        << p.shrink_stopped;
    ASSERT_TRUE(p.example);
    EXPECT_GT(p.example->problem.classes, 256u);
}

TEST(CheckRun, ProgressWhileShrinkingCountsTheProblemsTried) {
    shrink_limited_block_max c;
    int last_tested = -1, shrinking_reports = 0;
    bool counted = true;
    const run_outcome run = run_check(c.impl, c.options, [&](const run_progress& where) {
        if (!where.shrinking) {
            last_tested = where.tested;
            return;
        }
        ++shrinking_reports;
        counted &= where.tested == last_tested && where.tested >= 1;
    });
    ASSERT_FALSE(run.properties[0].passed);
    EXPECT_GT(shrinking_reports, 0);
    EXPECT_TRUE(counted) << "a shrinking report lost the count of problems tried";
}

TEST(CheckRun, LaterPropertiesTryEarlierCounterexamplesFirstAndShareAnswers) {
    external_implementation ext("grad_wrt_probs",
                                python_command("buggy/buggy_impl.py", "--bug grad_wrt_probs"));
    memo_implementation impl(ext);
    const run_outcome run = run_check(
        impl, options_for({"agrees_with_reference", "grad_rows_sum_to_zero", "probs_sum_to_one"}));
    ASSERT_EQ(run.properties.size(), 3u);
    EXPECT_FALSE(run.properties[0].passed);
    ASSERT_FALSE(run.properties[1].passed);
    EXPECT_EQ(run.properties[1].tests, 1);  // the carried counterexample fails at once
    EXPECT_NE(run.properties[1].example->origin.find("agrees_with_reference"), std::string::npos);
    EXPECT_TRUE(run.properties[2].passed);
    EXPECT_EQ(run.properties[2].tests, 101);
    // The generated problems are the same for all three: each is asked once.
    EXPECT_LT(run.requests, 250u);
}

TEST(CheckRun, FixedCasesRunFirstAndAreNotShrunk) {
    external_implementation ext("numpy", python_command("python/numpy_impl.py"));
    memo_implementation impl(ext);
    run_options o = options_for({"agrees_with_reference"});
    o.max_success = 5;
    xp::problem p;
    p.rows = 1;
    p.classes = 2;
    p.logits = {0.5, -1.5};
    p.target = std::vector<std::int64_t>{1};
    o.cases.push_back({p, "a test case"});
    const run_outcome run = run_check(impl, o);
    EXPECT_TRUE(run.properties[0].passed);
    EXPECT_EQ(run.properties[0].tests, 6);
}

TEST(CheckRun, RememberedAnswersAreKeyedByTheWholeProblem) {
    // Two problems whose hashes collide (they differ only between the values the hash
    // samples): the second is asked, not served the first one's answer; the first, asked
    // again, is served from memory.
    external_implementation ext("numpy", python_command("python/numpy_impl.py"));
    memo_implementation impl(ext);
    xp::problem p;
    p.rows = 2;
    p.classes = 4096;
    p.logits.assign(p.rows * p.classes, 0.0);
    p.target = std::vector<std::int64_t>{0, 1};
    xp::problem q = p;
    q.logits[1] = 2;
    ASSERT_EQ(xp::problem_hash(p), xp::problem_hash(q));
    const auto first = impl.evaluate_shared(p);
    const auto second = impl.evaluate_shared(q);
    EXPECT_EQ(impl.requests(), 2u);
    EXPECT_GT(second->probs[1], first->probs[1]);
    EXPECT_EQ(impl.evaluate_shared(p), first);  // the same answer, shared, not a copy
    EXPECT_EQ(impl.requests(), 2u);
    impl.forget(p);
    EXPECT_EQ(impl.evaluate(p).probs, first->probs);
    EXPECT_EQ(impl.requests(), 3u);
}

TEST(CheckRun, FixedCasesTriedInParallelGiveTheSameOutcome) {
    // The dE/dp bug fails the gradient properties and passes the others; which property fails
    // on which case, with which message, must not depend on how many run at once.
    auto run_with = [](std::size_t jobs) {
        external_implementation ext("buggy", serve_command(XENTCHECK_EXAMPLE_ABI_BUGGY));
        memo_implementation impl(ext);
        run_options o = options_for(default_check_properties());
        o.max_success = 0;
        o.jobs = jobs;
        for (std::size_t c : {2, 5, 300}) {
            xp::problem p;
            p.rows = 3;
            p.classes = c;
            for (std::size_t k = 0; k < p.rows * c; ++k)
                p.logits.push_back(static_cast<double>((k * 37) % 11) / 4 - 1);
            p.target = std::vector<std::int64_t>{0, 1, static_cast<std::int64_t>(c - 1)};
            o.cases.push_back({p, std::to_string(c) + " classes"});
        }
        return run_check(impl, o);
    };
    const run_outcome one = run_with(1), several = run_with(4);
    ASSERT_EQ(one.properties.size(), several.properties.size());
    EXPECT_FALSE(one.passed());
    EXPECT_EQ(one.requests, several.requests);
    int failed = 0;
    for (std::size_t k = 0; k < one.properties.size(); ++k) {
        const property_outcome& a = one.properties[k];
        const property_outcome& b = several.properties[k];
        EXPECT_EQ(a.name, b.name);
        EXPECT_EQ(a.passed, b.passed) << a.name;
        EXPECT_EQ(a.tests, b.tests) << a.name;
        EXPECT_EQ(a.message, b.message) << a.name;
        ASSERT_EQ(a.example.has_value(), b.example.has_value()) << a.name;
        if (a.example) {
            ++failed;
            EXPECT_EQ(a.example->origin, b.example->origin) << a.name;
            EXPECT_EQ(xp::identity(a.example->problem), xp::identity(b.example->problem));
        }
    }
    EXPECT_GE(failed, 3);                                        // the gradient properties
    EXPECT_LT(failed, static_cast<int>(one.properties.size()));  // not the probabilities'
}

TEST(CheckRun, UnknownPropertyNamesAreRejected) {
    external_implementation ext("numpy", python_command("python/numpy_impl.py"));
    memo_implementation impl(ext);
    EXPECT_THROW(run_check(impl, options_for({"no_such_property"})), std::invalid_argument);
}

TEST(CheckCases, ProblemsRoundTripThroughTheCaseFormat) {
    xp::problem p;
    p.dtype = xp::scalar_type::float32;
    p.rows = 2;
    p.classes = 3;
    p.logits = {0.5, -std::numeric_limits<double>::infinity(), 2, 1, 1, -3.25};
    p.target = std::vector<std::int64_t>{2, 0};
    p.ignore_index = 0;
    p.weight = {1, 0.5, 2};
    p.label_smoothing = 0.125;
    p.reduction = xentcheck::reduction::none;
    const auto c = case_of(p, nullptr, "n", "a note");
    EXPECT_EQ(xp::identity(problem_of(c)), xp::identity(p));
    const std::string json = case_json(c);
    EXPECT_NE(json.find("\"note\":\"a note\""), std::string::npos) << json;
    EXPECT_NE(json.find("\"dtype\":\"float32\""), std::string::npos) << json;
    // float32 cases must hold float32 values exactly.
    auto bad = c;
    bad.logits[0] = bad.given[0] = 0.1;
    EXPECT_THROW(problem_of(bad), xentcheck::input_error);
}

}  // namespace

namespace {

TEST(CheckRun, AFixedCaseBeyondTheGeneratorSizesIsStillTried) {
    // 2 x 70000 logits: more than the 2^17 values a generated problem may have. A user's case
    // is tried anyway by the properties whose cost is linear in its size; the bug (the shift
    // taken over the first 256 logits of a row) shows only because it is.
    external_implementation ext("block_max",
                                python_command("buggy/buggy_impl.py", "--bug block_max"));
    memo_implementation impl(ext);
    run_options o = options_for({"agrees_with_reference", "hessian_matches_gradient_differences"});
    o.max_success = 0;
    xp::problem wide;
    wide.rows = 2;
    wide.classes = 70000;
    wide.logits.assign(wide.rows * wide.classes, 0.0);
    wide.logits[60000] = 800;  // beyond the first 256: exp(800 - 0) overflows under the bug
    wide.target = std::vector<std::int64_t>{60000, 3};
    o.cases.push_back({wide, "a wide case"});
    const run_outcome run = run_check(impl, o);
    const auto outcome_of = [&](std::string_view name) -> const property_outcome& {
        const auto it = std::find_if(run.properties.begin(), run.properties.end(),
                                     [&](const property_outcome& p) { return p.name == name; });
        EXPECT_NE(it, run.properties.end()) << name;
        return *it;
    };
    ASSERT_EQ(run.properties.size(), 2u);
    const property_outcome& agrees = outcome_of("agrees_with_reference");
    EXPECT_FALSE(agrees.passed);
    ASSERT_TRUE(agrees.example);
    EXPECT_EQ(agrees.example->origin, "a wide case");
    // The Hessian differences keep their own limit (64 classes): not tried, so not failed.
    const property_outcome& hessian = outcome_of("hessian_matches_gradient_differences");
    EXPECT_TRUE(hessian.passed);
    EXPECT_EQ(hessian.tests, 0);
}

}  // namespace
