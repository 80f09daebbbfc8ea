/// line_writer.h: protocol lines written straight into a string's buffer (internal to
/// check_core).
#pragma once

#include <charconv>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "json_number_codec.h"

namespace xentcheck::check::detail {

/// Writes one protocol line straight into a string's buffer: one resize to an upper bound of
/// the line's length (plus the room the number writer's block copies need) instead of an
/// append, with its capacity check, per character or number; finish() cuts to the text.
class line_writer {
  public:
    /// Appends to `out`; `bound`: at most this many characters are written.
    line_writer(std::string& out, std::size_t bound) : out_(out) {
        const std::size_t base = out.size();
        out.resize(base + bound + json_number_room);
        p_ = out.data() + base;
    }
    /// Writes at out[at] on, over what is there: `out` only grows (when it is short of the
    /// room) and keeps its size; end() says where the text ends (finish() is for the
    /// appending form).
    line_writer(std::string& out, std::size_t at, std::size_t bound) : out_(out) {
        if (out.size() < at + bound + json_number_room) out.resize(at + bound + json_number_room);
        p_ = out.data() + at;
    }
    /// Upper bounds of a number's and an integer's text, each with a separating comma.
    static constexpr std::size_t number_chars = max_json_number_chars + 1;
    static constexpr std::size_t integer_chars = 21;

    /// Writes a string literal (without its terminating zero).
    template <std::size_t N>
    void text(const char (&s)[N]) {
        std::memcpy(p_, s, N - 1);
        p_ += N - 1;
    }
    /// Writes `s`.
    void text(std::string_view s) {
        std::memcpy(p_, s.data(), s.size());
        p_ += s.size();
    }
    /// Writes `c`.
    void character(char c) { *p_++ = c; }
    /// Writes a number as append_json_number does.
    void number(double value) { p_ = write_json_number(p_, value); }
    /// Writes an integer as append_json_integer does.
    void integer(std::int64_t value) { p_ = std::to_chars(p_, p_ + integer_chars, value).ptr; }
    /// Writes `count` numbers as a JSON array.
    void array(const double* values, std::size_t count) {
        *p_++ = '[';
        for (std::size_t j = 0; j < count; ++j) {
            p_ = write_json_number(p_, values[j]);
            *p_++ = ',';
        }
        p_[count == 0 ? 0 : -1] = ']';  // the last comma, or after '['
        p_ += count == 0 ? 1 : 0;
    }
    /// Writes `rows` x `cols` numbers (row-major) as an array of arrays.
    void matrix(const double* values, std::size_t rows, std::size_t cols) {
        *p_++ = '[';
        for (std::size_t i = 0; i < rows; ++i) {
            if (i != 0) *p_++ = ',';
            array(values + i * cols, cols);
        }
        *p_++ = ']';
    }
    /// The characters of `rows` x `cols` numbers written by matrix().
    static std::size_t matrix_chars(std::size_t rows, std::size_t cols) {
        return rows * cols * number_chars + rows * 3 + 2;
    }
    /// The offset in the string where the written text ends.
    std::size_t end() const noexcept { return static_cast<std::size_t>(p_ - out_.data()); }
    /// Cuts the string to the written text (the appending form).
    void finish() { out_.resize(end()); }

  private:
    std::string& out_;
    char* p_ = nullptr;
};

/// Room for the member names, id, strings, options and the closing "}\n" of a line.
constexpr std::size_t line_frame_chars = 256;

}  // namespace xentcheck::check::detail
