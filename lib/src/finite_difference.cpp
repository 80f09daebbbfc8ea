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
namespace {

using ld = long double;
constexpr ld ld_nan = std::numeric_limits<ld>::quiet_NaN();
constexpr ld ld_inf = std::numeric_limits<ld>::infinity();

/// Rounds v to the grid of a binary type with `digits` mantissa digits (0: long double itself),
/// as converting to that type does (round to nearest even; range limits ignored).
ld round_to_grid(ld v, int digits) {
    if (digits <= 0 || digits >= std::numeric_limits<ld>::digits || v == 0 || !std::isfinite(v))
        return v;
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

/// Evaluates G on lines through x (along a coordinate or a direction), on the input grid, and
/// returns central quotients with a bound on their noise. Holds G(x) and the noise level.
class line_sampler {
  public:
    line_sampler(const vector_function& g, std::size_t outputs, std::span<const ld> x,
                 const difference_options& o)
        : g_(g),
          k_(outputs),
          o_(o),
          x_(x.size()),
          point_(x.size()),
          g0_(outputs),
          gu_(outputs),
          gd_(outputs),
          measured_(outputs, 0) {
        for (std::size_t i = 0; i < x.size(); ++i)
            x_[i] = point_[i] = round_to_grid(x[i], o.input_digits);
        g_(x_, g0_);
        ++evaluations;
    }

    /// Measures the noise along v (if enabled) and keeps 4 sigma per output.
    void measure(std::span<const ld> v) {
        if (!o_.measure_noise) return;
        std::vector<noise_estimate> est(k_);
        measure_noise(g_, k_, x_, v, o_, est);
        for (std::size_t k = 0; k < k_; ++k)
            measured_[k] = est[k].bound();
        if (k_ > 0) evaluations += est[0].evaluations;
    }

    /// Differentiate along coordinate j, or along v (with an optional gradient correction).
    void along(std::size_t j) { coordinate_ = j, v_.clear(), guess_ = {}; }
    /// Non-finite coordinates of x stay fixed (v_k = 0 there).
    void along(std::span<const ld> v, std::span<const ld> guess) {
        v_.assign(v.begin(), v.end());
        for (std::size_t k = 0; k < v_.size(); ++k)
            if (!std::isfinite(x_[k])) v_[k] = 0;
        guess_ = guess, coordinate_ = x_.size();
    }

    /// The largest useful step: each coordinate moves at most L.
    ld max_step() const {
        return v_.empty() ? o_.length_scale : o_.length_scale / std::max(max_abs(v_), 1e-300L);
    }
    /// The smallest step: 2^12 grid spacings of the coordinate; for a direction, 2^12 times the
    /// root-sum-square grid spacing of the moving coordinates per unit of |v|.
    ld min_step() const {
        if (v_.empty()) return 4096 * grid_spacing(x_[coordinate_], o_.input_digits);
        // The rounding displacement of the whole point, against the step length h |v|.
        ld r2 = 0, v2 = 0;
        for (std::size_t k = 0; k < x_.size(); ++k) {
            if (v_[k] == 0) continue;
            const ld g = grid_spacing(x_[k], o_.input_digits);
            r2 += g * g;
            v2 += v_[k] * v_[k];
        }
        return v2 > 0 ? 4096 * std::sqrt(r2 / v2) : 0;
    }

    /// Declared-or-measured noise bound of output k at value `value`.
    ld noise(std::size_t k, ld value) const { return std::max(o_.noise.at(value), measured_[k]); }
    ld value_at_x(std::size_t k) const { return g0_[k]; }
    ld measured(std::size_t k) const { return measured_[k]; }
    std::span<const ld> point() const { return x_; }

    /// Central quotient of each output at nominal step h into q, its noise bound into nb, and
    /// the step really taken (after rounding to the grid) into `taken`. False when a value is
    /// not finite or the step vanished on the grid.
    bool quotient(ld h, std::span<ld> q, std::span<ld> nb, ld& taken) {
        ld denom = 0, asym = 0, correction = 0;
        if (v_.empty()) {
            ld a = 0, b = 0;
            symmetric_pair(x_[coordinate_], h, a, b);
            if (!(a > 0 && b > 0)) return false;
            point_[coordinate_] = x_[coordinate_] + a;
            g_(point_, gu_);
            point_[coordinate_] = x_[coordinate_] - b;
            g_(point_, gd_);
            point_[coordinate_] = x_[coordinate_];
            denom = a + b;
            asym = std::abs(a - b) / 2;
            taken = denom / 2;
        } else {
            std::vector<ld> down(x_.size());
            ld c2 = 0;
            for (std::size_t k = 0; k < x_.size(); ++k) {
                if (v_[k] == 0) {
                    down[k] = point_[k] = x_[k];
                    continue;
                }
                ld a = 0, b = 0;
                symmetric_pair(x_[k], h * v_[k], a, b);
                point_[k] = x_[k] + a;
                down[k] = x_[k] - b;
                c2 += (a - b) * (a - b) / 4;
                if (!guess_.empty()) correction += guess_[k] * ((a + b) / (2 * h) - v_[k]);
            }
            g_(point_, gu_);
            g_(down, gd_);
            std::copy(x_.begin(), x_.end(), point_.begin());
            denom = 2 * h;
            asym = std::sqrt(c2);
            taken = h;  // the rounding of each coordinate is corrected (guess) or ignored
        }
        evaluations += 2;
        for (std::size_t k = 0; k < k_; ++k) {
            q[k] = (gu_[k] - gd_[k]) / denom - correction;
            nb[k] = (noise(k, gu_[k]) + noise(k, gd_[k])) / denom;
            // An off-centre pair adds curvature * offset; the second difference measures it.
            if (asym > 0) nb[k] += std::abs(gu_[k] - 2 * g0_[k] + gd_[k]) / (h * h) * asym;
            if (!std::isfinite(q[k]) || !std::isfinite(nb[k])) return false;
        }
        return true;
    }

    std::size_t evaluations = 0;

  private:
    /// Steps a (up) and b (down) near h with x + a and x - b on the grid, equal when possible
    /// so the quotient stays centred at x. For h < 0 the roles swap.
    void symmetric_pair(ld xk, ld h, ld& a, ld& b) const {
        const int d = o_.input_digits;
        const ld up = round_to_grid(xk + h, d);
        const ld a0 = up - xk;
        if (round_to_grid(xk - a0, d) == xk - a0) {
            a = b = a0;
            return;
        }
        const ld down = round_to_grid(xk - h, d);
        const ld b0 = xk - down;
        if (round_to_grid(xk + b0, d) == xk + b0) {
            a = b = b0;
            return;
        }
        a = a0, b = b0;
    }

    const vector_function& g_;
    std::size_t k_;
    const difference_options& o_;
    std::vector<ld> x_, point_, g0_, gu_, gd_, measured_;
    std::size_t coordinate_ = 0;
    std::vector<ld> v_;
    std::span<const ld> guess_;
};

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
