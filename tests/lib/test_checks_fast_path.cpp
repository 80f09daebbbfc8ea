/// Tests of compare_values's block fast path: field by field the result of a plain per-value
/// evaluation, on random values with NaN, inf, violations, tiny and odd bounds and tied errors.
#include "xentcheck/checks.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "check_result_difference.h"
#include "xentcheck/kernels.h"

namespace xentcheck {
namespace {

constexpr double nan = std::numeric_limits<double>::quiet_NaN();
constexpr double inf = std::numeric_limits<double>::infinity();

/// compare_values as its documentation states it, one value at a time: the verdict of
/// tolerance::accepts, the errors of each value, the worst location as the first value with the
/// largest abs_error / allowed (a violation counting as infinitely bad), the first findings.
check_result per_value_compare(const std::vector<double>& reference,
                               const std::vector<double>& actual, std::size_t columns,
                               tolerance tol, const std::vector<double>& magnitude) {
    check_result r;
    r.name.push_back('x');  // (not = "x": a false -Wrestrict of GCC 12)
    r.used = tol;
    const std::size_t cols = std::max<std::size_t>(columns, 1);
    const auto where = [&](std::size_t k) {
        return location{k / cols, cols > 1 ? std::optional(k % cols) : std::nullopt};
    };
    double worst_severity = -1;
    const std::size_t n = std::min(reference.size(), actual.size());
    for (std::size_t k = 0; k < n; ++k) {
        const double e = reference[k];
        const double a = actual[k];
        const double mag = magnitude.empty() ? std::abs(e) : magnitude[k];
        const double allowed = tol.bound(mag);
        const bool ok = tol.accepts(e, a, mag);
        ++r.checked;
        const double abs_error = (std::isnan(e) && std::isnan(a)) || e == a ? 0.0
                                 : std::isfinite(e) && std::isfinite(a)     ? std::abs(a - e)
                                                                            : inf;
        const double rel_error = abs_error == 0 ? 0.0 : e != 0 ? abs_error / std::abs(e) : inf;
        r.max_abs_error = std::max(r.max_abs_error, abs_error);
        r.max_rel_error = std::max(r.max_rel_error, rel_error);
        const double ratio = abs_error == 0 ? 0.0 : allowed > 0 ? abs_error / allowed : inf;
        r.worst_ratio = std::max(r.worst_ratio, ok ? ratio : std::max(ratio, 1.0));
        double severity = ok ? abs_error / std::max(allowed, 1e-300) : inf;
        if (std::isnan(severity)) severity = 0;
        if (k == 0 || severity > worst_severity) {
            worst_severity = severity;
            r.worst = where(k);
        }
        if (ok) continue;
        r.passed = false;
        ++r.violations;
        if (r.findings.size() < check_result::max_findings)
            r.findings.push_back(finding{where(k), e, a, abs_error, rel_error, allowed});
    }
    if (reference.size() != actual.size()) {
        r.passed = false;
        ++r.violations;
        r.worst_ratio = inf;
        r.findings.push_back(finding{location{n / cols, std::nullopt},
                                     static_cast<double>(reference.size()),
                                     static_cast<double>(actual.size()), inf, inf, 0});
    }
    return r;
}

/// A random comparison: reference values of many sizes (some 0), actual values within, at and
/// beyond their bounds, repeated errors (ties for the worst location), rare specials.
struct random_case {
    std::vector<double> reference, actual, magnitude;
    std::size_t columns = 1;
    tolerance tol;
};

random_case make_case(std::mt19937_64& rng, std::size_t n) {
    std::uniform_real_distribution<double> u(0, 1);
    random_case c;
    c.columns = 1 + rng() % 20;
    const double tols[][2] = {{1e-15, 1e-12},  {0, 1e-12},   {0, 0},
                              {1e-310, 1e-14}, {1e-200, 0},  {-1e-300, 1e-10},
                              {1e-16, inf},    {nan, 1e-12}, {inf, 0}};
    const auto& t = tols[rng() % 9];
    c.tol = tolerance{t[0], t[1]};
    const bool with_magnitude = rng() % 2;
    // How often the unusual appears: never (the fast path throughout), rarely, often.
    const double special = std::array{0.0, 0.002, 0.05}[rng() % 3];
    const double tie_error = (u(rng) - 0.5) * 1.6;
    for (std::size_t k = 0; k < n; ++k) {
        double e = rng() % 10 == 0 ? 0.0 : (u(rng) - 0.5) * std::pow(10.0, -6 + 8 * u(rng));
        double m = with_magnitude ? std::abs(e) * (1 + u(rng)) : std::abs(e);
        if (u(rng) < special) m = std::array{nan, inf, 0.0, -1.0}[rng() % 4];
        const double allowed = c.tol.bound(m);
        const double bound = std::isfinite(allowed) ? allowed : 1e-3;
        double a = e;
        switch (rng() % 6) {
            case 0:  // exact
                break;
            case 1:  // the same relative error again and again: ties
                a = e + tie_error * bound;
                break;
            case 2:
                a = e + (u(rng) - 0.5) * 1.9 * bound;
                break;
            case 3:
                a = std::nextafter(e, rng() % 2 ? inf : -inf);
                break;
            default:
                a = e + (u(rng) - 0.5) * 2 * bound * (u(rng) < 0.3 ? 1.2 : 0.9);
        }
        if (u(rng) < special) e = std::array{nan, inf, -inf, 1e308, -0.0}[rng() % 5];
        if (u(rng) < special) a = std::array{nan, inf, -inf, -1e308, 0.0}[rng() % 5];
        if (u(rng) < special) a = e;
        if (u(rng) < special / 4) a = e + 1;  // a plain violation
        c.reference.push_back(e);
        c.actual.push_back(a);
        if (with_magnitude) c.magnitude.push_back(m);
    }
    return c;
}

/// compare_values against per_value_compare on random cases, field by field.
void matches_the_per_value_evaluation() {
    std::mt19937_64 rng(20261128);
    const std::size_t sizes[] = {0, 1, 2, 7, 63, 64, 65, 128, 200, 1000, 4097};
    std::size_t compared = 0;
    for (int round = 0; round < 400; ++round) {
        const std::size_t n = sizes[rng() % std::size(sizes)];
        random_case c = make_case(rng, n);
        if (rng() % 20 == 0 && !c.actual.empty()) c.actual.pop_back();  // a size mismatch
        const check_result want =
            per_value_compare(c.reference, c.actual, c.columns, c.tol, c.magnitude);
        const check_result got =
            compare_values("x", c.reference, c.actual, c.columns, c.tol, c.magnitude);
        ASSERT_EQ(test_support::check_result_difference(got, want), "")
            << "round " << round << ", " << n << " values";
        // The in-place form, into a result still holding another comparison's findings.
        check_result reused = per_value_compare({nan, 1}, {0, 2}, 1, {}, {});
        compare_values(reused, "x", c.reference, c.actual, c.columns, c.tol, c.magnitude);
        ASSERT_EQ(test_support::check_result_difference(reused, want), "")
            << "in place, round " << round;
        compared += n;
    }
    EXPECT_GT(compared, 100000u);
}

/// 300 values, every one off by the same error under the same bound except two pairs of
/// larger ties, in the second and the fourth block of 64: the first of the largest wins.
void worst_location_is_the_first_of_tied_values() {
    std::vector<double> ref(300, 1.0), act(300, 1.0 + 0x1p-40);
    act[70] = act[71] = act[200] = 1.0 + 0x1p-38;
    const check_result r = compare_values("x", ref, act, 10, tolerance{0, 0x1p-30});
    ASSERT_TRUE(r.worst.has_value());
    EXPECT_EQ(r.worst->row, 7u);
    EXPECT_EQ(r.worst->column, 0u);
    EXPECT_TRUE(r.passed);
    EXPECT_EQ(r.checked, 300u);
    EXPECT_EQ(r.worst_ratio, 0x1p-8);
}

/// Runs `body` on the scalar path and on the automatic one (the vector kernels where the CPU
/// has them), naming the path on failure.
template <class Body>
void on_both_paths(Body body) {
    for (const bool scalar : {true, false}) {
        SCOPED_TRACE(scalar ? "scalar kernels" : "automatic kernels");
        force_scalar_kernels(scalar);
        body();
        force_scalar_kernels(false);
    }
}

TEST(CompareValuesFastPath, MatchesThePerValueEvaluationFieldByField) {
    on_both_paths([] { matches_the_per_value_evaluation(); });
}

TEST(CompareValuesFastPath, TheWorstLocationIsTheFirstOfTiedValues) {
    on_both_paths([] { worst_location_is_the_first_of_tied_values(); });
}

}  // namespace
}  // namespace xentcheck
