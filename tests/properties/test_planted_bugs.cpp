/// Checks of the checks: each planted bug is caught by the properties named here, and the
/// shrunk counterexample is small (at most 2 rows and 3 classes, or 257 classes for the bug
/// that needs more than 256).
#include <cstdlib>
#include <iostream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "xentcheck/properties/planted_bugs.h"
#include "xentcheck/properties/search.h"

namespace xp = xentcheck::properties;
using xp::planted_bug;

namespace {

struct expectation {
    planted_bug bug;
    std::vector<const char*> caught_by;  // each must fail with a small counterexample
    std::size_t max_rows = 2, min_classes = 1, max_classes = 3;
};

const std::vector<expectation>& expectations() {
    static const std::vector<expectation> all{
        {planted_bug::gradient_sign,
         {"grad_within_bounds", "grad_matches_chain_rule", "agrees_with_reference",
          "hessian_matches_gradient_differences"}},
        {planted_bug::no_max_subtraction,
         {"probs_in_unit_interval", "probs_sum_to_one", "probs_preserve_order", "shift_invariance",
          "grad_within_bounds", "loss_equals_logsumexp_form", "agrees_with_reference"}},
        {planted_bug::log_base_2, {"loss_equals_logsumexp_form", "agrees_with_reference"}},
        {planted_bug::grad_wrt_probs,
         {"grad_rows_sum_to_zero", "grad_within_bounds", "grad_matches_chain_rule",
          "agrees_with_reference", "hessian_matches_gradient_differences"}},
        {planted_bug::mean_divides_by_rows,
         {"batch_equals_rows", "grad_matches_chain_rule", "loss_equals_logsumexp_form",
          "agrees_with_reference", "hessian_matches_gradient_differences"}},
        {planted_bug::mean_counts_ignored_rows,
         {"batch_equals_rows", "grad_matches_chain_rule", "loss_equals_logsumexp_form",
          "agrees_with_reference", "hessian_matches_gradient_differences"}},
        {planted_bug::block_max_256,
         {"probs_in_unit_interval", "probs_sum_to_one", "grad_within_bounds",
          "grad_matches_chain_rule", "loss_equals_logsumexp_form", "agrees_with_reference"},
         1,
         257,
         257},
        {planted_bug::float32_accumulation,
         {"probs_sum_to_one", "grad_rows_sum_to_zero", "grad_matches_chain_rule",
          "loss_equals_logsumexp_form", "agrees_with_reference"}},
    };
    return all;
}

/// The seed of the searches; XENTCHECK_PLANTED_SEED overrides it to try others.
std::uint64_t seed() {
    const char* s = std::getenv("XENTCHECK_PLANTED_SEED");
    return s ? std::strtoull(s, nullptr, 10) : 1;
}

/// "logits zero except [row, class] = value, ..." for counterexamples too wide to print.
std::string nonzero_logits(const xp::problem& p) {
    std::string out = "logits 0 except";
    for (std::size_t k = 0; k < p.logits.size(); ++k) {
        if (p.logits[k] != 0) {
            out += " [" + std::to_string(k / p.classes) + ", " + std::to_string(k % p.classes) +
                   "] = " + xp::show_number(p.logits[k]);
        }
    }
    return out + " (" + std::string(to_string(p.dtype)) + ", reduction " +
           std::string(xentcheck::to_string(p.reduction)) + ")";
}

class planted : public ::testing::TestWithParam<expectation> {};

}  // namespace

TEST(planted_bugs, every_bug_has_an_expectation) {
    for (const auto bug : xp::all_planted_bugs()) {
        if (bug == planted_bug::none) continue;
        bool found = false;
        for (const auto& e : expectations())
            found |= e.bug == bug;
        EXPECT_TRUE(found) << to_string(bug);
    }
}

TEST_P(planted, is_caught_with_a_small_counterexample) {
    const expectation& e = GetParam();
    xp::planted_bug_implementation impl(e.bug);
    for (const char* name : e.caught_by) {
        const xp::property_info* property = xp::find_property(name);
        ASSERT_NE(property, nullptr) << name;
        // The default configuration: the bug must be found among everything the generators
        // produce, not in a configuration tailored to it.
        const auto r = xp::search_counterexample(impl, *property, xp::generator_config{},
                                                 {.seed = seed(), .max_success = 300});
        ASSERT_EQ(r.result, xp::search_result::outcome::failed)
            << to_string(e.bug) << " not caught by " << name << " in " << r.cases_passed
            << " cases";
        ASSERT_TRUE(r.counterexample);
        const xp::problem& p = r.counterexample->value;
        std::cout << to_string(e.bug) << " / " << name << ": caught after " << r.cases_passed
                  << " passing cases, " << r.shrinks << " shrinks; minimal case " << p.rows << " x "
                  << p.classes << ": " << (p.classes <= 8 ? xp::show(p) : nonzero_logits(p))
                  << "\n    " << r.failure.message.substr(0, r.failure.message.find('\n')) << "\n";
        EXPECT_FALSE(r.failure.passed);
        EXPECT_LE(p.rows, e.max_rows) << name << ": " << xp::show(p);
        EXPECT_GE(p.classes, e.min_classes) << name << ": " << xp::show(p);
        EXPECT_LE(p.classes, e.max_classes) << name << ": " << xp::show(p);
    }
}

INSTANTIATE_TEST_SUITE_P(bugs, planted, ::testing::ValuesIn(expectations()),
                         [](const ::testing::TestParamInfo<expectation>& info) {
                             return std::string(to_string(info.param.bug));
                         });
