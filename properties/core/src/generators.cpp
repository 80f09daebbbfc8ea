/// RapidCheck generators of cross-entropy problems (drawn as genomes, shrunk structurally).
#include "xentcheck/properties/generators.h"

#include <ostream>

#include <rapidcheck.h>

#include "genome.h"

namespace xentcheck::properties {

std::string_view to_string(logit_regime r) noexcept {
    switch (r) {
        case logit_regime::ordinary:
            return "ordinary";
        case logit_regime::large_709:
            return "large_709";
        case logit_regime::large_1e4:
            return "large_1e4";
        case logit_regime::large_1e8:
            return "large_1e8";
        case logit_regime::large_1e300:
            return "large_1e300";
        case logit_regime::near_ties:
            return "near_ties";
        case logit_regime::exact_ties:
            return "exact_ties";
        case logit_regime::dominant:
            return "dominant";
        case logit_regime::masked:
            return "masked";
        case logit_regime::float32_exact:
            return "float32_exact";
    }
    return "ordinary";
}

const std::vector<logit_regime>& all_logit_regimes() {
    static const std::vector<logit_regime> all{
        logit_regime::ordinary,     logit_regime::large_709,   logit_regime::large_1e4,
        logit_regime::large_1e8,    logit_regime::large_1e300, logit_regime::near_ties,
        logit_regime::exact_ties,   logit_regime::dominant,    logit_regime::masked,
        logit_regime::float32_exact};
    return all;
}

std::string_view to_string(class_regime r) noexcept {
    switch (r) {
        case class_regime::small:
            return "small";
        case class_regime::medium:
            return "medium";
        case class_regime::block_edge:
            return "block_edge";
        case class_regime::large:
            return "large";
    }
    return "small";
}

rc::Gen<std::size_t> gen_class_count(const generator_config& config) {
    // Uniform over the class code, independent of RapidCheck's size (inRange scales its
    // range by the size, which would confine rare bands to the last cases).
    return rc::gen::map(rc::gen::resize(100, rc::gen::inRange(0, detail::class_code_range)),
                        [config](int k) { return detail::decode_classes(k, config).classes; })
        .as("classes");
}

rc::Gen<std::vector<double>> gen_logit_row(std::size_t classes, scalar_type dtype,
                                           const generator_config& config) {
    generator_config one = config;
    one.dtypes = {dtype};
    one.targets = {target_kind::index};
    one.min_classes = one.max_classes = std::max<std::size_t>(classes, 1);
    one.max_rows = 1;
    one.weights = one.ignore_index = one.label_smoothing = false;
    return rc::gen::map(gen_labelled_problem(one),
                        [](const labelled_problem& l) { return l.value.logits; })
        .as("logits");
}

rc::Gen<std::vector<double>> gen_weights(std::size_t classes) {
    return rc::gen::map(rc::gen::container<std::vector<int>>(
                            classes, rc::gen::resize(100, rc::gen::inRange(0, 32))),
                        [](const std::vector<int>& codes) {
                            std::vector<double> w;
                            for (const int c : codes)
                                w.push_back(((c + 7) % 32 + 1) / 8.0);  // code 0 is weight 1
                            return w;
                        })
        .as("weight");
}

rc::Gen<labelled_problem> gen_labelled_problem(const generator_config& config) {
    return rc::Gen<labelled_problem>([config](const rc::Random& random, int size) {
               rc::Random r = random;
               detail::genome g = detail::draw_genome(r, size, config);
               const std::size_t min_classes = config.min_classes;
               return rc::shrinkable::map(
                   rc::shrinkable::shrinkRecur(std::move(g),
                                               [min_classes](const detail::genome& x) {
                                                   return detail::shrink_genome(x, min_classes);
                                               }),
                   [config](const detail::genome& x) { return detail::express(x, config); });
           })
        .as("problem");
}

void showValue(const labelled_problem& p, std::ostream& os) {
    os << show(p.value) << "\n  (classes from " << to_string(p.classes_from) << ", row regimes:";
    for (const auto r : p.row_regimes)
        os << ' ' << to_string(r);
    os << ')';
}

rc::Gen<problem> gen_problem(const generator_config& config) {
    return rc::gen::map(gen_labelled_problem(config),
                        [](const labelled_problem& l) { return l.value; })
        .as("problem");
}

}  // namespace xentcheck::properties
