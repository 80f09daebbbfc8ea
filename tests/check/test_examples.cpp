/// test_examples.cpp: the example implementations against the reference; the planted bugs caught.
#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "check_test_support.h"
#include "xentcheck/check/process_client.h"

namespace {

using namespace std::chrono_literals;
using namespace xentcheck::check;
using xentcheck::reduction;
using xentcheck::target_view;
using namespace xentcheck::check::testing;

constexpr double inf = std::numeric_limits<double>::infinity();

/// Fixed requests covering each dtype, target form, reduction and option.
std::vector<request> fixed_requests() {
    std::vector<request> out;
    for (const dtype t : {dtype::float64, dtype::float32}) {
        // Index targets, weights, a custom ignore_index with an ignored row, smoothing, mean.
        request a = make_request(4, 5, reduction::mean, t);
        a.weight = {0.5, 2.0, 1.0, 0.25, 3.0};
        a.target_indices = {0, 3, 7, 4};
        a.ignore_index = 7;
        a.label_smoothing = 0.125;
        out.push_back(a);
        // Probability targets (one row one-hot), weights, smoothing, sum.
        request b = make_request(3, 4, reduction::sum, t);
        b.target_form = target_view::kind::probability;
        b.target_probs = {0.25, 0.25, 0.5, 0.0, 0.0, 1.0, 0.0, 0.0, 0.125, 0.375, 0.25, 0.25};
        b.weight = {1.0, 0.5, 2.0, 1.5};
        b.label_smoothing = 0.25;
        out.push_back(b);
        // Reduction none, huge logits (max subtraction) and a -inf mask off the target.
        request c = make_request(3, 6, reduction::none, t);
        c.logits[0] = 1000.0;
        c.logits[7] = -1000.0;
        c.logits[8] = -inf;
        c.target_indices = {1, 1, 5};
        out.push_back(c);
        // Many classes (a kernel's block boundary), mean, probability targets without options.
        request d = make_request(2, 300, reduction::mean, t);
        d.logits[290] = 80.0;  // the row maximum sits beyond the first 256 classes
        d.target_form = target_view::kind::probability;
        d.target_probs.assign(600, 0.0);
        d.target_probs[290] = 1.0;
        d.target_probs[300 + 7] = 0.5;
        d.target_probs[300 + 8] = 0.5;
        out.push_back(d);
    }
    return out;
}

/// One small problem (3 x 5, finite logits in [-4, 4]) for every combination of dtype, target
/// form, reduction, weight, label smoothing and (index targets) ignore_index.
std::vector<request> every_configuration() {
    std::vector<request> out;
    std::mt19937 rng(2024);
    const auto sixteenth = [&](int lo, int hi) {  // k / 16, exact in float32
        return static_cast<double>(std::uniform_int_distribution<int>(lo, hi)(rng)) / 16.0;
    };
    for (const dtype t : {dtype::float64, dtype::float32})
        for (const bool index : {true, false})
            for (const reduction red : {reduction::none, reduction::mean, reduction::sum})
                for (const bool weighted : {false, true})
                    for (const bool smoothed : {false, true})
                        for (const bool ignoring : {false, true}) {
                            if (ignoring && !index) continue;
                            request r = make_request(3, 5, red, t);
                            for (double& z : r.logits)
                                z = sixteenth(-64, 64);
                            if (index) {
                                r.target_indices = {4, 0, 2};
                                if (ignoring) {
                                    r.ignore_index = 0;  // row 1 is ignored
                                }
                            } else {
                                r.target_form = target_view::kind::probability;
                                for (int k = 0; k < 15; ++k)
                                    r.target_probs.push_back(sixteenth(0, 16));
                            }
                            if (weighted) r.weight = {0.5, 1.0, 2.0, 0.25, 1.5};
                            if (smoothed) r.label_smoothing = 0.2;
                            out.push_back(r);
                        }
    return out;
}

/// Runs the fixed requests and every configuration through `command` in one pipelined batch.
void expect_correct(const std::string& command) {
    client_options options;
    options.startup_timeout = 30s;
    process_client client(command, options);
    auto requests = fixed_requests();
    const auto more = every_configuration();
    requests.insert(requests.end(), more.begin(), more.end());
    const auto results = client.evaluate_batch(requests);
    for (std::size_t k = 0; k < requests.size(); ++k) {
        SCOPED_TRACE("request " + std::to_string(k) + " (" +
                     std::string(to_string(requests[k].dtype)) + ")");
        ASSERT_TRUE(results[k].ok()) << results[k].fault.to_string();
        EXPECT_EQ(describe_failures(compare_with_reference(requests[k], results[k].values)), "");
    }
    EXPECT_EQ(client.starts(), 1u);
}

TEST(Examples, NumpyImplementationIsCorrect) {
    expect_correct(python_command("python/numpy_impl.py"));
}

TEST(Examples, TorchImplementationIsCorrect) {
    expect_correct(python_command("python/torch_impl.py"));
}

TEST(Examples, CAbiImplementationIsCorrect) {
    expect_correct(serve_command(XENTCHECK_EXAMPLE_ABI));
}

/// Whether the reference comparison rejects `command`'s answer to `r`.
std::string disagreement(const std::string& command, const request& r) {
    process_client client(command);
    const outcome o = client.evaluate(r);
    if (!o.ok()) return "fault: " + o.fault.to_string();
    return describe_failures(compare_with_reference(r, o.values));
}

struct bug_case {
    const char* bug;
    request (*make)();
};

request with_weights_mean() {
    request r = make_request(3, 4, reduction::mean);
    r.weight = {1.0, 2.0, 3.0, 4.0};
    r.target_indices = {1, 2, 3};
    return r;
}

class PlantedBug : public ::testing::TestWithParam<bug_case> {};

TEST_P(PlantedBug, IsCaughtByTheReferenceComparison) {
    const bug_case& c = GetParam();
    const request r = c.make();
    // The same request passes with the correct NumPy implementation...
    ASSERT_EQ(disagreement(python_command("python/numpy_impl.py"), r), "");
    // ...and fails with the bug planted.
    EXPECT_NE(disagreement(python_command("buggy/buggy_impl.py", std::string("--bug ") + c.bug), r),
              "");
}

INSTANTIATE_TEST_SUITE_P(
    Examples, PlantedBug,
    ::testing::Values(bug_case{"no_max",
                               [] {
                                   request r = make_request(2, 3);
                                   r.logits[0] = 1000.0;
                                   return r;
                               }},
                      bug_case{"nan_masked",
                               [] {
                                   request r = make_request(2, 3, reduction::none);
                                   r.logits[1] = -inf;
                                   r.target_indices = {0, 1};
                                   return r;
                               }},
                      bug_case{"grad_wrt_probs", [] { return make_request(2, 3); }},
                      bug_case{"mean_divisor", with_weights_mean},
                      bug_case{"smoothing_unweighted",
                               [] {
                                   request r = with_weights_mean();
                                   r.label_smoothing = 0.2;
                                   return r;
                               }},
                      bug_case{"block_max",
                               [] {
                                   request r = make_request(1, 300, reduction::sum);
                                   r.logits[280] = 1000.0;
                                   return r;
                               }},
                      bug_case{"f32_accumulate",
                               [] { return make_request(4, 16, reduction::sum); }},
                      bug_case{"row_mixup",
                               [] {
                                   request r = make_request(3, 4, reduction::none);
                                   r.target_indices = {0, 1, 2};
                                   return r;
                               }}),
    [](const auto& info) { return std::string(info.param.bug); });

bool bitwise_equal(const std::vector<double>& a, const std::vector<double>& b) {
    if (a.size() != b.size()) return false;
    for (std::size_t k = 0; k < a.size(); ++k) {
        if (std::bit_cast<std::uint64_t>(a[k]) != std::bit_cast<std::uint64_t>(b[k])) return false;
    }
    return true;
}

TEST(Examples, NoisyOutputIsNotDeterministicWhileTheCorrectOneIs) {
    const request r = make_request(2, 8);
    const std::vector<request> twice{r, r};
    for (const bool noisy : {false, true}) {
        process_client client(noisy ? python_command("buggy/buggy_impl.py", "--bug noisy")
                                    : python_command("python/numpy_impl.py"));
        const auto o = client.evaluate_batch(twice);
        ASSERT_TRUE(o[0].ok() && o[1].ok());
        // Noise of a few ulps: within tolerance, so only repetition reveals it.
        EXPECT_EQ(describe_failures(compare_with_reference(r, o[0].values)), "");
        EXPECT_EQ(bitwise_equal(o[0].values.probs, o[1].values.probs) &&
                      bitwise_equal(o[0].values.grad, o[1].values.grad),
                  !noisy);
    }
}

TEST(Examples, CAbiBuggyVariantIsCaught) {
    const request r = make_request(2, 3);
    ASSERT_EQ(disagreement(serve_command(XENTCHECK_EXAMPLE_ABI), r), "");
    const std::string found = disagreement(serve_command(XENTCHECK_EXAMPLE_ABI_BUGGY), r);
    EXPECT_NE(found.find("grad:"), std::string::npos) << found;
    EXPECT_EQ(found.find("probs:"), std::string::npos) << found;
}

}  // namespace
