/// Seeded random cases across numerical regimes (see sampler.h).
#include "xentcheck/oracle/sampler.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>
#include <random>

namespace xentcheck::oracle {

namespace {

constexpr std::array<regime, 10> regimes = {
    regime::ordinary,    regime::large_709,    regime::large_1e4,  regime::large_1e8,
    regime::large_1e300, regime::near_ties,    regime::exact_ties, regime::dominant,
    regime::masked,      regime::float32_exact};
constexpr std::array<std::string_view, 10> names = {
    "ordinary",  "large_709",  "large_1e4", "large_1e8", "large_1e300",
    "near_ties", "exact_ties", "dominant",  "masked",    "float32_exact"};

constexpr double inf = std::numeric_limits<double>::infinity();

std::uint64_t splitmix64(std::uint64_t x) {
    x += 0x9e3779b97f4a7c15ULL;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

/// Small helpers over one generator.
struct draw {
    std::mt19937_64 g;
    double uniform(double a, double b) { return std::uniform_real_distribution<double>(a, b)(g); }
    double normal(double s) { return std::normal_distribution<double>(0.0, s)(g); }
    bool chance(double p) { return uniform(0, 1) < p; }
    std::size_t below(std::size_t n) {
        return std::uniform_int_distribution<std::size_t>(0, n - 1)(g);
    }
    template <class T, std::size_t K>
    T pick(const std::array<T, K>& xs) {
        return xs[below(K)];
    }
    double sign() { return chance(0.5) ? 1.0 : -1.0; }
};

void draw_shape(draw& d, const shape_options& s, sampled_case& c) {
    const double u = d.uniform(0, 1);
    const double large = s.large_fraction;
    if (u < large) {
        c.classes = d.pick(std::array<std::size_t, 2>{32768, 50257});
        c.rows = 1;
    } else if (u < large + 0.005) {
        c.classes = 4097;
        c.rows = 1;
    } else if (u < large + 0.035) {
        c.classes = d.pick(std::array<std::size_t, 5>{255, 256, 257, 1023, 1025});
        c.rows = 1;
    } else if (u < large + 0.115) {
        c.classes = 17 + d.below(84);
        c.rows = 1 + d.below(2);
    } else {
        c.classes = 2 + d.below(15);
        c.rows = 1 + d.below(4);
    }
    c.classes = std::max<std::size_t>(1, std::min(c.classes, s.max_classes));
}

/// Fills the logits of every row; returns each row's "leader" (dominant regime) or a random
/// class, which the target drawing may favour.
std::vector<std::size_t> draw_logits(draw& d, sampled_case& c) {
    const std::size_t n = c.rows, k = c.classes;
    c.logits.assign(n * k, 0.0);
    std::vector<std::size_t> leader(n);
    for (auto& l : leader)
        l = d.below(k);
    auto each = [&](auto f) {
        for (auto& z : c.logits)
            z = f();
    };
    switch (c.kind) {
        case regime::ordinary: {
            if (d.chance(0.25)) {
                each([&] { return d.uniform(-20, 20); });
            } else {
                const double s = d.pick(std::array<double, 4>{0.3, 1, 3, 10});
                each([&] { return d.normal(s); });
            }
            break;
        }
        case regime::large_709: {
            if (d.chance(0.4)) {
                each([&] { return d.uniform(-720, 720); });
            } else {
                const double centre =
                    d.pick(std::array<double, 6>{709, -709, 710.5, -745, 745, 700});
                const double s = d.pick(std::array<double, 3>{1, 10, 100});
                each([&] { return centre + d.normal(s); });
            }
            break;
        }
        case regime::large_1e4:
        case regime::large_1e8: {
            const double scale = c.kind == regime::large_1e4 ? 1e4 : 1e8;
            const double offset = d.sign() * scale * d.uniform(0.5, 2);
            const double s = c.kind == regime::large_1e4
                                 ? d.pick(std::array<double, 4>{1, 10, 100, 1e4})
                                 : d.pick(std::array<double, 4>{1, 10, 1e3, 1e8});
            each([&] { return offset + d.normal(s); });
            break;
        }
        case regime::large_1e300: {
            const double mode = d.uniform(0, 1);
            if (mode < 0.5) {  // neighbouring doubles near a huge offset
                const double offset = d.sign() * 1e300 * d.uniform(0.1, 1);
                each([&] { return offset * (1 + std::ldexp(double(d.below(9)) - 4, -52)); });
            } else if (mode < 0.75) {
                each([&] { return d.uniform(-1e300, 1e300); });
            } else {  // magnitudes from 1 to 1e300
                each([&] { return d.sign() * std::pow(10.0, d.uniform(0, 300)); });
            }
            break;
        }
        case regime::near_ties: {
            const double base = d.chance(0.8) ? d.normal(10) : d.sign() * 1e4 * d.uniform(0.5, 2);
            if (d.chance(0.5)) {
                each([&] {
                    double z = base;
                    const int steps = static_cast<int>(d.below(7)) - 3;
                    for (int s = 0; s < std::abs(steps); ++s)
                        z = std::nextafter(z, steps > 0 ? inf : -inf);
                    return z;
                });
            } else {
                const double rel = d.pick(std::array<double, 3>{1e-15, 1e-12, 1e-8});
                each([&] { return base + std::max(1.0, std::abs(base)) * d.normal(rel); });
            }
            break;
        }
        case regime::exact_ties: {
            const double base = d.chance(0.7)
                                    ? d.normal(10)
                                    : d.pick(std::array<double, 4>{0.0, 1e4, -709.5, 1e300});
            if (d.chance(0.5)) {
                each([&] { return base; });
            } else {
                const std::array<double, 3> values{base, base - d.uniform(0, 5),
                                                   base - d.uniform(0, 50)};
                each([&] { return d.pick(values); });
            }
            break;
        }
        case regime::dominant: {
            each([&] { return d.normal(1); });
            for (std::size_t i = 0; i < n; ++i) {
                const auto row = std::span<double>(c.logits).subspan(i * k, k);
                const double top = *std::max_element(row.begin(), row.end());
                row[leader[i]] = top + std::exp(d.uniform(std::log(10.0), std::log(900.0)));
            }
            break;
        }
        case regime::masked: {
            const double masked = d.uniform(0.1, 0.6);
            each([&] { return d.chance(masked) ? -inf : d.normal(3); });
            for (std::size_t i = 0; i < n; ++i) {
                const auto row = std::span<double>(c.logits).subspan(i * k, k);
                const double u = d.uniform(0, 1);
                if (u < 0.04) {
                    std::fill(row.begin(), row.end(), -inf);
                } else if (u < 0.07) {
                    row[d.below(k)] = std::numeric_limits<double>::quiet_NaN();
                } else if (u < 0.10) {
                    row[d.below(k)] = inf;
                }
            }
            break;
        }
        case regime::float32_exact: {
            const double s = d.pick(std::array<double, 4>{1, 3, 10, 30});
            each([&] { return static_cast<double>(static_cast<float>(d.normal(s))); });
            break;
        }
    }
    return leader;
}

void draw_targets(draw& d, sampled_case& c, const std::vector<std::size_t>& leader) {
    const std::size_t n = c.rows, k = c.classes;
    const bool f32 = c.kind == regime::float32_exact;
    auto narrow = [&](double x) { return f32 ? static_cast<double>(static_cast<float>(x)) : x; };
    c.index_form = d.chance(0.7);
    if (c.index_form) {
        c.indices.resize(n);
        const bool some_ignored = d.chance(0.15);
        for (std::size_t i = 0; i < n; ++i) {
            const bool lead = c.kind == regime::dominant && d.chance(0.75);
            c.indices[i] = static_cast<std::int64_t>(lead ? leader[i] : d.below(k));
            if (some_ignored && d.chance(0.3)) c.indices[i] = c.ignore_index;
        }
    } else {
        c.target_probs.assign(n * k, 0.0);
        const double form = d.uniform(0, 1);
        for (std::size_t i = 0; i < n; ++i) {
            const auto y = std::span<double>(c.target_probs).subspan(i * k, k);
            const auto z = std::span<const double>(c.logits).subspan(i * k, k);
            if (form < 0.3) {
                y[c.kind == regime::dominant ? leader[i] : d.below(k)] = 1;
            } else if (form < 0.8) {
                double total = 0;
                for (auto& v : y)
                    total += (v = std::exp(d.normal(1)));
                for (auto& v : y)
                    v = narrow(v / total);
                // Targets usually respect a mask (zero where the logit is -inf).
                if (c.kind == regime::masked && d.chance(0.7)) {
                    for (std::size_t j = 0; j < k; ++j)
                        if (z[j] == -inf) y[j] = 0;
                }
            } else {
                for (auto& v : y)
                    v = narrow(d.uniform(-0.5, 1.5));
            }
        }
    }
    if (d.chance(0.3)) {
        c.weight.resize(k);
        for (auto& w : c.weight)
            w = k > 1 && d.chance(0.05) ? 0.0 : narrow(d.uniform(0.1, 4));
    }
    if (d.chance(0.25)) {
        const double u = d.uniform(0, 1);
        c.label_smoothing = u < 0.1 ? 1.0 : u < 0.5 ? 0.1 : d.uniform(0, 1);
        c.label_smoothing = narrow(c.label_smoothing);
    }
    const double r = d.uniform(0, 1);
    c.reduce = r < 0.4 ? reduction::none : r < 0.8 ? reduction::mean : reduction::sum;
}

}  // namespace

std::span<const regime> all_regimes() {
    return regimes;
}

std::string_view to_string(regime r) {
    return names[static_cast<std::size_t>(r)];
}

std::optional<regime> parse_regime(std::string_view name) {
    for (std::size_t i = 0; i < names.size(); ++i)
        if (names[i] == name) return regimes[i];
    return std::nullopt;
}

target_view sampled_case::target() const {
    return index_form ? target_view::indices(indices) : target_view::probabilities(target_probs);
}

cross_entropy_options sampled_case::options() const {
    cross_entropy_options o;
    o.weight = weight;
    o.ignore_index = ignore_index;
    o.label_smoothing = label_smoothing;
    o.reduction = reduce;
    return o;
}

sampled_case draw_case(std::uint64_t seed, std::uint64_t index, regime r,
                       const shape_options& shapes) {
    draw d{std::mt19937_64(splitmix64(seed ^ splitmix64(index ^ 0x5851f42d4c957f2dULL)))};
    sampled_case c;
    c.kind = r;
    draw_shape(d, shapes, c);
    const auto leader = draw_logits(d, c);
    draw_targets(d, c, leader);
    return c;
}

}  // namespace xentcheck::oracle
