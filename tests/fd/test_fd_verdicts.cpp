/// Verdicts of the finite-difference engine on the reference loss: pass, planted bugs, noise.
#include <gtest/gtest.h>

#include <complex>
#include <cstdio>
#include <random>
#include <vector>

#include "fd_support.h"

namespace {

using ld = long double;
using fd_test::bug;
using xentcheck::decision;

constexpr bug all_bugs[] = {bug::sign_flipped, bug::grad_wrt_probs, bug::missing_mean_divisor,
                            bug::class_shifted, bug::scaled};

/// Coordinate check (Ridders) of gradient g for the loss at dtype T, resolving errors of
/// `rtol` times the natural gradient scale s max A_i.
template <class T>
xentcheck::derivative_check coordinate_check(const fd_test::ce_problem& p,
                                             const std::vector<ld>& g) {
    // float64: 1e-3. float32: the loss noise bound k u (R + |L|) ~ 2e-5 divided by steps ~ 0.5
    // and amplified ~4x by extrapolation puts 2E near 1e-3 of the scale: resolve 1e-2.
    const ld rtol = sizeof(T) >= sizeof(double) ? 1e-3L : 1e-2L;
    const auto tol = fd_test::gradient_tolerance<T>(p);
    xentcheck::verdict_options v;
    v.analytic_error = tol;
    v.resolution = rtol * fd_test::grad_scale<T>(p);
    const auto x = p.x();
    return xentcheck::check_gradient(fd_test::loss_function<T>(p), x, g,
                                     xentcheck::fd_method::richardson, fd_test::loss_options<T>(p),
                                     v);
}

/// Directional check (16 sphere directions) of g for the loss at dtype T.
template <class T>
xentcheck::derivative_check directional_check(const fd_test::ce_problem& p,
                                              const std::vector<ld>& g, ld resolution_rtol) {
    const auto tol = fd_test::gradient_tolerance<T>(p);
    xentcheck::verdict_options v;
    v.analytic_error = tol;
    v.resolution_rtol = resolution_rtol;
    const auto x = p.x();
    return xentcheck::check_gradient_directional(fd_test::loss_function<T>(p), x, g, 16,
                                                 xentcheck::direction_kind::sphere,
                                                 fd_test::loss_options<T>(p), v);
}

std::string describe(const xentcheck::derivative_check& c) {
    return std::string(xentcheck::to_string(c.decision)) + ": " + c.reason;
}

template <class T>
void reference_passes_coordinates(const char* dtype) {
    std::mt19937_64 rng(2024);
    ld worst_detectable = 0;
    std::size_t checks = 0;
    for (const std::size_t c : {2u, 3u, 10u, 37u}) {
        for (const std::size_t n : {1u, 4u}) {
            for (const auto r : {xentcheck::reduction::mean, xentcheck::reduction::sum}) {
                for (const double spread : {1.0, 4.0}) {
                    const auto p = fd_test::make_problem(rng, n, c, spread, r);
                    const auto check = coordinate_check<T>(p, fd_test::gradient<T>(p));
                    EXPECT_EQ(check.decision, decision::pass)
                        << dtype << " C=" << c << " N=" << n << ": " << describe(check);
                    for (const auto& e : check.entries)
                        worst_detectable = std::max(worst_detectable, e.detectable / e.resolution);
                    ++checks;
                }
            }
        }
    }
    std::printf("[fd-measure] reference %s, %zu coordinate checks: worst (2E+a)/resolution %.3Lg\n",
                dtype, checks, worst_detectable);
}

TEST(Verdicts, ReferenceGradientPassesCoordinateChecksFloat64) {
    reference_passes_coordinates<double>("float64");
}

TEST(Verdicts, ReferenceGradientPassesCoordinateChecksFloat32) {
    reference_passes_coordinates<float>("float32");
}

TEST(Verdicts, CentralDifferencesPassTheReferenceAndFailPlantedBugsFloat64) {
    std::mt19937_64 rng(99);
    const auto p = fd_test::make_problem(rng, 3, 7, 2.0, xentcheck::reduction::mean);
    const auto x = p.x();
    const auto tol = fd_test::gradient_tolerance<double>(p);
    xentcheck::verdict_options v;
    v.analytic_error = tol;
    v.resolution = 1e-3L * fd_test::grad_scale<double>(p);
    const auto check_of = [&](const std::vector<ld>& g) {
        return xentcheck::check_gradient(fd_test::loss_function<double>(p), x, g,
                                         xentcheck::fd_method::central,
                                         fd_test::loss_options<double>(p), v);
    };
    const auto ok = check_of(fd_test::gradient<double>(p));
    EXPECT_EQ(ok.decision, decision::pass) << describe(ok);
    for (const bug b : all_bugs) {
        const auto check = check_of(fd_test::plant(b, p, fd_test::gradient<double>(p)));
        EXPECT_EQ(check.decision, decision::fail) << fd_test::name(b) << ": " << describe(check);
    }
}

template <class T>
void reference_passes_directional(const char* dtype, ld rtol) {
    std::mt19937_64 rng(77);
    for (const std::size_t c : {200u, 1000u, 3000u}) {
        const auto p = fd_test::make_problem(rng, 2, c, 3.0, xentcheck::reduction::mean);
        const auto check = directional_check<T>(p, fd_test::gradient<T>(p), rtol);
        std::printf(
            "[fd-measure] reference %s C=%zu directional: %s, miss bound %.3Lg, "
            "%zu evaluations\n",
            dtype, c, std::string(xentcheck::to_string(check.decision)).c_str(),
            check.miss_probability, check.evaluations);
        EXPECT_EQ(check.decision, decision::pass) << dtype << " C=" << c << ": " << describe(check);
    }
}

TEST(Verdicts, ReferenceGradientPassesDirectionalChecksLargeCFloat64) {
    reference_passes_directional<double>("float64", 1e-3L);
}

TEST(Verdicts, ReferenceGradientPassesDirectionalChecksLargeCFloat32) {
    reference_passes_directional<float>("float32", 1e-2L);
}

template <class T>
void planted_bugs_fail_coordinates(const char* dtype) {
    std::mt19937_64 rng(31337);
    for (const bug b : all_bugs) {
        for (const std::size_t c : {3u, 10u, 37u}) {
            const auto p = fd_test::make_problem(rng, 4, c, 2.0, xentcheck::reduction::mean);
            const auto g = fd_test::plant(b, p, fd_test::gradient<T>(p));
            const auto check = coordinate_check<T>(p, g);
            EXPECT_EQ(check.decision, decision::fail)
                << dtype << " " << fd_test::name(b) << " C=" << c << ": " << describe(check);
        }
    }
}

TEST(Verdicts, PlantedBugsFailCoordinateChecksFloat64) {
    planted_bugs_fail_coordinates<double>("float64");
}

TEST(Verdicts, PlantedBugsFailCoordinateChecksFloat32) {
    planted_bugs_fail_coordinates<float>("float32");
}

template <class T>
void planted_bugs_fail_directional(const char* dtype, ld rtol) {
    std::mt19937_64 rng(4242);
    for (const bug b : all_bugs) {
        // At C = 2000 the float32 gradient tolerance itself is rtol = k u (R + C + N + 4) ~ 1e-3:
        // a 1.001 scaling is within it, so no check may fail it (the coordinate test at small C
        // catches it at float32).
        if (sizeof(T) < sizeof(double) && b == bug::scaled) continue;
        const auto p = fd_test::make_problem(rng, 2, 2000, 3.0, xentcheck::reduction::mean);
        const auto g = fd_test::plant(b, p, fd_test::gradient<T>(p));
        const auto check = directional_check<T>(p, g, rtol);
        EXPECT_EQ(check.decision, decision::fail)
            << dtype << " " << fd_test::name(b) << ": " << describe(check);
    }
}

TEST(Verdicts, PlantedBugsFailDirectionalChecksLargeCFloat64) {
    planted_bugs_fail_directional<double>("float64", 1e-3L);
}

TEST(Verdicts, PlantedBugsFailDirectionalChecksLargeCFloat32) {
    planted_bugs_fail_directional<float>("float32", 1e-2L);
}

/// The float loss plus deterministic noise of amplitude 1e-3, declared only at the float level.
TEST(Verdicts, TooNoisyFunctionIsInconclusiveNotFailNorPass) {
    std::mt19937_64 rng(555);
    for (const std::size_t c : {10u, 1000u}) {
        const auto p = fd_test::make_problem(rng, 2, c, 2.0, xentcheck::reduction::mean);
        const auto clean = fd_test::loss_function<float>(p);
        const xentcheck::scalar_function noisy = [&clean](std::span<const ld> z) {
            return clean(z) + 1e-3L * fd_test::hash_noise(z);
        };
        const auto x = p.x();
        const auto tol = fd_test::gradient_tolerance<float>(p);
        xentcheck::verdict_options v;
        v.analytic_error = tol;
        for (const bool planted : {false, true}) {
            auto g = fd_test::gradient<float>(p);
            if (planted) g = fd_test::plant(bug::scaled, p, g);
            const auto check =
                c <= 10 ? xentcheck::check_gradient(noisy, x, g, xentcheck::fd_method::richardson,
                                                    fd_test::loss_options<float>(p), v)
                        : xentcheck::check_gradient_directional(noisy, x, g, 16,
                                                                xentcheck::direction_kind::sphere,
                                                                fd_test::loss_options<float>(p), v);
            std::printf(
                "[fd-measure] noisy f (1e-3), C=%zu%s: %s, declared noise %.3Lg, "
                "measured %.3Lg\n",
                c, planted ? " scaled 1.001" : "",
                std::string(xentcheck::to_string(check.decision)).c_str(), check.noise_declared,
                check.noise_measured);
            EXPECT_EQ(check.decision, decision::inconclusive) << c << ": " << describe(check);
        }
    }
}

TEST(Verdicts, ComplexStepPassesReferenceAndFailsPlantedBugs) {
    std::mt19937_64 rng(8);
    const auto p = fd_test::make_problem(rng, 4, 12, 3.0, xentcheck::reduction::mean);
    const xentcheck::complex_function f = [&p](std::span<const std::complex<double>> z) {
        return xentcheck::cross_entropy_loss<std::complex<double>>(z, p.classes, p.target(),
                                                                   p.options);
    };
    // The complex-step derivative is a double evaluation of the gradient: the double tolerance.
    const auto tol = fd_test::gradient_tolerance<double>(p);
    xentcheck::complex_step_options cs;
    cs.derivative_error = tol;
    xentcheck::verdict_options v;
    v.analytic_error = tol;
    const auto ok =
        xentcheck::check_gradient_complex_step(f, p.logits, fd_test::gradient<double>(p), cs, v);
    EXPECT_EQ(ok.decision, decision::pass) << describe(ok);
    for (const bug b : all_bugs) {
        const auto g = fd_test::plant(b, p, fd_test::gradient<double>(p));
        const auto check = xentcheck::check_gradient_complex_step(f, p.logits, g, cs, v);
        EXPECT_EQ(check.decision, decision::fail) << fd_test::name(b) << ": " << describe(check);
    }
}

/// Gradient function and dense Hessian of the reference loss (double), for the Hessian check.
struct hessian_problem {
    fd_test::ce_problem p;
    xentcheck::vector_function gradient;
    std::vector<ld> dense;
};

hessian_problem make_hessian_problem(std::mt19937_64& rng, std::size_t n, std::size_t c) {
    hessian_problem h{fd_test::make_problem(rng, n, c, 2.0, xentcheck::reduction::mean), {}, {}};
    const auto blocks = [&] {
        std::vector<double> b(n * c * c);
        xentcheck::cross_entropy_hessian<double>(h.p.logits, c, h.p.target(), h.p.options, b);
        return b;
    }();
    h.dense.assign(n * c * n * c, 0);
    for (std::size_t i = 0; i < n; ++i)
        for (std::size_t a = 0; a < c; ++a)
            for (std::size_t b = 0; b < c; ++b)
                h.dense[(i * c + a) * n * c + i * c + b] = blocks[i * c * c + a * c + b];
    return h;
}

TEST(Verdicts, HessianOfTheLossMatchesDifferencesOfTheGradient) {
    std::mt19937_64 rng(12);
    for (const std::size_t c : {2u, 6u, 20u}) {
        const hessian_problem h = make_hessian_problem(rng, 3, c);
        const fd_test::ce_problem& p = h.p;
        const xentcheck::vector_function grad = [&p](std::span<const ld> z, std::span<ld> out) {
            std::vector<double> zd(z.begin(), z.end());
            const auto r = xentcheck::cross_entropy<double>(zd, p.classes, p.target(), p.options);
            std::copy(r.grad.begin(), r.grad.end(), out.begin());
        };
        xentcheck::difference_options o;
        o.noise.absolute = static_cast<ld>(fd_test::model<double>(p).grad_row_sum().atol);
        o.input_digits = 53;
        const ld analytic_tol = 64 * 0x1p-53L;  // H in double: a few ulps of |H| <= 1/2
        xentcheck::verdict_options v;
        v.analytic_error = std::span(&analytic_tol, 1);
        const auto x = p.x();
        const auto ok = xentcheck::check_hessian(grad, x, h.dense, o, v);
        EXPECT_EQ(ok.decision, decision::pass) << "C=" << c << ": " << describe(ok);
        // Planted: only diag(p) (the -p p^T term dropped); and the whole Hessian scaled by 1.001.
        auto diag_only = h.dense, scaled = h.dense;
        const std::size_t n = x.size();
        for (std::size_t a = 0; a < n; ++a)
            for (std::size_t b = 0; b < n; ++b) {
                if (a != b) diag_only[a * n + b] = 0;
                scaled[a * n + b] *= 1.001L;
            }
        for (const auto* bad : {&diag_only, &scaled}) {
            const auto check = xentcheck::check_hessian(grad, x, *bad, o, v);
            EXPECT_EQ(check.decision, decision::fail) << "C=" << c << ": " << describe(check);
        }
        // Random directions instead of columns (as for large n).
        const auto dir = xentcheck::check_hessian(grad, x, h.dense, o, v, 4);
        EXPECT_EQ(dir.decision, decision::pass) << "C=" << c << ": " << describe(dir);
    }
}

}  // namespace
