/// The JSON report, written case by case: {"cases": [...], "summary": {...}}.
#include <iterator>

#include "xentcheck/cli/json_out.h"
#include "xentcheck/cli/report.h"

namespace xentcheck::cli {

namespace {

using buffer = fmt::memory_buffer;

void write_optional_index(buffer& out, const std::optional<std::size_t>& v) {
    if (v) {
        fmt::format_to(fmt::appender(out), "{}", *v);
    } else {
        write_raw(out, "null");
    }
}

void write_location(buffer& out, const std::optional<xentcheck::location>& where) {
    if (where) {
        write_json_string(out, where->to_string());
    } else {
        write_raw(out, "null");
    }
}

void write_check(buffer& out, const check_entry& e) {
    const xentcheck::check_result& r = e.result;
    write_raw(out, "{\"name\":");
    write_json_string(out, r.name);
    write_raw(out, ",\"status\":");
    write_json_string(out, e.status());
    if (e.skipped) {
        write_raw(out, ",\"reason\":");
        write_json_string(out, e.skip_reason);
        write_raw(out,
                  ",\"checked\":0,\"violations\":0,\"max_abs_error\":null,\"max_rel_error\":null,"
                  "\"tolerance\":null,\"where\":null,\"findings\":[]}");
        return;
    }
    fmt::format_to(fmt::appender(out),
                   ",\"checked\":{},\"violations\":{},\"max_abs_error\":", r.checked, r.violations);
    write_json_number(out, r.max_abs_error);
    write_raw(out, ",\"max_rel_error\":");
    write_json_number(out, r.max_rel_error);
    write_raw(out, ",\"tolerance\":{\"atol\":");
    write_json_number(out, r.used.atol);
    write_raw(out, ",\"rtol\":");
    write_json_number(out, r.used.rtol);
    write_raw(out, "},\"where\":");
    write_location(out, r.worst);
    write_raw(out, ",\"findings\":[");
    for (std::size_t k = 0; k < r.findings.size(); ++k) {
        const xentcheck::finding& f = r.findings[k];
        if (k) out.push_back(',');
        write_raw(out, "{\"where\":");
        write_json_string(out, f.where.to_string());
        write_raw(out, ",\"expected\":");
        write_json_number(out, f.expected);
        write_raw(out, ",\"actual\":");
        write_json_number(out, f.actual);
        write_raw(out, ",\"abs_error\":");
        write_json_number(out, f.abs_error);
        write_raw(out, ",\"rel_error\":");
        write_json_number(out, f.rel_error);
        write_raw(out, ",\"allowed\":");
        write_json_number(out, f.allowed);
        out.push_back('}');
    }
    write_raw(out, "]}");
}

class json_report final : public report {
  public:
    json_report(output_sink& out, std::FILE* messages) : out_(out), messages_(messages) {
        write_raw(out_.buffer(), "{\"cases\":[");
    }

    void add_case(const std::string& file, const eval_case& c, const evaluation& e) override {
        buffer& out = begin_entry();
        write_raw(out, "{\"file\":");
        write_json_string(out, file);
        fmt::format_to(fmt::appender(out), ",\"index\":{},\"line\":", c.index);
        write_optional_index(out, c.line);
        write_raw(out, ",\"name\":");
        write_json_string(out, c.display_name());
        write_raw(out, ",\"status\":");
        write_json_string(out, e.failed() ? "fail" : "pass");
        fmt::format_to(fmt::appender(out), ",\"rows\":{},\"classes\":{},\"reduction\":", c.rows,
                       c.classes);
        write_json_string(out, xentcheck::to_string(c.reduction));
        write_raw(out, ",\"dtype\":");
        write_json_string(out, to_string(c.dtype));
        write_raw(out, ",\"probs\":");
        write_json_matrix(out, e.probs, c.classes, c.batched);
        write_raw(out, ",\"loss\":");
        if (c.reduction == xentcheck::reduction::none) {
            write_json_numbers(out, e.loss);
        } else {
            write_json_number(out, e.loss.front());
        }
        write_raw(out, ",\"grad\":");
        write_json_matrix(out, e.grad, c.classes, c.batched);
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

    output_sink& out_;
    std::FILE* messages_;
    bool any_ = false;
};

}  // namespace

std::unique_ptr<report> make_json_report(output_sink& out, std::FILE* messages) {
    return std::make_unique<json_report>(out, messages);
}

}  // namespace xentcheck::cli
