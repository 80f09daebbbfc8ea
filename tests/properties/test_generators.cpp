/// Tests of the generators: validity, coverage of every regime, and shrinking to minimal cases.
#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <set>

#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include "xentcheck/properties/generators.h"
#include "xentcheck/properties/search.h"

namespace xp = xentcheck::properties;

namespace {

constexpr double neg_inf = -std::numeric_limits<double>::infinity();

bool float_exact(double x) {
    return !std::isfinite(x) || static_cast<double>(static_cast<float>(x)) == x;
}

/// Draws `count` problems at full size from a fixed seed (deterministic).
std::vector<xp::labelled_problem> draw(const xp::generator_config& config, int count) {
    const auto gen = xp::gen_labelled_problem(config);
    rc::Random random(12345);
    std::vector<xp::labelled_problem> out;
    for (int k = 0; k < count; ++k)
        out.push_back(gen(random.split(), 100).value());
    return out;
}

/// A property for shrinking tests: fails exactly when `fails` says so.
template <bool (*fails)(const xp::problem&)>
xp::property_info failing_when() {
    return {"synthetic", "fails on a condition", xp::property_subject::implementation,
            [](xp::implementation&, const xp::problem& p) {
                return fails(p) ? xp::verdict::fail("condition met") : xp::verdict::pass();
            }};
}

bool always(const xp::problem&) {
    return true;
}

bool has_masked_logit(const xp::problem& p) {
    return std::count(p.logits.begin(), p.logits.end(), neg_inf) > 0;
}

/// Some row has no probability >= 1/2 (no class dominates).
bool has_flat_row(const xp::problem& p) {
    for (std::size_t i = 0; i < p.rows; ++i) {
        const double* z = p.logits.data() + i * p.classes;
        const double m = *std::max_element(z, z + p.classes);
        double total = 0;
        for (std::size_t j = 0; j < p.classes; ++j)
            total += std::exp(z[j] - m);
        if (1 / total < 0.5) return true;
    }
    return false;
}

bool more_than_256_classes(const xp::problem& p) {
    return p.classes > 256;
}

bool exp_overflows(const xp::problem& p) {
    return std::any_of(p.logits.begin(), p.logits.end(),
                       [](double z) { return z > 0 && std::isinf(std::exp(z)); });
}

xp::search_result shrink(const xp::property_info& property,
                         const xp::generator_config& config = {}) {
    xp::reference_implementation impl;
    return xp::search_counterexample(impl, property, config, {.seed = 7, .max_success = 1000});
}

}  // namespace

RC_GTEST_PROP(generators, problems_are_valid_and_within_budget, ()) {
    const xp::generator_config config;
    const xp::labelled_problem l = *xp::gen_labelled_problem(config);
    const xp::problem& p = l.value;
    // The distribution RapidCheck prints on success: where C came from, dtype, target form.
    RC_TAG(to_string(l.classes_from), to_string(p.dtype), to_string(p.kind()));
    xp::validate(p);  // throws (fails the property) when not
    RC_ASSERT(p.rows >= 1u);
    RC_ASSERT(p.rows <= config.max_rows);
    RC_ASSERT(p.rows * p.classes <= std::max<std::size_t>(config.max_elements, p.classes));
    for (std::size_t i = 0; i < p.rows; ++i) {
        const auto row = p.logits.begin() + static_cast<std::ptrdiff_t>(i * p.classes);
        RC_ASSERT(std::any_of(row, row + static_cast<std::ptrdiff_t>(p.classes),
                              [](double z) { return z > neg_inf; }));
    }
}

RC_GTEST_PROP(generators, logit_rows_and_weights_have_the_requested_shape, ()) {
    const std::size_t c = *xp::gen_class_count({.max_classes = 300});
    RC_ASSERT(c >= 1u);
    RC_ASSERT(c <= 300u);
    const auto row = *xp::gen_logit_row(c, xp::scalar_type::float32);
    RC_ASSERT(row.size() == c);
    RC_ASSERT(std::all_of(row.begin(), row.end(), float_exact));
    const auto w = *xp::gen_weights(c);
    RC_ASSERT(w.size() == c);
    RC_ASSERT(std::all_of(w.begin(), w.end(), [](double x) { return x >= 0.125 && x <= 4; }));
}

TEST(generators, cover_every_regime_option_and_class_size) {
    const auto problems = draw({}, 1500);
    std::map<std::string_view, int> regimes, class_regimes, kinds, dtypes, reductions;
    std::set<std::size_t> sizes;
    int weighted = 0, ignoring = 0, smoothed = 0, soft = 0, unnormalised = 0, masked = 0;
    for (const auto& l : problems) {
        const xp::problem& p = l.value;
        for (const auto r : l.row_regimes)
            ++regimes[to_string(r)];
        ++class_regimes[to_string(l.classes_from)];
        ++kinds[to_string(p.kind())];
        ++dtypes[to_string(p.dtype)];
        ++reductions[xentcheck::to_string(p.reduction)];
        sizes.insert(p.classes);
        weighted += !p.weight.empty();
        smoothed += p.label_smoothing > 0;
        masked += std::count(p.logits.begin(), p.logits.end(), neg_inf) > 0;
        if (p.kind() == xp::target_kind::index) {
            for (std::size_t i = 0; i < p.rows; ++i)
                ignoring += p.row_ignored(i);
        } else {
            for (std::size_t i = 0; i < p.rows; ++i) {
                double total = 0, nonzero = 0;
                for (std::size_t j = 0; j < p.classes; ++j) {
                    total += p.target_probs()[i * p.classes + j];
                    nonzero += p.target_probs()[i * p.classes + j] != 0;
                }
                soft += nonzero > 1;
                unnormalised += std::abs(total - 1) > 1e-6;
            }
        }
        if (p.dtype == xp::scalar_type::float32) {
            ASSERT_TRUE(std::all_of(p.logits.begin(), p.logits.end(), float_exact)) << xp::show(p);
        }
    }
    for (const auto r : xp::all_logit_regimes())
        EXPECT_GE(regimes[to_string(r)], 20) << to_string(r);
    for (const auto* r : {"small", "medium", "block_edge", "large"})
        EXPECT_GE(class_regimes[r], 10) << r;
    EXPECT_GT(kinds["index"], 300);
    EXPECT_GT(kinds["probability"], 300);
    EXPECT_GT(dtypes["float32"], 300);
    for (const auto* r : {"none", "mean", "sum"})
        EXPECT_GT(reductions[r], 200) << r;
    for (const std::size_t c : {1u, 2u, 255u, 256u, 257u, 4097u})
        EXPECT_TRUE(sizes.count(c)) << c;
    EXPECT_GE(*sizes.rbegin(), 32768u);
    EXPECT_GT(weighted, 150);
    EXPECT_GT(ignoring, 150);
    EXPECT_GT(smoothed, 150);
    EXPECT_GT(soft, 150);
    EXPECT_GT(unnormalised, 50);
    EXPECT_GT(masked, 50);
}

TEST(generators, respect_a_narrow_configuration) {
    xp::generator_config config;
    config.dtypes = {xp::scalar_type::float32};
    config.targets = {xp::target_kind::probability};
    config.reductions = {xentcheck::reduction::sum};
    config.regimes = {xp::logit_regime::large_1e300};
    config.weights = config.label_smoothing = config.soft_targets = false;
    config.min_classes = 3;
    config.max_classes = 5;
    for (const auto& l : draw(config, 200)) {
        const xp::problem& p = l.value;
        EXPECT_EQ(p.dtype, xp::scalar_type::float32);
        EXPECT_EQ(p.kind(), xp::target_kind::probability);
        EXPECT_EQ(p.reduction, xentcheck::reduction::sum);
        EXPECT_TRUE(p.weight.empty());
        EXPECT_EQ(p.label_smoothing, 0);
        EXPECT_GE(p.classes, 3u);
        EXPECT_LE(p.classes, 5u);
        for (const double z : p.logits)
            EXPECT_LE(std::abs(z), 0x1p100);  // float32 problems stay far from float overflow
    }
}

TEST(generators, whole_row_masks_only_when_asked) {
    auto whole_rows = [](const std::vector<xp::labelled_problem>& problems) {
        int count = 0;
        for (const auto& l : problems) {
            const xp::problem& p = l.value;
            for (std::size_t i = 0; i < p.rows; ++i) {
                const auto row = p.logits.begin() + static_cast<std::ptrdiff_t>(i * p.classes);
                count += std::all_of(row, row + static_cast<std::ptrdiff_t>(p.classes),
                                     [](double z) { return z == neg_inf; });
            }
        }
        return count;
    };
    xp::generator_config config;
    config.max_classes = 16;
    EXPECT_EQ(whole_rows(draw(config, 400)), 0);
    config.whole_row_masks = true;
    EXPECT_GT(whole_rows(draw(config, 400)), 10);
}

TEST(generators, an_always_failing_property_shrinks_to_the_simplest_problem) {
    const auto r = shrink(failing_when<&always>());
    ASSERT_EQ(r.result, xp::search_result::outcome::failed);
    ASSERT_TRUE(r.counterexample);
    EXPECT_EQ(xp::show(r.counterexample->value),
              "{\"dtype\": \"float64\", \"reduction\": \"none\", \"logits\": [[0]], "
              "\"target\": [0]}");
}

TEST(generators, an_irrelevant_mask_shrinks_away_and_a_relevant_one_stays_alone) {
    // Fails when some row has a -inf: the minimal case is one row (0, -inf).
    const auto r = shrink(failing_when<&has_masked_logit>());
    ASSERT_EQ(r.result, xp::search_result::outcome::failed);
    const xp::problem& p = r.counterexample->value;
    EXPECT_EQ(p.rows, 1u) << xp::show(p);
    EXPECT_EQ(xp::show(p),
              "{\"dtype\": \"float64\", \"reduction\": \"none\", \"logits\": [[0, \"-inf\"]], "
              "\"target\": [0]}");
}

TEST(generators, irrelevant_rows_options_and_large_values_shrink_away) {
    // Fails when some row's largest probability is below 1/2 (needs >= 3 classes or a tie).
    const auto r = shrink(failing_when<&has_flat_row>());
    ASSERT_EQ(r.result, xp::search_result::outcome::failed);
    EXPECT_EQ(xp::show(r.counterexample->value),
              "{\"dtype\": \"float64\", \"reduction\": \"none\", \"logits\": [[0, 0, 0]], "
              "\"target\": [0]}");
}

TEST(generators, a_class_count_bug_shrinks_to_just_past_the_block) {
    const auto r = shrink(failing_when<&more_than_256_classes>());
    ASSERT_EQ(r.result, xp::search_result::outcome::failed);
    EXPECT_EQ(r.counterexample->value.classes, 257u);
    EXPECT_EQ(r.counterexample->value.rows, 1u);
}

TEST(generators, an_overflow_threshold_shrinks_to_the_threshold) {
    // Fails when exp(z) overflows in double: one logit, the first grid value past
    // ln(DBL_MAX) = 709.78 (709.8125 in large_709, or 710 for a dominant logit).
    const auto r = shrink(failing_when<&exp_overflows>());
    ASSERT_EQ(r.result, xp::search_result::outcome::failed);
    const xp::problem& p = r.counterexample->value;
    EXPECT_EQ(p.rows, 1u) << xp::show(p);
    EXPECT_EQ(p.classes, 1u) << xp::show(p);
    EXPECT_TRUE(p.logits[0] == 709.8125 || p.logits[0] == 710.0) << xp::show(p);
}
