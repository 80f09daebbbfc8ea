/// Finite-difference derivatives of any function of a vector: central, Ridders, complex step.
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

long double central_difference(const scalar_function& f, std::span<const long double> x,
                               std::size_t j, long double h) {
    if (j >= x.size()) throw input_error("coordinate", "coordinate out of range");
    std::vector<long double> point(x.begin(), x.end());
    // Use the steps the arithmetic really takes, so (x + h) - x rounding does not bias the result.
    const volatile long double up = x[j] + h;
    const volatile long double down = x[j] - h;
    point[j] = up;
    const long double f_up = f(point);
    point[j] = down;
    const long double f_down = f(point);
    return (f_up - f_down) / (up - down);
}

long double directional_difference(const scalar_function& f, std::span<const long double> x,
                                   std::span<const long double> v, long double h) {
    if (v.size() != x.size()) throw input_error("direction", "direction size differs from x");
    std::vector<long double> up(x.begin(), x.end()), down(x.begin(), x.end());
    for (std::size_t k = 0; k < x.size(); ++k) {
        up[k] += h * v[k];
        down[k] -= h * v[k];
    }
    return (f(up) - f(down)) / (2 * h);
}

long double evaluation_noise::at(long double value) const noexcept {
    return absolute + relative * std::abs(value);
}

namespace detail {

/// Rounds v to the grid of a binary type with `digits` mantissa digits (0: long double itself),
/// as converting to that type does (round to nearest even; range limits ignored).
ld round_to_grid(ld v, int digits) {
    if (digits <= 0 || digits >= std::numeric_limits<ld>::digits || v == 0 || !std::isfinite(v))
        return v;
    // Within the normal range of double or float the conversion rounds to that same grid (to
    // nearest even) and is far cheaper than nearbyint on long double.
    const ld a = std::abs(v);
    if (digits == std::numeric_limits<double>::digits &&
        a >= ld(std::numeric_limits<double>::min()) && a <= ld(std::numeric_limits<double>::max()))
        return ld(static_cast<double>(v));
    if (digits == std::numeric_limits<float>::digits &&
        a >= ld(std::numeric_limits<float>::min()) && a <= ld(std::numeric_limits<float>::max()))
        return ld(static_cast<float>(v));
    int e = 0;
    std::frexp(v, &e);
    return std::ldexp(std::nearbyint(std::ldexp(v, digits - e)), e - digits);
}

/// Spacing of that grid at v (at 1 for v = 0).
ld grid_spacing(ld v, int digits) {
    const int d = digits <= 0 ? std::numeric_limits<ld>::digits : digits;
    int e = 1;
    if (v != 0 && std::isfinite(v)) std::frexp(v, &e);
    return std::ldexp(1.0L, e - d);
}

ld max_abs(std::span<const ld> v) {
    ld m = 0;
    for (const ld a : v)
        if (std::isfinite(a)) m = std::max(m, std::abs(a));
    return m;
}

/// A random unit direction (zero where x is not finite).
std::vector<ld> random_direction(std::span<const ld> x, direction_kind kind, std::mt19937_64& rng) {
    std::vector<ld> v(x.size(), 0);
    std::normal_distribution<double> normal;
    ld norm2 = 0;
    for (std::size_t k = 0; k < x.size(); ++k) {
        if (!std::isfinite(x[k])) continue;
        v[k] = kind == direction_kind::sphere ? normal(rng) : ((rng() >> 63) != 0 ? 1.0L : -1.0L);
        norm2 += v[k] * v[k];
    }
    if (norm2 > 0)
        for (ld& a : v)
            a /= std::sqrt(norm2);
    return v;
}

/// Central difference of a scalar function at a chosen step, along the sampler's direction.
derivative_estimate central_core(line_sampler& s, const difference_options& o) {
    const std::size_t before = s.evaluations;
    const ld h_max = s.max_step(), h_min = std::min(s.min_step(), h_max);
    auto quotient = [&s](ld h, ld& q, ld& nb) {
        ld taken = 0;
        return s.quotient(h, std::span<ld>(&q, 1), std::span<ld>(&nb, 1), taken);
    };
    ld q1 = 0, n1 = 0, q2 = 0, n2 = 0;
    ld third = o.third_derivative;
    if (third <= 0) {
        // D(s) = f' + f''' s^2 / 6 + ..., so |f'''| ~ 2 |D(2s) - D(s)| / s^2 at s = L / 2, less
        // what noise alone could explain (noise must not shrink the step further).
        const ld st = h_max / 2;
        third = quotient(st, q1, n1) && quotient(2 * st, q2, n2)
                    ? 2 * std::max(std::abs(q2 - q1) - n1 - n2, 0.0L) / (st * st)
                    : 0;
    }
    const ld e = s.noise(0, s.value_at_x(0));
    const ld h = std::clamp(third > 0 ? std::cbrt(3 * e / third) : h_max, h_min, h_max);
    derivative_estimate r{ld_nan, ld_inf, ld_inf, ld_inf, h, 0};
    if (quotient(h, q1, n1) && quotient(2 * h, q2, n2)) {
        // D(2h) - D(h) = 3 c h^2 + noise: a third of it measures the h^2 term of D(h).
        r.value = q1;
        r.truncation = std::abs(q1 - q2) / 3;
        r.noise = n1;
        r.error = r.truncation + r.noise;
    }
    r.evaluations = s.evaluations - before;
    return r;
}

/// Ridders' extrapolation for each output along the sampler's direction.
void ridders_core(line_sampler& s, std::size_t outputs, const difference_options& o,
                  std::span<derivative_estimate> out) {
    const std::size_t levels = std::max<std::size_t>(o.max_levels, 2);
    const ld shrink = std::max(o.step_ratio, 1.1L);
    const std::size_t before = s.evaluations;
    const ld h0 = s.max_step(), h_min = s.min_step();
    // a[i][j][k]: tableau entry of level i, order j, output k; n: its propagated noise bound.
    std::vector<ld> a(levels * levels * outputs), n(a.size()), taken(levels);
    auto at = [&](std::vector<ld>& t, std::size_t i, std::size_t j) {
        return std::span<ld>(t).subspan((i * levels + j) * outputs, outputs);
    };
    std::size_t rows = 0;
    ld h = h0;
    for (std::size_t i = 0; i < levels; ++i, h /= shrink) {
        if (h < h_min || !s.quotient(h, at(a, i, 0), at(n, i, 0), taken[i])) break;
        rows = i + 1;
        bool noise_bound_reached = i >= 2;
        for (std::size_t j = 1; j <= i; ++j) {
            // Neville extrapolation to step 0 in h^2, with the steps really taken.
            const ld ratio = taken[i - j] * taken[i - j] / (taken[i] * taken[i]);
            for (std::size_t k = 0; k < outputs; ++k) {
                at(a, i, j)[k] =
                    (ratio * at(a, i, j - 1)[k] - at(a, i - 1, j - 1)[k]) / (ratio - 1);
                at(n, i, j)[k] =
                    (ratio * at(n, i, j - 1)[k] + at(n, i - 1, j - 1)[k]) / (ratio - 1);
            }
        }
        // Noise bounds only grow as the step shrinks: once every entry of this row is noisier
        // than the whole spread of the previous row, further rows cannot help.
        for (std::size_t k = 0; k < outputs && noise_bound_reached; ++k) {
            ld spread = 0, least_noise = ld_inf;
            for (std::size_t j = 0; j < i; ++j)
                spread = std::max(spread, std::abs(at(a, i - 1, j)[k] - at(a, i - 1, i - 1)[k]));
            for (std::size_t j = 0; j <= i; ++j)
                least_noise = std::min(least_noise, at(n, i, j)[k]);
            noise_bound_reached = least_noise > spread;
        }
        if (noise_bound_reached) break;
    }
    // Error of entry (i, j >= 1): its noise bound plus its largest disagreement with the
    // entries it came from (Ridders), the same order one step back and one step on, and the
    // next order one step on. Low orders at large steps can agree with each other by chance
    // while all being off; the entries at the next, smaller step expose that.
    for (std::size_t k = 0; k < outputs; ++k) {
        out[k] = derivative_estimate{ld_nan, ld_inf, ld_inf, ld_inf, h0, 0};
        if (rows == 1) out[k] = {at(a, 0, 0)[k], ld_inf, ld_inf, at(n, 0, 0)[k], taken[0], 0};
        for (std::size_t i = 1; i < rows; ++i) {
            for (std::size_t j = 1; j <= i; ++j) {
                const ld v = at(a, i, j)[k];
                ld trunc = std::max(std::abs(v - at(a, i, j - 1)[k]),
                                    std::abs(v - at(a, i - 1, j - 1)[k]));
                if (j < i) trunc = std::max(trunc, std::abs(v - at(a, i - 1, j)[k]));
                if (i + 1 < rows) {
                    trunc = std::max(trunc, std::abs(v - at(a, i + 1, j)[k]));
                    trunc = std::max(trunc, std::abs(v - at(a, i + 1, j + 1)[k]));
                }
                const ld err = trunc + at(n, i, j)[k];
                if (err <= out[k].error) out[k] = {v, err, trunc, at(n, i, j)[k], taken[i], 0};
            }
        }
    }
    for (auto& r : out)
        r.evaluations = s.evaluations - before;
}

vector_function as_vector(const scalar_function& f) {
    return [&f](std::span<const ld> x, std::span<ld> out) { out[0] = f(x); };
}

namespace {

derivative_estimate one_derivative(const scalar_function& f, std::span<const ld> x, std::size_t j,
                                   std::span<const ld> v, std::span<const ld> guess,
                                   fd_method method, const difference_options& o) {
    const vector_function g = as_vector(f);
    line_sampler s(g, 1, x, o);
    std::vector<ld> unit;
    if (v.empty()) {
        if (j >= x.size()) throw input_error("coordinate", "coordinate out of range");
        if (!std::isfinite(x[j])) return derivative_estimate{ld_nan, ld_inf, ld_inf, ld_inf, 0, 1};
        unit.assign(x.size(), 0);
        unit[j] = 1;
        s.measure(unit);
        s.along(j);
    } else {
        if (v.size() != x.size()) throw input_error("direction", "direction size differs from x");
        if (!guess.empty() && guess.size() != x.size())
            throw input_error("gradient", "gradient size differs from x");
        s.measure(v);
        s.along(v, guess);
    }
    if (method == fd_method::central) return central_core(s, o);
    derivative_estimate r;
    ridders_core(s, 1, o, std::span(&r, 1));
    return r;
}

}  // namespace
}  // namespace detail

derivative_estimate central_derivative(const scalar_function& f, std::span<const long double> x,
                                       std::size_t j, const difference_options& options) {
    return detail::one_derivative(f, x, j, {}, {}, fd_method::central, options);
}

derivative_estimate central_derivative(const scalar_function& f, std::span<const long double> x,
                                       std::span<const long double> v,
                                       const difference_options& options,
                                       std::span<const long double> gradient_guess) {
    return detail::one_derivative(f, x, 0, v, gradient_guess, fd_method::central, options);
}

derivative_estimate richardson_derivative(const scalar_function& f, std::span<const long double> x,
                                          std::size_t j, const difference_options& options) {
    return detail::one_derivative(f, x, j, {}, {}, fd_method::richardson, options);
}

derivative_estimate richardson_derivative(const scalar_function& f, std::span<const long double> x,
                                          std::span<const long double> v,
                                          const difference_options& options,
                                          std::span<const long double> gradient_guess) {
    return detail::one_derivative(f, x, 0, v, gradient_guess, fd_method::richardson, options);
}

namespace detail {
namespace {

/// ECnoise on one column of sampled values (equally spaced points): sigma and the order where
/// noise was detected (0: not detected, sigma is then the smallest level, an upper estimate).
struct table_result {
    ld sigma = 0;
    int order = 0;
    bool constant = false;  ///< f did not change on most of the grid: spacing too small
};

table_result analyse_differences(std::vector<ld> d) {
    constexpr int max_order = 8;
    table_result r;
    ld levels[max_order + 1] = {}, gamma = 1;
    bool sign_change[max_order + 1] = {};
    for (int j = 1; j <= max_order; ++j) {
        const std::size_t len = d.size() - static_cast<std::size_t>(j);
        ld sum = 0, lo = 0, hi = 0;
        std::size_t zeros = 0;
        for (std::size_t i = 0; i < len; ++i) {
            d[i] = d[i + 1] - d[i];
            sum += d[i] * d[i];
            lo = std::min(lo, d[i]), hi = std::max(hi, d[i]);
            zeros += d[i] == 0;
        }
        if (j == 1 && 2 * zeros > len) {
            r.constant = true;
            return r;
        }
        // gamma_j = (j!)^2 / (2j)! makes gamma_j E[(Delta^j noise)^2] = sigma^2 for iid noise.
        gamma *= static_cast<ld>(j) / (2 * (2 * j - 1));
        levels[j] = std::sqrt(gamma * sum / static_cast<ld>(len));
        sign_change[j] = lo < 0 && hi > 0;
    }
    for (int j = 1; j + 2 <= max_order; ++j) {
        const ld lo = std::min({levels[j], levels[j + 1], levels[j + 2]});
        const ld hi = std::max({levels[j], levels[j + 1], levels[j + 2]});
        if (hi <= 4 * lo && sign_change[j]) return table_result{levels[j], j, false};
    }
    r.sigma = *std::min_element(levels + 1, levels + max_order + 1);
    return r;
}

}  // namespace
}  // namespace detail

void measure_noise(const vector_function& g, std::size_t outputs, std::span<const long double> x,
                   std::span<const long double> v, const difference_options& options,
                   std::span<noise_estimate> out) {
    using detail::ld;
    if (v.size() != x.size()) throw input_error("direction", "direction size differs from x");
    if (out.size() != outputs) throw input_error("noise", "one estimate per output is needed");
    constexpr std::size_t half = 8, points = 2 * half + 1;
    std::vector<ld> dir(v.begin(), v.end());
    for (std::size_t k = 0; k < x.size(); ++k)
        if (!std::isfinite(x[k])) dir[k] = 0;
    for (auto& e : out)
        e = noise_estimate{};
    const ld vmax = detail::max_abs(dir);
    if (vmax == 0 || outputs == 0) return;
    std::vector<ld> values(points * outputs), point(x.size()), y(outputs), column(points);
    std::vector<char> settled(outputs, 0);
    std::size_t evaluations = 0;
    const ld widest = options.length_scale / vmax / half;
    ld delta = std::ldexp(options.length_scale / vmax, -10);
    for (int attempt = 0; attempt < 4; ++attempt) {
        for (std::size_t i = 0; i < points; ++i) {
            const ld t = (static_cast<ld>(i) - static_cast<ld>(half)) * delta;
            for (std::size_t k = 0; k < x.size(); ++k)
                point[k] = detail::round_to_grid(x[k] + t * dir[k], options.input_digits);
            g(point, y);
            ++evaluations;
            std::copy(y.begin(), y.end(), values.begin() + static_cast<long>(i * outputs));
        }
        std::size_t constant = 0, smooth = 0;
        for (std::size_t k = 0; k < outputs; ++k) {
            if (settled[k]) continue;
            bool finite = true;
            for (std::size_t i = 0; i < points; ++i)
                finite &= std::isfinite(column[i] = values[i * outputs + k]);
            if (!finite) {
                settled[k] = 1;  // no noise to measure where g is not finite
                continue;
            }
            const detail::table_result r = detail::analyse_differences(column);
            if (r.order > 0) {
                out[k] = noise_estimate{r.sigma, r.order, delta, 0};
                settled[k] = 1;
            } else if (r.constant) {
                ++constant;
            } else {
                ++smooth;  // keep the smallest upper estimate seen
                if (out[k].step == 0 || r.sigma < out[k].sigma)
                    out[k] = noise_estimate{r.sigma, 0, delta, 0};
            }
        }
        if (constant + smooth == 0) break;
        if (constant > smooth) {
            // Constant on the grid: widen, but keep the samples within the range the
            // differences use (+-L per coordinate). Constant there too: no noise to see.
            if (delta >= widest) break;
            delta = std::min(delta * 64, widest);
        } else {
            delta /= 64;
        }
    }
    for (auto& e : out)
        e.evaluations = evaluations;
}

noise_estimate measure_noise(const scalar_function& f, std::span<const long double> x,
                             std::span<const long double> v, const difference_options& options) {
    noise_estimate e;
    measure_noise(detail::as_vector(f), 1, x, v, options, std::span(&e, 1));
    return e;
}

void finite_difference_gradient(const scalar_function& f, std::span<const long double> x,
                                fd_method method, const difference_options& options,
                                std::span<derivative_estimate> out) {
    if (out.size() != x.size()) throw input_error("gradient", "one estimate per coordinate");
    const vector_function g = detail::as_vector(f);
    detail::line_sampler s(g, 1, x, options);
    std::mt19937_64 rng(options.seed);
    s.measure(detail::random_direction(s.point(), direction_kind::sphere, rng));
    for (std::size_t j = 0; j < x.size(); ++j) {
        out[j] = derivative_estimate{
            detail::ld_nan, detail::ld_inf, detail::ld_inf, detail::ld_inf, 0, 0};
        if (!std::isfinite(x[j])) continue;
        s.along(j);
        if (method == fd_method::central) {
            out[j] = detail::central_core(s, options);
        } else {
            detail::ridders_core(s, 1, options, out.subspan(j, 1));
        }
    }
}

std::vector<derivative_estimate> finite_difference_gradient(const scalar_function& f,
                                                            std::span<const long double> x,
                                                            fd_method method,
                                                            const difference_options& options) {
    std::vector<derivative_estimate> out(x.size());
    finite_difference_gradient(f, x, method, options, out);
    return out;
}

void richardson_jacobian_vector(const vector_function& g, std::size_t outputs,
                                std::span<const long double> x, std::span<const long double> v,
                                const difference_options& options,
                                std::span<derivative_estimate> out) {
    if (v.size() != x.size()) throw input_error("direction", "direction size differs from x");
    if (out.size() != outputs) throw input_error("jacobian", "one estimate per output");
    detail::line_sampler s(g, outputs, x, options);
    s.measure(v);
    s.along(v, {});
    detail::ridders_core(s, outputs, options, out);
}

derivative_estimate complex_step_derivative(const complex_function& f, std::span<const double> x,
                                            std::size_t j, const complex_step_options& options) {
    if (j >= x.size()) throw input_error("coordinate", "coordinate out of range");
    const std::size_t e = options.derivative_error.size();
    if (e > 1 && e != x.size())
        throw input_error("derivative_error", "derivative_error must have 0, 1 or n values");
    if (!std::isfinite(x[j]))
        return derivative_estimate{detail::ld_nan, detail::ld_inf, 0, detail::ld_inf, 0, 0};
    std::vector<std::complex<double>> z(x.begin(), x.end());
    z[j] = std::complex<double>(x[j], options.step);
    const long double value = static_cast<long double>(f(z).imag()) / options.step;
    const long double err = e == 0   ? options.derivative_noise.at(value)
                            : e == 1 ? options.derivative_error[0]
                                     : options.derivative_error[j];
    // Truncation h^2 |f'''| / 6 is below the smallest double for h = 1e-200: reported as 0.
    return derivative_estimate{value, err, 0, err, options.step, 1};
}

void complex_step_gradient(const complex_function& f, std::span<const double> x,
                           const complex_step_options& options,
                           std::span<derivative_estimate> out) {
    if (out.size() != x.size()) throw input_error("gradient", "one estimate per coordinate");
    for (std::size_t j = 0; j < x.size(); ++j)
        out[j] = complex_step_derivative(f, x, j, options);
}

std::vector<derivative_estimate> complex_step_gradient(const complex_function& f,
                                                       std::span<const double> x,
                                                       const complex_step_options& options) {
    std::vector<derivative_estimate> out(x.size());
    complex_step_gradient(f, x, options, out);
    return out;
}

}  // namespace xentcheck
