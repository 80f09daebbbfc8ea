/// Running a property under RapidCheck with explicit parameters, capturing the minimal case.
#include "xentcheck/properties/search.h"

#include <sstream>

#include <rapidcheck.h>

namespace xentcheck::properties {

namespace {

/// Counts shrinking steps; prints nothing.
class quiet_listener final : public rc::detail::TestListener {
  public:
    void onTestCaseFinished(const rc::detail::CaseDescription&) override {}
    void onShrinkTried(const rc::detail::CaseDescription&, bool accepted) override {
        shrinks += accepted ? 1 : 0;
    }
    void onTestFinished(const rc::detail::TestMetadata&, const rc::detail::TestResult&) override {}
    int shrinks = 0;
};

}  // namespace

search_result search_counterexample(implementation& impl, const property_info& property,
                                    const generator_config& config, const search_options& options) {
    const generator_config narrowed = property.config_for(config);
    std::optional<labelled_problem> last_failure;
    verdict last_verdict;
    // RapidCheck re-runs the minimal case last after shrinking, so the last failing value the
    // property saw is the minimal counterexample.
    const auto testable = [&] {
        const labelled_problem drawn = *gen_labelled_problem(narrowed).as("problem");
        verdict v = property.check(impl, drawn.value);
        if (!v) {
            last_failure = drawn;
            last_verdict = v;
            RC_FAIL(v.message);
        }
    };
    rc::detail::TestParams params;
    params.seed = options.seed;
    params.maxSuccess = options.max_success;
    params.maxSize = options.max_size;
    params.disableShrinking = !options.shrink;
    rc::detail::TestMetadata metadata;
    metadata.id = "xentcheck/" + std::string(property.name);
    metadata.description = std::string(property.name);
    quiet_listener listener;
    const auto result =
        rc::detail::checkProperty(rc::detail::toProperty(testable), metadata, params, listener, {});
    search_result out;
    out.shrinks = listener.shrinks;
    std::ostringstream summary;
    rc::detail::printResultMessage(result, summary);
    out.summary = summary.str();
    if (result.is<rc::detail::SuccessResult>()) {
        out.result = search_result::outcome::passed;
        out.cases_passed = result.get<rc::detail::SuccessResult>().numSuccess;
    } else if (result.is<rc::detail::FailureResult>()) {
        out.result = search_result::outcome::failed;
        out.cases_passed = result.get<rc::detail::FailureResult>().numSuccess;
        if (last_failure) {
            // Re-check: the recorded case must fail on its own.
            const verdict again = property.check(impl, last_failure->value);
            out.failure = again ? last_verdict : again;
            out.counterexample = last_failure;
        }
    } else if (result.is<rc::detail::GaveUpResult>()) {
        out.result = search_result::outcome::gave_up;
        out.cases_passed = result.get<rc::detail::GaveUpResult>().numSuccess;
    } else {
        out.result = search_result::outcome::error;
    }
    return out;
}

}  // namespace xentcheck::properties
