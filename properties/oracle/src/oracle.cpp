/// The MPFR oracle: textbook softmax + cross-entropy in interval arithmetic, rounded exactly.
#include "xentcheck/oracle/oracle.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <optional>

#include "extended.h"
#include "interval.h"
#include "rounding.h"

namespace xentcheck::oracle {

std::vector<double> oracle_result::nearest(const std::vector<value>& values) {
    std::vector<double> out(values.size());
    std::transform(values.begin(), values.end(), out.begin(),
                   [](const value& v) { return v.nearest; });
    return out;
}

namespace detail {
namespace {

constexpr double nan = std::numeric_limits<double>::quiet_NaN();
constexpr double inf = std::numeric_limits<double>::infinity();

/// The problem, as read-only views, with the accessors the formulas need.
struct problem {
    std::span<const double> logits;
    std::size_t rows = 0;
    std::size_t classes = 0;
    const target_view& target;
    const cross_entropy_options& options;

    bool index_form() const { return target.form() == target_view::kind::index; }
    double weight(std::size_t j) const { return options.weight.empty() ? 1.0 : options.weight[j]; }
    bool ignored(std::size_t i) const {
        return index_form() && target.class_indices()[i] == options.ignore_index;
    }
};

/// The factor s of the gradient and the divisor of the mean, at one precision.
struct scaling {
    enum class kind { one, finite, zero_divisor, undecided };
    kind k = kind::one;
    interval divisor;  ///< sum of w[t_i] over kept rows (index) or N (probability); mean only
    interval s;        ///< 1 / divisor when finite

    explicit scaling(mpfr_prec_t p) : divisor(p), s(p) {}
};

void compute_scaling(const problem& pb, scaling& out) {
    if (pb.options.reduction != reduction::mean) {
        out.k = scaling::kind::one;
        return;
    }
    const mpfr_prec_t p = out.s.precision();
    interval term(p), scratch(p);
    out.divisor.set(0.0);
    for (std::size_t i = 0; i < pb.rows; ++i) {
        if (pb.ignored(i)) continue;
        term.set(pb.index_form() ? pb.weight(static_cast<std::size_t>(pb.target.class_indices()[i]))
                                 : 1.0);
        add(scratch, out.divisor, term);
        out.divisor.swap(scratch);
    }
    if (out.divisor.is_zero()) {
        out.k = scaling::kind::zero_divisor;
    } else if (out.divisor.positive() || out.divisor.negative()) {
        interval one(p);
        one.set(1.0);
        div(out.s, one, out.divisor);
        out.k = scaling::kind::finite;
    } else {
        out.k = scaling::kind::undecided;
    }
}

/// Enclosures of one row's values, reused across rows (resized on a change of precision).
struct row_workspace {
    std::vector<interval> e, p, a, g;
    std::vector<extended> ell;     // lse - z_j, +inf where z_j = -inf
    std::optional<scaling> scale;  // of the batch, at the precision last used
    void ensure(std::size_t classes, mpfr_prec_t precision) {
        if (!e.empty() && e.front().precision() == precision && e.size() == classes) return;
        // New elements (assign() would copy-assign into the old ones, keeping their precision).
        e = std::vector<interval>(classes, interval(precision));
        p = std::vector<interval>(classes, interval(precision));
        a = std::vector<interval>(classes, interval(precision));
        g = std::vector<interval>(classes, interval(precision));
        ell = std::vector<extended>(classes, extended(precision));
    }
};

/// The outputs of one row, rounded, plus the loss enclosure the reduction needs.
struct row_outcome {
    std::vector<value> probs, grad;
    value loss_value;
    extended loss;
    explicit row_outcome(mpfr_prec_t p) : loss(p) {}
};

/// A retry for a value whose finiteness or sign is not known yet.
retry unknown_sign(mpfr_prec_t precision) {
    return retry{2 * precision, false};
}

retry decide_extended(const extended& x, const oracle_options& settings, value& out,
                      mpfr_prec_t precision) {
    if (x.k == extended::kind::finite) return decide(x.v, settings, out);
    out = exact_value(x.special());
    if (x.k != extended::kind::undecided) return {};
    out.proven = false;
    return unknown_sign(precision);
}

/// The effective target row a_j = w_j ((1 - eps) [j = t] + eps/C) or w_j ((1 - eps) y_j + eps/C)
/// (no smoothing term at all when eps = 0, as in PyTorch), into ws.a.
void target_row(const problem& pb, std::size_t i, row_workspace& ws, const interval& one_minus_eps,
                const interval& eps_per_class) {
    const mpfr_prec_t p = one_minus_eps.precision();
    const bool smoothing = pb.options.label_smoothing > 0;
    interval w(p), y(p), t1(p), t2(p);
    const auto t = pb.index_form() ? static_cast<std::size_t>(pb.target.class_indices()[i]) : 0;
    for (std::size_t j = 0; j < pb.classes; ++j) {
        w.set(pb.weight(j));
        if (pb.index_form()) {
            if (!smoothing) {
                if (j == t) {
                    ws.a[j] = w;
                } else {
                    ws.a[j].set(0.0);
                }
                continue;
            }
            if (j == t) {
                add(t1, one_minus_eps, eps_per_class);
                mul(ws.a[j], w, t1);
            } else {
                mul(ws.a[j], w, eps_per_class);
            }
        } else {
            y.set(pb.target.probs()[i * pb.classes + j]);
            if (!smoothing) {
                mul(ws.a[j], w, y);
                continue;
            }
            mul(t1, one_minus_eps, y);
            add(t2, t1, eps_per_class);
            mul(ws.a[j], w, t2);
        }
    }
}

/// The row loss enclosure: (1 - eps) w_t ell_t + eps/C sum_j w_j ell_j, or sum_j a_j ell_j.
void row_loss(const problem& pb, std::size_t i, row_workspace& ws, const interval& one_minus_eps,
              const interval& eps_per_class, extended& loss) {
    const mpfr_prec_t p = one_minus_eps.precision();
    interval scratch(p), coef(p);
    extended term(p);
    loss.k = extended::kind::finite;
    loss.v.reset(p);
    if (pb.index_form()) {
        const auto t = static_cast<std::size_t>(pb.target.class_indices()[i]);
        coef.set(pb.weight(t));
        interval c1(p);
        mul(c1, one_minus_eps, coef);
        ext_mul(loss, c1, ws.ell[t]);
        if (pb.options.label_smoothing > 0) {
            extended smooth(p);
            for (std::size_t j = 0; j < pb.classes; ++j) {
                coef.set(pb.weight(j));
                ext_mul(term, coef, ws.ell[j]);
                ext_accumulate(smooth, term, scratch);
            }
            ext_mul(term, eps_per_class, smooth);
            ext_accumulate(loss, term, scratch);
        }
        return;
    }
    for (std::size_t j = 0; j < pb.classes; ++j) {
        ext_mul(term, ws.a[j], ws.ell[j]);
        ext_accumulate(loss, term, scratch);
    }
}

/// Computes row i at `precision`; returns no retry when every output of the row (and its loss)
/// is decided.
retry compute_row(const problem& pb, std::size_t i, mpfr_prec_t precision,
                  const oracle_options& settings, row_workspace& ws, row_outcome& out) {
    const std::size_t c = pb.classes;
    const auto z = pb.logits.subspan(i * c, c);
    const bool ignored = pb.ignored(i);
    out.loss.v.reset(precision);

    // Defined rows: no NaN, no +inf, some entry above -inf (PyTorch's max-shift semantics).
    double m = -inf;
    for (const double v : z) {
        if (std::isnan(v) || v == inf) {
            m = -inf;
            break;
        }
        m = std::max(m, v);
    }
    if (m == -inf) {
        // PyTorch: an ignored row still goes through log_softmax's backward, 0 - exp(NaN) * 0.
        std::fill(out.probs.begin(), out.probs.end(), exact_value(nan));
        std::fill(out.grad.begin(), out.grad.end(), exact_value(nan));
        out.loss.k = ignored ? extended::kind::finite : extended::kind::nan;
        out.loss_value = exact_value(ignored ? 0.0 : nan);
        return {};
    }

    ws.ensure(c, precision);
    const mpfr_prec_t p = precision;
    interval mi(p), zi(p), d(p), sum(p), scratch(p), log_sum(p), lse(p);
    mi.set(m);
    for (std::size_t j = 0; j < c; ++j) {
        if (z[j] == -inf) {
            ws.e[j].set(0.0);
            ws.ell[j].k = extended::kind::pos_inf;
            continue;
        }
        zi.set(z[j]);
        sub(d, zi, mi);
        exp(ws.e[j], d);
        add(scratch, sum, ws.e[j]);
        sum.swap(scratch);
    }
    for (std::size_t j = 0; j < c; ++j)
        div(ws.p[j], ws.e[j], sum);  // sum >= exp(0) = 1
    log(log_sum, sum);
    add(lse, mi, log_sum);
    for (std::size_t j = 0; j < c; ++j) {
        if (z[j] == -inf) continue;
        zi.set(z[j]);
        ws.ell[j].k = extended::kind::finite;
        sub(ws.ell[j].v, lse, zi);
    }

    retry needed;
    for (std::size_t j = 0; j < c; ++j)
        needed.merge(decide(ws.p[j], settings, out.probs[j]));

    if (ignored) {
        std::fill(out.grad.begin(), out.grad.end(), exact_value(0.0));
        out.loss.k = extended::kind::finite;
        out.loss_value = exact_value(0.0);
        return needed;
    }

    interval eps(p), one(p), one_minus_eps(p), classes(p), eps_per_class(p);
    eps.set(pb.options.label_smoothing);
    one.set(1.0);
    sub(one_minus_eps, one, eps);
    classes.set(static_cast<double>(c));
    div(eps_per_class, eps, classes);
    target_row(pb, i, ws, one_minus_eps, eps_per_class);
    // Non-finite weights or target entries: NaN loss and gradient for the row (PyTorch gives
    // +-inf in some such cases; not modelled, but never an endless escalation).
    const bool finite_target = std::all_of(ws.a.begin(), ws.a.end(), [](const interval& a) {
        return mpfr_number_p(a.lo()) && mpfr_number_p(a.hi());
    });
    if (!finite_target) {
        std::fill(out.grad.begin(), out.grad.end(), exact_value(nan));
        out.loss.k = extended::kind::nan;
        out.loss_value = exact_value(nan);
        return needed;
    }
    row_loss(pb, i, ws, one_minus_eps, eps_per_class, out.loss);
    needed.merge(decide_extended(out.loss, settings, out.loss_value, p));

    // Gradient: s (A p_j - a_j), A = sum_j a_j.
    interval mass(p), ap(p), inner(p);
    for (std::size_t j = 0; j < c; ++j) {
        add(scratch, mass, ws.a[j]);
        mass.swap(scratch);
    }
    if (!ws.scale || ws.scale->s.precision() != p) {
        ws.scale.emplace(p);
        compute_scaling(pb, *ws.scale);
    }
    const scaling& sc = *ws.scale;
    for (std::size_t j = 0; j < c; ++j) {
        mul(ap, mass, ws.p[j]);
        sub(inner, ap, ws.a[j]);
        switch (sc.k) {
            case scaling::kind::one:
                needed.merge(decide(inner, settings, out.grad[j]));
                break;
            case scaling::kind::finite:
                mul(ws.g[j], sc.s, inner);
                needed.merge(decide(ws.g[j], settings, out.grad[j]));
                break;
            case scaling::kind::zero_divisor:  // 0/0 in PyTorch's nll backward: NaN
                out.grad[j] = exact_value(nan);
                break;
            case scaling::kind::undecided:
                out.grad[j] = exact_value(nan);
                out.grad[j].proven = false;
                needed.merge(unknown_sign(p));
                break;
        }
    }
    return needed;
}

/// The reduced loss from the row enclosures: sum, divided by the divisor for mean.
retry reduce(const problem& pb, const std::vector<extended>& rows, mpfr_prec_t precision,
             const oracle_options& settings, value& out) {
    extended total(precision);
    interval scratch(precision);
    for (const auto& r : rows)
        ext_accumulate(total, r, scratch);
    if (pb.options.reduction == reduction::sum) {
        return decide_extended(total, settings, out, precision);
    }
    scaling sc(precision);
    compute_scaling(pb, sc);
    extended result(precision);
    if (sc.k == scaling::kind::finite) {
        ext_mul(result, sc.s, total);
    } else if (sc.k == scaling::kind::undecided) {
        result.k = extended::kind::undecided;
    } else {  // zero divisor: every kept w_t is 0, so PyTorch's nll mean is 0/0
        result.k = extended::kind::nan;
    }
    return decide_extended(result, settings, out, precision);
}

}  // namespace
}  // namespace detail

oracle_result evaluate(std::span<const double> logits, std::size_t classes,
                       const target_view& target, const cross_entropy_options& options,
                       const oracle_options& settings) {
    const batch_shape shape = make_shape(logits.size(), classes);
    (void)effective_target_mass(shape, target, options);  // validates like the reference
    if (settings.precision < 64 || settings.max_precision < settings.precision) {
        throw input_error("precision", "oracle precision must be >= 64 and <= max_precision");
    }
    const detail::problem pb{logits, shape.rows, classes, target, options};
    const bool by_row = options.reduction == reduction::none;

    oracle_result r;
    r.probs.resize(shape.size());
    r.grad.resize(shape.size());
    r.loss.resize(by_row ? shape.rows : 1);

    detail::row_workspace ws;
    long floor = settings.precision;
    while (true) {
        std::vector<detail::extended> row_losses;
        row_losses.reserve(shape.rows);
        long widest = floor;
        bool all_proven = true;
        for (std::size_t i = 0; i < shape.rows; ++i) {
            long p = floor;
            detail::row_outcome out(p);
            out.probs.resize(classes);
            out.grad.resize(classes);
            while (true) {
                const auto needed = detail::compute_row(pb, i, p, settings, ws, out);
                if (needed.precision == 0) break;
                // At a midpoint, one doubling separates all but (practically) exact midpoints.
                const bool stuck = needed.only_midpoint && p >= 2 * settings.precision;
                if (p >= settings.max_precision || stuck) {
                    all_proven = false;
                    break;
                }
                p = std::min(settings.max_precision, std::max(needed.precision, p + 32));
            }
            widest = std::max(widest, p);
            std::copy(out.probs.begin(), out.probs.end(), r.probs.begin() + i * classes);
            std::copy(out.grad.begin(), out.grad.end(), r.grad.begin() + i * classes);
            if (by_row) r.loss[i] = out.loss_value;
            row_losses.push_back(out.loss);
        }
        r.max_precision_used = widest;
        if (by_row) break;
        const auto needed = detail::reduce(pb, row_losses, widest, settings, r.loss[0]);
        const bool stuck = needed.only_midpoint && widest >= 2 * settings.precision;
        if (needed.precision == 0 || !all_proven || stuck || widest >= settings.max_precision) {
            break;
        }
        floor = std::min(settings.max_precision, std::max(needed.precision, widest + 32));
    }
    for (const auto* v : {&r.probs, &r.loss, &r.grad}) {
        r.unproven += static_cast<std::size_t>(
            std::count_if(v->begin(), v->end(), [](const value& x) { return !x.proven; }));
    }
    return r;
}

}  // namespace xentcheck::oracle
