/// xentcheck/properties/search.h: run a property on an implementation and shrink a failure.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "xentcheck/properties/properties.h"

namespace xentcheck::properties {

/// How hard to search.
struct search_options {
    std::uint64_t seed = 0;  ///< RapidCheck seed (the same seed replays the same cases)
    int max_success = 100;   ///< cases that must pass before the property is accepted
    int max_size = 100;      ///< RapidCheck's largest size (rows grow with it)
    bool shrink = true;      ///< shrink a failure to a minimal counterexample
};

/// The outcome of a search.
struct search_result {
    /// How the search ended.
    enum class outcome {
        passed,   ///< max_success cases passed
        failed,   ///< a counterexample was found (and shrunk)
        gave_up,  ///< RapidCheck gave up (cannot happen with these generators: nothing discards)
        error,    ///< RapidCheck itself failed
    };
    outcome result = outcome::passed;
    int cases_passed = 0;  ///< cases that passed before the failure (or in total)
    int shrinks = 0;       ///< shrinking steps RapidCheck took
    /// The minimal counterexample (failed only), with how it was drawn.
    std::optional<labelled_problem> counterexample;
    verdict failure;      ///< the property's verdict on the counterexample
    std::string summary;  ///< RapidCheck's own report (includes its reproduce string)
};

/// Searches for a problem under property.config_for(config) on which `property` fails for
/// `impl`, and shrinks it. Deterministic for a given seed. Not thread-safe (RapidCheck's
/// parameters are globals). The shrunk case is re-checked before it is returned.
search_result search_counterexample(implementation& impl, const property_info& property,
                                    const generator_config& config,
                                    const search_options& options = {});

}  // namespace xentcheck::properties
