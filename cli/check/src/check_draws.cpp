/// The generated problems of a check run, drawn once per generator configuration.
#include "check_draws.h"

namespace xentcheck::check::detail {

/// RapidCheck's size for case i of n: from 0 up to max_size at the last case.
int size_of(int i, int n, int max_size) {
    if (n <= 1) return max_size;
    return static_cast<int>(static_cast<long long>(i) * max_size / (n - 1));
}

/// A configuration as a string: equal strings draw equal problems from equal seeds.
std::string signature(const properties::generator_config& c) {
    std::string s;
    for (const auto t : c.dtypes)
        s += std::to_string(static_cast<int>(t)) + ",";
    s += ";";
    for (const auto t : c.targets)
        s += std::to_string(static_cast<int>(t)) + ",";
    s += ";";
    for (const auto r : c.reductions)
        s += std::to_string(static_cast<int>(r)) + ",";
    s += ";";
    for (const auto r : c.regimes)
        s += std::to_string(static_cast<int>(r)) + ",";
    for (const bool b : {c.weights, c.ignore_index, c.label_smoothing, c.soft_targets,
                         c.unnormalised_targets, c.whole_row_masks})
        s += b ? '1' : '0';
    for (const std::size_t n : {c.min_classes, c.max_classes, c.max_rows, c.max_elements}) {
        s += ';';
        s += std::to_string(n);
    }
    return s;
}

draws::stream& draws::of(const properties::generator_config& config) {
    return streams_.try_emplace(signature(config), config, seed_).first->second;
}

std::shared_ptr<const draws::drawn> draws::get(stream& s, int i) {
    const auto k = static_cast<std::size_t>(i);
    while (s.randoms.size() <= k)
        s.randoms.push_back(s.random.split());
    if (s.cases.size() > k && s.cases[k]) return s.cases[k];
    shrinkable source = s.gen(s.randoms[k], size_of(i, count_, max_size_));
    properties::labelled_problem value = source.value();
    auto d = std::make_shared<const drawn>(drawn{std::move(source), std::move(value)});
    const std::size_t bytes = 12 * d->value.value.logits.size() + 256;
    if (used_ + bytes <= budget) {
        used_ += bytes;
        if (s.cases.size() <= k) s.cases.resize(k + 1);
        s.cases[k] = d;
    }
    return d;
}

}  // namespace xentcheck::check::detail
