/// Checks of the checks: each planted bug is caught by the properties, with a small shrunk case.
#include <iostream>

#include <gtest/gtest.h>

#include "xentcheck/properties/planted_bugs.h"
#include "xentcheck/properties/search.h"

namespace xp = xentcheck::properties;

TEST(planted_bugs, explore) {
    for (const auto bug : xp::all_planted_bugs()) {
        if (bug == xp::planted_bug::none) continue;
        xp::planted_bug_implementation impl(bug);
        xp::generator_config config;
        for (const auto& property : xp::all_properties()) {
            if (property.subject != xp::property_subject::implementation) continue;
            const auto r =
                xp::search_counterexample(impl, property, config, {.seed = 1, .max_success = 200});
            std::cout << to_string(bug) << " / " << property.name << ": ";
            if (r.result == xp::search_result::outcome::failed) {
                std::cout << "CAUGHT after " << r.cases_passed << " cases, " << r.shrinks
                          << " shrinks: " << xp::show(r.counterexample->value) << "\n    "
                          << r.failure.message.substr(0, 300) << "\n";
            } else {
                std::cout << "passed " << r.cases_passed << "\n";
            }
        }
    }
}
