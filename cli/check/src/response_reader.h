/// response_reader.h: the direct reader of the usual protocol response (internal to check_core).
#pragma once

#include <charconv>
#include <cstdint>
#include <string_view>
#include <vector>

#include "json_number_codec.h"
#include "xentcheck/check/json_numbers.h"

namespace xentcheck::check::detail {

/// A forward-only reader for the common response form; every method returns false at the
/// first thing outside it.
class response_reader {
  public:
    explicit response_reader(std::string_view text)
        : p_(text.data()), end_(text.data() + text.size()) {}

    char peek() {
        while (p_ < end_ && (*p_ == ' ' || *p_ == '\t' || *p_ == '\r' || *p_ == '\n'))
            ++p_;
        return p_ < end_ ? *p_ : '\0';
    }
    bool consume(char c) {
        if (peek() != c) return false;
        ++p_;
        return true;
    }
    bool at_end() { return peek() == '\0' && p_ == end_; }

    /// A key without escapes.
    bool key(std::string_view& out) {
        if (!consume('"')) return false;
        const char* start = p_;
        while (p_ < end_ && *p_ != '"' && *p_ != '\\')
            ++p_;
        if (p_ == end_ || *p_ != '"') return false;
        out = std::string_view(start, static_cast<std::size_t>(p_ - start));
        ++p_;
        return consume(':');
    }

    /// A JSON number (the double json_cursor reads: std::from_chars of the literal), or a
    /// string parse_nonfinite_token accepts.
    bool number(double& out) {
        if (p_ == end_ || (*p_ != '-' && static_cast<unsigned char>(*p_ - '0') > 9)) {
            if (peek() == '"') return token(out);
        }
        const char* q = read_json_number(p_, end_, out);
        if (!q) return false;
        p_ = q;
        return true;
    }

    /// An integer literal that fits int64.
    bool integer(std::int64_t& out) {
        peek();
        const char* q = literal_end();
        if (!q) return false;
        const auto r = std::from_chars(p_, q, out);
        if (r.ec != std::errc() || r.ptr != q) return false;  // a fraction or exponent
        p_ = q;
        return true;
    }

    /// `rows` rows of `cols` numbers, appended to `out`.
    bool matrix(std::vector<double>& out, std::size_t rows, std::size_t cols) {
        if (!consume('[')) return false;
        for (std::size_t i = 0; i < rows; ++i) {
            if ((i && !consume(',')) || !row(out, cols)) return false;
        }
        return consume(']');
    }

    /// `count` numbers in one array, appended to `out`.
    bool row(std::vector<double>& out, std::size_t count) {
        if (!consume('[')) return false;
        const std::size_t first = out.size();
        out.resize(first + count);
        double* values = out.data() + first;
        for (std::size_t j = 0; j < count; ++j) {
            if (j != 0) {
                if (p_ != end_ && *p_ == ',') {  // the compact form: no whitespace
                    ++p_;
                } else if (!consume(',')) {
                    return false;
                }
            }
            // A literal right here, read inline (read_json_number returns null at anything
            // else: the end, whitespace, a token, an error); the rest through number().
            const char* q = read_json_number(p_, end_, values[j]);
            if (q) {
                p_ = q;
            } else if (!number(values[j])) {
                return false;
            }
        }
        return consume(']');
    }

  private:
    /// A string holding a token parse_nonfinite_token accepts (p_ at its '"').
    bool token(double& out) {
        const char* start = ++p_;
        while (p_ < end_ && *p_ != '"' && *p_ != '\\')
            ++p_;
        if (p_ == end_ || *p_ != '"') return false;
        const auto v =
            parse_nonfinite_token(std::string_view(start, static_cast<std::size_t>(p_ - start)));
        ++p_;
        if (!v) return false;
        out = *v;
        return true;
    }

    /// The end of the JSON number literal at p_ (grammar checked), or null.
    const char* literal_end() const {
        const char* q = p_;
        const auto digit = [&] { return q < end_ && *q >= '0' && *q <= '9'; };
        if (q < end_ && *q == '-') ++q;
        if (q < end_ && *q == '0') {
            ++q;
        } else if (digit()) {
            while (digit())
                ++q;
        } else {
            return nullptr;
        }
        if (q < end_ && *q == '.') {
            ++q;
            if (!digit()) return nullptr;
            while (digit())
                ++q;
        }
        if (q < end_ && (*q == 'e' || *q == 'E')) {
            ++q;
            if (q < end_ && (*q == '+' || *q == '-')) ++q;
            if (!digit()) return nullptr;
            while (digit())
                ++q;
        }
        return q;
    }

    const char* p_;
    const char* end_;
};

}  // namespace xentcheck::check::detail
