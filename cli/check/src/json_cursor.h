/// json_cursor.h: a small validating JSON reader for protocol lines (internal to check_core).
#pragma once

#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "xentcheck/check/fault.h"

namespace xentcheck::check::detail {

/// Thrown by the reader; decoders turn it into a fault of the same kind.
class decode_error : public std::runtime_error {
  public:
    /// `kind`: garbage, bad_value or wrong_shape; `message`: what and where.
    decode_error(fault_kind kind, const std::string& message)
        : std::runtime_error(message), kind_(kind) {}
    /// The fault this error reports.
    fault_kind kind() const noexcept { return kind_; }

  private:
    fault_kind kind_;
};

/// A numeric JSON value of rank 0 (a number), 1 (an array of numbers) or 2 (an array of arrays
/// of numbers), flattened row-major. Rank 2 records the first row's length as `cols` and the
/// first row of another length as `ragged_row`.
struct numeric_value {
    int rank = 0;                       ///< 0, 1 or 2
    std::size_t rows = 0;               ///< rank 1: element count; rank 2: row count
    std::size_t cols = 0;               ///< rank 2: length of the first row
    std::size_t ragged_row = SIZE_MAX;  ///< rank 2: first row whose length differs
    std::size_t ragged_length = 0;      ///< ... and its length
    std::vector<double> values;         ///< the numbers, row-major
    /// Resets to an empty scalar, keeping the capacity.
    void clear() {
        rank = 0;
        rows = cols = ragged_length = 0;
        ragged_row = SIZE_MAX;
        values.clear();
    }
};

/// Reads one JSON text from a string. Numbers follow JSON's grammar (std::from_chars); a value
/// where a number is expected may also be a non-finite string token ("inf", "nan", ...) or one
/// of the bare tokens NaN, Infinity, -Infinity. Errors throw decode_error: syntax errors are
/// `garbage`, strings that are not tokens and non-numbers where numbers are due `bad_value`,
/// arrays nested deeper than 2 (or mixing numbers and arrays) `wrong_shape`.
class json_cursor {
  public:
    /// Reads `text`, which must outlive the cursor.
    explicit json_cursor(std::string_view text) : text_(text) {}

    /// Skips whitespace and returns the next character, or '\0' at the end.
    char peek();
    /// Consumes `c` (after whitespace) or throws garbage naming `what`.
    void expect(char c, const char* what);
    /// Consumes `c` (after whitespace) when it is next.
    bool consume(char c);
    /// Throws garbage unless only whitespace remains.
    void expect_end();

    /// Reads a JSON string into `out` (escapes decoded, \u to UTF-8).
    void read_string(std::string& out);
    /// Reads a number (or non-finite token) for `field`.
    double read_number(std::string_view field);
    /// Reads an integer-valued JSON number for `field` (exactly, up to 64 bits).
    std::int64_t read_integer(std::string_view field);
    /// Reads a number, array of numbers or array of arrays of numbers for `field` into `out`.
    void read_numeric(numeric_value& out, std::string_view field);
    /// Skips any JSON value (nesting limited to 64 levels).
    void skip_value(int depth = 0);

    /// Reads an object, calling `on_key(key)` for each member with the cursor at its value;
    /// the callback must consume the value. Keys are decoded into an internal buffer.
    template <class OnKey>
    void read_object(OnKey&& on_key) {
        expect('{', "'{' opening a JSON object");
        if (consume('}')) return;
        do {
            if (peek() != '"') fail_syntax("a string key");
            read_string(key_);
            expect(':', "':' after a key");
            on_key(std::string_view(key_));
        } while (consume(','));
        expect('}', "',' or '}' in an object");
    }

    /// Throws garbage "expected <what> at byte <pos>".
    [[noreturn]] void fail_syntax(const char* what) const;

  private:
    void skip_ws() noexcept;
    bool read_literal_number(double& out);
    void read_number_row(numeric_value& out, std::string_view field, std::size_t row);

    std::string_view text_;
    std::size_t pos_ = 0;
    std::string key_;
    std::string scratch_;
};

}  // namespace xentcheck::check::detail
