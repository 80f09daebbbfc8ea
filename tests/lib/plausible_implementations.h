/// Plausible correct (and a few planted-wrong) softmax + cross-entropy implementations in F.
#pragma once

#include <cmath>
#include <cstdint>
#include <limits>
#include <string_view>
#include <vector>

#include "tolerance_study.h"

namespace xentcheck::study {

/// Ways to compute the same thing. The first five are correct implementations a kernel or
/// framework author could plausibly write; the rest carry a planted bug.
enum class impl {
    naive,               ///< sequential sum S; p = e / S; L = (m - z_t) + log S; g = (A p - a) / d
    lse_first,           ///< lse = m + log S rounded first; p = exp(z - lse); L = lse - z_t
    blocked,             ///< per-256-block sums + pairwise tree; p = e * (1/S); g = sA p - s a
    online,              ///< one pass with running max and rescaled sum (as fused kernels do)
    log_softmax_first,   ///< lp = (z - m) - log S; p = exp(lp); PyTorch-style backward
    float_sum,           ///< planted: naive, but S accumulated in float (wrong at float64)
    block_tail_dropped,  ///< planted: blocked, but the last partial block is left out of S
    boundary_shifted,    ///< planted: the last gradient entry of each block read one too far
};

inline constexpr impl correct_impls[] = {impl::naive, impl::lse_first, impl::blocked, impl::online,
                                         impl::log_softmax_first};

constexpr std::string_view name_of(impl k) {
    constexpr std::string_view names[] = {
        "naive",     "lse_first",          "blocked",         "online", "log_softmax_first",
        "float_sum", "block_tail_dropped", "boundary_shifted"};
    return names[static_cast<int>(k)];
}

namespace detail {

constexpr std::size_t block = 256;

/// Sum of e in the order the implementation uses.
template <class F>
F row_sum(impl k, const std::vector<F>& e) {
    if (k == impl::float_sum) {
        float s = 0;
        for (const F v : e)
            s += static_cast<float>(v);
        return static_cast<F>(s);
    }
    if (k != impl::blocked && k != impl::block_tail_dropped) {
        F s = 0;
        for (const F v : e)
            s += v;
        return s;
    }
    const std::size_t blocks =
        k == impl::block_tail_dropped ? e.size() / block : (e.size() + block - 1) / block;
    std::vector<F> partial(std::max<std::size_t>(blocks, 1), F(0));
    for (std::size_t b = 0; b < blocks; ++b) {
        for (std::size_t j = b * block; j < std::min(e.size(), (b + 1) * block); ++j)
            partial[b] += e[j];
    }
    for (std::size_t width = 1; width < partial.size(); width *= 2) {  // pairwise tree
        for (std::size_t b = 0; b + width < partial.size(); b += 2 * width)
            partial[b] += partial[b + width];
    }
    return partial[0];
}

/// Softmax of one row and the function j -> -log p_j, as implementation k computes them.
template <class F>
struct row_softmax {
    std::vector<F> p;
    std::vector<F> neg_log_p;
};

template <class F>
row_softmax<F> softmax_row(impl k, const std::vector<F>& z) {
    const F ninf = -std::numeric_limits<F>::infinity();
    const std::size_t c = z.size();
    row_softmax<F> r{std::vector<F>(c), std::vector<F>(c)};
    F m = ninf, s = 0;
    if (k == impl::online) {
        for (const F v : z) {
            if (v == ninf) continue;
            if (v > m) {
                s = s * std::exp(m - v) + F(1);  // exp(-inf) = 0 on the first entry
                m = v;
            } else {
                s += std::exp(v - m);
            }
        }
        const F lse = m + std::log(s);
        for (std::size_t j = 0; j < c; ++j) {
            r.p[j] = std::exp(z[j] - m) / s;
            r.neg_log_p[j] = lse - z[j];
        }
        return r;
    }
    for (const F v : z)
        m = std::max(m, v);
    std::vector<F> e(c);
    for (std::size_t j = 0; j < c; ++j)
        e[j] = std::exp(z[j] - m);
    s = row_sum(k, e);
    const F log_s = std::log(s);
    const F lse = m + log_s;
    const F inv = F(1) / s;
    for (std::size_t j = 0; j < c; ++j) {
        switch (k) {
            case impl::lse_first:
                r.p[j] = std::exp(z[j] - lse);
                r.neg_log_p[j] = lse - z[j];
                break;
            case impl::blocked:
            case impl::block_tail_dropped:
                r.p[j] = e[j] * inv;
                r.neg_log_p[j] = log_s - (z[j] - m);
                break;
            case impl::log_softmax_first: {
                const F lp = (z[j] - m) - log_s;
                r.p[j] = std::exp(lp);
                r.neg_log_p[j] = -lp;
                break;
            }
            default:  // naive, float_sum, boundary_shifted
                r.p[j] = e[j] / s;
                r.neg_log_p[j] = (m - z[j]) + log_s;
        }
    }
    return r;
}

/// Sum of row losses in the implementation's order.
template <class F>
F total(impl k, const std::vector<F>& v) {
    if (k == impl::blocked) {  // pairwise, as a tree reduction over rows would
        std::vector<F> w = v;
        for (std::size_t width = 1; width < w.size(); width *= 2) {
            for (std::size_t b = 0; b + width < w.size(); b += 2 * width)
                w[b] += w[b + width];
        }
        return w.empty() ? F(0) : w[0];
    }
    F s = 0;
    for (const F x : v)
        s += x;
    return s;
}

}  // namespace detail

/// Outputs of one implementation, in its own precision F.
template <class F>
struct outputs {
    std::vector<F> probs, loss, grad;
};

/// Runs implementation k in precision F on problem q (whose values F represents exactly when
/// F is float: see rounded_to_float).
template <class F>
outputs<F> compute(impl k, const problem& q) {
    const std::size_t c = q.classes, n = q.rows();
    const F eps = static_cast<F>(q.label_smoothing);
    const F eps_per_class = eps / static_cast<F>(c);
    const bool index_form = !q.index.empty();
    const auto w = [&](std::size_t j) { return q.weight.empty() ? F(1) : F(q.weight[j]); };
    F divisor = 0;
    for (std::size_t i = 0; i < n; ++i) {
        if (!index_form) {
            divisor += F(1);
        } else if (q.index[i] != q.ignore_index) {
            divisor += w(static_cast<std::size_t>(q.index[i]));
        }
    }
    const bool mean = q.red == reduction::mean;
    const F s = mean ? F(1) / divisor : F(1);
    outputs<F> out{std::vector<F>(n * c), {}, std::vector<F>(n * c, F(0))};
    std::vector<F> row_loss(n, F(0));
    for (std::size_t i = 0; i < n; ++i) {
        std::vector<F> z(c), a(c, F(0));
        for (std::size_t j = 0; j < c; ++j)
            z[j] = static_cast<F>(q.logits[i * c + j]);
        const auto r = detail::softmax_row(k, z);
        for (std::size_t j = 0; j < c; ++j)
            out.probs[i * c + j] = r.p[j];
        if (index_form && q.index[i] == q.ignore_index) continue;
        for (std::size_t j = 0; j < c; ++j) {
            const F y = index_form ? F(static_cast<std::int64_t>(j) == q.index[i] ? 1 : 0)
                                   : static_cast<F>(q.target[i * c + j]);
            a[j] = w(j) * (eps > 0 ? (F(1) - eps) * y + eps_per_class : y);
        }
        F mass = 0;
        for (const F v : a)
            mass += v;
        for (std::size_t j = 0; j < c; ++j) {
            if (a[j] != 0) row_loss[i] += a[j] * r.neg_log_p[j];
        }
        F* g = out.grad.data() + i * c;
        for (std::size_t j = 0; j < c; ++j) {
            switch (k) {
                case impl::blocked:
                case impl::block_tail_dropped:
                    g[j] = (s * mass) * r.p[j] - s * a[j];
                    break;
                case impl::log_softmax_first:  // dy = -s a; g = dy + exp(lp) * (-sum dy)
                    g[j] = -s * a[j] + r.p[j] * (s * mass);
                    break;
                case impl::lse_first:
                    g[j] = (mass * r.p[j] - a[j]) * s;
                    break;
                default:
                    g[j] = mean ? (mass * r.p[j] - a[j]) / divisor : mass * r.p[j] - a[j];
            }
        }
        if (k == impl::boundary_shifted) {
            for (std::size_t j = detail::block - 1; j + 1 < c; j += detail::block)
                g[j] =
                    mean ? (mass * r.p[j + 1] - a[j + 1]) / divisor : mass * r.p[j + 1] - a[j + 1];
        }
    }
    if (q.red == reduction::none) {
        out.loss = row_loss;
    } else {
        const F sum = detail::total(k, row_loss);
        out.loss = {!mean ? sum : k == impl::blocked ? sum * s : sum / divisor};
    }
    return out;
}

}  // namespace xentcheck::study
