/// test_adapter.cpp: external_implementation, the bridge to the property suite's interface.
#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <limits>

#include "check_test_support.h"
#include "xentcheck/check/external_implementation.h"

namespace {

using namespace std::chrono_literals;
using namespace xentcheck::check;
using namespace xentcheck::check::testing;
namespace props = xentcheck::properties;

props::problem weighted_problem() {
    props::problem p;
    p.dtype = props::scalar_type::float32;
    p.rows = 2;
    p.classes = 3;
    p.logits = {2.0, 1.0, 0.125, 0.5, -std::numeric_limits<double>::infinity(), 3.0};
    p.target = std::vector<std::int64_t>{0, 4};
    p.ignore_index = 4;
    p.weight = {1.0, 2.0, 0.5};
    p.label_smoothing = 0.25;
    p.reduction = xentcheck::reduction::sum;
    return p;
}

TEST(Adapter, ProblemsBecomeRequestsWithExercisedOptionsOnly) {
    const props::problem weighted = weighted_problem();
    const request_ref r = to_request(weighted);
    EXPECT_EQ(r.dtype, dtype::float32);
    EXPECT_EQ(r.ignore_index, 4);
    EXPECT_EQ(r.label_smoothing, 0.25);
    EXPECT_EQ(r.weight.size(), 3u);
    props::problem plain = weighted_problem();
    plain.ignore_index = -100;
    plain.label_smoothing = 0;
    plain.target = std::vector<double>{1, 0, 0, 0, 0, 1};
    const request_ref q = to_request(plain);
    EXPECT_FALSE(q.ignore_index.has_value());
    EXPECT_FALSE(q.label_smoothing.has_value());
    EXPECT_EQ(q.target_form, xentcheck::target_view::kind::probability);
}

TEST(Adapter, AnExternalImplementationAnswersLikeTheReference) {
    external_implementation impl("numpy", python_command("python/numpy_impl.py"));
    EXPECT_EQ(impl.name(), "numpy");
    const props::problem p = weighted_problem();
    const props::outputs out = impl.evaluate(p);
    EXPECT_EQ(
        describe_failures(compare_with_reference(to_request(p), {out.probs, out.loss, out.grad})),
        "");
}

TEST(Adapter, FaultsAreThrownAsFaultErrors) {
    client_options o;
    o.request_timeout = 2s;
    external_implementation impl("crashing", python_command("buggy/faults.py", "--fault crash"), o);
    props::problem p = weighted_problem();
    p.classes = 8;
    p.logits.assign(16, 0.5);
    p.weight.assign(8, 1.0);
    try {
        impl.evaluate(p);
        FAIL() << "no exception";
    } catch (const fault_error& e) {
        EXPECT_EQ(e.fault().kind, fault_kind::crashed);
        EXPECT_NE(std::string(e.what()).find("crashed"), std::string::npos);
    }
    const auto batch = impl.evaluate_batch(std::vector<props::problem>{weighted_problem(), p});
    EXPECT_TRUE(batch[0].ok());
    EXPECT_EQ(batch[1].fault.kind, fault_kind::crashed);
}

}  // namespace
