/// Finite-difference methods on functions with known derivatives: accuracy and error estimates.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <complex>
#include <cstdio>
#include <random>
#include <vector>

#include "fd_support.h"

namespace {

using ld = long double;
using xentcheck::derivative_estimate;
using xentcheck::difference_options;
using xentcheck::fd_method;

/// A test function with its exact gradient.
struct known_function {
    const char* name;
    xentcheck::scalar_function f;
    std::function<std::vector<ld>(std::span<const ld>)> grad;
};

// f = x0^3 x1 - 2 x1^2 x2 + x2^4 / 4 + 3 x0 - x1 x2 x3 + x3^5 / 5
ld poly(std::span<const ld> x) {
    return x[0] * x[0] * x[0] * x[1] - 2 * x[1] * x[1] * x[2] + x[2] * x[2] * x[2] * x[2] / 4 +
           3 * x[0] - x[1] * x[2] * x[3] + x[3] * x[3] * x[3] * x[3] * x[3] / 5;
}
std::vector<ld> poly_grad(std::span<const ld> x) {
    return {3 * x[0] * x[0] * x[1] + 3, x[0] * x[0] * x[0] - 4 * x[1] * x[2] - x[2] * x[3],
            -2 * x[1] * x[1] + x[2] * x[2] * x[2] - x[1] * x[3], -x[1] * x[2] + std::pow(x[3], 4)};
}

// f = sum_k exp(a_k x_k) + exp((x0 - x1) / 2), a = (1, -0.5, 2, 0.25)
constexpr ld rates[4] = {1, -0.5L, 2, 0.25L};
template <class T>
T exps(std::span<const T> x) {
    T s = std::exp((x[0] - x[1]) / T(2));
    for (std::size_t k = 0; k < 4; ++k)
        s += std::exp(T(static_cast<double>(rates[k])) * x[k]);
    return s;
}
std::vector<ld> exps_grad(std::span<const ld> x) {
    const ld c = std::exp((x[0] - x[1]) / 2) / 2;
    std::vector<ld> g(4);
    for (std::size_t k = 0; k < 4; ++k)
        g[k] = rates[k] * std::exp(rates[k] * x[k]);
    g[0] += c, g[1] -= c;
    return g;
}

// f = logsumexp(x), grad = softmax(x)
ld lse(std::span<const ld> x) {
    return xentcheck::logsumexp<ld>(x);
}
std::vector<ld> lse_grad(std::span<const ld> x) {
    return xentcheck::softmax<ld>(x, x.size());
}

std::vector<known_function> known_functions() {
    return {{"polynomial", poly, poly_grad},
            {"exponentials", [](std::span<const ld> x) { return exps<ld>(x); }, exps_grad},
            {"logsumexp", lse, lse_grad}};
}

/// Worst ratio |estimate - exact| / error estimate, and worst error relative to max(|g|, 1).
struct accuracy {
    ld worst_ratio = 0, worst_rel = 0, median_rel = 0;
    std::size_t n = 0;
};

accuracy measure(fd_method method, const difference_options& o, bool directional, int points,
                 const known_function& k, ld noise_amp = 0) {
    std::mt19937_64 rng(7);
    std::uniform_real_distribution<double> u(-2, 2);
    std::normal_distribution<double> normal;
    accuracy a;
    std::vector<ld> rels;
    const xentcheck::scalar_function f =
        noise_amp == 0 ? k.f : [&k, noise_amp](std::span<const ld> z) {
            return k.f(z) + noise_amp * fd_test::hash_noise(z);
        };
    for (int p = 0; p < points; ++p) {
        std::vector<ld> x(4), v(4);
        for (auto& xi : x)
            xi = u(rng);
        const std::vector<ld> g = k.grad(x);
        std::vector<std::pair<derivative_estimate, ld>> results;
        if (directional) {
            ld norm = 0;
            for (auto& vi : v)
                vi = normal(rng), norm += vi * vi;
            ld exact = 0;
            for (std::size_t j = 0; j < 4; ++j)
                exact += (v[j] /= std::sqrt(norm)) * g[j];
            results.push_back({method == fd_method::central
                                   ? xentcheck::central_derivative(f, x, v, o)
                                   : xentcheck::richardson_derivative(f, x, v, o),
                               exact});
        } else {
            const auto est = xentcheck::finite_difference_gradient(f, x, method, o);
            for (std::size_t j = 0; j < 4; ++j)
                results.push_back({est[j], g[j]});
        }
        ld scale = 1;
        for (const ld gj : g)
            scale = std::max(scale, std::abs(gj));
        for (const auto& [e, exact] : results) {
            const ld err = std::abs(e.value - exact);
            a.worst_ratio = std::max(a.worst_ratio, err / e.error);
            rels.push_back(err / scale);
            ++a.n;
        }
    }
    std::sort(rels.begin(), rels.end());
    a.worst_rel = rels.back();
    a.median_rel = rels[rels.size() / 2];
    return a;
}

void report(const char* what, const known_function& k, const accuracy& a) {
    std::printf(
        "[fd-measure] %-28s %-13s n=%zu worst |err|/E=%.3Lg worst rel=%.3Lg median rel=%.3Lg\n",
        what, k.name, a.n, a.worst_ratio, a.worst_rel, a.median_rel);
}

TEST(FiniteDifferenceMethods, CentralErrorEstimateBoundsTrueError) {
    for (const auto& k : known_functions()) {
        for (const bool dir : {false, true}) {
            const accuracy a = measure(fd_method::central, {}, dir, 100, k);
            report(dir ? "central directional" : "central", k, a);
            EXPECT_LE(a.worst_ratio, 1) << k.name;
            EXPECT_LE(a.worst_rel, 1e-5) << k.name;  // cbrt(u_ld)^2 ~ 1e-13 ideally
        }
    }
}

TEST(FiniteDifferenceMethods, RichardsonErrorEstimateBoundsTrueError) {
    for (const auto& k : known_functions()) {
        for (const bool dir : {false, true}) {
            const accuracy a = measure(fd_method::richardson, {}, dir, 100, k);
            report(dir ? "richardson directional" : "richardson", k, a);
            EXPECT_LE(a.worst_ratio, 1) << k.name;
            EXPECT_LE(a.worst_rel, 1e-11) << k.name;
        }
    }
}

TEST(FiniteDifferenceMethods, DeclaredNoiseIsPropagatedIntoTheEstimate) {
    // f + 1e-6 * uniform(-1, 1) noise, declared: the estimate widens but still bounds.
    difference_options o;
    o.noise.absolute = 1e-6L;
    for (const auto& k : known_functions()) {
        for (const auto m : {fd_method::central, fd_method::richardson}) {
            const accuracy a = measure(m, o, false, 50, k, 1e-6L);
            report(m == fd_method::central ? "central, noise 1e-6" : "richardson, noise 1e-6", k,
                   a);
            EXPECT_LE(a.worst_ratio, 1) << k.name;
            EXPECT_LE(a.worst_rel, 1e-3) << k.name;
        }
    }
}

TEST(FiniteDifferenceMethods, UndeclaredNoiseIsMeasuredAndPropagated) {
    // Same noise, not declared: the engine's own measurement must widen the estimate.
    for (const auto& k : known_functions()) {
        const accuracy a = measure(fd_method::richardson, {}, false, 50, k, 1e-6L);
        report("richardson, measured noise", k, a);
        EXPECT_LE(a.worst_ratio, 1) << k.name;
    }
}

TEST(FiniteDifferenceMethods, PolynomialOfDegreeThreeIsExactAfterOneExtrapolation) {
    // D(h) = f' + f''' h^2 / 6 exactly for a cubic, so A_11 is exact up to rounding.
    const xentcheck::scalar_function cubic = [](std::span<const ld> x) {
        return 2 * x[0] * x[0] * x[0] - x[0] * x[0] + 5 * x[0];
    };
    const std::vector<ld> x{1.25L};
    const auto e = xentcheck::richardson_derivative(cubic, x, 0, {});
    const ld exact = 6 * 1.25L * 1.25L - 2 * 1.25L + 5;
    EXPECT_LE(std::abs(e.value - exact), 64 * std::numeric_limits<ld>::epsilon() * exact);
    EXPECT_LE(std::abs(e.value - exact), e.error);
}

TEST(FiniteDifferenceMethods, InputRoundingToFloatIsAccountedFor) {
    // f reads its input in float: the steps are rounded to the float grid and divided out.
    const xentcheck::scalar_function f = [](std::span<const ld> x) {
        std::vector<float> xf(x.begin(), x.end());
        std::vector<ld> back(xf.begin(), xf.end());
        return exps<ld>(back);
    };
    difference_options o;
    o.input_digits = 24;
    std::vector<ld> x{0.3f, -1.7f, 0.9f, 1.1f};
    const auto g = exps_grad(x);
    const auto est = xentcheck::finite_difference_gradient(f, x, fd_method::richardson, o);
    for (std::size_t j = 0; j < 4; ++j) {
        EXPECT_LE(std::abs(est[j].value - g[j]), est[j].error) << j;
        // Not 1e-18: the measured noise includes the rounding of the sampled points to the float
        // grid (|g| grid / sqrt 12), which widens E and moves the chosen entry to larger steps.
        EXPECT_LE(std::abs(est[j].value - g[j]), 1e-8L * std::abs(g[j])) << j;
    }
}

TEST(ComplexStep, ExponentialsToAFewUlps) {
    const xentcheck::complex_function f = [](std::span<const std::complex<double>> z) {
        return exps<std::complex<double>>(z);
    };
    std::mt19937_64 rng(3);
    std::uniform_real_distribution<double> u(-2, 2);
    double worst_ulps = 0;
    for (int p = 0; p < 200; ++p) {
        std::vector<double> x(4);
        for (auto& xi : x)
            xi = u(rng);
        const std::vector<ld> xl(x.begin(), x.end());
        const auto g = exps_grad(xl);
        const auto est = xentcheck::complex_step_gradient(f, x);
        for (std::size_t j = 0; j < 4; ++j) {
            const double ulps =
                static_cast<double>(std::abs(est[j].value - g[j]) / (std::abs(g[j]) * 0x1p-53L));
            worst_ulps = std::max(worst_ulps, ulps);
            EXPECT_LE(std::abs(est[j].value - g[j]), est[j].error);
        }
    }
    std::printf("[fd-measure] complex step, exponentials: worst %.2f ulps of |g|\n", worst_ulps);
    EXPECT_LE(worst_ulps, 8);
}

TEST(ComplexStep, CrossEntropyMatchesAnalyticGradientToAFewUlpsOfMagnitude) {
    // Against the long double gradient, in ulps of the entry's natural magnitude s (A p_j + |a_j|).
    // The complex instantiation sums exp terms without compensation, so its relative error in
    // the row sum grows like sqrt(C) ulps: a few ulps up to C ~ 100, about 20 at C = 1000.
    std::mt19937_64 rng(11);
    for (const std::size_t c : {2u, 5u, 33u, 100u, 1000u}) {
        double worst = 0;
        for (const auto r : {xentcheck::reduction::mean, xentcheck::reduction::sum}) {
            for (int rep = 0; rep < (c < 1000 ? 4 : 1); ++rep) {
                const auto p = fd_test::make_problem(rng, 3, c, 4.0, r);
                const auto g = fd_test::gradient<ld>(p);
                const auto mags = xentcheck::grad_magnitudes(
                    xentcheck::softmax<double>(p.logits, c), c, p.target(), p.options);
                const auto tol = fd_test::gradient_tolerance<double>(p);
                const xentcheck::complex_function f =
                    [&p](std::span<const std::complex<double>> z) {
                        return xentcheck::cross_entropy_loss<std::complex<double>>(
                            z, p.classes, p.target(), p.options);
                    };
                const auto est = xentcheck::complex_step_gradient(f, p.logits);
                for (std::size_t j = 0; j < g.size(); ++j) {
                    const ld err = std::abs(est[j].value - g[j]);
                    worst = std::max(worst, static_cast<double>(err / (mags[j] * 0x1p-53L)));
                    EXPECT_LE(err, tol[j]) << "C=" << c << " j=" << j;
                }
            }
        }
        std::printf(
            "[fd-measure] complex step, cross-entropy C=%zu: worst %.2f ulps of "
            "s(Ap+|a|)\n",
            c, worst);
        if (c <= 33) {
            EXPECT_LE(worst, 8) << "C=" << c;
        }
    }
}

TEST(NoiseMeasurement, RecoversTheLevelOfUniformNoise) {
    for (const ld amp : {1e-12L, 1e-6L, 1e-3L}) {
        const xentcheck::scalar_function f = [amp](std::span<const ld> z) {
            return exps<ld>(z) + amp * fd_test::hash_noise(z);
        };
        const std::vector<ld> x{0.1L, 0.2L, -0.3L, 0.4L}, v{0.5L, 0.5L, 0.5L, 0.5L};
        const auto e = xentcheck::measure_noise(f, x, v, {});
        const ld sigma = amp / std::sqrt(3.0L);  // uniform on [-amp, amp]
        std::printf("[fd-measure] noise %.0Le: sigma %.3Lg measured %.3Lg (order %d)\n", amp, sigma,
                    e.sigma, e.order);
        EXPECT_GT(e.order, 0);
        EXPECT_GE(e.sigma, sigma / 2);
        EXPECT_LE(e.sigma, sigma * 2);
    }
}

TEST(NoiseMeasurement, FloatEvaluationNoiseIsAtTheFloatLevel) {
    const xentcheck::scalar_function f = [](std::span<const ld> z) {
        std::vector<float> zf(z.begin(), z.end());
        return static_cast<ld>(xentcheck::logsumexp<float>(zf));
    };
    const std::vector<ld> x{0.5f, -1.25f, 2.0f, 0.75f}, v{0.5L, -0.5L, 0.5L, 0.5L};
    difference_options o;
    o.input_digits = 24;
    const auto e = xentcheck::measure_noise(f, x, v, o);
    const ld value = f(x);
    std::printf("[fd-measure] float logsumexp (|f| = %.3Lg): measured sigma %.3Lg = %.2Lg u|f|\n",
                value, e.sigma, e.sigma / (0x1p-24L * value));
    EXPECT_GT(e.sigma, 0.01L * 0x1p-24L * value);
    EXPECT_LT(e.sigma, 4 * 0x1p-24L * value);
}

TEST(MissProbability, BoundHoldsAgainstMonteCarlo) {
    // P(|v . e| < tau |e|) for uniform unit v, against the stated bound; e = e_1 + e_2 (the
    // worst case for Rademacher directions, where v . e = 0 half the time).
    std::mt19937_64 rng(5);
    std::normal_distribution<double> normal;
    for (const std::size_t n : {3u, 10u, 100u, 1000u}) {
        const double tau = 0.2 / std::sqrt(static_cast<double>(n));
        const int trials = 10000;
        int sphere_misses = 0, rademacher_misses = 0;
        std::vector<double> v(n);
        for (int t = 0; t < trials; ++t) {
            double norm = 0;
            for (auto& vi : v)
                vi = normal(rng), norm += vi * vi;
            sphere_misses += std::abs(v[0] + v[1]) / std::sqrt(norm) < tau * std::sqrt(2.0);
            const double r0 = (rng() >> 63) ? 1 : -1, r1 = (rng() >> 63) ? 1 : -1;
            rademacher_misses +=
                std::abs(r0 + r1) / std::sqrt(static_cast<double>(n)) < tau * std::sqrt(2.0);
        }
        const double ps = sphere_misses / double(trials), pr = rademacher_misses / double(trials);
        const double bs =
            xentcheck::directional_miss_probability(n, tau, xentcheck::direction_kind::sphere);
        const double br =
            xentcheck::directional_miss_probability(n, tau, xentcheck::direction_kind::rademacher);
        std::printf(
            "[fd-measure] n=%zu tau=0.2/sqrt(n): sphere P=%.4f bound %.4f; "
            "rademacher P=%.4f bound %.4f\n",
            n, ps, bs, pr, br);
        EXPECT_LE(ps, bs + 3 * std::sqrt(bs / trials));
        EXPECT_LE(pr, br + 3 * std::sqrt(br / trials));
    }
}

}  // namespace
