/// fixed_cases.h: every property's --cases tried, several properties at a time (internal to
/// check_run).
#pragma once

#include <cstddef>
#include <memory>
#include <optional>
#include <vector>

#include "property_runner.h"

namespace xentcheck::check::detail {

/// What one property's fixed cases showed.
struct fixed_outcome {
    int tests = 0;                           ///< fixed cases tried
    std::optional<std::size_t> failed_case;  ///< index in run_options::cases of the first failure
    props::verdict verdict;                  ///< its verdict
    clock::duration spent{0};                ///< wall time
};

/// Tries every property's fixed cases, `o.jobs` properties at a time (runners[k] runs
/// infos[k]). A property tries its fixed cases before anything else, and what it finds there
/// does not depend on other properties, so they can be tried in parallel: while one property
/// waits for the implementation's answers, another computes its reference values and
/// comparisons (the memo and the problems' facts are shared and thread-safe). The runners
/// report progress, so their callback is called from several threads.
std::vector<fixed_outcome> try_fixed_cases(const std::vector<const props::property_info*>& infos,
                                           std::vector<std::unique_ptr<property_runner>>& runners,
                                           const run_options& o);

}  // namespace xentcheck::check::detail
