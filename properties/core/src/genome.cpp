/// Drawing genomes and decoding them into problems.
#include "genome.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>

namespace xentcheck::properties::detail {

namespace {

constexpr double neg_inf = -std::numeric_limits<double>::infinity();

int uniform(rc::Random& random, int n) {
    return static_cast<int>(random.next() % static_cast<unsigned>(n));
}

/// An entry code as a signed multiple: sign from bit 0, k in [0, kmax] from the rest.
double signed_multiple(int v, int kmax) {
    const auto k =
        static_cast<double>(scaled(v >> 1, static_cast<std::size_t>(kmax) + 1, entry_range / 2));
    return (v & 1) ? -k : k;
}

double ordinary_value(int v) {
    return signed_multiple(v, 160) / 16;
}

/// Relative frequency of each regime (indexed like all_logit_regimes()).
constexpr std::array<int, 10> regime_weight{30, 8, 6, 5, 5, 8, 5, 14, 12, 7};

logit_regime pick_regime(int c, const std::vector<logit_regime>& enabled) {
    if (enabled.empty()) return logit_regime::ordinary;
    const auto& all = all_logit_regimes();
    auto on = [&](std::size_t r) {
        return std::find(enabled.begin(), enabled.end(), all[r]) != enabled.end();
    };
    int total = 0;
    for (std::size_t r = 0; r < all.size(); ++r)
        total += on(r) ? regime_weight[r] : 0;
    auto point = static_cast<int>(scaled(c, static_cast<std::size_t>(total)));
    for (std::size_t r = 0; r < all.size(); ++r) {
        if (!on(r)) continue;
        if (point < regime_weight[r]) return all[r];
        point -= regime_weight[r];
    }
    return enabled.back();
}

constexpr std::array<std::size_t, 24> block_edges{31,   32,   33,   63,   64,   65,   127,  128,
                                                  129,  255,  256,  257,  511,  512,  513,  1023,
                                                  1024, 1025, 2047, 2048, 2049, 4095, 4096, 4097};
constexpr std::array<std::size_t, 9> vocabularies{32768,  32769,  50257,  65536, 65537,
                                                  100000, 128000, 128256, 131072};

/// A value in the problem's precision: float32 problems get float-exact values, clamped to
/// 2^100 so that differences, sums over rows and weighted losses stay finite in float.
double to_dtype(double z, scalar_type t) {
    if (t == scalar_type::float64 || !std::isfinite(z)) return z;
    constexpr double limit = 0x1p100;
    return static_cast<double>(static_cast<float>(std::clamp(z, -limit, limit)));
}

template <class T>
T pick(const std::vector<T>& options, int c, T fallback) {
    return options.empty() ? fallback : options[static_cast<std::size_t>(c) % options.size()];
}

int option_count(std::size_t n) {
    return static_cast<int>(std::max<std::size_t>(n, 1));
}

}  // namespace

class_choice decode_classes(int k, const generator_config& config) {
    // C increases with the code across bands (in percent of the range): small [0, 65),
    // medium [65, 77), block edges [77, 97), vocabularies [97, 100).
    auto within = [k](int first, int last, std::size_t n) {
        return scaled(static_cast<long long>(k) - static_cast<long long>(first) * code_range, n,
                      static_cast<long long>(last - first) * code_range);
    };
    class_choice c{class_regime::small, 1};
    if (k < 65 * code_range) {
        c = {class_regime::small, 1 + within(0, 65, 16)};
    } else if (k < 77 * code_range) {
        c = {class_regime::medium, 17 + within(65, 77, 184)};
    } else if (k < 97 * code_range) {
        c = {class_regime::block_edge, block_edges[within(77, 97, block_edges.size())]};
    } else {
        c = {class_regime::large, vocabularies[within(97, 100, vocabularies.size())]};
    }
    const std::size_t lo = std::max<std::size_t>(config.min_classes, 1);
    c.classes = std::clamp(c.classes, lo, std::max(lo, config.max_classes));
    return c;
}

row_genome draw_row(rc::Random& random, std::size_t classes, bool probability_target) {
    row_genome r;
    r.regime = uniform(random, code_range);
    r.base = uniform(random, entry_range);
    r.gap = uniform(random, 2049);
    r.flags = uniform(random, 4);
    // The dominant logit sits at the last class unless drawn elsewhere (half the time):
    // blocked kernels break past a block boundary, so the end of the row matters most.
    r.dominant_at =
        uniform(random, 2) == 0 ? classes - 1 : scaled(uniform(random, code_range), classes);
    r.target = scaled(uniform(random, code_range), classes);
    r.ignore = uniform(random, 100);
    r.soft_mode = uniform(random, 3);
    r.whole_mask = uniform(random, 100);
    r.values.resize(classes);
    for (auto& v : r.values)
        v = uniform(random, entry_range);
    if (probability_target) {
        r.soft.resize(classes);
        for (auto& v : r.soft)
            v = uniform(random, 22);
    }
    return r;
}

genome draw_genome(rc::Random& random, int size, const generator_config& config) {
    genome g;
    g.dtype = uniform(random, option_count(config.dtypes.size()));
    g.kind = uniform(random, option_count(config.targets.size()));
    g.reduction = uniform(random, option_count(config.reductions.size()));
    const class_choice c = decode_classes(uniform(random, class_code_range), config);
    g.classes_from = c.regime;
    g.classes = c.classes;
    g.weights = config.weights && uniform(random, 100) >= 65;
    if (g.weights) {
        g.weight_codes.resize(g.classes);
        for (auto& w : g.weight_codes)
            w = uniform(random, 32);
    }
    const bool index = pick(config.targets, g.kind, target_kind::index) == target_kind::index;
    g.ignore = config.ignore_index && index && uniform(random, 100) >= 60;
    g.ignore_class_zero = g.ignore && uniform(random, 100) >= 80;
    g.smoothing = config.label_smoothing && uniform(random, 100) >= 65 ? uniform(random, 33) : 0;
    // Rows: up to max_rows at full size, and never more than max_elements / C.
    const std::size_t cap = std::clamp<std::size_t>(config.max_elements / g.classes, 1,
                                                    std::max<std::size_t>(config.max_rows, 1));
    const std::size_t grown = (cap * static_cast<std::size_t>(std::clamp(size, 0, 100)) + 99) / 100;
    const std::size_t rows =
        1 + scaled(uniform(random, code_range), std::max<std::size_t>(grown, 1));
    for (std::size_t i = 0; i < rows; ++i)
        g.rows.push_back(draw_row(random, g.classes, !index));
    return g;
}

std::vector<double> express_logits(const row_genome& s, const generator_config& config,
                                   std::size_t classes, scalar_type dtype,
                                   std::size_t& target_class) {
    const logit_regime regime = pick_regime(s.regime, config.regimes);
    const bool negative = (s.flags & 1) != 0;
    const bool second_flag = (s.flags & 2) != 0;
    const std::size_t dominant_at = std::min(s.dominant_at, classes - 1);
    target_class = std::min(s.target, classes - 1);
    if (regime == logit_regime::dominant && second_flag) target_class = dominant_at;
    std::vector<double> z(classes);
    const double base = ordinary_value(s.base);
    const double tie_step = dtype == scalar_type::float32 ? 0x1p-20 : 0x1p-40;
    const double huge = dtype == scalar_type::float32 ? 0x1p90 : 1e297;
    for (std::size_t j = 0; j < classes; ++j) {
        const int v = s.values[j];
        double x = ordinary_value(v);
        switch (regime) {
            case logit_regime::ordinary:
            case logit_regime::dominant:
                break;
            case logit_regime::large_709:
                x += negative ? -709.0 : 709.0;
                break;
            case logit_regime::large_1e4:
                x *= 1e3;
                break;
            case logit_regime::large_1e8:
                x *= 1e7;
                break;
            case logit_regime::large_1e300:
                x = signed_multiple(v, 1000) * huge;
                break;
            case logit_regime::near_ties:
                x = base + signed_multiple(v, 8) * tie_step;
                break;
            case logit_regime::exact_ties:
                x = base;
                break;
            case logit_regime::masked:
                if (v >= mask_threshold) x = neg_inf;
                break;
            case logit_regime::float32_exact:
                x = signed_multiple(v, (1 << 19) - 1) * 0x1p-16;
                break;
        }
        z[j] = to_dtype(x, dtype);
    }
    if (regime == logit_regime::dominant)
        z[dominant_at] = negative ? -(10.0 + s.gap) : 10.0 + s.gap;
    if (regime == logit_regime::masked) {
        // At least one finite entry; the target stays finite (finite loss) unless the second
        // flag allows masking it.
        const bool all_masked =
            std::all_of(z.begin(), z.end(), [](double x) { return x == neg_inf; });
        if ((all_masked || !second_flag) && z[target_class] == neg_inf) {
            z[target_class] = ordinary_value(s.values[target_class] - mask_threshold);
        }
        if (config.whole_row_masks && s.whole_mask >= whole_mask_threshold)
            std::fill(z.begin(), z.end(), neg_inf);
    }
    return z;
}

labelled_problem express(const genome& g, const generator_config& config) {
    const std::size_t c = g.classes;
    labelled_problem out;
    out.classes_from = g.classes_from;
    problem& p = out.value;
    p.dtype = pick(config.dtypes, g.dtype, scalar_type::float64);
    const target_kind kind = pick(config.targets, g.kind, target_kind::index);
    p.reduction = pick(config.reductions, g.reduction, xentcheck::reduction::mean);
    p.rows = g.rows.size();
    p.classes = c;
    p.label_smoothing = g.smoothing / 32.0;
    p.ignore_index = g.ignore && g.ignore_class_zero ? 0 : -100;
    if (g.weights) {
        // Multiples of 1/8 in [1/8, 4]; code 0 is weight 1.
        for (const int w : g.weight_codes)
            p.weight.push_back(((w + 7) % 32 + 1) / 8.0);
    }
    std::vector<std::int64_t> indices;
    std::vector<double> probs;
    for (const row_genome& s : g.rows) {
        out.row_regimes.push_back(pick_regime(s.regime, config.regimes));
        std::size_t t = 0;
        const auto z = express_logits(s, config, c, p.dtype, t);
        p.logits.insert(p.logits.end(), z.begin(), z.end());
        if (kind == target_kind::index) {
            const bool ignored = g.ignore && s.ignore >= ignore_threshold;
            indices.push_back(ignored ? p.ignore_index : static_cast<std::int64_t>(t));
            continue;
        }
        // Probability rows: one-hot, soft normalised (about a quarter zeros), or unnormalised.
        const int mode = config.soft_targets ? s.soft_mode : 0;
        double total = 0;
        // (A genome shrunk from index to probability targets has no soft codes: one-hot.)
        const bool has_soft = s.soft.size() == c;
        for (std::size_t j = 0; j < c && has_soft; ++j)
            total += std::max(0, s.soft[j] - 5);
        for (std::size_t j = 0; j < c; ++j) {
            const double r = has_soft ? std::max(0, s.soft[j] - 5) : 0;
            double y = j == t ? 1.0 : 0.0;
            if (mode == 2 && config.unnormalised_targets) {
                y = r / 8;
            } else if (mode >= 1 && total > 0) {
                y = r / total;
            }
            probs.push_back(to_dtype(y, p.dtype));
        }
    }
    if (kind == target_kind::index) {
        p.target = std::move(indices);
    } else {
        p.target = std::move(probs);
    }
    return out;
}

}  // namespace xentcheck::properties::detail
