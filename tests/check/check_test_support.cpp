/// check_test_support.cpp: helpers for the tests of cli/check.
#include "check_test_support.h"

#include <sys/wait.h>

#include <cerrno>
#include <cstdio>

#include "xentcheck/check/serve_library.h"
#include "xentcheck/cross_entropy.h"
#include "xentcheck/tolerance.h"

namespace xentcheck::check::testing {

request make_request(std::size_t rows, std::size_t classes, xentcheck::reduction red, dtype type) {
    request r;
    r.dtype = type;
    r.rows = rows;
    r.classes = classes;
    r.reduction = red;
    for (std::size_t k = 0; k < rows * classes; ++k) {
        // Multiples of 1/8 in [-3, 3]: exact in float32, distinct within a row.
        r.logits.push_back(static_cast<double>(static_cast<int>((k * 37) % 49) - 24) / 8.0);
    }
    for (std::size_t i = 0; i < rows; ++i)
        r.target_indices.push_back(static_cast<std::int64_t>(i % classes));
    return r;
}

std::string example_path(const std::string& relative) {
    return std::string(XENTCHECK_SOURCE_DIR) + "/examples/" + relative;
}

std::string python_command(const std::string& script, const std::string& arguments) {
    std::string cmd = shell_quote(XENTCHECK_PYTHON) + " " + shell_quote(example_path(script));
    if (!arguments.empty()) cmd += " " + arguments;
    return cmd;
}

std::string serve_command(const std::string& library, bool region) {
    return serve_library_command(XENTCHECK_SERVE_DRIVER, library, "serve-lib", region);
}

std::vector<check_result> compare_with_reference(const request_ref& r,
                                                 const response_values& values) {
    const std::vector<long double> z(r.logits.begin(), r.logits.end());
    const auto target = r.target();
    const auto options = r.options();
    const auto ref = cross_entropy<long double>(z, r.classes, target, options);
    const std::vector<double> probs(ref.probs.begin(), ref.probs.end());
    const std::vector<double> loss(ref.loss.begin(), ref.loss.end());
    const std::vector<double> grad(ref.grad.begin(), ref.grad.end());
    const double u = r.dtype == dtype::float32 ? unit_roundoff<float>() : unit_roundoff<double>();
    const tolerance_model model(measure_problem(u, r.logits, r.classes, target, options));
    const auto magnitudes = grad_magnitudes(probs, r.classes, target, options);
    return {compare_values("probs", probs, values.probs, r.classes, model.probs()),
            compare_values("loss", loss, values.loss, 1, model.loss()),
            compare_values("grad", grad, values.grad, r.classes, model.grad(), magnitudes)};
}

namespace {
std::string num(double v) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.17g", v);
    return buf;
}
}  // namespace

std::string describe_failures(const std::vector<check_result>& results) {
    std::string out;
    for (const auto& c : results) {
        if (c.passed) continue;
        out += c.name + ": " + std::to_string(c.violations) + " of " + std::to_string(c.checked) +
               " values out of tolerance";
        if (!c.findings.empty()) {
            const auto& f = c.findings.front();
            out += " (first at " + f.where.to_string() + ": expected " + num(f.expected) +
                   ", got " + num(f.actual) + ", allowed error " + num(f.allowed) + ")";
        }
        out += "; ";
    }
    return out;
}

bool no_child_processes() {
    int status = 0;
    return waitpid(-1, &status, WNOHANG) < 0 && errno == ECHILD;
}

}  // namespace xentcheck::check::testing
