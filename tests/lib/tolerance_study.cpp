/// The tolerance-model study: problem generator, long double reference and the error ratios.
#include "tolerance_study.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <sstream>

namespace xentcheck::study {

namespace {

constexpr double inf = std::numeric_limits<double>::infinity();

/// Uniform in [0, 1) from 53 random bits (the same on every standard library).
double unit(std::mt19937_64& rng) {
    return static_cast<double>(rng() >> 11) * 0x1p-53;
}
double uniform(std::mt19937_64& rng, double lo, double hi) {
    return lo + (hi - lo) * unit(rng);
}
/// Box-Muller normal, portable unlike std::normal_distribution.
double normal(std::mt19937_64& rng) {
    const double u1 = 1 - unit(rng), u2 = unit(rng);
    return std::sqrt(-2 * std::log(u1)) * std::cos(6.283185307179586 * u2);
}
std::size_t below(std::mt19937_64& rng, std::size_t n) {
    return rng() % n;
}
double log_uniform(std::mt19937_64& rng, double lo, double hi) {
    return std::exp(uniform(rng, std::log(lo), std::log(hi)));
}

/// Fills one row of C logits with the given pattern; returns the index of its largest entry.
std::size_t fill_row(std::mt19937_64& rng, const std::string& kind, double* z, std::size_t c,
                     double scale, double offset) {
    const auto each = [&](auto draw) {
        for (std::size_t j = 0; j < c; ++j)
            z[j] = draw();
    };
    if (kind == "normal" || kind == "ascending") each([&] { return scale * normal(rng); });
    if (kind == "uniform") each([&] { return uniform(rng, -scale, scale); });
    if (kind == "dominant") each([&] { return -scale; });  // ties far below one dominant entry
    if (kind == "equal") each([&] { return offset; });
    if (kind == "offset") each([&] { return offset + scale * normal(rng); });
    if (kind == "integer") each([&] { return static_cast<double>(below(rng, 11)) - 5; });
    if (kind == "minus_inf") {
        each([&] { return below(rng, 10) == 0 ? -inf : scale * normal(rng); });
        z[below(rng, c)] = scale * normal(rng);  // one finite entry at least
    }
    if (kind == "dominant") z[below(rng, c)] = 0;
    if (kind == "ascending") std::sort(z, z + c);
    return static_cast<std::size_t>(std::max_element(z, z + c) - z);
}

const char* const kinds[] = {"normal", "uniform", "dominant", "ascending",
                             "equal",  "offset",  "integer",  "minus_inf"};

}  // namespace

target_view problem::view() const {
    return index.empty() ? target_view::probabilities(target) : target_view::indices(index);
}

cross_entropy_options problem::options() const {
    return cross_entropy_options{weight, ignore_index, label_smoothing, red};
}

std::string problem::describe() const {
    double m = 0;
    for (const double z : logits) {
        if (std::isfinite(z)) m = std::max(m, std::abs(z));
    }
    std::ostringstream s;
    s << kind << " N=" << rows() << " C=" << classes << (index.empty() ? " probs" : " index")
      << (weight.empty() ? "" : " weighted") << " eps=" << label_smoothing << " " << to_string(red)
      << " M=" << m;
    return s.str();
}

problem rounded_to_float(const problem& q) {
    problem r = q;
    const auto round = [](std::vector<double>& v) {
        for (auto& x : v)
            x = static_cast<float>(x);
    };
    round(r.logits);
    round(r.target);
    round(r.weight);
    r.label_smoothing = static_cast<float>(q.label_smoothing);
    return r;
}

problem random_problem(std::mt19937_64& rng, const generator_options& g) {
    problem q;
    const std::size_t lo = g.min_classes, hi = g.max_classes;
    const std::size_t pick = below(rng, 10);
    q.classes = lo == hi    ? lo
                : pick == 0 ? std::min(hi, lo + below(rng, 3))
                : pick == 1
                    ? hi
                    : std::clamp<std::size_t>(std::llround(log_uniform(rng, lo, hi + 0.5)), lo, hi);
    const std::size_t n = std::clamp<std::size_t>(
        std::min<std::size_t>(1 + below(rng, 8), g.max_elements / q.classes), 1, 8);
    const std::size_t kind_count = g.allow_minus_inf ? 8 : 7;
    q.kind = kinds[below(rng, kind_count)];
    const bool index_form = q.kind == "minus_inf" || below(rng, 10) < 6;
    const bool smoothing = q.kind != "minus_inf" && below(rng, 10) < 3;
    q.logits.resize(n * q.classes);
    const double scale = q.kind == "uniform"    ? log_uniform(rng, 1, 1e4)
                         : q.kind == "dominant" ? uniform(rng, 0, 60)
                         : q.kind == "offset"   ? log_uniform(rng, 0.1, 10)
                                                : log_uniform(rng, 1e-3, 30);
    const double offset =
        (below(rng, 2) ? 1 : -1) * log_uniform(rng, q.kind == "offset" ? 100 : 0.01, 1e4);
    if (below(rng, 10) < 4) {
        for (std::size_t j = 0; j < q.classes; ++j)
            q.weight.push_back(log_uniform(rng, 0.1, 3.2));
    }
    if (below(rng, 5) == 0) q.ignore_index = static_cast<std::int64_t>(below(rng, q.classes));
    for (std::size_t i = 0; i < n; ++i) {
        const std::size_t top =
            fill_row(rng, q.kind, q.logits.data() + i * q.classes, q.classes, scale, offset);
        if (index_form) {
            // Half the rows target the largest logit, where p_t -> 1 and naive code cancels.
            std::int64_t t = static_cast<std::int64_t>(below(rng, 2) ? top : below(rng, q.classes));
            if (below(rng, 8) == 0) t = q.ignore_index;
            q.index.push_back(t);
            continue;
        }
        const std::size_t shape = below(rng, 20);
        std::vector<double> y(q.classes, 0.0);
        if (shape == 19) {  // unnormalised, both signs (PyTorch accepts any real targets)
            for (auto& v : y)
                v = uniform(rng, -1, 1);
        } else if (shape < 6) {
            y[below(rng, 2) ? top : below(rng, q.classes)] = 1;
        } else if (shape < 16) {
            double total = 0;
            for (auto& v : y) {
                v = std::pow(unit(rng), 3);
                total += v;
            }
            for (auto& v : y)
                v /= total;
        } else {
            std::fill(y.begin(), y.end(), 1.0 / static_cast<double>(q.classes));
        }
        q.target.insert(q.target.end(), y.begin(), y.end());
    }
    if (smoothing) {
        const double choices[] = {0.05, 0.1, 0.2, 0.5, 1.0};
        q.label_smoothing = choices[below(rng, 5)];
    }
    q.red = static_cast<reduction>(below(rng, 3));
    return q;
}

problem wide_row(std::mt19937_64& rng, std::size_t classes, const std::string& pattern) {
    problem q;
    q.kind = "wide_" + pattern;
    q.classes = classes;
    q.logits.resize(classes);
    const bool uniform1e4 = pattern == "uniform1e4";
    const std::size_t top =
        fill_row(rng, uniform1e4 ? "uniform" : pattern, q.logits.data(), classes,
                 uniform1e4              ? 1e4
                 : pattern == "dominant" ? 30
                                         : 3,
                 0);
    q.index = {static_cast<std::int64_t>(pattern == "dominant" ? top : classes / 3)};
    return q;
}

reference reference_of(const problem& q) {
    using ld = long double;
    const std::vector<ld> z(q.logits.begin(), q.logits.end());
    const auto r = cross_entropy<ld>(z, q.classes, q.view(), q.options());
    const auto to_double = [](const std::vector<ld>& v) {
        return std::vector<double>(v.begin(), v.end());
    };
    return reference{to_double(r.probs), to_double(r.loss), to_double(r.grad)};
}

double ratio(double expected, double actual, double allowed) {
    if (expected == actual || (std::isnan(expected) && std::isnan(actual))) return 0;
    if (!std::isfinite(expected) || !std::isfinite(actual)) return inf;
    const double err = std::abs(actual - expected);
    return allowed > 0 ? err / allowed : inf;
}

double ratios::worst() const {
    return std::max({probs, loss, grad, probs_row_sum, grad_row_sum, loss_floor});
}

judge::judge(const problem& q, const reference& ref, double u)
    : q_(q),
      ref_(ref),
      model_(measure_problem(u, q.logits, q.classes, q.view(), q.options())),
      magnitude_(grad_magnitudes(ref.probs, q.classes, q.view(), q.options())) {}

ratios judge::operator()(const std::vector<double>& probs, const std::vector<double>& loss,
                         const std::vector<double>& grad) const {
    const problem& q = q_;
    const reference& ref = ref_;
    const tolerance_model& model = model_;
    const std::vector<double>& magnitude = magnitude_;
    const std::size_t c = q.classes;
    ratios r;
    const tolerance tp = model.probs(), tl = model.loss(), tg = model.grad();
    for (std::size_t k = 0; k < probs.size(); ++k)
        r.probs =
            std::max(r.probs, ratio(ref.probs[k], probs[k], tp.bound(std::abs(ref.probs[k]))));
    for (std::size_t k = 0; k < loss.size(); ++k) {
        r.loss = std::max(r.loss, ratio(ref.loss[k], loss[k], tl.bound(std::abs(ref.loss[k]))));
        // The floor holds only when no target entry is negative (see check_loss_nonnegative).
        if (loss[k] < 0 && !model.scale().mixed_sign_targets)
            r.loss_floor = std::max(r.loss_floor, -loss[k] / -model.loss_floor());
    }
    for (std::size_t k = 0; k < grad.size(); ++k)
        r.grad = std::max(r.grad, ratio(ref.grad[k], grad[k], tg.bound(magnitude[k])));
    for (std::size_t i = 0; i < q.rows(); ++i) {
        double ps = 0, gs = 0;
        for (std::size_t j = 0; j < c; ++j) {
            ps += probs[i * c + j];
            gs += grad[i * c + j];
        }
        if (!std::isnan(ref.probs[i * c])) {  // undefined rows have no sums to check
            r.probs_row_sum = std::max(r.probs_row_sum, ratio(1.0, ps, model.probs_row_sum().atol));
            r.grad_row_sum = std::max(r.grad_row_sum, ratio(0.0, gs, model.grad_row_sum().atol));
        }
    }
    return r;
}

natural_scales natural_scales_of(const problem& q, const reference& ref) {
    const tolerance_model model(
        measure_problem(0x1p-53, q.logits, q.classes, q.view(), q.options()));
    natural_scales n;
    for (const double p : ref.probs)
        n.probs.push_back(std::max(std::abs(p), 1e-20));
    for (const double l : ref.loss)
        n.loss.push_back(std::max(std::abs(l), model.logit_range() * model.scale().loss_scale));
    n.grad = grad_magnitudes(ref.probs, q.classes, q.view(), q.options());
    for (double& g : n.grad)
        g = std::max(g, 1e-20 * model.scale().grad_scale);
    return n;
}

double largest_change(const natural_scales& scale, const std::vector<double>& probs_a,
                      const std::vector<double>& probs_b, const std::vector<double>& loss_a,
                      const std::vector<double>& loss_b, const std::vector<double>& grad_a,
                      const std::vector<double>& grad_b) {
    double worst = 0;
    const auto scan = [&](const std::vector<double>& s, const std::vector<double>& a,
                          const std::vector<double>& b) {
        for (std::size_t k = 0; k < a.size(); ++k) {
            if (a[k] == b[k] || (std::isnan(a[k]) && std::isnan(b[k]))) continue;
            const double change = std::abs(a[k] - b[k]) / s[k];
            worst = std::max(worst, std::isnan(change) ? inf : change);
        }
    };
    scan(scale.probs, probs_a, probs_b);
    scan(scale.loss, loss_a, loss_b);
    scan(scale.grad, grad_a, grad_b);
    return worst;
}

void ratio_table::record(const std::string& row, const ratios& r, const problem& q) {
    const std::pair<const char*, double> values[] = {{"probs", r.probs},
                                                     {"loss", r.loss},
                                                     {"grad", r.grad},
                                                     {"probs_row_sum", r.probs_row_sum},
                                                     {"grad_row_sum", r.grad_row_sum},
                                                     {"loss_floor", r.loss_floor}};
    for (const auto& [quantity, value] : values) {
        auto& e = rows_[row][quantity];
        if (value > e.value || e.where.empty()) e = entry{value, q.describe()};
    }
}

double ratio_table::worst(const std::string& row, const std::string& quantity) const {
    return rows_.at(row).at(quantity).value;
}

std::string ratio_table::format() const {
    std::ostringstream s;
    char line[256];
    std::snprintf(line, sizeof line, "%-28s %9s %9s %9s %9s %9s %9s\n", "implementation/dtype",
                  "probs", "loss", "grad", "p_rowsum", "g_rowsum", "floor");
    s << line;
    for (const auto& [row, q] : rows_) {
        std::snprintf(line, sizeof line, "%-28s %9.2e %9.2e %9.2e %9.2e %9.2e %9.2e\n", row.c_str(),
                      q.at("probs").value, q.at("loss").value, q.at("grad").value,
                      q.at("probs_row_sum").value, q.at("grad_row_sum").value,
                      q.at("loss_floor").value);
        s << line;
    }
    for (const auto& [row, q] : rows_) {
        for (const auto& [quantity, e] : q) {
            if (quantity != "loss_floor")
                s << "  worst " << row << " " << quantity << ": " << e.where << "\n";
        }
    }
    return s.str();
}

}  // namespace xentcheck::study
