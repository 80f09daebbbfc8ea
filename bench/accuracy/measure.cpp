/// The accuracy table: error accumulation and Markdown printing (see measure.h).
#include "measure.h"

#include <cmath>
#include <cstdio>
#include <ostream>
#include <string>

namespace xentcheck::accuracy {

void column_stats::add(double error, std::uint64_t case_id) {
    ++values;
    if (std::isinf(error)) {
        ++nonfinite;
    } else if (error > max) {
        max = error;
        worst = case_id;
    }
}

void measure_case(const oracle::sampled_case& c, std::uint64_t case_id,
                  std::span<const double> probs, std::span<const double> loss,
                  std::span<const double> grad, const oracle::oracle_result& truth,
                  const oracle::reference_bounds& bounds, regime_stats& stats) {
    ++stats.cases;
    auto& col = stats.column;
    for (std::size_t k = 0; k < probs.size(); ++k)
        col[probs_ulp].add(oracle::ulp_error(probs[k], truth.probs[k]), case_id);
    for (std::size_t k = 0; k < loss.size(); ++k) {
        col[loss_ulp].add(oracle::ulp_error(loss[k], truth.loss[k]), case_id);
        col[loss_magnitude].add(
            oracle::magnitude_error(loss[k], truth.loss[k], bounds.loss_magnitude[k]), case_id);
    }
    for (std::size_t i = 0; i < c.rows; ++i) {
        const bool single =
            c.index_form && c.label_smoothing == 0 && c.indices[i] != c.ignore_index;
        for (std::size_t j = 0; j < c.classes; ++j) {
            const std::size_t k = i * c.classes + j;
            const double e = oracle::ulp_error(grad[k], truth.grad[k]);
            col[grad_ulp].add(e, case_id);
            if (single) col[grad_single_ulp].add(e, case_id);
            col[grad_magnitude].add(
                oracle::magnitude_error(grad[k], truth.grad[k], bounds.grad_magnitude[k]), case_id);
        }
    }
    stats.unproven += truth.unproven;
    stats.max_precision = std::max(stats.max_precision, truth.max_precision_used);
}

namespace {

std::string number(double x) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.3g", x);
    return buf;
}

/// "max" or "max (n non-finite)".
std::string cell(const column_stats& s) {
    std::string text = number(s.max);
    if (s.nonfinite > 0) text += " (" + std::to_string(s.nonfinite) + " nf)";
    return text;
}

regime_stats total_of(std::span<const regime_stats> stats) {
    regime_stats all;
    for (const auto& s : stats) {
        all.cases += s.cases;
        all.bound_violations += s.bound_violations;
        all.known_differences += s.known_differences;
        all.unproven += s.unproven;
        all.max_precision = std::max(all.max_precision, s.max_precision);
        for (std::size_t k = 0; k < column_count; ++k) {
            auto& a = all.column[k];
            const auto& b = s.column[k];
            a.values += b.values;
            a.nonfinite += b.nonfinite;
            if (b.max > a.max) {
                a.max = b.max;
                a.worst = b.worst;
            }
        }
    }
    return all;
}

}  // namespace

void print_table(std::ostream& out, std::span<const regime_stats> stats, bool with_bounds) {
    out << "| regime | cases | probs ulp | loss ulp | loss mag-ulp | grad ulp | grad* ulp | "
           "grad mag-ulp |";
    if (with_bounds) {
        out << " known differences | bound violations | oracle unproven | oracle max bits |";
    }
    out << "\n|---|---:|---:|---:|---:|---:|---:|---:|";
    if (with_bounds) out << "---:|---:|---:|---:|";
    out << "\n";
    auto row = [&](std::string_view name, const regime_stats& s) {
        out << "| " << name << " | " << s.cases;
        for (const auto& c : s.column)
            out << " | " << cell(c);
        out << " |";
        if (with_bounds) {
            out << " " << s.known_differences << " | " << s.bound_violations << " | " << s.unproven
                << " | " << s.max_precision << " |";
        }
        out << "\n";
    };
    const auto regimes = oracle::all_regimes();
    for (std::size_t r = 0; r < stats.size() && r < regimes.size(); ++r)
        row(oracle::to_string(regimes[r]), stats[r]);
    row("**all**", total_of(stats));
}

namespace {
/// "#id", or "-" when there is nothing to point at.
std::string case_ref(bool present, std::uint64_t id) {
    if (!present) return "-";
    std::string s(1, '#');
    s += std::to_string(id);
    return s;
}
}  // namespace

void print_worst_cases(std::ostream& out, std::span<const regime_stats> stats) {
    out << "| regime | probs ulp | loss ulp | loss mag-ulp | grad ulp | grad* ulp | grad mag-ulp "
           "| a bound violation |\n|---|---:|---:|---:|---:|---:|---:|---:|\n";
    const auto regimes = oracle::all_regimes();
    for (std::size_t r = 0; r < stats.size() && r < regimes.size(); ++r) {
        out << "| " << oracle::to_string(regimes[r]);
        for (const auto& c : stats[r].column)
            out << " | " << case_ref(c.max > 0, c.worst);
        out << " | " << case_ref(stats[r].bound_violations > 0, stats[r].first_violation) << " |\n";
    }
}

}  // namespace xentcheck::accuracy
