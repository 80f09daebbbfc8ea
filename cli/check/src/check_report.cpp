/// The reports of `xentcheck check`: text, JSON and JUnit XML, and the counterexample cases.
#include "xentcheck/check/check_report.h"

#include <ctime>

#include <fmt/format.h>

#include "xentcheck/check/check_cases.h"
#include "xentcheck/cli/json_out.h"

namespace xentcheck::check {

namespace {

std::string note_for(const property_outcome& p, const report_context& ctx, bool witness) {
    std::string note = "xentcheck check: " + p.name + " failed for " + ctx.implementation_name +
                       " (seed " + std::to_string(ctx.seed) + "; found from " +
                       (p.example ? p.example->origin : std::string("?")) + ")";
    if (witness) {
        note += "; a problem " + p.name +
                " asked besides the counterexample, whose answer disagrees with the "
                "reference; expect holds that answer";
    } else if (p.example && p.example->outputs) {
        note += "; expect holds the implementation's answer";
    } else if (p.example && !p.example->fault.empty()) {
        note += "; the implementation gave no answer (" + p.example->fault + ")";
    }
    return note;
}

std::string shape_of(const properties::problem& q) {
    return fmt::format("{} x {}, {}, {} targets, reduction {}", q.rows, q.classes,
                       to_string(q.dtype),
                       q.kind() == properties::target_kind::index ? "index" : "probability",
                       xentcheck::to_string(q.reduction));
}

/// The first line of a message (JUnit's failure message attribute).
std::string first_line(const std::string& s) {
    return s.substr(0, s.find('\n'));
}

void indent_lines(std::string& out, const std::string& text, const char* prefix) {
    std::size_t start = 0;
    while (start <= text.size()) {
        const std::size_t end = text.find('\n', start);
        out += prefix;
        out += text.substr(start, end == std::string::npos ? std::string::npos : end - start);
        out += '\n';
        if (end == std::string::npos) break;
        start = end + 1;
    }
}

/// A case line for the text report: whole when short, else cut with a pointer to the rest.
std::string shortened(const std::string& line) {
    constexpr std::size_t limit = 4000;
    if (line.size() <= limit) return line;
    return line.substr(0, limit) + fmt::format(
                                       " ... ({} characters in all: the JSON report and "
                                       "--save hold the whole case)",
                                       line.size());
}

std::size_t total_tests(const run_outcome& run) {
    std::size_t t = 0;
    for (const auto& p : run.properties)
        t += static_cast<std::size_t>(p.tests);
    return t;
}

std::size_t failed_count(const run_outcome& run) {
    std::size_t f = 0;
    for (const auto& p : run.properties)
        f += p.passed ? 0 : 1;
    return f;
}

std::string features_text(const report_context& ctx) {
    if (ctx.features.empty()) return "none";
    std::string s;
    for (const auto& f : ctx.features)
        s += (s.empty() ? "" : ",") + f;
    return s;
}

void json_key(fmt::memory_buffer& b, const char* key) {
    cli::write_json_string(b, key);
    b.push_back(':');
}

/// "key":"value", (a JSON string member and its comma).
void string_member(fmt::memory_buffer& b, const char* key, std::string_view value) {
    json_key(b, key);
    cli::write_json_string(b, value);
    cli::write_raw(b, ",");
}

/// "key":["a","b"], (an array of JSON strings and its comma).
void string_array_member(fmt::memory_buffer& b, const char* key,
                         const std::vector<std::string>& values) {
    json_key(b, key);
    cli::write_raw(b, "[");
    for (std::size_t k = 0; k < values.size(); ++k) {
        if (k) cli::write_raw(b, ",");
        cli::write_json_string(b, values[k]);
    }
    cli::write_raw(b, "],");
}

void json_string_or_null(fmt::memory_buffer& b, const std::string& s) {
    if (s.empty()) {
        cli::write_raw(b, "null");
    } else {
        cli::write_json_string(b, s);
    }
}

}  // namespace

std::string counterexample_json(const property_outcome& p, const report_context& ctx) {
    if (!p.example) return "";
    const counterexample& ce = *p.example;
    const properties::outputs* expect = ce.outputs ? &*ce.outputs : nullptr;
    return case_json(case_of(ce.problem, expect, p.name, note_for(p, ctx, false)));
}

std::string witness_json(const property_outcome& p, const report_context& ctx) {
    if (!p.example || !p.example->witness) return "";
    return case_json(case_of(*p.example->witness, &p.example->witness_outputs,
                             p.name + " (witness)", note_for(p, ctx, true)));
}

std::string saved_file_text(const property_outcome& p, const report_context& ctx) {
    const std::string witness = witness_json(p, ctx);
    if (witness.empty()) return counterexample_json(p, ctx) + "\n";
    return "[\n" + counterexample_json(p, ctx) + ",\n" + witness + "\n]\n";
}

std::string text_report(const run_outcome& run, const report_context& ctx) {
    std::string out = "xentcheck check " + ctx.implementation + "\n";
    out += fmt::format(
        "  {}, {} targets, reduction {}, features: {}; seed {}, {} generated "
        "cases per property",
        ctx.dtype, ctx.targets, ctx.reduction, features_text(ctx), ctx.seed, ctx.max_success);
    for (const auto& f : ctx.case_files)
        out += "; cases from " + f;
    out += "\n\n";
    for (std::size_t k = 0; k < run.properties.size(); ++k) {
        const property_outcome& p = run.properties[k];
        out += fmt::format("  {}  {:<38} {:>5} test{} {:>8.2f} s\n", p.passed ? "pass" : "FAIL",
                           p.name, p.tests, p.tests == 1 ? " " : "s", p.seconds);
        if (!p.note.empty()) out += "        note: " + p.note + "\n";
        if (p.passed) continue;
        indent_lines(out, p.message, "        ");
        if (p.example) {
            const counterexample& ce = *p.example;
            if (p.shrinks == 0) {
                out += fmt::format("        counterexample ({}), as found: {}",
                                   shape_of(ce.problem), ce.origin);
            } else {
                out += fmt::format("        counterexample ({}), shrunk in {} step{} from {}",
                                   shape_of(ce.problem), p.shrinks, p.shrinks == 1 ? "" : "s",
                                   ce.origin);
            }
            if (!p.shrink_stopped.empty()) out += " (shrinking stopped " + p.shrink_stopped + ")";
            out += ":\n          " + shortened(counterexample_json(p, ctx)) + "\n";
            if (!ce.fault.empty()) out += "        fault: " + ce.fault + "\n";
            if (ce.witness) {
                out +=
                    "        its answer agrees with the reference; this problem the property "
                    "asked does not:\n          " +
                    shortened(witness_json(p, ctx)) + "\n";
            }
        }
        if (k < ctx.saved.size() && !ctx.saved[k].empty())
            out += "        saved: " + ctx.saved[k] + "\n";
    }
    const std::size_t failed = failed_count(run);
    out += fmt::format(
        "\n{} of {} properties passed, {} failed; {} tests, {} requests, {} fault{}, in {:.2f} "
        "s. Exit code {}.\n",
        run.properties.size() - failed, run.properties.size(), failed, total_tests(run),
        run.requests, run.faults, run.faults == 1 ? "" : "s", run.seconds, failed ? 1 : 0);
    if (failed) out += "Reproduce: " + ctx.reproduce + "\n";
    return out;
}

std::string json_report(const run_outcome& run, const report_context& ctx) {
    fmt::memory_buffer b;
    const std::size_t failed = failed_count(run);
    cli::write_raw(b, "{");
    json_key(b, "passed");
    cli::write_raw(b, failed ? "false" : "true");
    cli::write_raw(b, ",");
    json_key(b, "seed");
    fmt::format_to(fmt::appender(b), "{},", ctx.seed);
    string_member(b, "implementation", ctx.implementation);
    string_member(b, "dtype", ctx.dtype);
    string_member(b, "targets", ctx.targets);
    string_member(b, "reduction", ctx.reduction);
    string_array_member(b, "features", ctx.features);
    json_key(b, "max_success");
    fmt::format_to(fmt::appender(b), "{},", ctx.max_success);
    string_array_member(b, "cases", ctx.case_files);
    json_key(b, "reproduce");
    cli::write_json_string(b, ctx.reproduce);
    cli::write_raw(b, ",\n");
    json_key(b, "properties");
    cli::write_raw(b, "[");
    for (std::size_t k = 0; k < run.properties.size(); ++k) {
        const property_outcome& p = run.properties[k];
        cli::write_raw(b, k ? ",\n" : "\n");
        cli::write_raw(b, "{");
        string_member(b, "name", p.name);
        string_member(b, "summary", p.summary);
        string_member(b, "status", p.passed ? "passed" : "failed");
        json_key(b, "tests");
        fmt::format_to(fmt::appender(b), "{},", p.tests);
        json_key(b, "seconds");
        fmt::format_to(fmt::appender(b), "{:.3f},", p.seconds);
        json_key(b, "message");
        json_string_or_null(b, p.message);
        cli::write_raw(b, ",");
        const counterexample* ce = p.example ? &*p.example : nullptr;
        json_key(b, "fault");
        json_string_or_null(b, ce ? ce->fault : "");
        cli::write_raw(b, ",");
        json_key(b, "origin");
        json_string_or_null(b, ce ? ce->origin : "");
        cli::write_raw(b, ",");
        json_key(b, "shrinks");
        fmt::format_to(fmt::appender(b), "{},", p.shrinks);
        json_key(b, "shrink_evaluations");
        fmt::format_to(fmt::appender(b), "{},", p.shrink_evaluations);
        json_key(b, "shrink_stopped");
        json_string_or_null(b, p.shrink_stopped);
        cli::write_raw(b, ",");
        json_key(b, "note");
        json_string_or_null(b, p.note);
        cli::write_raw(b, ",");
        json_key(b, "counterexample");
        cli::write_raw(b, ce ? counterexample_json(p, ctx) : "null");
        cli::write_raw(b, ",");
        json_key(b, "witness");
        const std::string witness = witness_json(p, ctx);
        cli::write_raw(b, witness.empty() ? "null" : witness);
        cli::write_raw(b, ",");
        json_key(b, "saved");
        json_string_or_null(b, k < ctx.saved.size() ? ctx.saved[k] : "");
        cli::write_raw(b, "}");
    }
    cli::write_raw(b, "],\n");
    json_key(b, "summary");
    fmt::format_to(fmt::appender(b),
                   "{{\"passed\":{},\"failed\":{},\"properties\":{},\"tests\":{},\"requests\":{},"
                   "\"faults\":{},\"starts\":{},\"seconds\":{:.3f},\"exit_code\":{}}}}}\n",
                   run.properties.size() - failed, failed, run.properties.size(), total_tests(run),
                   run.requests, run.faults, run.starts, run.seconds, failed ? 1 : 0);
    return fmt::to_string(b);
}

std::string xml_escape(const std::string& text) {
    std::string out;
    out.reserve(text.size());
    const auto* s = reinterpret_cast<const unsigned char*>(text.data());
    const std::size_t n = text.size();
    const char* replacement = "\xEF\xBF\xBD";
    for (std::size_t i = 0; i < n;) {
        const unsigned char c = s[i];
        if (c < 0x80) {
            switch (c) {
                case '&':
                    out += "&amp;";
                    break;
                case '<':
                    out += "&lt;";
                    break;
                case '>':
                    out += "&gt;";
                    break;
                case '"':
                    out += "&quot;";
                    break;
                case '\'':
                    out += "&apos;";
                    break;
                default:
                    if (c < 0x20 && c != '\t' && c != '\n' && c != '\r') {
                        out += replacement;  // not allowed in XML 1.0, even as a reference
                    } else {
                        out += static_cast<char>(c);
                    }
            }
            ++i;
            continue;
        }
        // A UTF-8 sequence: its length from the lead byte, then continuation bytes; overlong
        // forms, surrogates and code points past U+10FFFF are invalid.
        std::size_t len = 0;
        unsigned cp = 0;
        if (c >= 0xC2 && c <= 0xDF) {
            len = 2, cp = c & 0x1Fu;
        } else if (c >= 0xE0 && c <= 0xEF) {
            len = 3, cp = c & 0x0Fu;
        } else if (c >= 0xF0 && c <= 0xF4) {
            len = 4, cp = c & 0x07u;
        }
        bool valid = len > 0 && i + len <= n;
        for (std::size_t k = 1; valid && k < len; ++k) {
            valid = (s[i + k] & 0xC0u) == 0x80u;
            cp = (cp << 6) | (s[i + k] & 0x3Fu);
        }
        if (valid) {
            valid = !(len == 3 && cp < 0x800) && !(len == 4 && cp < 0x10000) &&
                    !(cp >= 0xD800 && cp <= 0xDFFF) && cp <= 0x10FFFF && cp != 0xFFFE &&
                    cp != 0xFFFF;
        }
        if (valid) {
            out.append(text, i, len);
            i += len;
        } else {
            out += replacement;
            ++i;
        }
    }
    return out;
}

std::string junit_report(const run_outcome& run, const report_context& ctx) {
    const std::size_t failed = failed_count(run);
    char stamp[32] = "";
    const std::time_t now = std::time(nullptr);
    std::tm utc{};
    if (gmtime_r(&now, &utc)) std::strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &utc);
    std::string out = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
    out += fmt::format(
        "<testsuites name=\"xentcheck check\" tests=\"{}\" failures=\"{}\" errors=\"0\" "
        "time=\"{:.3f}\">\n",
        run.properties.size(), failed, run.seconds);
    out += fmt::format(
        "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{}\" errors=\"0\" skipped=\"0\" "
        "time=\"{:.3f}\" timestamp=\"{}\">\n",
        xml_escape("xentcheck check " + ctx.implementation), run.properties.size(), failed,
        run.seconds, stamp);
    out += "    <properties>\n";
    auto property = [&out](const std::string& name, const std::string& value) {
        out += "      <property name=\"" + xml_escape(name) + "\" value=\"" + xml_escape(value) +
               "\"/>\n";
    };
    property("implementation", ctx.implementation);
    property("seed", std::to_string(ctx.seed));
    property("dtype", ctx.dtype);
    property("targets", ctx.targets);
    property("reduction", ctx.reduction);
    property("features", features_text(ctx));
    property("max_success", std::to_string(ctx.max_success));
    property("reproduce", ctx.reproduce);
    out += "    </properties>\n";
    for (std::size_t k = 0; k < run.properties.size(); ++k) {
        const property_outcome& p = run.properties[k];
        out += fmt::format(
            "    <testcase classname=\"xentcheck.check\" name=\"{}\" time=\"{:.3f}\" "
            "assertions=\"{}\"",
            xml_escape(p.name), p.seconds, p.tests);
        if (p.passed && p.note.empty()) {
            out += "/>\n";
            continue;
        }
        out += ">\n";
        if (!p.note.empty()) out += "      <system-out>" + xml_escape(p.note) + "</system-out>\n";
        if (p.passed) {
            out += "    </testcase>\n";
            continue;
        }
        const counterexample* ce = p.example ? &*p.example : nullptr;
        std::string body = p.message + "\n\n";
        if (ce) {
            body += "Counterexample (" + shape_of(ce->problem) + "; from " + ce->origin +
                    ", shrunk in " + std::to_string(p.shrinks) + " steps";
            if (!p.shrink_stopped.empty()) body += ", stopped " + p.shrink_stopped;
            body += "), in the case format:\n" + counterexample_json(p, ctx) + "\n";
            if (!ce->fault.empty()) body += "Fault: " + ce->fault + "\n";
            if (ce->witness) body += "Witness:\n" + witness_json(p, ctx) + "\n";
        }
        if (k < ctx.saved.size() && !ctx.saved[k].empty()) body += "Saved: " + ctx.saved[k] + "\n";
        body += "Reproduce: " + ctx.reproduce + "\n";
        const std::string type = ce && !ce->fault.empty() ? ce->fault : "property";
        out += "      <failure message=\"" + xml_escape(first_line(p.message)) + "\" type=\"" +
               xml_escape(type) + "\">" + xml_escape(body) + "</failure>\n";
        out += "    </testcase>\n";
    }
    out += "  </testsuite>\n</testsuites>\n";
    return out;
}

}  // namespace xentcheck::check
