/// case_line_cursor.h: the forward-only JSON reader behind fast_parse_case (internal to cli_core).
#pragma once

#include <charconv>
#include <cmath>
#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

#include "case_values.h"
#include "xentcheck/cli/json_numbers.h"
#include "xentcheck/common/json_number_reader.h"

namespace xentcheck::cli::detail::line_reading {

inline bool is_digit(char c) {
    return c >= '0' && c <= '9';
}

/// What a number looked like in the text (integer literals keep their exact value).
struct number_token {
    double value = 0;
    bool integer = false;      ///< an integer literal that fits int64
    std::int64_t whole = 0;    ///< its value
    bool from_string = false;  ///< a non-finite string
};

/// Shape of an array read by read_array (rectangular: ragged rows are declined).
struct array_shape {
    std::size_t rows = 0;
    std::size_t columns = 0;
    bool nested = false;
};

/// A forward-only reader over one line. Every method returns false at the first thing outside
/// the fast form; the caller then gives the line to the full parser.
class cursor {
  public:
    explicit cursor(std::string_view text) : p_(text.data()), end_(text.data() + text.size()) {}

    char peek() {
        while (p_ < end_ && (*p_ == ' ' || *p_ == '\t' || *p_ == '\n' || *p_ == '\r'))
            ++p_;
        return p_ < end_ ? *p_ : '\0';
    }
    bool consume(char c) {
        if (peek() != c) return false;
        ++p_;
        return true;
    }
    bool at_end() { return peek() == '\0' && p_ == end_; }

    /// A string of printable ASCII without escapes (what the JSON parser would keep as is).
    bool string(std::string_view& out) {
        if (!consume('"')) return false;
        const char* start = p_;
        for (; p_ < end_; ++p_) {
            const auto c = static_cast<unsigned char>(*p_);
            if (c == '"') {
                out = std::string_view(start, static_cast<std::size_t>(p_ - start));
                ++p_;
                return true;
            }
            if (c < 0x20 || c >= 0x80 || c == '\\') return false;
        }
        return false;
    }

    /// A number in JSON's grammar, or a string that parse_non_finite accepts. The value is the
    /// double the JSON parser + json_to_double give: the correctly rounded value of the
    /// literal, except that integer literals are integers there, so "-0" is +0.
    bool number(number_token& out) {
        if (peek() == '"') {
            std::string_view text;
            if (!string(text)) return false;
            const std::optional<double> v = parse_non_finite(text);
            if (!v) return false;
            out = number_token{*v, false, 0, true};
            return true;
        }
        // A literal in JSON's grammar, read to the double std::from_chars gives for it; where
        // the grammar ends early ("01" reads "0") the caller then finds no delimiter. Not a
        // literal, or out of double's range: not the fast form.
        const char* const q = common::read_json_number(p_, end_, out.value);
        if (q == nullptr) return false;
        const char* const d = p_ + (*p_ == '-');
        const char* c = d + 1;
        while (c != q && is_digit(*c))
            ++c;
        const bool integer = c == q;
        out.from_string = false;
        out.integer = false;
        if (integer) {
            if (out.value == 0) out.value = 0.0;  // "-0" is the integer 0
            const auto w = std::from_chars(p_, q, out.whole);
            out.integer = w.ec == std::errc() && w.ptr == q;
        }
        p_ = q;
        return true;
    }

    /// A 1-D array of numbers or a 2-D array of equal, non-empty rows into `values` (cleared
    /// first). Every number must satisfy `rule`; integer literals also go to `wholes` when
    /// given (`all_whole` tells whether every element was an integer value).
    bool array(std::vector<double>& values, array_shape& shape, number_rule rule,
               std::vector<std::int64_t>* wholes = nullptr, bool* all_whole = nullptr) {
        values.clear();
        if (wholes) wholes->clear();
        if (all_whole) *all_whole = true;
        if (!consume('[')) return false;
        shape = array_shape{};
        shape.nested = peek() == '[';
        if (!shape.nested) {
            if (!row(values, rule, wholes, all_whole) || !consume(']')) return false;
            shape.rows = 1;
            shape.columns = values.size();
            return true;
        }
        if (wholes == nullptr && static_cast<std::size_t>(end_ - p_) >= split_rows_from) {
            const char* const start = p_;
            if (rows_in_two_threads(values, shape, rule)) return true;
            p_ = start;  // not in the form it splits: read as below (which fails where it did)
            values.clear();
            shape = array_shape{};
            shape.nested = true;
        }
        do {
            if (!consume('[')) return false;
            const std::size_t before = values.size();
            if (!row(values, rule, wholes, all_whole) || !consume(']')) return false;
            const std::size_t length = values.size() - before;
            if (shape.rows == 0) shape.columns = length;
            if (length != shape.columns) return false;
            ++shape.rows;
        } while (consume(','));
        return consume(']');
    }

    /// Text from which array() reads a nested array's rows in two threads (a large case's
    /// logits: parsing their numbers is most of reading it, and one core would wait).
    static constexpr std::size_t split_rows_from = std::size_t{4} << 20;

  private:
    /// array()'s rows (p_ after the outer '[') in two threads when the array has two rows or
    /// more: the rows' ends are found first (a row holds no ']': numbers and the non-finite
    /// strings have none), then each thread reads whole rows with row(), and the second half's
    /// numbers are appended to the first's. False, with p_ and `values` to be reset, when the
    /// text is not rows of numbers closed by ']' or a row does not read as row() reads it.
    bool rows_in_two_threads(std::vector<double>& values, array_shape& shape, number_rule rule);
    /// The rows whose texts (between '[' and ']') are [first, last), appended to `out` as
    /// array() reads them; `columns` is the first row's length (0: not yet known), which every
    /// row must have.
    static bool read_rows(const std::string_view* first, const std::string_view* last,
                          number_rule rule, std::vector<double>& out, std::size_t& columns);

    /// One or more numbers separated by commas (an empty array or row is an input error).
    bool row(std::vector<double>& values, number_rule rule, std::vector<std::int64_t>* wholes,
             bool* all_whole) {
        number_token t;
        do {
            if (!number(t) || !allowed(t.value, rule)) return false;
            values.push_back(t.value);
            if (wholes) {
                std::int64_t w = 0;
                if (!as_integer(t, w)) {
                    *all_whole = false;
                } else {
                    wholes->push_back(w);
                }
            }
        } while (consume(','));
        return true;
    }

  public:
    static bool allowed(double v, number_rule rule) {
        switch (rule) {
            case number_rule::any:
                return true;
            case number_rule::finite:
                return std::isfinite(v);
            case number_rule::finite_nonnegative:
                return std::isfinite(v) && v >= 0;
        }
        return false;
    }

    /// read_integer's rule: an integer literal within int64, or an integral finite value of
    /// magnitude below 2^63 written as a float (not a string, not an unsigned beyond int64).
    static bool as_integer(const number_token& t, std::int64_t& out) {
        if (t.from_string) return false;
        if (t.integer) {
            out = t.whole;
            return true;
        }
        // An integer literal outside int64 is declined (the full parser explains it).
        if (!std::isfinite(t.value) || std::trunc(t.value) != t.value ||
            std::abs(t.value) >= 0x1p63) {
            return false;
        }
        out = static_cast<std::int64_t>(t.value);
        return true;
    }

  private:
    const char* p_;
    const char* end_;
};

}  // namespace xentcheck::cli::detail::line_reading
