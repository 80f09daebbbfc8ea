/// The JSON report, written case by case: {"cases": [...], "summary": {...}}.
#include <cmath>
#include <cstdint>
#include <cstring>
#include <iterator>

#include "xentcheck/cli/json_out.h"
#include "xentcheck/cli/report.h"

namespace xentcheck::cli {

namespace {

using buffer = fmt::memory_buffer;

void write_index(buffer& out, std::size_t v) {
    const fmt::format_int text(v);
    out.append(text.data(), text.data() + text.size());
}

void write_optional_index(buffer& out, const std::optional<std::size_t>& v) {
    if (v) {
        write_index(out, *v);
    } else {
        write_raw(out, "null");
    }
}

/// The text of location::to_string() ("row i" or "row i, class j") as a JSON string, written
/// in place (no temporary string).
void write_location_string(buffer& out, const xentcheck::location& where) {
    write_raw(out, "\"row ");
    write_index(out, where.row);
    if (where.column) {
        write_raw(out, ", class ");
        write_index(out, *where.column);
    }
    out.push_back('"');
}

void write_location(buffer& out, const std::optional<xentcheck::location>& where) {
    if (where) {
        write_location_string(out, *where);
    } else {
        write_raw(out, "null");
    }
}

/// write_json_number with a small cache of recently written values: a case's report repeats
/// many numbers (tolerances shared by several checks, gradient entries equal to
/// probabilities, zero errors), and the shortest-digit search is the costly part.
class number_writer {
  public:
    void write(buffer& out, double value) {
        if (value == 0 && !std::signbit(value)) {
            out.push_back('0');
            return;
        }
        std::uint64_t bits;
        std::memcpy(&bits, &value, sizeof bits);
        entry& e = entries_[(bits * 0x9E3779B97F4A7C15u) >> (64 - cache_bits)];
        if (e.length == 0 || e.bits != bits) {
            e.bits = bits;
            e.length = static_cast<std::uint8_t>(
                std::isfinite(value) ? detail::write_shortest(e.text, value) - e.text
                                     : non_finite_text(e.text, value));
        }
        out.append(e.text, e.text + e.length);
    }

  private:
    static std::size_t non_finite_text(char* text, double value) {
        const std::string_view s = std::isnan(value) ? "\"nan\""
                                   : value > 0       ? "\"inf\""
                                                     : "\"-inf\"";
        std::memcpy(text, s.data(), s.size());
        return s.size();
    }
    static constexpr int cache_bits = 5;
    struct entry {
        std::uint64_t bits = 0;
        std::uint8_t length = 0;  // 0: empty
        char text[detail::max_shortest_length];
    };
    entry entries_[1u << cache_bits];
};

class json_report final : public report {
  public:
    json_report(output_sink& out, std::FILE* messages) : out_(out), messages_(messages) {
        write_raw(out_.buffer(), "{\"cases\":[");
    }

    void add_case(const std::string& file, const eval_case& c, const evaluation& e) override {
        buffer& out = begin_entry();
        write_raw(out, "{\"file\":");
        write_file_name(out, file);
        write_raw(out, ",\"index\":");
        write_index(out, c.index);
        write_raw(out, ",\"line\":");
        write_optional_index(out, c.line);
        write_raw(out, ",\"name\":");
        if (c.name) {
            write_json_string(out, *c.name);
        } else {
            write_raw(out, "\"#");
            write_index(out, c.index);
            out.push_back('"');
        }
        write_raw(out, e.failed() ? ",\"status\":\"fail\"" : ",\"status\":\"pass\"");
        write_raw(out, ",\"rows\":");
        write_index(out, c.rows);
        write_raw(out, ",\"classes\":");
        write_index(out, c.classes);
        write_raw(out, ",\"reduction\":\"");
        write_raw(out, xentcheck::to_string(c.reduction));
        write_raw(out, "\",\"dtype\":\"");
        write_raw(out, to_string(c.dtype));
        write_raw(out, "\",\"probs\":");
        write_matrix(out, e.probs, c.classes, c.batched);
        write_raw(out, ",\"loss\":");
        if (c.reduction == xentcheck::reduction::none) {
            write_matrix(out, e.loss, e.loss.size(), false);
        } else {
            numbers_.write(out, e.loss.front());
        }
        write_raw(out, ",\"grad\":");
        write_matrix(out, e.grad, c.classes, c.batched);
        write_raw(out, ",\"checks\":[");
        for (std::size_t k = 0; k < e.checks.size(); ++k) {
            if (k) out.push_back(',');
            write_check(out, e.checks[k]);
        }
        write_raw(out, "],\"field\":null,\"error\":null}");
        out_.maybe_flush();
    }

    void add_problem(const input_problem& p) override {
        const std::string message = p.to_string();
        if (messages_) std::fprintf(messages_, "xentcheck: %s\n", message.c_str());
        buffer& out = begin_entry();
        write_raw(out, "{\"file\":");
        write_json_string(out, p.file);
        write_raw(out, ",\"index\":");
        write_optional_index(out, p.case_index);
        write_raw(out, ",\"line\":");
        write_optional_index(out, p.line);
        write_raw(out, ",\"name\":");
        if (p.case_index) {
            write_json_string(out, case_display_name(p.case_name, *p.case_index));
        } else {
            write_raw(out, "null");
        }
        write_raw(out,
                  ",\"status\":\"error\",\"probs\":null,\"loss\":null,\"grad\":null,"
                  "\"checks\":[],\"field\":");
        if (p.field.empty()) {
            write_raw(out, "null");
        } else {
            write_json_string(out, p.field);
        }
        write_raw(out, ",\"error\":");
        write_json_string(out, message);
        out.push_back('}');
        out_.maybe_flush();
    }

    void finish(const run_summary& s) override {
        fmt::format_to(fmt::appender(out_.buffer()),
                       "{}],\n\"summary\":{{\"passed\":{},\"failed\":{},\"errors\":{},"
                       "\"exit_code\":{}}}}}\n",
                       any_ ? "\n" : "", s.passed, s.failed, s.errors, s.exit_code());
    }

  private:
    buffer& begin_entry() {
        buffer& out = out_.buffer();
        write_raw(out, any_ ? ",\n" : "\n");
        any_ = true;
        return out;
    }

    /// The file name is the same for every case of a file: escape it once.
    void write_file_name(buffer& out, const std::string& file) {
        if (file != file_) {
            file_ = file;
            buffer escaped;
            write_json_string(escaped, file);
            file_json_.assign(escaped.data(), escaped.size());
        }
        write_raw(out, file_json_);
    }

    void write_matrix(buffer& out, std::span<const double> values, std::size_t columns,
                      bool nested) {
        out.push_back('[');
        for (std::size_t k = 0; k < values.size(); ++k) {
            if (nested && k % columns == 0)
                write_raw(out, k ? "],[" : "[");
            else if (k)
                out.push_back(',');
            numbers_.write(out, values[k]);
        }
        if (nested && !values.empty()) out.push_back(']');
        out.push_back(']');
    }

    void write_check(buffer& out, const check_entry& e) {
        const xentcheck::check_result& r = e.result;
        write_raw(out, "{\"name\":");
        write_json_string(out, r.name);
        write_raw(out, ",\"status\":\"");
        write_raw(out, e.status());
        out.push_back('"');
        if (e.skipped) {
            write_raw(out, ",\"reason\":");
            write_json_string(out, e.skip_reason);
            write_raw(out,
                      ",\"checked\":0,\"violations\":0,\"max_abs_error\":null,"
                      "\"max_rel_error\":null,\"tolerance\":null,\"where\":null,\"findings\":[]}");
            return;
        }
        write_raw(out, ",\"checked\":");
        write_index(out, r.checked);
        write_raw(out, ",\"violations\":");
        write_index(out, r.violations);
        write_raw(out, ",\"max_abs_error\":");
        numbers_.write(out, r.max_abs_error);
        write_raw(out, ",\"max_rel_error\":");
        numbers_.write(out, r.max_rel_error);
        write_raw(out, ",\"tolerance\":{\"atol\":");
        numbers_.write(out, r.used.atol);
        write_raw(out, ",\"rtol\":");
        numbers_.write(out, r.used.rtol);
        write_raw(out, "},\"where\":");
        write_location(out, r.worst);
        write_raw(out, ",\"findings\":[");
        for (std::size_t k = 0; k < r.findings.size(); ++k) {
            const xentcheck::finding& f = r.findings[k];
            if (k) out.push_back(',');
            write_raw(out, "{\"where\":");
            write_location_string(out, f.where);
            write_raw(out, ",\"expected\":");
            numbers_.write(out, f.expected);
            write_raw(out, ",\"actual\":");
            numbers_.write(out, f.actual);
            write_raw(out, ",\"abs_error\":");
            numbers_.write(out, f.abs_error);
            write_raw(out, ",\"rel_error\":");
            numbers_.write(out, f.rel_error);
            write_raw(out, ",\"allowed\":");
            numbers_.write(out, f.allowed);
            out.push_back('}');
        }
        write_raw(out, "]}");
    }

    output_sink& out_;
    std::FILE* messages_;
    bool any_ = false;
    number_writer numbers_;
    std::string file_, file_json_;
};

}  // namespace

std::unique_ptr<report> make_json_report(output_sink& out, std::FILE* messages) {
    return std::make_unique<json_report>(out, messages);
}

}  // namespace xentcheck::cli
