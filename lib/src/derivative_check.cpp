/// Derivative checks: verdicts of finite-difference and complex-step estimates against analytic
/// gradients, directional checks and Hessian checks.
#include "xentcheck/finite_difference.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "xentcheck/batch.h"

#include "fd_line_sampler.h"

namespace xentcheck {

namespace detail {
namespace {

ld analytic_tolerance(const verdict_options& v, std::size_t j) {
    if (v.analytic_error.empty()) return 0;
    return v.analytic_error.size() == 1 ? v.analytic_error[0] : v.analytic_error[j];
}

void validate(std::span<const ld> x, std::span<const ld> analytic, const verdict_options& v) {
    if (analytic.size() != x.size()) throw input_error("gradient", "gradient size differs from x");
    const std::size_t e = v.analytic_error.size();
    if (e > 1 && e != x.size())
        throw input_error("analytic_error", "analytic_error must have 0, 1 or n values");
    for (const std::size_t j : v.coordinates)
        if (j >= x.size()) throw input_error("coordinates", "coordinate out of range");
}

std::string num(ld v) {
    char buf[40];
    const auto r =
        std::to_chars(buf, buf + sizeof buf, static_cast<double>(v), std::chars_format::general, 3);
    return std::string(buf, r.ptr);
}

/// The resolution of a check: the absolute one, else rtol * scale (1 when the scale is 0).
ld resolution_of(const verdict_options& v, ld scale) {
    if (v.resolution > 0) return v.resolution;
    return v.resolution_rtol * (scale > 0 && std::isfinite(scale) ? scale : 1);
}

/// Counts the entries and sets the overall decision (fail > inconclusive > pass) and reason.
void conclude(derivative_check& c, const std::string& what) {
    for (const auto& e : c.entries) {
        c.passed += e.decision == decision::pass;
        c.failed += e.decision == decision::fail;
        c.inconclusive += e.decision == decision::inconclusive;
    }
    const std::string counts = std::to_string(c.passed) + " pass, " + std::to_string(c.failed) +
                               " fail, " + std::to_string(c.inconclusive) + " inconclusive";
    const derivative_verdict* w = c.worst();
    const std::string worst = w ? "; worst at " + std::to_string(w->index) + ": " + w->reason : "";
    if (c.failed > 0) {
        c.decision = decision::fail;
    } else if (c.inconclusive > 0 || c.entries.empty()) {
        c.decision = decision::inconclusive;
    } else {
        c.decision = decision::pass;
    }
    c.reason = what + ": " + counts + worst;
}

std::vector<std::size_t> coordinates_of(std::span<const ld> x, const verdict_options& v) {
    std::vector<std::size_t> c(v.coordinates.begin(), v.coordinates.end());
    if (c.empty())
        for (std::size_t j = 0; j < x.size(); ++j)
            c.push_back(j);
    return c;
}

}  // namespace
}  // namespace detail

std::string_view to_string(decision d) noexcept {
    switch (d) {
        case decision::pass:
            return "pass";
        case decision::fail:
            return "fail";
        case decision::inconclusive:
            return "inconclusive";
    }
    return "inconclusive";
}

derivative_verdict judge(const derivative_estimate& estimate, long double analytic,
                         long double analytic_error, long double resolution) {
    using detail::num;
    derivative_verdict v;
    v.estimate = estimate.value;
    v.error_estimate = estimate.error;
    v.analytic = analytic;
    v.analytic_error = analytic_error;
    v.difference = std::abs(estimate.value - analytic);
    v.detectable = 2 * estimate.error + analytic_error;
    v.resolution = resolution;
    const std::string band = "E + a = " + num(estimate.error) + " + " + num(analytic_error);
    if (!std::isfinite(estimate.value)) {
        v.decision = decision::inconclusive;
        v.reason = "no finite-difference estimate (f not finite near x, or no usable step)";
    } else if (!std::isfinite(analytic)) {
        v.decision = decision::fail;
        v.reason = "analytic value " + num(analytic) + " where the derivative is " +
                   num(estimate.value) + " +- " + num(estimate.error);
    } else if (v.difference > estimate.error + analytic_error) {
        v.decision = decision::fail;
        v.reason = "analytic " + num(analytic) + " vs finite difference " + num(estimate.value) +
                   ": difference " + num(v.difference) + " > " + band;
    } else if (!(v.detectable <= resolution)) {
        v.decision = decision::inconclusive;
        v.reason = "agrees within " + band + ", but 2E + a = " + num(v.detectable) +
                   " exceeds the resolution " + num(resolution);
    } else {
        v.decision = decision::pass;
        v.reason =
            "difference " + num(v.difference) + " <= " + band + ", resolution " + num(resolution);
    }
    return v;
}

const derivative_verdict* derivative_check::worst() const noexcept {
    const derivative_verdict* w = nullptr;
    long double worst_ratio = -1;
    for (const auto& e : entries) {
        const long double band = e.error_estimate + e.analytic_error;
        long double r = band > 0 ? e.difference / band : (e.difference > 0 ? detail::ld_inf : 0);
        if (std::isnan(r)) r = e.decision == decision::fail ? detail::ld_inf : 0;
        if (r > worst_ratio) worst_ratio = r, w = &e;
    }
    return w;
}

derivative_check check_gradient(const scalar_function& f, std::span<const long double> x,
                                std::span<const long double> gradient, fd_method method,
                                const difference_options& options, const verdict_options& verdict) {
    detail::validate(x, gradient, verdict);
    const vector_function g = detail::as_vector(f);
    detail::line_sampler s(g, 1, x, options);
    std::mt19937_64 rng(options.seed);
    s.measure(detail::random_direction(s.point(), direction_kind::sphere, rng));
    derivative_check c;
    c.noise_declared = options.noise.at(s.value_at_x(0));
    c.noise_measured = s.measured(0);
    const std::vector<std::size_t> coords = detail::coordinates_of(x, verdict);
    long double scale = 0;
    for (const std::size_t j : coords)
        if (std::isfinite(x[j]) && std::isfinite(gradient[j]))
            scale = std::max(scale, std::abs(gradient[j]));
    if (scale == 0) scale = std::abs(s.value_at_x(0)) / options.length_scale;
    const long double res = detail::resolution_of(verdict, scale);
    for (const std::size_t j : coords) {
        if (!std::isfinite(x[j])) {
            ++c.skipped;
            continue;
        }
        s.along(j);
        derivative_estimate e;
        if (method == fd_method::central) {
            e = detail::central_core(s, options);
        } else {
            detail::ridders_core(s, 1, options, std::span(&e, 1));
        }
        c.entries.push_back(judge(e, gradient[j], detail::analytic_tolerance(verdict, j), res));
        c.entries.back().index = j;
    }
    c.evaluations = s.evaluations;
    detail::conclude(c, method == fd_method::central ? "central differences"
                                                     : "Richardson (Ridders) differences");
    return c;
}

derivative_check check_gradient_complex_step(const complex_function& f, std::span<const double> x,
                                             std::span<const long double> gradient,
                                             const complex_step_options& options,
                                             const verdict_options& verdict) {
    const std::vector<long double> xl(x.begin(), x.end());
    detail::validate(xl, gradient, verdict);
    const std::vector<std::size_t> coords = detail::coordinates_of(xl, verdict);
    long double scale = 0;
    for (const std::size_t j : coords)
        if (std::isfinite(x[j]) && std::isfinite(gradient[j]))
            scale = std::max(scale, std::abs(gradient[j]));
    const long double res = detail::resolution_of(verdict, scale);
    derivative_check c;
    for (const std::size_t j : coords) {
        if (!std::isfinite(x[j])) {
            ++c.skipped;
            continue;
        }
        const derivative_estimate e = complex_step_derivative(f, x, j, options);
        c.entries.push_back(judge(e, gradient[j], detail::analytic_tolerance(verdict, j), res));
        c.entries.back().index = j;
        ++c.evaluations;
    }
    detail::conclude(c, "complex step");
    return c;
}

double directional_miss_probability(std::size_t n, double tau, direction_kind kind) noexcept {
    constexpr double pi = 3.14159265358979323846;
    if (!(tau > 0)) return std::isnan(tau) ? 1.0 : 0.0;
    if (n == 0 || tau >= 1) return 1.0;
    const double nd = static_cast<double>(n);
    if (kind == direction_kind::rademacher) {
        const double theta2 = tau * tau * nd;
        return theta2 >= 1 ? 1.0 : 1 - (1 - theta2) * (1 - theta2) / 3;
    }
    if (n == 1) return 0.0;  // v = +-1: |v . e| = |e|
    if (n == 2) return 2 / pi * std::asin(tau);
    return std::min(1.0, tau * std::sqrt(2 * (nd - 1) / pi));
}

derivative_check check_gradient_directional(const scalar_function& f,
                                            std::span<const long double> x,
                                            std::span<const long double> gradient,
                                            std::size_t directions, direction_kind kind,
                                            const difference_options& options,
                                            const verdict_options& verdict) {
    using detail::ld;
    detail::validate(x, gradient, verdict);
    if (directions == 0) throw input_error("directions", "at least one direction is needed");
    const vector_function g = detail::as_vector(f);
    detail::line_sampler s(g, 1, x, options);
    std::mt19937_64 rng(options.seed);
    s.measure(detail::random_direction(s.point(), direction_kind::sphere, rng));
    derivative_check c;
    c.noise_declared = options.noise.at(s.value_at_x(0));
    c.noise_measured = s.measured(0);
    std::size_t free = 0;
    ld norm2 = 0;
    bool finite_gradient = true;
    for (std::size_t k = 0; k < x.size(); ++k) {
        if (!std::isfinite(x[k])) continue;
        ++free;
        norm2 += gradient[k] * gradient[k];
        finite_gradient &= std::isfinite(gradient[k]);
    }
    c.skipped = x.size() - free;
    const ld rho =
        detail::resolution_of(verdict, std::isfinite(norm2) && norm2 > 0
                                           ? std::sqrt(norm2)
                                           : std::abs(s.value_at_x(0)) / options.length_scale);
    // Each direction must resolve tau * rho, where its miss bound equals P^(1/k).
    const double target = std::pow(static_cast<double>(verdict.max_miss_probability),
                                   1.0 / static_cast<double>(directions));
    double lo = 0, hi = 1;
    for (int it = 0; it < 60; ++it) {
        const double mid = (lo + hi) / 2;
        (directional_miss_probability(free, mid, kind) <= target ? lo : hi) = mid;
    }
    const std::span<const ld> guess = finite_gradient ? gradient : std::span<const ld>{};
    long double product = 1;
    for (std::size_t i = 0; i < directions; ++i) {
        const std::vector<ld> v = detail::random_direction(s.point(), kind, rng);
        s.along(v, guess);
        derivative_estimate e;
        detail::ridders_core(s, 1, options, std::span(&e, 1));
        ld analytic = 0, a = 0;
        for (std::size_t k = 0; k < x.size(); ++k) {
            if (v[k] == 0) continue;
            analytic += v[k] * gradient[k];
            a += std::abs(v[k]) * detail::analytic_tolerance(verdict, k);
        }
        derivative_verdict d = judge(e, analytic, a, static_cast<ld>(lo) * rho);
        d.index = i;
        d.miss_probability =
            d.decision == decision::fail || !std::isfinite(e.value)
                ? 1.0L
                : directional_miss_probability(free, static_cast<double>(d.detectable / rho), kind);
        product *= d.miss_probability;
        c.entries.push_back(std::move(d));
    }
    c.evaluations = s.evaluations;
    c.miss_probability = product;
    detail::conclude(c, std::to_string(directions) + " random directions");
    if (c.decision != decision::fail) {
        const bool enough = product <= verdict.max_miss_probability;
        c.decision = enough ? decision::pass : decision::inconclusive;
        c.reason +=
            "; an error of 2-norm >= " + detail::num(rho) +
            " would have been missed with probability <= " + detail::num(product) +
            (enough ? ""
                    : " (above the required " + detail::num(verdict.max_miss_probability) + ")");
    }
    return c;
}

derivative_check check_hessian(const vector_function& gradient, std::span<const long double> x,
                               const vector_function& hessian_vector,
                               const difference_options& options, const verdict_options& verdict,
                               std::size_t max_columns) {
    using detail::ld;
    const std::size_t n = x.size();
    const std::size_t e = verdict.analytic_error.size();
    if (e > 1 && e != n)
        throw input_error("analytic_error", "analytic_error must have 0, 1 or n values");
    detail::line_sampler s(gradient, n, x, options);
    std::mt19937_64 rng(options.seed);
    s.measure(detail::random_direction(s.point(), direction_kind::sphere, rng));
    derivative_check c;
    // Columns: coordinate vectors when few enough, else random unit directions.
    std::vector<std::size_t> coords(verdict.coordinates.begin(), verdict.coordinates.end());
    const bool by_coordinate = !coords.empty() || n <= max_columns;
    if (coords.empty() && by_coordinate)
        for (std::size_t j = 0; j < n; ++j)
            if (std::isfinite(x[j])) coords.push_back(j);
    const std::size_t columns = by_coordinate ? coords.size() : max_columns;
    std::vector<derivative_estimate> est(columns * n);
    std::vector<ld> hv(columns * n), v(n);
    ld scale = 0;
    for (std::size_t col = 0; col < columns; ++col) {
        if (by_coordinate) {
            if (coords[col] >= n) throw input_error("coordinates", "coordinate out of range");
            std::fill(v.begin(), v.end(), 0.0L);
            v[coords[col]] = 1;
            s.along(coords[col]);
        } else {
            v = detail::random_direction(s.point(), direction_kind::sphere, rng);
            s.along(v, {});
        }
        const auto out = std::span(est).subspan(col * n, n);
        detail::ridders_core(s, n, options, out);
        hessian_vector(v, std::span(hv).subspan(col * n, n));
        for (std::size_t k = 0; k < n; ++k)
            if (std::isfinite(hv[col * n + k])) scale = std::max(scale, std::abs(hv[col * n + k]));
    }
    const ld res = detail::resolution_of(verdict, scale);
    for (std::size_t col = 0; col < columns; ++col) {
        const std::size_t label = by_coordinate ? coords[col] : col;
        for (std::size_t k = 0; k < n; ++k) {
            c.entries.push_back(judge(est[col * n + k], hv[col * n + k],
                                      detail::analytic_tolerance(verdict, k), res));
            c.entries.back().index = label * n + k;
        }
    }
    for (std::size_t k = 0; k < n; ++k) {
        c.noise_declared = std::max(c.noise_declared, options.noise.at(s.value_at_x(k)));
        c.noise_measured = std::max(c.noise_measured, s.measured(k));
    }
    c.evaluations = s.evaluations;
    detail::conclude(c, by_coordinate ? "Hessian columns" : "Hessian along random directions");
    return c;
}

derivative_check check_hessian(const vector_function& gradient, std::span<const long double> x,
                               std::span<const long double> hessian,
                               const difference_options& options, const verdict_options& verdict,
                               std::size_t max_columns) {
    const std::size_t n = x.size();
    if (hessian.size() != n * n) throw input_error("hessian", "the Hessian must be n x n");
    const vector_function product = [hessian, n](std::span<const long double> v,
                                                 std::span<long double> out) {
        for (std::size_t k = 0; k < n; ++k) {
            long double sum = 0;
            for (std::size_t l = 0; l < n; ++l)
                if (v[l] != 0) sum += hessian[k * n + l] * v[l];
            out[k] = sum;
        }
    };
    return check_hessian(gradient, x, product, options, verdict, max_columns);
}

}  // namespace xentcheck
