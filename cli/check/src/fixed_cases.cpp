/// Every property's --cases tried, several properties at a time.
#include "fixed_cases.h"

#include <atomic>
#include <limits>
#include <thread>

#include "xentcheck/check/check_cases.h"

namespace xentcheck::check::detail {

std::vector<fixed_outcome> try_fixed_cases(const std::vector<const props::property_info*>& infos,
                                           std::vector<std::unique_ptr<property_runner>>& runners,
                                           const run_options& o) {
    std::vector<fixed_outcome> found(infos.size());
    if (o.cases.empty()) return found;
    // Two queues, in run order: the properties that ask related problems (mostly waiting for
    // answers, which come one at a time) and the others (mostly computing). Even workers take
    // from the first first, odd ones from the second, so the implementation's process is kept
    // busy while the other cores compute.
    std::vector<std::size_t> queues[2];
    for (std::size_t index = 0; index < infos.size(); ++index)
        queues[infos[index]->asks_related_problems ? 0 : 1].push_back(index);
    std::atomic<std::size_t> taken[2] = {0, 0};
    std::atomic<std::size_t> workers{0};
    const auto take = [&](int preferred) -> std::optional<std::size_t> {
        for (const int q : {preferred, 1 - preferred}) {
            if (const std::size_t k = taken[q]++; k < queues[q].size()) return queues[q][k];
        }
        return std::nullopt;
    };
    auto work = [&] {
        const int preferred = static_cast<int>(workers++ % 2);
        if (preferred == 1) {
            // While the first requests are answered, what every property derives from the
            // cases alone (the reference's answers, the tolerance models) is computed.
            // A failure here (memory, say) is left to the properties, which count it as
            // xentcheck's own (property_runner::check); nothing may escape a thread.
            for (const fixed_case& fc : o.cases) {
                try {
                    props::prepare(fc.problem);
                } catch (const std::exception&) {
                }
            }
        }
        while (const std::optional<std::size_t> next = take(preferred)) {
            const std::size_t index = *next;
            const props::property_info& info = *infos[index];
            const auto started = clock::now();
            fixed_outcome& f = found[index];
            // Fixed cases beyond what the property can afford (the registry's own limits: 64
            // classes for the Hessian differences, 4097 classes and 8192 values for the loss
            // differences, ...) are not tried by it. The run's generator sizes do not apply: a
            // case the user asked for is tried by every property whose cost is linear in its
            // size.
            props::generator_config unbounded = o.config;
            unbounded.max_classes = unbounded.max_rows = unbounded.max_elements =
                std::numeric_limits<std::size_t>::max();
            const props::generator_config affordable = info.config_for(unbounded);
            for (std::size_t k = 0; k < o.cases.size(); ++k) {
                const fixed_case& fc = o.cases[k];
                if (assumes_nonnegative_targets(info.name) && !has_nonnegative_targets(fc.problem))
                    continue;
                if (!fits(fc.problem, affordable)) continue;
                ++f.tests;
                props::verdict v = runners[index]->check(fc.problem);
                runners[index]->tick(f.tests);
                if (!v) {
                    f.failed_case = k;
                    f.verdict = std::move(v);
                    break;
                }
            }
            f.spent = clock::now() - started;
        }
    };
    const std::size_t helpers = std::min(std::max<std::size_t>(o.jobs, 1), infos.size()) - 1;
    {
        std::vector<std::jthread> threads;
        for (std::size_t t = 0; t < helpers; ++t)
            threads.emplace_back(work);
        work();
    }  // joined here, before `found` is returned (and perhaps moved)
    return found;
}

}  // namespace xentcheck::check::detail
