/// The property suite: every registered property on generated problems, for the reference
/// (standard and native arithmetic) and for the independent textbook implementation.
#include <memory>
#include <string>

#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include "xentcheck/properties/planted_bugs.h"
#include "xentcheck/properties/properties.h"

namespace xp = xentcheck::properties;

namespace {

/// Which implementation a test runs, and on which problems.
enum class subject { reference, reference_native, textbook, reference_whole_row_masks };

struct suite_case {
    subject who;
    const xp::property_info* property;
};

std::unique_ptr<xp::implementation> make(subject who) {
    using arithmetic = xp::reference_implementation::arithmetic;
    switch (who) {
        case subject::reference_native:
            return std::make_unique<xp::reference_implementation>(arithmetic::native);
        case subject::textbook:
            return std::make_unique<xp::planted_bug_implementation>(xp::planted_bug::none);
        default:
            return std::make_unique<xp::reference_implementation>(arithmetic::standard);
    }
}

/// Implementation properties for every subject; lib's own Jacobian/Hessian properties once.
std::vector<suite_case> cases_for(subject who) {
    std::vector<suite_case> out;
    for (const auto& p : xp::all_properties()) {
        const bool about_lib = p.subject == xp::property_subject::reference;
        if (about_lib && who != subject::reference) continue;
        out.push_back({who, &p});
    }
    return out;
}

/// Properties that define the semantics of rows made only of -inf (undefined rows).
std::vector<suite_case> whole_row_mask_cases() {
    std::vector<suite_case> out;
    for (const char* name : {"agrees_with_reference", "batch_equals_rows", "shift_invariance",
                             "permutation_equivariance", "ignored_rows_exactly_zero",
                             "probs_sum_to_one", "grad_rows_sum_to_zero"}) {
        out.push_back({subject::reference_whole_row_masks, xp::find_property(name)});
    }
    return out;
}

class holds : public ::testing::TestWithParam<suite_case> {};

}  // namespace

TEST(registry, names_are_unique_and_found) {
    for (const auto& p : xp::all_properties()) {
        ASSERT_EQ(xp::find_property(p.name), &p) << p.name;
        EXPECT_FALSE(p.summary.empty()) << p.name;
    }
    EXPECT_EQ(xp::find_property("no_such_property"), nullptr);
}

TEST_P(holds, on_generated_problems) {
    const suite_case c = GetParam();
    const std::unique_ptr<xp::implementation> impl = make(c.who);
    xp::generator_config config;
    config.whole_row_masks = c.who == subject::reference_whole_row_masks;
    const auto gen = xp::gen_problem(c.property->config_for(config));
    const xp::property_function check = c.property->check;
    // A failure prints RapidCheck's seed/reproduce string and the shrunk problem via show().
    rc::detail::checkGTest([&] {
        const xp::problem p = *gen;
        const xp::verdict v = check(*impl, p);
        if (!v) RC_FAIL(v.message);
    });
}

namespace {

std::string case_name(const ::testing::TestParamInfo<suite_case>& info) {
    return std::string(info.param.property->name);
}

}  // namespace

INSTANTIATE_TEST_SUITE_P(reference, holds, ::testing::ValuesIn(cases_for(subject::reference)),
                         case_name);
INSTANTIATE_TEST_SUITE_P(reference_native, holds,
                         ::testing::ValuesIn(cases_for(subject::reference_native)), case_name);
INSTANTIATE_TEST_SUITE_P(textbook, holds, ::testing::ValuesIn(cases_for(subject::textbook)),
                         case_name);
INSTANTIATE_TEST_SUITE_P(whole_row_masks, holds, ::testing::ValuesIn(whole_row_mask_cases()),
                         case_name);
