/// The human-readable report: per case the reference values, the given values and a table of
/// checks; problems inline; a summary line.
#include <cmath>
#include <iterator>
#include <string_view>

#include "xentcheck/cli/json_out.h"
#include "xentcheck/cli/report.h"

namespace xentcheck::cli {

namespace {

using buffer = fmt::memory_buffer;

constexpr std::size_t max_rows_shown = 8;
constexpr std::size_t max_values_shown = 12;

struct palette {
    std::string_view pass, fail, error, skip, dim, bold, reset;
};
constexpr palette colored{"\x1b[32m", "\x1b[31m", "\x1b[1;31m", "\x1b[33m",
                          "\x1b[2m",  "\x1b[1m",  "\x1b[0m"};
constexpr palette plain{};

/// A value as text: shortest round-trip decimal, or nan / inf / -inf.
void write_value(buffer& out, double v) {
    if (std::isnan(v)) {
        write_raw(out, "nan");
    } else if (std::isinf(v)) {
        write_raw(out, v > 0 ? "inf" : "-inf");
    } else {
        fmt::format_to(fmt::appender(out), "{}", v);
    }
}

void write_row(buffer& out, std::span<const double> row) {
    out.push_back('[');
    const std::size_t shown = std::min(row.size(), max_values_shown);
    for (std::size_t j = 0; j < shown; ++j) {
        if (j) write_raw(out, ", ");
        write_value(out, row[j]);
    }
    if (shown < row.size())
        fmt::format_to(fmt::appender(out), ", ... ({} more)", row.size() - shown);
    out.push_back(']');
}

/// "  <section>  <label>  values" with rows of a batch on their own lines.
void write_values(buffer& out, std::string_view section, std::string_view label,
                  std::span<const double> values, std::size_t columns, bool batched) {
    fmt::format_to(fmt::appender(out), "  {:<10} {:<6} ", section, label);
    if (!batched) {
        if (columns == 1 && values.size() == 1) {
            write_value(out, values.front());
        } else {
            write_row(out, values);
        }
        out.push_back('\n');
        return;
    }
    const std::size_t rows = values.size() / columns;
    for (std::size_t i = 0; i < std::min(rows, max_rows_shown); ++i) {
        if (i) fmt::format_to(fmt::appender(out), "  {:<10} {:<6} ", "", "");
        fmt::format_to(fmt::appender(out), "row {}: ", i);
        write_row(out, values.subspan(i * columns, columns));
        out.push_back('\n');
    }
    if (rows > max_rows_shown) {
        fmt::format_to(fmt::appender(out), "  {:<10} {:<6} ... ({} more rows)\n", "", "",
                       rows - max_rows_shown);
    }
}

/// The loss: one number, or a list of one per row for reduction none.
void write_loss(buffer& out, std::string_view section, std::span<const double> loss) {
    write_values(out, section, "loss", loss, 1, false);
}

void write_short(buffer& out, double v) {
    if (std::isfinite(v)) {
        fmt::format_to(fmt::appender(out), "{:.2g}", v);
    } else {
        write_value(out, v);
    }
}

std::string short_text(double v) {
    buffer b;
    write_short(b, v);
    return fmt::to_string(b);
}

/// The largest relative error, or "-" when it is only infinite because the values checked
/// against 0 (row sums of the gradient) have no relative error.
std::string relative_text(const xentcheck::check_result& r) {
    if (std::isinf(r.max_rel_error) && std::isfinite(r.max_abs_error)) return "-";
    return short_text(r.max_rel_error);
}

class text_report final : public report {
  public:
    text_report(output_sink& out, bool color) : out_(out), p_(color ? colored : plain) {}

    void add_case(const std::string& file, const eval_case& c, const evaluation& e) override {
        buffer& out = out_.buffer();
        const bool failed = e.failed();
        fmt::format_to(fmt::appender(out), "{}{}{}  {}{}{}\n", failed ? p_.fail : p_.pass,
                       failed ? "FAIL" : "PASS", p_.reset, p_.bold, c.display_name(), p_.reset);
        fmt::format_to(fmt::appender(out), "  {}{}, case {}", p_.dim, file, c.index);
        if (c.line) fmt::format_to(fmt::appender(out), ", line {}", *c.line);
        fmt::format_to(fmt::appender(out), ": {} row{} x {} class{} from {}, reduction {}, {}{}\n",
                       c.rows, c.rows == 1 ? "" : "s", c.classes, c.classes == 1 ? "" : "es",
                       c.from_probs ? "probs" : "logits", xentcheck::to_string(c.reduction),
                       to_string(c.dtype), p_.reset);
        write_values(out, "reference", "probs", e.probs, c.classes, c.batched);
        write_loss(out, "", e.loss);
        write_values(out, "", "grad", e.grad, c.classes, c.batched);
        const expected_values& x = c.expect;
        std::string_view section = "expect";
        if (x.has_probs) {
            write_values(out, section, "probs", x.probs, c.classes, c.batched);
            section = "";
        }
        if (x.has_loss) {
            write_loss(out, section, x.loss);
            section = "";
        }
        if (x.has_grad) write_values(out, section, "grad", x.grad, c.classes, c.batched);
        fmt::format_to(fmt::appender(out), "  {}{:<32} {:<7} {:>9} {:>9}  {:<26}  {}{}\n", p_.dim,
                       "check", "result", "max err", "rel err", "tolerance", "worst", p_.reset);
        for (const check_entry& entry : e.checks)
            write_check(out, entry);
        out.push_back('\n');
        out_.maybe_flush();
    }

    void add_problem(const input_problem& p) override {
        fmt::format_to(fmt::appender(out_.buffer()), "{}ERROR{} {}\n\n", p_.error, p_.reset,
                       p.to_string());
        out_.maybe_flush();
    }

    void finish(const run_summary& s) override {
        buffer& out = out_.buffer();
        const auto count = [&](std::size_t n, std::string_view what, std::string_view color) {
            if (n) {
                fmt::format_to(fmt::appender(out), "{}{} {}{}", color, n, what, p_.reset);
            } else {
                fmt::format_to(fmt::appender(out), "{} {}", n, what);
            }
        };
        count(s.passed, "passed", p_.pass);
        write_raw(out, ", ");
        count(s.failed, "failed", p_.fail);
        write_raw(out, ", ");
        count(s.errors, s.errors == 1 ? "error" : "errors", p_.error);
        fmt::format_to(fmt::appender(out), " (exit code {})\n", s.exit_code());
    }

  private:
    void write_check(buffer& out, const check_entry& e) {
        const xentcheck::check_result& r = e.result;
        if (e.skipped) {
            fmt::format_to(fmt::appender(out), "  {:<32} {}{:<7}{} {}\n", r.name, p_.skip,
                           "skipped", p_.reset, e.skip_reason);
            return;
        }
        const std::string tol =
            "atol " + short_text(r.used.atol) + ", rtol " + short_text(r.used.rtol);
        fmt::format_to(fmt::appender(out), "  {:<32} {}{:<7}{} {:>9} {:>9}  {:<26}  {}\n", r.name,
                       r.passed ? p_.pass : p_.fail, r.passed ? "pass" : "FAIL", p_.reset,
                       short_text(r.max_abs_error), relative_text(r), tol,
                       r.worst ? r.worst->to_string() : std::string("-"));
        for (const xentcheck::finding& f : r.findings) {
            buffer line;
            fmt::format_to(fmt::appender(line), "      {}{}: expected ", p_.fail,
                           f.where.to_string());
            write_value(line, f.expected);
            write_raw(line, ", got ");
            write_value(line, f.actual);
            fmt::format_to(fmt::appender(line), " (error {} > allowed {}){}\n",
                           short_text(f.abs_error), short_text(f.allowed), p_.reset);
            out.append(line);
        }
        if (r.violations > r.findings.size()) {
            fmt::format_to(fmt::appender(out), "      ... and {} more\n",
                           r.violations - r.findings.size());
        }
    }

    output_sink& out_;
    palette p_;
};

}  // namespace

std::unique_ptr<report> make_text_report(output_sink& out, bool color) {
    return std::make_unique<text_report>(out, color);
}

}  // namespace xentcheck::cli
