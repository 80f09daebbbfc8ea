/// Properties of lib's own softmax Jacobian and loss Hessian routines.
#include <algorithm>
#include <cmath>
#include <limits>
#include <sstream>

#include "problem_facts.h"
#include "support.h"
#include "xentcheck/jacobian.h"
#include "xentcheck/softmax.h"

namespace xentcheck::properties {

namespace {

constexpr long double safety = tolerance_model::safety;

/// Eigenvalues of the symmetric n x n matrix `a` (row-major) by cyclic Jacobi rotations in
/// long double: slow (O(n^3) per sweep) but simple and accurate to a few u_ld ||a||_F.
std::vector<long double> symmetric_eigenvalues(std::vector<long double> a, std::size_t n) {
    auto at = [&](std::size_t r, std::size_t k) -> long double& { return a[r * n + k]; };
    long double norm = 0;
    for (const long double v : a)
        norm += v * v;
    for (int sweep = 0; sweep < 60; ++sweep) {
        long double off = 0;
        for (std::size_t r = 0; r < n; ++r) {
            for (std::size_t k = r + 1; k < n; ++k)
                off += at(r, k) * at(r, k);
        }
        if (off <= norm * detail::u_long_double * detail::u_long_double) break;
        for (std::size_t p = 0; p < n; ++p) {
            for (std::size_t q = p + 1; q < n; ++q) {
                const long double apq = at(p, q);
                if (apq == 0) continue;
                const long double theta = (at(q, q) - at(p, p)) / (2 * apq);
                const long double t =
                    (theta >= 0 ? 1.0L : -1.0L) / (std::abs(theta) + std::sqrt(theta * theta + 1));
                const long double c = 1 / std::sqrt(t * t + 1), s = t * c;
                for (std::size_t k = 0; k < n; ++k) {
                    if (k == p || k == q) continue;
                    const long double akp = at(k, p), akq = at(k, q);
                    at(k, p) = at(p, k) = c * akp - s * akq;
                    at(k, q) = at(q, k) = s * akp + c * akq;
                }
                at(p, p) -= t * apq;
                at(q, q) += t * apq;
                at(p, q) = at(q, p) = 0;
            }
        }
    }
    std::vector<long double> diag(n);
    for (std::size_t r = 0; r < n; ++r)
        diag[r] = at(r, r);
    return diag;
}

/// What each Jacobian check needs about one row: p (in T), J = softmax_jacobian(p) (in T),
/// delta = sum p - 1 and the rounding budget u sum_k (|J_rk| + p_r p_k) of each row r.
struct jacobian_row {
    std::vector<long double> p, j;
    long double delta = 0;
    std::vector<long double> rounding;  // per row r of J
};

template <class T>
std::vector<jacobian_row> jacobian_rows_in(const problem& p) {
    const std::size_t c = p.classes;
    const std::vector<T> z(p.logits.begin(), p.logits.end());
    const std::vector<T> probs = xentcheck::softmax<T>(z, c);
    const auto facts = detail::facts_of(p);  // held: `keep` lives in it
    const std::vector<bool>& keep = facts->defined_rows();
    const long double u = xentcheck::unit_roundoff<T>();
    std::vector<jacobian_row> rows;
    for (std::size_t i = 0; i < p.rows; ++i) {
        if (!keep[i]) continue;
        const std::span<const T> row(probs.data() + i * c, c);
        const std::vector<T> j = xentcheck::softmax_jacobian<T>(row);
        jacobian_row r;
        r.p.assign(row.begin(), row.end());
        r.j.assign(j.begin(), j.end());
        r.delta = -1;
        for (const long double v : r.p)
            r.delta += v;
        // Each entry: relative u for its product and subtraction, plus an absolute
        // denorm_min where the product underflows into the subnormals.
        const long double tiny = std::numeric_limits<T>::denorm_min();
        r.rounding.assign(c, 0.0L);
        for (std::size_t a = 0; a < c; ++a) {
            for (std::size_t b = 0; b < c; ++b)
                r.rounding[a] += u * (std::abs(r.j[a * c + b]) + r.p[a] * r.p[b]) + tiny;
        }
        rows.push_back(std::move(r));
    }
    return rows;
}

std::vector<jacobian_row> jacobian_rows(const problem& p) {
    return p.dtype == scalar_type::float32 ? jacobian_rows_in<float>(p)
                                           : jacobian_rows_in<double>(p);
}

/// The smallest subnormal of the problem's dtype: the absolute rounding of an underflowing
/// product.
long double tiny_of(const problem& p) {
    return p.dtype == scalar_type::float32 ? std::numeric_limits<float>::denorm_min()
                                           : std::numeric_limits<double>::denorm_min();
}

verdict fail_at(const char* name, std::size_t row, const std::string& what) {
    return verdict::fail(std::string(name) + ": defined row " + std::to_string(row) + ": " + what);
}

std::string num(long double x) {
    return show_number(static_cast<double>(x));
}

}  // namespace

verdict jacobian_symmetric(implementation&, const problem& p) {
    const std::size_t c = p.classes;
    const long double u = p.unit_roundoff();
    const auto rows = jacobian_rows(p);
    for (std::size_t i = 0; i < rows.size(); ++i) {
        const auto& r = rows[i];
        for (std::size_t a = 0; a < c; ++a) {
            for (std::size_t b = a + 1; b < c; ++b) {
                // Each off-diagonal entry is one rounded product -p_a p_b.
                const long double allowed = 2 * (u * r.p[a] * r.p[b] + tiny_of(p));
                const long double diff = std::abs(r.j[a * c + b] - r.j[b * c + a]);
                if (diff <= allowed) continue;
                return fail_at("jacobian_symmetric", i,
                               "J[" + std::to_string(a) + "][" + std::to_string(b) + "] - J[" +
                                   std::to_string(b) + "][" + std::to_string(a) +
                                   "] = " + num(diff) + " > " + num(allowed));
            }
        }
    }
    return verdict::pass();
}

verdict jacobian_rows_sum_to_zero(implementation&, const problem& p) {
    const std::size_t c = p.classes;
    const auto rows = jacobian_rows(p);
    for (std::size_t i = 0; i < rows.size(); ++i) {
        const auto& r = rows[i];
        for (std::size_t a = 0; a < c; ++a) {
            long double sum = 0, size = 0;
            for (std::size_t b = 0; b < c; ++b) {
                sum += r.j[a * c + b];
                size += std::abs(r.j[a * c + b]);
            }
            // Exactly p_a (1 - sum p) for the computed p, plus the entries' rounding.
            const long double allowed = r.p[a] * std::abs(r.delta) +
                                        safety * (r.rounding[a] + static_cast<long double>(c) *
                                                                      detail::u_long_double * size);
            if (std::abs(sum) <= allowed) continue;
            return fail_at("jacobian_rows_sum_to_zero", i,
                           "row " + std::to_string(a) + " of J sums to " + num(sum) + ", allowed " +
                               num(allowed));
        }
    }
    return verdict::pass();
}

verdict jacobian_trace(implementation&, const problem& p) {
    const std::size_t c = p.classes;
    const long double u = p.unit_roundoff();
    const auto rows = jacobian_rows(p);
    for (std::size_t i = 0; i < rows.size(); ++i) {
        const auto& r = rows[i];
        long double trace = 0, squares = 0, size = 0;
        for (std::size_t a = 0; a < c; ++a) {
            trace += r.j[a * c + a];
            squares += r.p[a] * r.p[a];
            size += std::abs(r.j[a * c + a]) + r.p[a] * r.p[a];
        }
        // trace J(p) = sum p - |p|^2 exactly: it differs from 1 - |p|^2 by sum p - 1.
        const long double expected = 1 - squares;
        const long double allowed =
            std::abs(r.delta) +
            safety * ((u + static_cast<long double>(c) * detail::u_long_double) * size +
                      static_cast<long double>(c) * tiny_of(p));
        if (std::abs(trace - expected) <= allowed) continue;
        return fail_at("jacobian_trace", i,
                       "trace " + num(trace) + " vs 1 - |p|^2 = " + num(expected) + ", allowed " +
                           num(allowed));
    }
    return verdict::pass();
}

verdict jacobian_spectrum(implementation&, const problem& p) {
    const std::size_t c = p.classes;
    const auto rows = jacobian_rows(p);
    for (std::size_t i = 0; i < rows.size(); ++i) {
        const auto& r = rows[i];
        const auto eig = symmetric_eigenvalues(r.j, c);
        const long double lo = *std::min_element(eig.begin(), eig.end());
        const long double hi = *std::max_element(eig.begin(), eig.end());
        // With p = (1 + delta) q, q on the simplex: J(p) = (1 + delta) J(q) - (1 + delta) delta
        // q q^T, so lambda_min >= -|delta| (1 + |delta|) and lambda_max <= (1 + |delta|) / 2 +
        // |delta| (1 + |delta|). Rounding of J moves eigenvalues by at most ||dJ||_F.
        long double frobenius = 0, rounding = 0;
        for (const long double v : r.j)
            frobenius += v * v;
        for (const long double v : r.rounding)
            rounding += v;
        const long double d = std::abs(r.delta);
        const long double slack =
            safety *
            (rounding + static_cast<long double>(c) * detail::u_long_double * std::sqrt(frobenius));
        if (lo < -(d * (1 + d) + slack)) {
            return fail_at(
                "jacobian_spectrum", i,
                "smallest eigenvalue " + num(lo) + " < 0 beyond " + num(d * (1 + d) + slack));
        }
        const long double top = (1 + d) / 2 + d * (1 + d) + slack;
        if (hi > top) {
            return fail_at("jacobian_spectrum", i,
                           "largest eigenvalue " + num(hi) + " > 1/2 beyond " + num(top - 0.5L));
        }
    }
    return verdict::pass();
}

namespace {

template <class T>
std::vector<long double> lib_hessian(const problem& p) {
    const std::vector<T> z(p.logits.begin(), p.logits.end());
    std::vector<T> h(p.rows * p.classes * p.classes);
    xentcheck::cross_entropy_hessian<T>(z, p.classes, p.target_view(), p.options(), h);
    return {h.begin(), h.end()};
}

}  // namespace

verdict hessian_closed_form(implementation&, const problem& p) {
    const std::size_t c = p.classes;
    const auto hessian =
        p.dtype == scalar_type::float32 ? lib_hessian<float>(p) : lib_hessian<double>(p);
    const auto facts = detail::facts_of(p);
    const detail::effective_targets& e = facts->effective();
    const tolerance probs_tol = facts->tolerance().probs();
    const long double u = p.unit_roundoff();
    const std::vector<bool>& keep = facts->defined_rows();
    for (std::size_t i = 0; i < p.rows; ++i) {
        if (!keep[i]) continue;
        // Softmax written out here (max-shifted, long double), independent of lib.
        const double* z = p.logits.data() + i * c;
        const double m = *std::max_element(z, z + c);
        std::vector<long double> q(c);
        long double total = 0;
        for (std::size_t j = 0; j < c; ++j)
            total += q[j] = std::exp(static_cast<long double>(z[j]) - m);
        for (auto& v : q)
            v /= total;
        const long double factor = e.mass[i] == 0 ? 0.0L : e.scale * e.mass[i];
        for (std::size_t a = 0; a < c; ++a) {
            for (std::size_t b = 0; b < c; ++b) {
                const long double diag = a == b ? q[a] : 0.0L;
                const long double expected = factor * (diag - q[a] * q[b]);
                const long double actual = hessian[i * c * c + a * c + b];
                // lib's p carries probs() error b(p); the entry adds 3 roundings, and s and A
                // (sums of N and C terms) a relative 4 u (C + N).
                const long double ba = probs_tol.bound(static_cast<double>(q[a]));
                const long double bb = probs_tol.bound(static_cast<double>(q[b]));
                const long double allowed =
                    std::abs(factor) * ((a == b ? ba : 0) + ba * q[b] + q[a] * bb +
                                        safety * 3 * u * (diag + q[a] * q[b])) +
                    safety * (4 * u * static_cast<long double>(c + p.rows) * std::abs(expected) +
                              4 * tiny_of(p));
                if (std::abs(actual - expected) <= allowed) continue;
                return fail_at(
                    "hessian_closed_form", i,
                    "H[" + std::to_string(a) + "][" + std::to_string(b) + "] = " + num(actual) +
                        ", s A (diag(p) - p p^T) = " + num(expected) + ", allowed " + num(allowed));
            }
        }
    }
    return verdict::pass();
}

}  // namespace xentcheck::properties
