/// Tests of xentcheck/tolerance.h: the model is safe for correct float32/float64 code and tight.
#include "xentcheck/tolerance.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <iostream>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "plausible_implementations.h"
#include "tolerance_study.h"

namespace xentcheck {
namespace {

using study::impl;
using study::problem;

// ---- The API, with values worked out by hand from the documented formulas ----

constexpr double u64 = 0x1p-53;
constexpr double nan = std::numeric_limits<double>::quiet_NaN();
constexpr double inf = std::numeric_limits<double>::infinity();

TEST(Tolerance, BoundAndAcceptance) {
    const tolerance t{1e-3, 1e-2};
    EXPECT_EQ(t.bound(2), 1e-3 + 2e-2);
    EXPECT_TRUE(t.accepts(2, 2.02));
    EXPECT_FALSE(t.accepts(2, 2.022));
    EXPECT_TRUE(t.accepts(0, 0.0009));
    EXPECT_TRUE(t.accepts(0, 0.005, 1.0));  // explicit magnitude 1: bound 0.011
    EXPECT_TRUE(t.accepts(nan, nan));
    EXPECT_FALSE(t.accepts(nan, 0));
    EXPECT_TRUE(t.accepts(inf, inf));
    EXPECT_FALSE(t.accepts(inf, -inf));
    EXPECT_FALSE(t.accepts(inf, 1e308));
    EXPECT_FALSE(t.accepts(1, inf));
    EXPECT_FALSE(t.accepts(1, nan));
    EXPECT_TRUE(t.accepts(0, 0, nan));  // equal values need no bound
}

TEST(Tolerance, MeasureProblemByHand) {
    // M = 3 (the -inf is not a magnitude); A = (1, 0.5), divisor 1.5.
    const std::vector<double> z{1, -3, -inf, 2.5, 0, -2};
    const std::vector<std::int64_t> t{0, 2};
    const std::vector<double> w{1, 2, 0.5};
    cross_entropy_options o{w, -100, 0, reduction::mean};
    problem_scale s = measure_problem(u64, z, 3, target_view::indices(t), o);
    EXPECT_EQ(s.unit_roundoff, u64);
    EXPECT_EQ(s.rows, 2u);
    EXPECT_EQ(s.classes, 3u);
    EXPECT_EQ(s.max_abs_logit, 3.0);
    EXPECT_EQ(s.loss_scale, 1.0);  // (1 + 0.5) / 1.5
    EXPECT_DOUBLE_EQ(s.grad_scale, 2.0 / 3);
    EXPECT_FALSE(s.mixed_sign_targets);
    o.reduction = reduction::sum;
    s = measure_problem(u64, z, 3, target_view::indices(t), o);
    EXPECT_EQ(s.loss_scale, 1.5);
    EXPECT_EQ(s.grad_scale, 1.0);
    o.reduction = reduction::none;
    EXPECT_EQ(measure_problem(u64, z, 3, target_view::indices(t), o).loss_scale, 1.0);
    // Signed probability targets: |a|_1 = (2, 1), divisor N = 2.
    const std::vector<double> y{0.5, -0.5, 1, 0, 0, 1};
    s = measure_problem(u64, z, 3, target_view::probabilities(y), {});
    EXPECT_TRUE(s.mixed_sign_targets);
    EXPECT_EQ(s.loss_scale, 1.5);
    EXPECT_EQ(s.grad_scale, 1.0);
    const std::vector<std::int64_t> bad{0, 3};
    EXPECT_THROW(measure_problem(u64, z, 3, target_view::indices(bad), {}), input_error);
}

TEST(Tolerance, ModelFormulasByHand) {
    problem_scale s;
    s.unit_roundoff = u64;
    s.rows = 2;
    s.classes = 3;
    s.max_abs_logit = 3;
    s.loss_scale = 1;
    s.grad_scale = 2.0 / 3;
    const tolerance_model m(s);
    const double k = tolerance_model::safety * u64;
    const double r = 6 + std::log(3.0) + 1;
    EXPECT_DOUBLE_EQ(m.logit_range(), r);
    EXPECT_DOUBLE_EQ(m.probs().rtol, k * (r + 3 + 2));
    EXPECT_DOUBLE_EQ(m.probs().atol, k * u64);
    EXPECT_DOUBLE_EQ(m.loss().atol, k * (r + 3 + 2));
    EXPECT_DOUBLE_EQ(m.loss().rtol, k * (3 + 2 + 2));
    EXPECT_DOUBLE_EQ(m.grad().rtol, k * (r + 3 + 2 + 4));
    EXPECT_DOUBLE_EQ(m.grad().atol, k * u64 * 2 / 3);
    EXPECT_DOUBLE_EQ(m.probs_row_sum().atol, m.probs().rtol + 3 * m.probs().atol);
    EXPECT_DOUBLE_EQ(m.grad_row_sum().atol, 2 * m.grad().rtol * 2 / 3 + 3 * m.grad().atol);
    EXPECT_EQ(m.loss_floor(), -m.loss().atol);
    s.mixed_sign_targets = true;  // cancellation across C classes and N rows
    EXPECT_DOUBLE_EQ(tolerance_model(s).loss().atol, k * (r + 3 + 2 + (3 + 2) * r));
    s.unit_roundoff = unit_roundoff<float>();  // everything scales with u
    EXPECT_DOUBLE_EQ(tolerance_model(s).probs().rtol, m.probs().rtol * 0x1p29);
}

TEST(Tolerance, GradMagnitudesByHand) {
    const std::vector<double> p{0.25, 0.75};
    const std::vector<std::int64_t> t{1};
    const std::vector<double> w{2, 4};
    cross_entropy_options o{w, -100, 0, reduction::sum};
    // a = (0, 4): s (|a|_1 p + |a|) = (1, 7); mean divides by w[1] = 4.
    EXPECT_EQ(grad_magnitudes(p, 2, target_view::indices(t), o), (std::vector<double>{1, 7}));
    o.reduction = reduction::mean;
    EXPECT_EQ(grad_magnitudes(p, 2, target_view::indices(t), o), (std::vector<double>{0.25, 1.75}));
    // Signed targets a = (1, -1): A = 0 but |a|_1 = 2 sets the scale of A's rounding.
    const std::vector<double> y{1, -1};
    EXPECT_EQ(grad_magnitudes(p, 2, target_view::probabilities(y), {{}, -100, 0, reduction::sum}),
              (std::vector<double>{1.5, 2.5}));
    // Every row ignored under mean: the gradient is exactly 0 and so is its scale (not NaN).
    const std::vector<std::int64_t> ignored{-100};
    EXPECT_EQ(grad_magnitudes(p, 2, target_view::indices(ignored), {}),
              (std::vector<double>{0, 0}));
    const std::vector<double> undefined{nan, nan};
    EXPECT_TRUE(std::isnan(grad_magnitudes(undefined, 2, target_view::indices(t), {})[0]));
}

TEST(Tolerance, CentralDifferencePlanMinimisesItsBound) {
    const double e = 1e-16, t = 0.1;
    const auto plan = plan_central_difference(e, t);
    EXPECT_DOUBLE_EQ(plan.step, std::cbrt(3 * e / t));
    const auto bound = [&](double h) { return tolerance_model::safety * (t * h * h / 6 + e / h); };
    EXPECT_DOUBLE_EQ(plan.error_bound, bound(plan.step));
    EXPECT_LT(plan.error_bound, bound(plan.step * 1.01));
    EXPECT_LT(plan.error_bound, bound(plan.step * 0.99));
}

/// The problems every correct implementation is run on: random problems over C = 1..4097 and
/// three 128000-class rows.
std::vector<problem> sweep_problems(std::size_t count) {
    std::mt19937_64 rng(0x5eed);
    std::vector<problem> out;
    for (std::size_t k = 0; k < count; ++k)
        out.push_back(study::random_problem(rng));
    for (const char* pattern : {"normal", "dominant", "uniform1e4"})
        out.push_back(study::wide_row(rng, 128000, pattern));
    return out;
}

template <class F>
std::vector<double> widen(const std::vector<F>& v) {
    return std::vector<double>(v.begin(), v.end());
}

/// Runs every correct implementation in precision F over the sweep and records the ratios in
/// rows "<impl>/<dtype>". float32 implementations get float-rounded inputs and are judged twice:
/// against the reference of those inputs ("float32") and against the reference of the original
/// double inputs ("float32-from-f64": a float32 implementation checked against a case written in
/// decimal, whose inputs it had to round).
template <class F>
study::ratio_table sweep() {
    const bool single = sizeof(F) == sizeof(float);
    study::ratio_table table;
    for (const problem& original : sweep_problems(1000)) {
        const problem q = single ? study::rounded_to_float(original) : original;
        const auto ref = study::reference_of(q);
        const study::judge judge(q, ref, unit_roundoff<F>());
        const auto ref_double = single ? study::reference_of(original) : ref;
        const study::judge judge_double(original, ref_double, unit_roundoff<F>());
        for (const impl k : study::correct_impls) {
            const auto out = study::compute<F>(k, q);
            const auto p = widen(out.probs), l = widen(out.loss), g = widen(out.grad);
            const std::string name(study::name_of(k));
            table.record(name + (single ? "/float32" : "/float64"), judge(p, l, g), q);
            if (single) table.record(name + "/float32-from-f64", judge_double(p, l, g), original);
        }
    }
    std::cout << table.format();
    return table;
}

void expect_all_accepted(const study::ratio_table& table, const std::string& dtype) {
    for (const impl k : study::correct_impls) {
        for (const char* quantity :
             {"probs", "loss", "grad", "probs_row_sum", "grad_row_sum", "loss_floor"}) {
            EXPECT_LE(table.worst(std::string(study::name_of(k)) + "/" + dtype, quantity), 1)
                << study::name_of(k) << " " << dtype << " " << quantity;
        }
    }
}

TEST(ToleranceModel, AcceptsEveryCorrectFloat64Implementation) {
    expect_all_accepted(sweep<double>(), "float64");
}

TEST(ToleranceModel, AcceptsEveryCorrectFloat32Implementation) {
    const auto table = sweep<float>();
    expect_all_accepted(table, "float32");
    // Rounding the inputs to float moves each z by <= u |z|: the 2M in R absorbs it.
    expect_all_accepted(table, "float32-from-f64");
}

/// A planted error changes some output by at least this much of its natural scale (see
/// natural_scales): smaller changes are rounding-sized and no tolerance should reject them.
constexpr double material_change = 1e-9;

/// Tally of one planted error over many problems.
struct tally {
    std::size_t problems = 0, material = 0, rejected_material = 0, rejected_other = 0;
    double min_material_ratio = std::numeric_limits<double>::infinity();
    std::string weakest;

    void add(const problem& q, double change, double ratio) {
        ++problems;
        if (change < material_change) {
            rejected_other += ratio > 1;
            return;
        }
        ++material;
        rejected_material += ratio > 1;
        if (ratio < min_material_ratio) {
            min_material_ratio = ratio;
            weakest = q.describe();
        }
    }
    void report(const char* name) const {
        std::printf(
            "planted %-22s material %4zu/%-4zu rejected %4zu/%-4zu min ratio %.3g (%s);"
            " immaterial rejected %zu\n",
            name, material, problems, rejected_material, material, min_material_ratio,
            weakest.c_str(), rejected_other);
        EXPECT_GT(material, problems / 2) << name << ": the planted error is rarely material";
        EXPECT_EQ(rejected_material, material) << name << ": weakest " << weakest;
    }
};

/// Multiplies the largest finite |value| by 1 + 1e-6 and tallies whether the model rejects it.
void perturb_largest(tally& t, const problem& q, const std::vector<double>& values,
                     const std::vector<double>& ref, const std::vector<double>& natural,
                     const std::vector<double>& magnitude, tolerance tol) {
    std::size_t k = values.size();
    for (std::size_t j = 0; j < values.size(); ++j) {
        if (std::isfinite(values[j]) &&
            (k == values.size() || std::abs(values[j]) > std::abs(values[k])))
            k = j;
    }
    if (k == values.size() || values[k] == 0) return;  // nothing to perturb
    const double planted = values[k] * (1 + 1e-6);
    t.add(q, std::abs(planted - values[k]) / natural[k],
          study::ratio(ref[k], planted, tol.bound(magnitude[k])));
}

TEST(ToleranceModel, RejectsOnePartInAMillionAtFloat64) {
    tally loss, grad, probs;
    for (const problem& q : sweep_problems(1000)) {
        const auto ref = study::reference_of(q);
        const auto out = study::compute<double>(impl::naive, q);
        const auto natural = study::natural_scales_of(q, ref);
        const tolerance_model model(
            measure_problem(0x1p-53, q.logits, q.classes, q.view(), q.options()));
        const auto abs_of = [](const std::vector<double>& v) {
            std::vector<double> a;
            for (const double x : v)
                a.push_back(std::abs(x));
            return a;
        };
        perturb_largest(loss, q, out.loss, ref.loss, natural.loss, abs_of(ref.loss), model.loss());
        perturb_largest(probs, q, out.probs, ref.probs, natural.probs, abs_of(ref.probs),
                        model.probs());
        perturb_largest(grad, q, out.grad, ref.grad, natural.grad,
                        grad_magnitudes(ref.probs, q.classes, q.view(), q.options()), model.grad());
    }
    loss.report("loss*(1+1e-6)");
    grad.report("max|grad|*(1+1e-6)");
    probs.report("max prob*(1+1e-6)");
}

TEST(ToleranceModel, RejectsPlantedImplementationBugsAtFloat64) {
    std::mt19937_64 rng(4097);
    const study::generator_options g{4097, 4097, 4 * 4097, true};
    std::vector<problem> problems;
    for (int k = 0; k < 200; ++k)
        problems.push_back(study::random_problem(rng, g));
    const impl bugs[] = {impl::float_sum, impl::block_tail_dropped, impl::boundary_shifted};
    tally tallies[3];
    for (const problem& q : problems) {
        const auto ref = study::reference_of(q);
        const auto good = study::compute<double>(impl::naive, q);
        const auto natural = study::natural_scales_of(q, ref);
        const study::judge judge(q, ref, 0x1p-53);
        for (std::size_t b = 0; b < 3; ++b) {
            const auto bad = study::compute<double>(bugs[b], q);
            const double change = study::largest_change(natural, bad.probs, good.probs, bad.loss,
                                                        good.loss, bad.grad, good.grad);
            tallies[b].add(q, change, judge(bad.probs, bad.loss, bad.grad).worst());
        }
    }
    for (std::size_t b = 0; b < 3; ++b)
        tallies[b].report(std::string(study::name_of(bugs[b])).c_str());
}

}  // namespace
}  // namespace xentcheck
