/// Test support for the finite-difference tests: cross-entropy problems, wrappers, planted bugs.
#pragma once

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "xentcheck/xentcheck.h"

namespace fd_test {

/// A random cross-entropy problem with class-index targets. Logits are float-representable so
/// the float32 and float64 instantiations see the same inputs.
struct ce_problem {
    std::size_t rows = 0, classes = 0;
    std::vector<double> logits;
    std::vector<std::int64_t> targets;
    xentcheck::cross_entropy_options options;

    xentcheck::target_view target() const { return xentcheck::target_view::indices(targets); }
    std::vector<long double> x() const { return {logits.begin(), logits.end()}; }
};

/// N x C logits ~ N(0, spread^2) rounded to float, targets uniform, reduction mean or sum.
inline ce_problem make_problem(std::mt19937_64& rng, std::size_t rows, std::size_t classes,
                               double spread, xentcheck::reduction r) {
    ce_problem p;
    p.rows = rows;
    p.classes = classes;
    std::normal_distribution<double> normal(0.0, spread);
    std::uniform_int_distribution<std::int64_t> cls(0, static_cast<std::int64_t>(classes) - 1);
    for (std::size_t k = 0; k < rows * classes; ++k)
        p.logits.push_back(static_cast<double>(static_cast<float>(normal(rng))));
    for (std::size_t i = 0; i < rows; ++i)
        p.targets.push_back(cls(rng));
    p.options.reduction = r;
    return p;
}

/// The loss of the reference instantiated for T, reading its input in T (as another
/// implementation at that dtype would).
template <class T>
xentcheck::scalar_function loss_function(const ce_problem& p) {
    return [&p](std::span<const long double> z) -> long double {
        std::vector<T> zt(z.begin(), z.end());
        return static_cast<long double>(
            xentcheck::cross_entropy_loss<T>(zt, p.classes, p.target(), p.options));
    };
}

/// The reference gradient computed in T.
template <class T>
std::vector<long double> gradient(const ce_problem& p) {
    std::vector<T> z(p.logits.begin(), p.logits.end());
    const auto r = xentcheck::cross_entropy<T>(z, p.classes, p.target(), p.options);
    return {r.grad.begin(), r.grad.end()};
}

/// The tolerance model of this problem for values computed in T.
template <class T>
xentcheck::tolerance_model model(const ce_problem& p) {
    return xentcheck::tolerance_model(xentcheck::measure_problem(
        xentcheck::unit_roundoff<T>(), p.logits, p.classes, p.target(), p.options));
}

/// Per-entry tolerance of a gradient computed in T: grad().bound(s (A p_j + |a_j|)).
template <class T>
std::vector<long double> gradient_tolerance(const ce_problem& p) {
    const auto probs = xentcheck::softmax<double>(p.logits, p.classes);
    const auto mags = xentcheck::grad_magnitudes(probs, p.classes, p.target(), p.options);
    const xentcheck::tolerance t = model<T>(p).grad();
    std::vector<long double> out;
    for (const double m : mags)
        out.push_back(t.bound(m));
    return out;
}

/// Difference options for a loss at dtype T whose evaluation error is the tolerance model's
/// bound for any reasonable implementation: loss().atol + loss().rtol |L|. The rtol part counts
/// C + N sequential roundings of the sums, so at float32 and large C it is wide.
template <class T>
xentcheck::difference_options model_noise_options(const ce_problem& p) {
    xentcheck::difference_options o;
    o.noise = xentcheck::evaluation_noise::from(model<T>(p).loss());
    o.input_digits = std::numeric_limits<T>::digits;
    return o;
}

/// Difference options for the reference loss at dtype T. The reference sums with compensation,
/// so its loss error is the rounding of the exp/log arguments, k u R per unit of target mass
/// (R = 2M + ln C + 1, the model's logit range), plus k u |L| for the final operations; the
/// model's (C + N) u summation terms for naive implementations do not apply.
template <class T>
xentcheck::difference_options loss_options(const ce_problem& p) {
    xentcheck::difference_options o = model_noise_options<T>(p);
    const xentcheck::tolerance_model m = model<T>(p);
    const long double k = xentcheck::tolerance_model::safety * xentcheck::unit_roundoff<T>();
    o.noise.absolute = k * m.logit_range() * m.scale().loss_scale;
    o.noise.relative = k;
    return o;
}

/// The natural scale of the gradient, s max_i A_i (model grad_scale): resolutions are relative
/// to it, as a gradient entry's tolerance is relative to s (A p_j + |a_j|), not to |g_j|.
template <class T>
long double grad_scale(const ce_problem& p) {
    return model<T>(p).scale().grad_scale;
}

/// Planted gradient bugs.
enum class bug { sign_flipped, grad_wrt_probs, missing_mean_divisor, class_shifted, scaled };

inline std::string name(bug b) {
    switch (b) {
        case bug::sign_flipped:
            return "sign_flipped";
        case bug::grad_wrt_probs:
            return "grad_wrt_probs";
        case bug::missing_mean_divisor:
            return "missing_mean_divisor";
        case bug::class_shifted:
            return "class_shifted";
        case bug::scaled:
            return "scaled_1.001";
    }
    return "?";
}

/// The gradient g of problem p with bug b planted.
inline std::vector<long double> plant(bug b, const ce_problem& p, std::vector<long double> g) {
    const std::size_t c = p.classes;
    const auto probs = xentcheck::softmax<double>(p.logits, c);
    const double divisor =
        p.options.reduction == xentcheck::reduction::mean ? static_cast<double>(p.rows) : 1.0;
    for (std::size_t i = 0; i < p.rows; ++i) {
        const auto t = static_cast<std::size_t>(p.targets[i]);
        for (std::size_t j = 0; j < c; ++j) {
            long double& gj = g[i * c + j];
            switch (b) {
                case bug::sign_flipped:
                    gj = -gj;
                    break;
                case bug::grad_wrt_probs:  // dL/dp: -1 / p_t at the target, 0 elsewhere
                    gj = j == t ? -1.0L / (probs[i * c + j] * divisor) : 0.0L;
                    break;
                case bug::missing_mean_divisor:
                    gj *= divisor;
                    break;
                case bug::scaled:
                    gj *= 1.001L;
                    break;
                case bug::class_shifted:
                    break;
            }
        }
        if (b == bug::class_shifted) std::swap(g[i * c + t], g[i * c + (t + 1) % c]);
    }
    return g;
}

/// A deterministic pseudo-random value in [-1, 1] from the bits of a point (noise that is a
/// function of x, as rounding noise is).
inline long double hash_noise(std::span<const long double> z) {
    std::uint64_t h = 0x9e3779b97f4a7c15ull;
    for (const long double v : z) {
        const double d = static_cast<double>(v);
        std::uint64_t bits = 0;
        std::memcpy(&bits, &d, sizeof bits);
        h ^= bits + 0x9e3779b97f4a7c15ull + (h << 6) + (h >> 2);
    }
    h ^= h >> 33, h *= 0xff51afd7ed558ccdull, h ^= h >> 33;
    return static_cast<long double>(h >> 11) * 0x1p-52L - 1;
}

}  // namespace fd_test
