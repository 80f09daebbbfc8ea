/// Internal helpers shared by the property implementations.
#include "support.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <sstream>

#include "xentcheck/properties/problem.h"

namespace xentcheck::properties::detail {

namespace {

/// A failing verdict when `out` has the wrong number of values for `p`.
std::optional<verdict> check_sizes(const implementation& impl, const problem& p, const outputs& out,
                                   const char* what) {
    const std::size_t n = p.rows * p.classes;
    auto wrong = [&](const char* field, std::size_t have, std::size_t want) {
        return verdict::fail(impl.name() + " returned " + std::to_string(have) + " " + field +
                             " values for " + what + ", expected " + std::to_string(want));
    };
    if (out.probs.size() != n) return wrong("probs", out.probs.size(), n);
    if (out.grad.size() != n) return wrong("grad", out.grad.size(), n);
    if (out.loss.size() != p.loss_size()) return wrong("loss", out.loss.size(), p.loss_size());
    return std::nullopt;
}

}  // namespace

std::optional<verdict> evaluate(implementation& impl, const problem& p, answer& answered,
                                const char* what) {
    try {
        answered = impl.evaluate_shared(p);
    } catch (const std::exception& e) {
        return verdict::fail(impl.name() + " failed to evaluate " + what + ": " + e.what());
    }
    return check_sizes(impl, p, *answered, what);
}

std::optional<verdict> evaluate_once(implementation& impl, const problem& q, answer& answered,
                                     const char* what) {
    std::vector<attempt> got = impl.evaluate_batch(std::span<const problem>(&q, 1));
    if (got.size() != 1 || !got[0].ok) {
        return verdict::fail(impl.name() + " failed to evaluate " + what + ": " +
                             (got.size() == 1 ? got[0].error : "no answer"));
    }
    answered = std::make_shared<const outputs>(std::move(got[0].values));
    return check_sizes(impl, q, *answered, what);
}

std::string describe(const check_result& r) {
    std::ostringstream os;
    os << r.name << ": " << r.violations << " of " << r.checked << " values out of bounds";
    for (std::size_t k = 0; k < r.findings.size() && k < 3; ++k) {
        const finding& f = r.findings[k];
        os << "; " << f.where.to_string() << ": expected " << show_number(f.expected) << ", got "
           << show_number(f.actual) << " (error " << show_number(f.abs_error) << ", allowed "
           << show_number(f.allowed) << ")";
    }
    return os.str();
}

verdict from_checks(const std::vector<check_result>& results) {
    std::string message;
    for (const auto& r : results) {
        if (r.passed) continue;
        if (!message.empty()) message += "\n";
        message += describe(r);
    }
    return message.empty() ? verdict::pass() : verdict::fail(message);
}

std::vector<bool> defined_rows(const problem& p) {
    std::vector<bool> keep(p.rows, false);
    for (std::size_t i = 0; i < p.rows; ++i) {
        for (std::size_t j = 0; j < p.classes; ++j)
            keep[i] = keep[i] || p.logits[i * p.classes + j] > -HUGE_VAL;
    }
    return keep;
}

effective_targets effective(const problem& p) {
    const std::size_t c = p.classes;
    const long double eps = p.label_smoothing;
    const long double per_class = eps / static_cast<long double>(c);
    auto w = [&](std::size_t j) -> long double { return p.weight.empty() ? 1.0L : p.weight[j]; };
    effective_targets e;
    e.a.assign(p.rows * c, 0.0L);
    e.mass.assign(p.rows, 0.0L);
    for (std::size_t i = 0; i < p.rows; ++i) {
        if (p.row_ignored(i)) continue;
        long double mass = 0;
        for (std::size_t j = 0; j < c; ++j) {
            long double y;
            if (p.kind() == target_kind::index) {
                y = static_cast<std::size_t>(p.target_indices()[i]) == j ? 1.0L : 0.0L;
            } else {
                y = p.target_probs()[i * c + j];
            }
            const long double a = w(j) * ((1 - eps) * y + per_class);
            e.a[i * c + j] = a;
            mass += a;
        }
        e.mass[i] = mass;
        e.divisor += p.kind() == target_kind::index
                         ? w(static_cast<std::size_t>(p.target_indices()[i]))
                         : 1.0L;
    }
    e.scale = p.reduction == xentcheck::reduction::mean ? 1.0L / e.divisor : 1.0L;
    return e;
}

tolerance sum_of(tolerance a, tolerance b) {
    return tolerance{a.atol + b.atol, a.rtol + b.rtol};
}

tolerance times(tolerance t, double k) {
    return tolerance{t.atol * k, t.rtol * k};
}

std::vector<double> grad_magnitudes_of(const problem& p, const outputs& truth) {
    auto m = xentcheck::grad_magnitudes(truth.probs, p.classes, p.target_view(), p.options());
    // Undefined rows (NaN probabilities) have no scale; their expected values are NaN or an
    // exact 0 (ignored rows), which the comparison matches exactly.
    for (double& v : m)
        if (std::isnan(v)) v = 0;
    return m;
}

double round_to_dtype(double z, scalar_type t) {
    if (t == scalar_type::float64) return z;
    return static_cast<double>(static_cast<float>(z));
}

problem with_logits(const problem& p, std::vector<double> logits) {
    problem q = p;
    for (double& z : logits)
        z = round_to_dtype(z, p.dtype);
    q.logits = std::move(logits);
    return q;
}

std::span<const double> kept_rows(std::span<const double> values, std::size_t columns,
                                  const std::vector<bool>& keep, std::vector<double>& storage) {
    if (std::find(keep.begin(), keep.end(), false) == keep.end()) return values;
    storage.clear();
    for (std::size_t i = 0; i < keep.size(); ++i) {
        if (!keep[i]) continue;
        const auto row = values.subspan(i * columns, columns);
        storage.insert(storage.end(), row.begin(), row.end());
    }
    return storage;
}

check_result compare(std::string name, std::span<const double> expected,
                     std::span<const double> actual, std::size_t columns, tolerance tol,
                     std::span<const double> magnitude) {
    return compare_values(std::move(name), expected, actual, columns, tol, magnitude);
}

}  // namespace xentcheck::properties::detail
