/// Cross-entropy loss and gradient with PyTorch's semantics (explicit instantiations).
#include "xentcheck/cross_entropy.h"

#include <algorithm>
#include <cmath>
#include <string>

#include "row_kernel.h"

namespace xentcheck {

std::string_view to_string(reduction r) noexcept {
    switch (r) {
        case reduction::none:
            return "none";
        case reduction::mean:
            return "mean";
        case reduction::sum:
            return "sum";
    }
    return "mean";
}

reduction parse_reduction(std::string_view name) {
    if (name == "none") return reduction::none;
    if (name == "mean") return reduction::mean;
    if (name == "sum") return reduction::sum;
    throw input_error("reduction", "reduction must be \"none\", \"mean\" or \"sum\", not \"" +
                                       std::string(name) + "\"");
}

namespace {

void validate_options(batch_shape shape, const target_view& target,
                      const cross_entropy_options& options) {
    const double eps = options.label_smoothing;
    if (!(eps >= 0.0 && eps <= 1.0)) {
        throw input_error("label_smoothing",
                          "label_smoothing must be in [0, 1], not " + std::to_string(eps));
    }
    if (!options.weight.empty() && options.weight.size() != shape.classes) {
        throw input_error("weight", "weight has " + std::to_string(options.weight.size()) +
                                        " elements, expected one per class (" +
                                        std::to_string(shape.classes) + ")");
    }
    if (target.form() == target_view::kind::index) {
        const auto t = target.class_indices();
        detail::require_size("target", t.size(), shape.rows);
        const auto c = static_cast<std::int64_t>(shape.classes);
        for (std::size_t i = 0; i < t.size(); ++i) {
            if (t[i] != options.ignore_index && (t[i] < 0 || t[i] >= c)) {
                throw input_error("target", "target[" + std::to_string(i) +
                                                "] = " + std::to_string(t[i]) +
                                                " is out of range [0, " + std::to_string(c) + ")");
            }
        }
    } else {
        detail::require_size("target", target.probs().size(), shape.size());
    }
}

double weight_of(const cross_entropy_options& o, std::size_t j) {
    return o.weight.empty() ? 1.0 : o.weight[j];
}

}  // namespace

target_mass effective_target_mass(batch_shape shape, const target_view& target,
                                  const cross_entropy_options& options) {
    validate_options(shape, target, options);
    const double eps = options.label_smoothing;
    const auto classes = static_cast<double>(shape.classes);
    target_mass m;
    m.row_mass.assign(shape.rows, 0.0);
    if (target.form() == target_view::kind::index) {
        // Compensated sums: a recursive sum of C weights (or N kept weights) would carry up to
        // (C - 1) u of relative error into A and the divisor.
        const double weight_total =
            detail::class_weight_total<double>(shape.classes, options.weight);
        detail::accumulator<double> divisor;
        for (std::size_t i = 0; i < shape.rows; ++i) {
            const std::int64_t t = target.class_indices()[i];
            if (t == options.ignore_index) continue;
            const double wt = weight_of(options, static_cast<std::size_t>(t));
            m.row_mass[i] = (1 - eps) * wt + eps / classes * weight_total;
            divisor.add(wt);
        }
        m.mean_divisor = divisor.value();
    } else {
        for (std::size_t i = 0; i < shape.rows; ++i) {
            detail::accumulator<double> mass;
            for (std::size_t j = 0; j < shape.classes; ++j) {
                const double y = target.probs()[i * shape.classes + j];
                mass.add(weight_of(options, j) * ((1 - eps) * y + eps / classes));
            }
            m.row_mass[i] = mass.value();
        }
        m.mean_divisor = static_cast<double>(shape.rows);
    }
    return m;
}

namespace {

/// Gradient of one index-target row: s * (A p - a) with a = (1-eps) w_t e_t + eps/C w.
/// p_t - 1 is -(others / S), never a subtraction from 1.
template <class T>
void index_row_grad(std::span<const T> e, std::span<T> g, std::size_t t, T inv_sum, T others,
                    T scale, T mass, const cross_entropy_options& o, T weight_total) {
    const T eps = T(o.label_smoothing);
    const T eps_per_class = eps / T(static_cast<double>(e.size()));
    const T pt = e[t] * inv_sum;  // read before g (which may alias e) is overwritten
    if (o.label_smoothing > 0) {
        for (std::size_t j = 0; j < e.size(); ++j) {
            const T pj = e[j] * inv_sum;
            g[j] = scale * (mass * pj - eps_per_class * T(weight_of(o, j)));
        }
    } else {
        // s A p_j = (s A / S) e_j: one product per entry, a loop the compiler vectorises.
        const T factor = scale * (mass * inv_sum);
        for (std::size_t j = 0; j < e.size(); ++j)
            g[j] = factor * e[j];
    }
    const T wt = T(weight_of(o, t));
    const T qt = others * inv_sum;  // 1 - p_t
    T gt = -(T(1) - eps) * wt * qt;
    if (o.label_smoothing > 0) gt += eps_per_class * ((weight_total - wt) * pt - wt * qt);
    g[t] = scale * gt;
}

/// Gradient of one probability-target row: s * (p_j (A - a_j) - a_j (1 - p_j)), with the
/// complement of the dominant probability and of the dominant target mass taken from sums of
/// the others, so neither cancels.
template <class T>
void probability_row_grad(std::span<const T> e, std::span<T> g, std::span<const T> a,
                          std::size_t argmax, T inv_sum, T others, T scale) {
    std::size_t dominant = 0;
    for (std::size_t j = 1; j < a.size(); ++j) {
        if (detail::re(a[j]) > detail::re(a[dominant])) dominant = j;
    }
    detail::accumulator<T> mass_acc, rest_acc;
    for (std::size_t j = 0; j < a.size(); ++j) {
        mass_acc.add(a[j]);
        if (j != dominant) rest_acc.add(a[j]);
    }
    const T mass = mass_acc.value();
    const T mass_without_dominant = rest_acc.value();
    for (std::size_t j = 0; j < e.size(); ++j) {
        const T pj = e[j] * inv_sum;
        const T qj = j == argmax ? others * inv_sum : T(1) - pj;
        const T rest = j == dominant ? mass_without_dominant : mass - a[j];
        g[j] = scale * (pj * rest - a[j] * qj);
    }
}

}  // namespace

template <class T>
void cross_entropy(std::span<const T> logits, std::size_t classes, const target_view& target,
                   const cross_entropy_options& options, std::span<T> loss, std::span<T> grad,
                   std::span<T> probs) {
    const batch_shape shape = make_shape(logits.size(), classes);
    const bool by_row = options.reduction == reduction::none;
    detail::require_size("loss", loss.size(), by_row ? shape.rows : 1);
    if (!grad.empty()) detail::require_size("grad", grad.size(), shape.size());
    if (!probs.empty()) detail::require_size("probs", probs.size(), shape.size());
    validate_options(shape, target, options);
    const auto masses = detail::masses_in<T>(shape, target, options);

    const bool index_form = target.form() == target_view::kind::index;
    const bool smoothing = options.label_smoothing > 0;
    const T eps = T(options.label_smoothing);
    const T eps_per_class = eps / T(static_cast<double>(classes));
    const T weight_total = detail::class_weight_total<T>(classes, options.weight);
    const T scale = options.reduction == reduction::mean ? T(1) / masses.divisor : T(1);
    // Effective target row for probability targets: a_j = w_j ((1 - eps) y_j + eps / C).
    std::vector<T> a(index_form ? 0 : classes);
    // Exponentials go to the gradient or probability buffer when one is requested.
    std::vector<T> scratch(grad.empty() && probs.empty() ? classes : 0);

    detail::accumulator<T> total;
    for (std::size_t i = 0; i < shape.rows; ++i) {
        const auto row = logits.subspan(i * classes, classes);
        const auto p = probs.empty() ? std::span<T>{} : probs.subspan(i * classes, classes);
        const auto g = grad.empty() ? std::span<T>{} : grad.subspan(i * classes, classes);
        const auto e = !g.empty() ? g : (!p.empty() ? p : std::span<T>(scratch));
        const std::int64_t t = index_form ? target.class_indices()[i] : 0;
        const bool ignored = index_form && t == options.ignore_index;
        const auto tu = static_cast<std::size_t>(t);

        const auto scan = detail::scan_row(row);
        T row_loss{0};
        if (!scan.defined) {
            if (!p.empty()) std::fill(p.begin(), p.end(), detail::quiet_nan<T>());
            if (!g.empty()) std::fill(g.begin(), g.end(), ignored ? T(0) : detail::quiet_nan<T>());
            row_loss = ignored ? T(0) : detail::quiet_nan<T>();
        } else {
            // R = S - 1 summed directly: ln S = log1p(R), and 1 - p_argmax = R / S.
            // While this row's exponentials are computed, the next row is fetched.
            detail::prefetch_hint next;
            if (i + 1 < shape.rows && e.data() != scratch.data()) {
                next = {row.data() + classes, e.data() + classes, classes * sizeof(T)};
            }
            const T rest = detail::shifted_exp_rest(row, scan, e, next);
            const T sum = T(1) + rest;
            const T log_sum = detail::log1p_of(rest);
            const T inv_sum = T(1) / sum;
            // S - e_t: the target's complement. Off the argmax p_t <= 1/2, so the difference
            // does not cancel; on it, it is R itself.
            const T others = index_form && !ignored && tu != scan.argmax ? sum - e[tu] : rest;
            // Row loss: sum_j a_j (logsumexp(z) - z_j), each term as (m - z_j) + log S.
            if (ignored) {
                row_loss = T(0);
            } else if (index_form) {
                row_loss =
                    (T(1) - eps) * T(weight_of(options, tu)) * ((scan.max - row[tu]) + log_sum);
                if (smoothing) {
                    detail::accumulator<T> smooth;
                    for (std::size_t j = 0; j < classes; ++j) {
                        smooth.add(T(weight_of(options, j)) * ((scan.max - row[j]) + log_sum));
                    }
                    row_loss += eps_per_class * smooth.value();
                }
            } else {
                detail::accumulator<T> acc;
                for (std::size_t j = 0; j < classes; ++j) {
                    const T y = T(target.probs()[i * classes + j]);
                    a[j] = T(weight_of(options, j)) *
                           (smoothing ? (T(1) - eps) * y + eps_per_class : y);
                    acc.add(a[j] * ((scan.max - row[j]) + log_sum));
                }
                row_loss = acc.value();
            }
            if (!p.empty() && p.data() != e.data()) {
                for (std::size_t j = 0; j < classes; ++j)
                    p[j] = e[j] * inv_sum;
            }
            if (!g.empty()) {
                if (ignored) {
                    std::fill(g.begin(), g.end(), T(0));
                } else if (index_form) {
                    index_row_grad<T>(g, g, tu, inv_sum, others, scale, masses.row[i], options,
                                      weight_total);
                } else {
                    probability_row_grad<T>(g, g, a, scan.argmax, inv_sum, others, scale);
                }
            } else if (!p.empty()) {
                for (auto& v : p)
                    v *= inv_sum;
            }
        }
        if (by_row) {
            loss[i] = row_loss;
        } else {
            total.add(row_loss);
        }
    }
    if (!by_row) {
        loss[0] =
            options.reduction == reduction::mean ? total.value() / masses.divisor : total.value();
    }
}

#define XENTCHECK_INSTANTIATE(T)                                                             \
    template void cross_entropy<T>(std::span<const T>, std::size_t, const target_view&,      \
                                   const cross_entropy_options&, std::span<T>, std::span<T>, \
                                   std::span<T>);
XENTCHECK_INSTANTIATE(float)
XENTCHECK_INSTANTIATE(double)
XENTCHECK_INSTANTIATE(long double)
XENTCHECK_INSTANTIATE(std::complex<double>)
#undef XENTCHECK_INSTANTIATE

}  // namespace xentcheck
