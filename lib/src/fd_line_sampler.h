/// Internal to the finite-difference sources: the line sampler and the difference cores shared
/// by the derivative methods (finite_difference.cpp) and the checks (derivative_check.cpp).
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <limits>
#include <random>
#include <span>
#include <vector>

#include "xentcheck/finite_difference.h"

namespace xentcheck::detail {

using ld = long double;
constexpr ld ld_nan = std::numeric_limits<ld>::quiet_NaN();
constexpr ld ld_inf = std::numeric_limits<ld>::infinity();

/// Rounds v to the grid of a binary type with `digits` mantissa digits (0: long double itself),
/// as converting to that type does (round to nearest even; range limits ignored).
ld round_to_grid(ld v, int digits);
/// Spacing of that grid at v (at 1 for v = 0).
ld grid_spacing(ld v, int digits);
/// The largest finite |v_k| (0 if none).
ld max_abs(std::span<const ld> v);
/// A random unit direction (zero where x is not finite).
std::vector<ld> random_direction(std::span<const ld> x, direction_kind kind, std::mt19937_64& rng);

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
derivative_estimate central_core(line_sampler& s, const difference_options& o);
/// Ridders' extrapolation for each output along the sampler's direction.
void ridders_core(line_sampler& s, std::size_t outputs, const difference_options& o,
                  std::span<derivative_estimate> out);
/// A scalar function seen as a vector function with one output.
vector_function as_vector(const scalar_function& f);

}  // namespace xentcheck::detail
