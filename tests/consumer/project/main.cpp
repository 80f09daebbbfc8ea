/// A program outside xentcheck that uses the installed library: exit 0 when the reference agrees
/// with a hand-derived cross-entropy under the tolerance model.
#include <xentcheck/xentcheck.h>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <vector>

int main() {
    // Logits (0, ln 2, ln 5): p = (1, 2, 5) / 8. Target 2: loss = -ln(5/8) = ln 1.6 and
    // d loss / d logits = p - e_2 = (1/8, 2/8, -3/8).
    const std::vector<double> logits{0.0, std::log(2.0), std::log(5.0)};
    const std::vector<std::int64_t> classes{2};
    const auto target = xentcheck::target_view::indices(classes);
    const auto r = xentcheck::cross_entropy<double>(logits, 3, target);

    const xentcheck::tolerance_model model(
        xentcheck::measure_problem(xentcheck::unit_roundoff<double>(), logits, 3, target, {}));
    const std::vector<double> want_loss{std::log(1.6)}, want_grad{0.125, 0.25, -0.375};
    const auto loss = xentcheck::compare_values("loss", want_loss, r.loss, 1, model.loss());
    const auto grad = xentcheck::compare_values("grad", want_grad, r.grad, 3, model.grad(),
                                                xentcheck::grad_magnitudes(r.probs, 3, target, {}));
    std::printf("xentcheck consumer: loss %.17g (%s), grad (%.17g, %.17g, %.17g) (%s)\n", r.loss[0],
                loss.passed ? "ok" : "WRONG", r.grad[0], r.grad[1], r.grad[2],
                grad.passed ? "ok" : "WRONG");
    return loss.passed && grad.passed ? 0 : 1;
}
