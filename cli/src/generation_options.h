/// The generator configuration of `check` and `gen` from their --dtype, --targets, --reduction
/// and --features options.
#pragma once

#include <stdexcept>
#include <string>
#include <vector>

#include "xentcheck/properties/generators.h"

namespace xentcheck::cli {

/// The configuration drawing problems of exactly one dtype, target form and reduction, with
/// the optional inputs named in `features` (weight, ignore_index, label_smoothing) and no
/// others. Probability targets include soft and unnormalised rows (PyTorch accepts both);
/// rows made only of -inf (undefined, NaN outputs) are never drawn. Throws
/// std::invalid_argument for a name outside those sets.
inline properties::generator_config generator_config_for(const std::string& dtype,
                                                         const std::string& targets,
                                                         const std::string& reduction,
                                                         const std::vector<std::string>& features) {
    properties::generator_config c;
    if (dtype == "float64") {
        c.dtypes = {properties::scalar_type::float64};
    } else if (dtype == "float32") {
        c.dtypes = {properties::scalar_type::float32};
    } else {
        throw std::invalid_argument("unknown --dtype " + dtype);
    }
    if (targets == "index") {
        c.targets = {properties::target_kind::index};
    } else if (targets == "probs") {
        c.targets = {properties::target_kind::probability};
    } else {
        throw std::invalid_argument("unknown --targets " + targets);
    }
    c.reductions = {xentcheck::parse_reduction(reduction)};
    c.weights = c.ignore_index = c.label_smoothing = false;
    for (const std::string& f : features) {
        if (f == "weight") {
            c.weights = true;
        } else if (f == "ignore_index") {
            c.ignore_index = true;
        } else if (f == "label_smoothing") {
            c.label_smoothing = true;
        } else {
            throw std::invalid_argument("unknown feature " + f +
                                        " (weight, ignore_index, label_smoothing)");
        }
    }
    c.whole_row_masks = false;
    return c;
}

}  // namespace xentcheck::cli
