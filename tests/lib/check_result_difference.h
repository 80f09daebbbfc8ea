/// check_result_difference.h: the first member in which two check results differ (a test helper
/// of the lib and cli tests).
#pragma once

#include <cstring>
#include <string>

#include "xentcheck/checks.h"

namespace xentcheck::test_support {

/// Bit equality of doubles (a NaN equals a NaN of the same bits).
inline bool same_bits(double a, double b) {
    return std::memcmp(&a, &b, sizeof a) == 0;
}

/// Every member of two results, doubles bit for bit: the name of the first that differs (with
/// the finding's index), or "" when they are the same.
inline std::string check_result_difference(const check_result& a, const check_result& b) {
    if (a.name != b.name) return "name";
    if (a.passed != b.passed) return "passed";
    if (a.checked != b.checked) return "checked";
    if (a.violations != b.violations) return "violations";
    if (!same_bits(a.max_abs_error, b.max_abs_error)) return "max_abs_error";
    if (!same_bits(a.max_rel_error, b.max_rel_error)) return "max_rel_error";
    if (!same_bits(a.worst_ratio, b.worst_ratio)) return "worst_ratio";
    if (!same_bits(a.used.atol, b.used.atol) || !same_bits(a.used.rtol, b.used.rtol)) return "used";
    if (a.worst.has_value() != b.worst.has_value()) return "worst";
    if (a.worst && (a.worst->row != b.worst->row || a.worst->column != b.worst->column)) {
        return "worst: " + a.worst->to_string() + " against " + b.worst->to_string();
    }
    if (a.findings.size() != b.findings.size()) return "findings";
    for (std::size_t i = 0; i < a.findings.size(); ++i) {
        const finding& f = a.findings[i];
        const finding& g = b.findings[i];
        if (f.where.row != g.where.row || f.where.column != g.where.column ||
            !same_bits(f.expected, g.expected) || !same_bits(f.actual, g.actual) ||
            !same_bits(f.abs_error, g.abs_error) || !same_bits(f.rel_error, g.rel_error) ||
            !same_bits(f.allowed, g.allowed)) {
            return "finding " + std::to_string(i);
        }
    }
    if (a.inconclusive != b.inconclusive) return "inconclusive";
    if (a.inconclusive_reason != b.inconclusive_reason) return "inconclusive_reason";
    return "";
}

}  // namespace xentcheck::test_support
