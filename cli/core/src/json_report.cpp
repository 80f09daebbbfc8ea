/// The JSON report, written case by case: {"cases": [...], "summary": {...}}.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <iterator>
#include <utility>
#include <vector>

#include "xentcheck/cli/json_out.h"
#include "xentcheck/cli/report.h"

namespace xentcheck::cli {

namespace {

using buffer = fmt::memory_buffer;

/// Most bytes of a number (write_shortest, or a quoted non-finite token) or an index.
constexpr std::size_t number_bound = detail::max_shortest_length;

/// write_json_number with a small cache of recently written values: a case's report repeats
/// many numbers (tolerances shared by several checks and cases, gradient entries equal to
/// probabilities), and the shortest-digit search is the costly part.
class number_cache {
  public:
    char* write(char* out, double value) {
        if (value == 0 && !std::signbit(value)) {
            *out = '0';
            return out + 1;
        }
        std::uint64_t bits;
        std::memcpy(&bits, &value, sizeof bits);
        entry& e = entries_[(bits * 0x9E3779B97F4A7C15u) >> (64 - cache_bits)];
        if (e.length == 0 || e.bits != bits) {
            e.bits = bits;
            e.length = static_cast<std::uint8_t>(fill(e.text, value) - e.text);
        }
        std::memcpy(out, e.text, sizeof e.text);  // fixed size: one move, trailing bytes unused
        return out + e.length;
    }

  private:
    static char* fill(char* text, double value) {
        if (std::isfinite(value)) {
            char room[detail::shortest_room];  // write_shortest's blocks run past the text
            const char* const end = detail::write_shortest(room, value);
            std::memcpy(text, room, number_bound);
            return text + (end - room);
        }
        const std::string_view s = std::isnan(value) ? "\"nan\""
                                   : value > 0       ? "\"inf\""
                                                     : "\"-inf\"";
        std::memcpy(text, s.data(), s.size());
        return text + s.size();
    }
    static constexpr int cache_bits = 6;
    struct entry {
        std::uint64_t bits = 0;
        std::uint8_t length = 0;  // 0: empty
        char text[number_bound];
    };
    entry entries_[1u << cache_bits];
};

/// A check name last written in some position of the checks array, with its JSON text, also
/// padded to a fixed size.
struct cached_name {
    std::string name;
    std::string json;
    char padded[32] = {};
};

/// Writes one report entry into memory reserved in advance: appending piece by piece to the
/// buffer costs more than the text itself. Each writer call must stay within the bound given
/// to the constructor.
class entry_writer {
  public:
    entry_writer(buffer& out, std::size_t bound, number_cache& numbers)
        : out_(out), start_(out.size()), numbers_(numbers) {
        out_.resize(start_ + bound);
        p_ = out_.data() + start_;
    }
    ~entry_writer() { out_.resize(static_cast<std::size_t>(p_ - out_.data())); }
    entry_writer(const entry_writer&) = delete;
    entry_writer& operator=(const entry_writer&) = delete;

    /// Bytes a JSON string of `text` may take.
    static std::size_t bound(std::string_view text) {
        return detail::json_string_bound(text.size());
    }

    void raw(std::string_view text) {
        std::memcpy(p_, text.data(), text.size());
        p_ += text.size();
    }
    void ch(char c) { *p_++ = c; }
    void string(std::string_view text) { p_ = detail::write_json_string(p_, text); }
    void number(double value) { p_ = numbers_.write(p_, value); }
    void index(std::size_t v) {
        // Digits written in place from the last one (no copy of a variable length).
        std::size_t digits = 1;
        for (std::size_t rest = v; rest >= 10; rest /= 10)
            ++digits;
        p_ += digits;
        char* q = p_;
        do {
            *--q = static_cast<char>('0' + v % 10);
            v /= 10;
        } while (v != 0);
    }
    void optional_index(const std::optional<std::size_t>& v) {
        if (v) {
            index(*v);
        } else {
            raw("null");
        }
    }
    /// The text of location::to_string() ("row i" or "row i, class j") as a JSON string.
    void location(const xentcheck::location& where) {
        raw("\"row ");
        index(where.row);
        if (where.column) {
            raw(", class ");
            index(*where.column);
        }
        ch('"');
    }
    static constexpr std::size_t location_bound = 2 * number_bound + 16;
    /// Row-major values as a flat array, or as an array of rows of `columns` when `nested`.
    void matrix(std::span<const double> values, std::size_t columns, bool nested) {
        ch('[');
        for (std::size_t k = 0; k < values.size(); ++k) {
            if (nested && k % columns == 0) {
                raw(k ? "],[" : "[");
            } else if (k) {
                ch(',');
            }
            number(values[k]);
        }
        if (nested && !values.empty()) ch(']');
        ch(']');
    }
    static std::size_t matrix_bound(std::size_t values) { return 8 + values * (number_bound + 3); }

    /// `name` as a JSON string: `cached` holds the name last written in this position and its
    /// JSON text, which the checks of consecutive cases almost always share.
    void name(const std::string& name, cached_name& cached) {
        if (name != cached.name) {
            cached.name = name;
            cached.json = json_string(name);
            const std::size_t padded = std::min(cached.json.size(), sizeof cached.padded);
            std::memset(cached.padded, 0, sizeof cached.padded);
            std::memcpy(cached.padded, cached.json.data(), padded);
        }
        if (cached.json.size() <= sizeof cached.padded) {
            // One fixed-size move, no library call; the bytes after the name are overwritten
            // by what follows (a check's entry is far longer than that within its bound).
            std::memcpy(p_, cached.padded, sizeof cached.padded);
            p_ += cached.json.size();
        } else {
            raw(cached.json);
        }
    }

    void check(const check_entry& e, cached_name& cached_name) {
        const xentcheck::check_result& r = e.result;
        raw("{\"name\":");
        name(r.name, cached_name);
        raw(",\"status\":\"");
        raw(e.status());
        ch('"');
        if (e.skipped) {
            raw(",\"reason\":");
            string(e.skip_reason);
            raw(",\"checked\":0,\"violations\":0,\"max_abs_error\":null,\"max_rel_error\":null,"
                "\"tolerance\":null,\"where\":null,\"findings\":[]}");
            return;
        }
        raw(",\"checked\":");
        index(r.checked);
        raw(",\"violations\":");
        index(r.violations);
        raw(",\"max_abs_error\":");
        number(r.max_abs_error);
        raw(",\"max_rel_error\":");
        number(r.max_rel_error);
        raw(",\"tolerance\":{\"atol\":");
        number(r.used.atol);
        raw(",\"rtol\":");
        number(r.used.rtol);
        raw("},\"where\":");
        if (r.worst) {
            location(*r.worst);
        } else {
            raw("null");
        }
        raw(",\"findings\":[");
        for (std::size_t k = 0; k < r.findings.size(); ++k) {
            const xentcheck::finding& f = r.findings[k];
            if (k) ch(',');
            raw("{\"where\":");
            location(f.where);
            raw(",\"expected\":");
            number(f.expected);
            raw(",\"actual\":");
            number(f.actual);
            raw(",\"abs_error\":");
            number(f.abs_error);
            raw(",\"rel_error\":");
            number(f.rel_error);
            raw(",\"allowed\":");
            number(f.allowed);
            ch('}');
        }
        raw("]}");
    }
    static std::size_t check_bound(const check_entry& e) {
        return 400 + bound(e.result.name) + bound(e.skip_reason) + 6 * number_bound +
               location_bound +
               e.result.findings.size() * (100 + location_bound + 5 * number_bound);
    }

  private:
    buffer& out_;
    std::size_t start_;
    number_cache& numbers_;
    char* p_ = nullptr;
};

class json_report final : public report {
  public:
    json_report(output_sink& out, std::FILE* messages) : out_(out), messages_(messages) {
        write_raw(out_.buffer(), "{\"cases\":[");
    }

    void add_case(const std::string& file, const eval_case& c, const evaluation& e) override {
        std::size_t bound =
            512 + file_json(file).size() + (c.name ? entry_writer::bound(*c.name) : number_bound) +
            entry_writer::matrix_bound(e.probs.size()) + entry_writer::matrix_bound(e.loss.size()) +
            entry_writer::matrix_bound(e.grad.size());
        for (const check_entry& k : e.checks)
            bound += entry_writer::check_bound(k) + 1;
        {
            entry_writer w(out_.buffer(), bound, numbers_);
            w.raw(any_ ? ",\n{\"file\":" : "\n{\"file\":");
            any_ = true;
            w.raw(file_json_);
            w.raw(",\"index\":");
            w.index(c.index);
            w.raw(",\"line\":");
            w.optional_index(c.line);
            w.raw(",\"name\":");
            if (c.name) {
                w.string(*c.name);
            } else {
                w.raw("\"#");
                w.index(c.index);
                w.ch('"');
            }
            w.raw(e.failed() ? ",\"status\":\"fail\"" : ",\"status\":\"pass\"");
            w.raw(",\"rows\":");
            w.index(c.rows);
            w.raw(",\"classes\":");
            w.index(c.classes);
            w.raw(",\"reduction\":\"");
            w.raw(xentcheck::to_string(c.reduction));
            w.raw("\",\"dtype\":\"");
            w.raw(to_string(c.dtype));
            w.raw("\",\"probs\":");
            w.matrix(e.probs, c.classes, c.batched);
            w.raw(",\"loss\":");
            if (c.reduction == xentcheck::reduction::none) {
                w.matrix(e.loss, e.loss.size(), false);
            } else {
                w.number(e.loss.front());
            }
            w.raw(",\"grad\":");
            w.matrix(e.grad, c.classes, c.batched);
            w.raw(",\"checks\":[");
            for (std::size_t k = 0; k < e.checks.size(); ++k) {
                if (k) w.ch(',');
                if (k == check_names_.size()) check_names_.emplace_back();
                w.check(e.checks[k], check_names_[k]);
            }
            w.raw("],\"field\":null,\"error\":null}");
        }
        out_.maybe_flush();
    }

    void add_problem(const input_problem& p) override {
        const std::string message = p.to_string();
        if (messages_) std::fprintf(messages_, "xentcheck: %s\n", message.c_str());
        buffer& out = out_.buffer();
        write_raw(out, any_ ? ",\n" : "\n");
        any_ = true;
        write_raw(out, "{\"file\":");
        write_json_string(out, p.file);
        write_raw(out, ",\"index\":");
        write_index(out, p.case_index);
        write_raw(out, ",\"line\":");
        write_index(out, p.line);
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
    static void write_index(buffer& out, const std::optional<std::size_t>& v) {
        if (v) {
            fmt::format_to(fmt::appender(out), "{}", *v);
        } else {
            write_raw(out, "null");
        }
    }

    /// The file name as a JSON string; it is the same for every case of a file, so it is
    /// escaped once.
    const std::string& file_json(const std::string& file) {
        if (file != file_ || file_json_.empty()) {
            file_ = file;
            file_json_ = json_string(file);
        }
        return file_json_;
    }

    output_sink& out_;
    std::FILE* messages_;
    bool any_ = false;
    number_cache numbers_;
    std::string file_, file_json_;
    std::vector<cached_name> check_names_;  // by position in the checks array
};

}  // namespace

std::unique_ptr<report> make_json_report(output_sink& out, std::FILE* messages) {
    return std::make_unique<json_report>(out, messages);
}

}  // namespace xentcheck::cli
