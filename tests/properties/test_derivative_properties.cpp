/// Derivative properties: the reference gradient and Hessian against the finite-difference engine.
#include <algorithm>
#include <cmath>
#include <complex>
#include <limits>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include "xentcheck/properties/generators.h"
#include "xentcheck/xentcheck.h"

namespace xp = xentcheck::properties;
using ld = long double;
using xentcheck::decision;

namespace {

/// The loss, gradient and tolerances of a generated problem at its dtype.
struct derivative_setup {
    xentcheck::scalar_function loss;  ///< reads its input in the problem's dtype
    std::vector<ld> x;                ///< the logits
    std::vector<ld> gradient;         ///< the reference gradient computed in the dtype
    std::vector<ld> gradient_tol;     ///< per entry: grad().bound(s (A p_j + |a_j|))
    xentcheck::difference_options options;
    ld rtol = 0;            ///< relative resolution: 1e-3 (float64) or 1e-2 (float32)
    ld resolution = 0;      ///< rtol * grad_scale, the largest natural gradient magnitude
    ld magnitude_norm = 0;  ///< |m|_2 of the magnitudes m_j = s (A p_j + |a_j|)
};

template <class T>
ld loss_at(const xp::problem& p, std::span<const ld> z) {
    const std::vector<T> zt(z.begin(), z.end());
    return static_cast<ld>(
        xentcheck::cross_entropy_loss<T>(zt, p.classes, p.target_view(), p.options()));
}

template <class T>
std::vector<ld> gradient_of(const xp::problem& p) {
    const std::vector<T> z(p.logits.begin(), p.logits.end());
    const auto r = xentcheck::cross_entropy<T>(z, p.classes, p.target_view(), p.options());
    return {r.grad.begin(), r.grad.end()};
}

/// The reference loss at dtype u: it sums with compensation, so its evaluation error is the
/// rounding of the exp/log arguments, k u R per unit of target mass (times C + N more when target
/// entries of both signs may cancel), plus k u |L|; see docs/finite-differences.md.
derivative_setup make_setup(const xp::problem& p) {
    derivative_setup s;
    const bool single = p.dtype == xp::scalar_type::float32;
    s.loss = [&p, single](std::span<const ld> z) {
        return single ? loss_at<float>(p, z) : loss_at<double>(p, z);
    };
    s.x.assign(p.logits.begin(), p.logits.end());
    s.gradient = single ? gradient_of<float>(p) : gradient_of<double>(p);
    const xentcheck::tolerance_model model = p.tolerance();
    const auto probs = xentcheck::softmax<double>(p.logits, p.classes);
    const auto mags = xentcheck::grad_magnitudes(probs, p.classes, p.target_view(), p.options());
    const xentcheck::tolerance gt = model.grad();
    for (const double m : mags) {
        s.gradient_tol.push_back(gt.bound(m));
        if (std::isfinite(m)) s.magnitude_norm += static_cast<ld>(m) * m;
    }
    s.magnitude_norm = std::sqrt(s.magnitude_norm);
    const auto& sc = model.scale();
    const ld k = xentcheck::tolerance_model::safety * sc.unit_roundoff;
    const ld cancel = sc.mixed_sign_targets ? static_cast<ld>(sc.classes + sc.rows) : 0;
    s.options.noise.absolute = k * model.logit_range() * sc.loss_scale * (1 + cancel);
    s.options.noise.relative = k;
    s.options.input_digits = single ? 24 : 53;
    s.rtol = single ? 1e-2L : 1e-3L;
    s.resolution = s.rtol * sc.grad_scale;
    return s;
}

xentcheck::verdict_options verdict_for(const derivative_setup& s) {
    xentcheck::verdict_options v;
    v.analytic_error = s.gradient_tol;
    v.resolution = s.resolution;
    return v;
}

/// Largest finite |logit|.
double max_abs_logit(const xp::problem& p) {
    double m = 0;
    for (const double z : p.logits)
        if (std::isfinite(z)) m = std::max(m, std::abs(z));
    return m;
}

/// Whether finite differences must resolve this problem: the loss is finite (label smoothing or
/// probability targets on a -inf logit make it +inf; every row ignored under mean makes it NaN) and
/// every logit is small enough that steps up to L = 1 fit the input grid and the loss noise k u R
/// (R = 2M + ln C + 1) stays well below the resolution: |z| <= 1e4 in float64, |z| <= 64 in
/// float32. Outside it the verdict may be inconclusive, never fail.
bool resolvable(const xp::problem& p) {
    const bool single = p.dtype == xp::scalar_type::float32;
    const std::vector<ld> x(p.logits.begin(), p.logits.end());
    const ld loss = single ? loss_at<float>(p, x) : loss_at<double>(p, x);
    return std::isfinite(loss) && max_abs_logit(p) <= (single ? 64 : 1e4);
}

/// Tags the case with its decision and logs the reason (shown with a counterexample).
void tag(const xentcheck::derivative_check& c) {
    RC_TAG(std::string(xentcheck::to_string(c.decision)));
    RC_LOG(std::string(xentcheck::to_string(c.decision)) + ": " + c.reason);
}

}  // namespace

RC_GTEST_PROP(derivatives, richardson_matches_reference_gradient, ()) {
    xp::generator_config config;
    config.max_classes = 24;
    config.max_rows = 4;
    config.max_elements = 48;
    const xp::problem p = *xp::gen_problem(config);
    const derivative_setup s = make_setup(p);
    const auto c = xentcheck::check_gradient(
        s.loss, s.x, s.gradient, xentcheck::fd_method::richardson, s.options, verdict_for(s));
    tag(c);
    RC_ASSERT(c.decision != decision::fail);
    if (resolvable(p)) RC_ASSERT(c.decision == decision::pass);
}

RC_GTEST_PROP(derivatives, complex_step_matches_reference_gradient, ()) {
    xp::generator_config config;
    config.dtypes = {xp::scalar_type::float64};
    config.max_classes = 64;
    config.max_rows = 4;
    config.max_elements = 128;
    const xp::problem p = *xp::gen_problem(config);
    const derivative_setup s = make_setup(p);
    const xentcheck::complex_function f = [&p](std::span<const std::complex<double>> z) {
        return xentcheck::cross_entropy_loss<std::complex<double>>(z, p.classes, p.target_view(),
                                                                   p.options());
    };
    xentcheck::complex_step_options cs;
    cs.derivative_error = s.gradient_tol;  // the complex step is a double evaluation
    const auto c =
        xentcheck::check_gradient_complex_step(f, p.logits, s.gradient, cs, verdict_for(s));
    tag(c);
    RC_ASSERT(c.decision != decision::fail);
    if (resolvable(p)) RC_ASSERT(c.decision == decision::pass);
}

RC_GTEST_PROP(derivatives, directional_matches_reference_gradient_large_c, ()) {
    xp::generator_config config;
    config.min_classes = 200;
    config.max_classes = 4096;
    config.max_rows = 2;
    config.max_elements = 4096;
    const xp::problem p = *xp::gen_problem(config);
    const derivative_setup s = make_setup(p);
    // Errors of 2-norm rtol |m|_2: relative to the natural magnitudes, not to |g|_2, which
    // vanishes where the softmax matches the target.
    xentcheck::verdict_options v = verdict_for(s);
    v.resolution = s.rtol * s.magnitude_norm;
    const auto c = xentcheck::check_gradient_directional(
        s.loss, s.x, s.gradient, 16, xentcheck::direction_kind::sphere, s.options, v);
    tag(c);
    RC_ASSERT(c.decision != decision::fail);
    // float32 at large C: the gradient's own tolerance k u (R + C + N + 4) of its magnitudes
    // can exceed what 16 directions must resolve (about 0.5 rho / sqrt n), so a pass is not
    // guaranteed there; float64 must pass.
    if (p.dtype == xp::scalar_type::float64 && resolvable(p))
        RC_ASSERT(c.decision == decision::pass);
}

RC_GTEST_PROP(derivatives, loss_hessian_matches_differences_of_gradient, ()) {
    xp::generator_config config;
    config.dtypes = {xp::scalar_type::float64};
    config.max_classes = 12;
    config.max_rows = 3;
    config.max_elements = 24;
    const xp::problem p = *xp::gen_problem(config);
    const std::size_t n = p.logits.size(), c = p.classes;
    const xentcheck::vector_function grad = [&p](std::span<const ld> z, std::span<ld> out) {
        const std::vector<double> zd(z.begin(), z.end());
        const auto r =
            xentcheck::cross_entropy<double>(zd, p.classes, p.target_view(), p.options());
        std::copy(r.grad.begin(), r.grad.end(), out.begin());
    };
    std::vector<double> blocks(n * c);
    xentcheck::cross_entropy_hessian<double>(p.logits, c, p.target_view(), p.options(), blocks);
    std::vector<ld> dense(n * n, 0);
    for (std::size_t i = 0; i < p.rows; ++i)
        for (std::size_t a = 0; a < c; ++a)
            for (std::size_t b = 0; b < c; ++b)
                dense[(i * c + a) * n + i * c + b] = blocks[i * c * c + a * c + b];
    const xentcheck::tolerance_model model = p.tolerance();
    xentcheck::difference_options o;
    // Each gradient output is off by at most grad().bound(its magnitude) <= the row-sum bound.
    o.noise.absolute = model.grad_row_sum().atol;
    o.input_digits = 53;
    // H = s A (diag p - p p^T) in double: rounding of products of p's, within the gradient's
    // relative tolerance of the largest magnitude.
    const ld analytic_tol = model.grad().bound(model.scale().grad_scale);
    xentcheck::verdict_options v;
    v.analytic_error = std::span(&analytic_tol, 1);
    v.resolution = 1e-3L * model.scale().grad_scale;
    const std::vector<ld> x(p.logits.begin(), p.logits.end());
    const auto check = xentcheck::check_hessian(grad, x, dense, o, v);
    tag(check);
    RC_ASSERT(check.decision != decision::fail);
    if (resolvable(p)) RC_ASSERT(check.decision == decision::pass);
}
