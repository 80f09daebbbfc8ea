/// Shrinking genomes: structure first (rows, classes), then options, then row choices.
#include <algorithm>

#include <rapidcheck/Seq.h>
#include <rapidcheck/seq/Create.h>
#include <rapidcheck/seq/Transform.h>
#include <rapidcheck/shrink/Shrink.h>

#include "genome.h"

namespace xentcheck::properties::detail {

namespace {

/// n lazily built candidates make(0), ..., make(n - 1).
template <class T, class Make>
rc::Seq<T> candidates(std::size_t n, Make make) {
    return rc::seq::map(rc::seq::range<std::size_t>(0, n), std::move(make));
}

/// Candidates setting one integer field of `value` toward `target`.
template <class T, class Field>
rc::Seq<T> field_toward(const T& value, Field field, decltype(value.*field) target) {
    return rc::seq::map(rc::shrink::towards(value.*field, target), [value, field](auto x) {
        T copy = value;
        copy.*field = x;
        return copy;
    });
}

/// The genome restricted to classes [0, keep) (targets and dominant logits clamped inside).
genome truncated(const genome& g, std::size_t keep) {
    genome t = g;
    t.classes = keep;
    if (t.weights) t.weight_codes.resize(keep);
    for (auto& r : t.rows) {
        r.values.resize(keep);
        if (!r.soft.empty()) r.soft.resize(keep);
        r.dominant_at = std::min(r.dominant_at, keep - 1);
        r.target = std::min(r.target, keep - 1);
    }
    return t;
}

/// The genome without classes [b, e) (later classes move down).
genome without_classes(const genome& g, std::size_t b, std::size_t e) {
    genome t = g;
    t.classes = g.classes - (e - b);
    const auto first = static_cast<std::ptrdiff_t>(b), last = static_cast<std::ptrdiff_t>(e);
    if (t.weights)
        t.weight_codes.erase(t.weight_codes.begin() + first, t.weight_codes.begin() + last);
    for (auto& r : t.rows) {
        r.values.erase(r.values.begin() + first, r.values.begin() + last);
        if (!r.soft.empty()) r.soft.erase(r.soft.begin() + first, r.soft.begin() + last);
        // A class past the removed ones moves down; one inside them lands on the next kept
        // class (or the last).
        auto move_down = [&](std::size_t& k) {
            if (k >= e) {
                k -= e - b;
            } else if (k >= b) {
                k = std::min(b, t.classes - 1);
            }
        };
        move_down(r.dominant_at);
        move_down(r.target);
    }
    return t;
}

/// [begin, end) ranges of n items in chunks of width n, n/2, n/4, ... while there are at most
/// 64 chunks of a width, then single items when `singles`.
std::vector<std::pair<std::size_t, std::size_t>> chunks_of(std::size_t n, bool singles) {
    std::vector<std::pair<std::size_t, std::size_t>> out;
    for (std::size_t width = n; width >= 2 && n / width <= 64; width /= 2) {
        for (std::size_t b = 0; b < n; b += width)
            out.emplace_back(b, std::min(n, b + width));
    }
    for (std::size_t b = 0; singles && b < n; ++b)
        out.emplace_back(b, b + 1);
    return out;
}

/// Entry codes of one vector set to 0 in chunks (whole, halves, quarters, ...), then one by
/// one toward 0 once at most 128 are non-zero (a pass over a large row stays cheap).
template <class Set>
rc::Seq<genome> entry_shrinks(const genome& g, const std::vector<int>& codes, Set set) {
    const std::size_t n = codes.size();
    std::vector<std::pair<std::size_t, std::size_t>> chunks;  // [begin, end) to zero
    for (const auto& [b, e] : chunks_of(n, false)) {
        if (e - b > 1 && std::any_of(codes.begin() + static_cast<std::ptrdiff_t>(b),
                                     codes.begin() + static_cast<std::ptrdiff_t>(e),
                                     [](int v) { return v != 0; }))
            chunks.emplace_back(b, e);
    }
    auto zeroed = candidates<genome>(chunks.size(), [g, chunks, set](std::size_t k) {
        genome t = g;
        for (std::size_t j = chunks[k].first; j < chunks[k].second; ++j)
            set(t, j, 0);
        return t;
    });
    // One by one only once few codes are left non-zero (each costs about log2(code) tries).
    const auto nonzero = static_cast<std::size_t>(
        std::count_if(codes.begin(), codes.end(), [](int v) { return v != 0; }));
    if (nonzero > 128) return zeroed;
    auto singles =
        rc::seq::mapcat(rc::seq::range<std::size_t>(0, n), [g, codes, set](std::size_t j) {
            return rc::seq::map(rc::shrink::towards(codes[j], 0), [g, set, j](int v) {
                genome t = g;
                set(t, j, v);
                return t;
            });
        });
    return rc::seq::concat(std::move(zeroed), std::move(singles));
}

}  // namespace

rc::Seq<row_genome> shrink_row(const row_genome& r) {
    const std::size_t last = r.values.empty() ? 0 : r.values.size() - 1;
    return rc::seq::concat(
        field_toward(r, &row_genome::regime, 0), field_toward(r, &row_genome::flags, 0),
        field_toward(r, &row_genome::gap, 0), field_toward(r, &row_genome::base, 0),
        field_toward(r, &row_genome::dominant_at, last),
        field_toward(r, &row_genome::target, std::size_t{0}),
        field_toward(r, &row_genome::ignore, 0), field_toward(r, &row_genome::soft_mode, 0),
        field_toward(r, &row_genome::whole_mask, 0));
}

rc::Seq<genome> shrink_genome(const genome& g, std::size_t min_classes) {
    const std::size_t n = g.rows.size(), c = g.classes;
    // Rows: keep one row alone, then drop one row.
    auto alone = candidates<genome>(n > 1 ? n : 0, [g](std::size_t i) {
        genome t = g;
        t.rows = {g.rows[i]};
        return t;
    });
    auto dropped = candidates<genome>(n > 2 ? n : 0, [g](std::size_t i) {
        genome t = g;
        t.rows.erase(t.rows.begin() + static_cast<std::ptrdiff_t>(i));
        return t;
    });
    // Classes: keep a prefix (1, C/2, 3C/4, ...).
    const std::size_t lo = std::clamp<std::size_t>(min_classes, 1, c);
    auto prefixes = rc::seq::map(rc::shrink::towards(c, lo),
                                 [g](std::size_t keep) { return truncated(g, keep); });
    // Chunks of classes removed (halves, quarters, ... down to C/64), after options and row
    // choices, which usually succeed first; single classes last of all (C <= 600).
    std::vector<std::pair<std::size_t, std::size_t>> class_chunks, single_classes;
    for (const auto& [b, e] : chunks_of(c, c <= 600)) {
        if (e - b == c || c - (e - b) < lo) continue;
        (e - b == 1 ? single_classes : class_chunks).emplace_back(b, e);
    }
    auto remove = [g](std::vector<std::pair<std::size_t, std::size_t>> ranges) {
        return candidates<genome>(ranges.size(), [g, ranges](std::size_t k) {
            return without_classes(g, ranges[k].first, ranges[k].second);
        });
    };
    auto removed = remove(class_chunks);
    auto removed_singles = remove(single_classes);
    // Options toward the simplest: first dtype/kind/reduction, no weights, no ignoring.
    genome plain = g;
    plain.weights = false;
    plain.weight_codes.clear();
    auto no_weights = candidates<genome>(g.weights ? 1 : 0, [plain](std::size_t) { return plain; });
    genome kept = g;
    kept.ignore = false;
    kept.ignore_class_zero = false;
    auto no_ignore = candidates<genome>(g.ignore ? 1 : 0, [kept](std::size_t) { return kept; });
    genome minus_100 = g;
    minus_100.ignore_class_zero = false;
    auto ignore_minus_100 = candidates<genome>(g.ignore && g.ignore_class_zero ? 1 : 0,
                                               [minus_100](std::size_t) { return minus_100; });
    auto options = rc::seq::concat(
        field_toward(g, &genome::dtype, 0), field_toward(g, &genome::kind, 0),
        field_toward(g, &genome::reduction, 0), std::move(no_weights), std::move(no_ignore),
        std::move(ignore_minus_100), field_toward(g, &genome::smoothing, 0));
    // Each row's choices, then its entry codes, soft target codes, and the weight codes.
    auto row_choices = rc::seq::mapcat(rc::seq::range<std::size_t>(0, n), [g](std::size_t i) {
        return rc::seq::map(shrink_row(g.rows[i]), [g, i](row_genome r) {
            genome t = g;
            t.rows[i] = std::move(r);
            return t;
        });
    });
    auto entries = rc::seq::mapcat(rc::seq::range<std::size_t>(0, n), [g](std::size_t i) {
        return rc::seq::concat(
            entry_shrinks(g, g.rows[i].values,
                          [i](genome& t, std::size_t j, int v) { t.rows[i].values[j] = v; }),
            entry_shrinks(g, g.rows[i].soft,
                          [i](genome& t, std::size_t j, int v) { t.rows[i].soft[j] = v; }));
    });
    auto weights = entry_shrinks(g, g.weight_codes,
                                 [](genome& t, std::size_t j, int v) { t.weight_codes[j] = v; });
    return rc::seq::concat(std::move(alone), std::move(dropped), std::move(prefixes),
                           std::move(options), std::move(row_choices), std::move(removed),
                           std::move(entries), std::move(weights), std::move(removed_singles));
}

}  // namespace xentcheck::properties::detail
