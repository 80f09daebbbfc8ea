/// test_consistency_properties.cpp: self_consistency and determinism in-process: the reference
/// and the textbook implementation pass them, planted bugs are caught (or, for a bug that keeps
/// loss and gradient consistent, shown not to be: that is agreement's job).
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "xentcheck/properties/planted_bugs.h"
#include "xentcheck/properties/search.h"

namespace {

namespace xp = xentcheck::properties;

xp::search_result search(xp::implementation& impl, const char* property,
                         xp::generator_config config = {}, int cases = 150) {
    const xp::property_info* info = xp::find_property(property);
    EXPECT_NE(info, nullptr) << property;
    return xp::search_counterexample(impl, *info, config, {.seed = 11, .max_success = cases});
}

TEST(ConsistencyProperties, AreRegisteredForImplementations) {
    for (const char* name : {"self_consistency", "determinism"}) {
        const xp::property_info* info = xp::find_property(name);
        ASSERT_NE(info, nullptr) << name;
        EXPECT_EQ(info->subject, xp::property_subject::implementation);
    }
    // Finite differences ask up to 25 problems per case: their problems are bounded.
    const auto narrowed = xp::find_property("self_consistency")->config_for({});
    EXPECT_LE(narrowed.max_elements, 8192u);
}

TEST(ConsistencyProperties, HoldForTheReferenceAndTheTextbook) {
    xp::reference_implementation reference;
    xp::reference_implementation native(xp::reference_implementation::arithmetic::native);
    xp::planted_bug_implementation textbook(xp::planted_bug::none);
    for (xp::implementation* impl :
         std::vector<xp::implementation*>{&reference, &native, &textbook}) {
        for (const char* name : {"self_consistency", "determinism"}) {
            const auto r = search(*impl, name);
            EXPECT_EQ(r.result, xp::search_result::outcome::passed)
                << impl->name() << " / " << name << ": " << r.failure.message << "\n"
                << (r.counterexample ? xp::show(r.counterexample->value) : "");
        }
    }
}

TEST(ConsistencyProperties, SelfConsistencyHoldsAtFloat32) {
    xp::planted_bug_implementation textbook(xp::planted_bug::none);
    xp::generator_config config;
    config.dtypes = {xp::scalar_type::float32};
    const auto r = search(textbook, "self_consistency", config, 200);
    EXPECT_EQ(r.result, xp::search_result::outcome::passed)
        << r.failure.message << "\n"
        << (r.counterexample ? xp::show(r.counterexample->value) : "");
}

TEST(ConsistencyProperties, SelfConsistencyCatchesGradientsThatAreNotTheLossDerivative) {
    for (const xp::planted_bug bug :
         {xp::planted_bug::gradient_sign, xp::planted_bug::grad_wrt_probs,
          xp::planted_bug::log_base_2}) {
        xp::planted_bug_implementation impl(bug);
        const auto r = search(impl, "self_consistency");
        ASSERT_EQ(r.result, xp::search_result::outcome::failed) << to_string(bug);
        const xp::problem& p = r.counterexample->value;
        EXPECT_LE(p.rows, 2u) << xp::show(p);
        EXPECT_LE(p.classes, 3u) << xp::show(p);
        EXPECT_NE(r.failure.message.find("central differences of its loss"), std::string::npos)
            << r.failure.message;
    }
}

TEST(ConsistencyProperties, SelfConsistencyCannotSeeABugThatKeepsLossAndGradientConsistent) {
    // Dividing the mean by N in both the loss and the gradient is wrong, but consistent.
    xp::planted_bug_implementation impl(xp::planted_bug::mean_divides_by_rows);
    EXPECT_EQ(search(impl, "self_consistency").result, xp::search_result::outcome::passed);
    EXPECT_EQ(search(impl, "agrees_with_reference").result, xp::search_result::outcome::failed);
}

/// The reference with noise of a few ulps on every answer (like a reduction whose order
/// depends on thread timing).
class noisy_reference final : public xp::implementation {
  public:
    std::string name() const override { return "noisy reference"; }
    xp::outputs evaluate(const xp::problem& p) override {
        xp::outputs o = xp::reference_implementation().evaluate(p);
        for (auto* v : {&o.probs, &o.loss, &o.grad})
            for (double& x : *v)
                x *= 1 + 4e-16 * noise_(rng_);
        return o;
    }

  private:
    std::mt19937_64 rng_{5};
    std::normal_distribution<double> noise_;
};

TEST(ConsistencyProperties, DeterminismCatchesNoiseTheToleranceHides) {
    noisy_reference noisy;
    EXPECT_EQ(search(noisy, "agrees_with_reference").result, xp::search_result::outcome::passed);
    const auto r = search(noisy, "determinism");
    ASSERT_EQ(r.result, xp::search_result::outcome::failed);
    EXPECT_LE(r.counterexample->value.classes, 2u) << xp::show(r.counterexample->value);
    EXPECT_NE(r.failure.message.find("another answer"), std::string::npos) << r.failure.message;
}

}  // namespace
