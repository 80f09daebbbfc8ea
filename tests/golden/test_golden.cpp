/// tests/golden/test_golden.cpp: the reference against PyTorch 1.13's float64 golden values.
#include <gtest/gtest.h>

#include <cctype>
#include <cmath>
#include <cstdlib>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

#include "golden_case.h"

namespace {

using xentcheck::golden::golden_case;
using xentcheck::golden::golden_comparison;

/// The golden file, read once: the environment variable XENTCHECK_GOLDEN_FILE, when set, names
/// another file of PyTorch values to check (e.g. cases written by differential.py --write).
/// A read error leaves the list empty; GoldenFile.Loads reports it.
struct golden_file {
    std::vector<golden_case> cases;
    std::string error;
};

const golden_file& golden() {
    static const golden_file file = [] {
        golden_file f;
        try {
            const char* override_path = std::getenv("XENTCHECK_GOLDEN_FILE");
            f.cases = xentcheck::golden::load_golden_file(
                override_path != nullptr ? override_path : XENTCHECK_GOLDEN_FILE);
        } catch (const std::exception& e) {
            f.error = e.what();
        }
        return f;
    }();
    return file;
}

/// Cases where the reference and PyTorch 1.13 are known to disagree, with the explanation
/// reported to the library's owner. Their test still runs the comparison: it fails if the
/// disagreement goes away (remove the entry then) or appears anywhere but the gradient.
const std::map<std::string, std::string>& known_discrepancies() {
    static const std::map<std::string, std::string> known = {
        {"ignored row with NaN logit",
         "PyTorch's gradient of an ignored row whose logits contain NaN is NaN (log_softmax "
         "backward computes 0 - exp(NaN) * 0); the reference gives 0"},
        {"ignored row of all -inf",
         "PyTorch's gradient of an ignored row of only -inf is NaN (its log_softmax is NaN); "
         "the reference gives 0"},
        {"ignored row with +inf logit smoothing",
         "PyTorch's gradient of an ignored row holding +inf is NaN, also under label smoothing "
         "(the masked smoothing term and nll_loss both feed 0 into log_softmax backward, which "
         "gives 0 - exp(NaN) * 0); the reference gives 0"},
        {"selected weights cancel",
         "mean with selected weights summing to 0: PyTorch's gradient at each row's target is "
         "NaN (w_t * -inf enters log_softmax backward as -inf - p_t * -inf); the reference "
         "gives -inf / +inf there"},
    };
    return known;
}

std::vector<std::size_t> case_indices() {
    std::vector<std::size_t> out(golden().cases.size());
    for (std::size_t k = 0; k < out.size(); ++k)
        out[k] = k;
    return out;
}

/// A GoogleTest name from a case name: letters and digits kept, the rest '_', index appended
/// for uniqueness.
std::string test_name(const testing::TestParamInfo<std::size_t>& info) {
    std::string s = golden().cases[info.param].name;
    for (char& ch : s) {
        if (!std::isalnum(static_cast<unsigned char>(ch))) ch = '_';
    }
    return s + "_" + std::to_string(info.param);
}

TEST(GoldenFile, Loads) {
    ASSERT_EQ(golden().error, "");
    // The brief for the fixture asks for at least 30 cases covering every option.
    EXPECT_GE(golden().cases.size(), 30u);
    for (const auto& c : golden().cases)
        EXPECT_EQ(c.error, "") << c.name;
}

TEST(GoldenFile, CoversEveryOption) {
    bool weight = false, smoothing = false, ignored = false, prob = false, one_d = false;
    std::map<xentcheck::reduction, int> reductions;
    bool nan_loss = false, inf_loss = false;
    for (const auto& c : golden().cases) {
        weight |= !c.weight.empty();
        smoothing |= c.label_smoothing > 0;
        prob |= !c.index_target;
        one_d |= c.rows == 1;
        for (const auto t : c.indices)
            ignored |= t == c.ignore_index;
        ++reductions[c.reduction];
        for (const double l : c.expect_loss) {
            nan_loss |= std::isnan(l);
            inf_loss |= std::isinf(l);
        }
    }
    EXPECT_TRUE(weight && smoothing && ignored && prob && one_d);
    EXPECT_EQ(reductions.size(), 3u);
    EXPECT_TRUE(nan_loss && inf_loss);
}

class GoldenCase : public testing::TestWithParam<std::size_t> {};

/// Checks one comparison; for a known discrepancy, probs and loss must still agree and the
/// gradient must still disagree.
void expect_agreement(const golden_case& c, const golden_comparison& r, const char* type) {
    SCOPED_TRACE(std::string("reference computed in ") + type);
    EXPECT_TRUE(r.probs.passed) << xentcheck::golden::describe(r.probs);
    EXPECT_TRUE(r.loss.passed) << xentcheck::golden::describe(r.loss);
    if (known_discrepancies().count(c.name) != 0) {
        EXPECT_FALSE(r.grad.passed) << "the known discrepancy is gone: remove \"" << c.name
                                    << "\" from known_discrepancies()";
    } else {
        EXPECT_TRUE(r.grad.passed) << xentcheck::golden::describe(r.grad);
    }
}

TEST_P(GoldenCase, MatchesReference) {
    const golden_case& c = golden().cases[GetParam()];
    SCOPED_TRACE("golden case \"" + c.name + "\"");
    ASSERT_EQ(c.error, "");
    const auto as_long_double = xentcheck::golden::compare_with_reference<long double>(c);
    const auto as_double = xentcheck::golden::compare_with_reference<double>(c);
    expect_agreement(c, as_long_double, "long double");
    expect_agreement(c, as_double, "double");
    const auto known = known_discrepancies().find(c.name);
    if (known != known_discrepancies().end() && !HasFailure()) {
        GTEST_SKIP() << "known discrepancy with PyTorch 1.13 (reported): " << known->second << "\n"
                     << xentcheck::golden::describe(as_long_double.grad);
    }
}

INSTANTIATE_TEST_SUITE_P(PyTorch, GoldenCase, testing::ValuesIn(case_indices()), test_name);

/// The case used by the sanity tests: finite, every option at work.
const golden_case& sanity_case() {
    for (const auto& c : golden().cases) {
        if (c.name == "smoothing weighted with ignore mean") return c;
    }
    throw std::runtime_error("sanity case missing from the golden file");
}

TEST(GoldenSanity, UnmodifiedCasePasses) {
    const golden_case& c = sanity_case();
    EXPECT_TRUE(xentcheck::golden::compare_with_reference<long double>(c).passed());
}

// A planted relative error of 1e-6 in a single gradient entry must be caught, whichever entry.
TEST(GoldenSanity, CatchesRelativeErrorInOneGradEntry) {
    const golden_case& original = sanity_case();
    for (std::size_t k = 0; k < original.expect_grad.size(); ++k) {
        if (original.expect_grad[k] == 0) continue;  // the ignored row: no relative error
        golden_case c = original;
        c.expect_grad[k] *= 1 + 1e-6;
        const auto r = xentcheck::golden::compare_with_reference<long double>(c);
        EXPECT_FALSE(r.grad.passed) << "entry " << k << " not caught";
        EXPECT_EQ(r.grad.violations, 1u) << "entry " << k;
        EXPECT_TRUE(r.probs.passed && r.loss.passed);
    }
}

TEST(GoldenSanity, CatchesRelativeErrorInLossAndProbs) {
    golden_case c = sanity_case();
    c.expect_loss[0] *= 1 + 1e-6;
    c.expect_probs[4] *= 1 + 1e-6;
    const auto r = xentcheck::golden::compare_with_reference<double>(c);
    EXPECT_FALSE(r.loss.passed);
    EXPECT_FALSE(r.probs.passed);
    EXPECT_EQ(r.probs.violations, 1u);
}

// Non-finite values must match exactly: a finite value for inf or NaN, or NaN for inf, fails.
TEST(GoldenSanity, NonFiniteMustMatchExactly) {
    const golden_case* masked = nullptr;
    for (const auto& c : golden().cases) {
        if (c.name == "masked target") masked = &c;
    }
    ASSERT_NE(masked, nullptr);
    ASSERT_TRUE(std::isinf(masked->expect_loss[0]));
    ASSERT_TRUE(xentcheck::golden::compare_with_reference<long double>(*masked).passed());
    for (const double planted : {1e308, std::nan(""), -HUGE_VAL}) {
        golden_case c = *masked;
        c.expect_loss[0] = planted;
        EXPECT_FALSE(xentcheck::golden::compare_with_reference<long double>(c).loss.passed)
            << planted;
    }
    golden_case c = sanity_case();
    c.expect_grad[0] = std::nan("");
    EXPECT_FALSE(xentcheck::golden::compare_with_reference<long double>(c).grad.passed);
}

}  // namespace
