/// json_cursor.cpp: the validating JSON reader behind the protocol decoders.
#include "json_cursor.h"

#include <charconv>
#include <cmath>
#include <cstdlib>

#include "json_number_codec.h"
#include "xentcheck/check/json_numbers.h"

namespace xentcheck::check::detail {

namespace {

bool is_digit(char c) noexcept {
    return c >= '0' && c <= '9';
}

/// Appends code point `cp` as UTF-8.
void append_utf8(std::string& out, std::uint32_t cp) {
    if (cp < 0x80) {
        out += static_cast<char>(cp);
    } else if (cp < 0x800) {
        out += static_cast<char>(0xC0 | (cp >> 6));
        out += static_cast<char>(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
        out += static_cast<char>(0xE0 | (cp >> 12));
        out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
        out += static_cast<char>(0x80 | (cp & 0x3F));
    } else {
        out += static_cast<char>(0xF0 | (cp >> 18));
        out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
        out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
        out += static_cast<char>(0x80 | (cp & 0x3F));
    }
}

std::string field_prefix(std::string_view field) {
    return std::string(field) + ": ";
}

}  // namespace

void json_cursor::skip_ws() noexcept {
    while (pos_ < text_.size()) {
        const char c = text_[pos_];
        if (c != ' ' && c != '\t' && c != '\n' && c != '\r') break;
        ++pos_;
    }
}

char json_cursor::peek() {
    skip_ws();
    return pos_ < text_.size() ? text_[pos_] : '\0';
}

void json_cursor::fail_syntax(const char* what) const {
    std::string msg = "not JSON: expected ";
    msg += what;
    msg += " at byte " + std::to_string(pos_);
    if (pos_ >= text_.size()) {
        msg += " (end of line)";
    } else {
        const auto c = static_cast<unsigned char>(text_[pos_]);
        msg += c >= 0x20 && c < 0x7F ? std::string(" (found '") + static_cast<char>(c) + "')"
                                     : " (found byte " + std::to_string(c) + ")";
    }
    throw decode_error(fault_kind::garbage, msg);
}

void json_cursor::expect(char c, const char* what) {
    if (peek() != c) fail_syntax(what);
    ++pos_;
}

bool json_cursor::consume(char c) {
    if (peek() != c) return false;
    ++pos_;
    return true;
}

void json_cursor::expect_end() {
    if (peek() != '\0') fail_syntax("the end of the line after the JSON value");
}

void json_cursor::read_string(std::string& out) {
    out.clear();
    expect('"', "'\"'");
    while (true) {
        const std::size_t run = pos_;
        while (pos_ < text_.size() && text_[pos_] != '"' && text_[pos_] != '\\' &&
               static_cast<unsigned char>(text_[pos_]) >= 0x20)
            ++pos_;
        out.append(text_.substr(run, pos_ - run));
        if (pos_ >= text_.size()) fail_syntax("'\"' closing a string");
        const char c = text_[pos_];
        if (c == '"') {
            ++pos_;
            return;
        }
        if (c != '\\') fail_syntax("no raw control character in a string");
        if (++pos_ >= text_.size()) fail_syntax("an escape");
        const char e = text_[pos_++];
        switch (e) {
            case '"':
            case '\\':
            case '/':
                out += e;
                break;
            case 'b':
                out += '\b';
                break;
            case 'f':
                out += '\f';
                break;
            case 'n':
                out += '\n';
                break;
            case 'r':
                out += '\r';
                break;
            case 't':
                out += '\t';
                break;
            case 'u': {
                auto hex4 = [&]() -> std::uint32_t {
                    std::uint32_t v = 0;
                    if (pos_ + 4 > text_.size()) fail_syntax("four hex digits after \\u");
                    const auto r =
                        std::from_chars(text_.data() + pos_, text_.data() + pos_ + 4, v, 16);
                    if (r.ptr != text_.data() + pos_ + 4) fail_syntax("four hex digits after \\u");
                    pos_ += 4;
                    return v;
                };
                std::uint32_t cp = hex4();
                if (cp >= 0xD800 && cp <= 0xDBFF && text_.substr(pos_, 2) == "\\u") {
                    pos_ += 2;
                    const std::uint32_t low = hex4();
                    if (low < 0xDC00 || low > 0xDFFF) fail_syntax("a low surrogate");
                    cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
                } else if (cp >= 0xD800 && cp <= 0xDFFF) {
                    cp = 0xFFFD;  // lone surrogate
                }
                append_utf8(out, cp);
                break;
            }
            default:
                --pos_;
                fail_syntax("a valid escape");
        }
    }
}

bool json_cursor::read_literal_number(double& out) {
    const char* const end = text_.data() + text_.size();
    if (const char* q = read_json_number(text_.data() + pos_, end, out)) {
        pos_ = static_cast<std::size_t>(q - text_.data());
        return true;
    }
    // Not a JSON literal, or beyond double's range: the grammar again, then strtod.
    const std::size_t start = pos_;
    std::size_t p = pos_;
    const std::size_t n = text_.size();
    if (p < n && text_[p] == '-') ++p;
    if (p < n && text_[p] == '0') {
        ++p;
    } else if (p < n && text_[p] >= '1' && text_[p] <= '9') {
        while (p < n && is_digit(text_[p]))
            ++p;
    } else {
        return false;
    }
    if (p < n && text_[p] == '.') {
        if (++p >= n || !is_digit(text_[p])) return false;
        while (p < n && is_digit(text_[p]))
            ++p;
    }
    if (p < n && (text_[p] == 'e' || text_[p] == 'E')) {
        ++p;
        if (p < n && (text_[p] == '+' || text_[p] == '-')) ++p;
        if (p >= n || !is_digit(text_[p])) return false;
        while (p < n && is_digit(text_[p]))
            ++p;
    }
    const char* first = text_.data() + start;
    const char* last = text_.data() + p;
    const auto r = std::from_chars(first, last, out);
    if (r.ec == std::errc::result_out_of_range) {
        // Beyond double's range: strtod gives +-HUGE_VAL or +-0 (the C locale is never changed
        // by xentcheck, and JSON numbers only use '.').
        const std::string copy(first, last);
        out = std::strtod(copy.c_str(), nullptr);
    } else if (r.ec != std::errc() || r.ptr != last) {
        return false;
    }
    pos_ = p;
    return true;
}

double json_cursor::read_number(std::string_view field) {
    const char c = peek();
    double v = 0;
    if (c == '"') {
        read_string(scratch_);
        if (const auto t = parse_nonfinite_token(scratch_)) return *t;
        throw decode_error(fault_kind::bad_value,
                           field_prefix(field) + "the string \"" + truncate_raw(scratch_, 40) +
                               "\" is not a number (non-finite values are \"inf\", \"-inf\", "
                               "\"nan\")");
    }
    if (c == 'N' && text_.substr(pos_, 3) == "NaN") {
        pos_ += 3;
        return std::nan("");
    }
    if (c == 'I' && text_.substr(pos_, 8) == "Infinity") {
        pos_ += 8;
        return HUGE_VAL;
    }
    if (c == '-' && text_.substr(pos_, 9) == "-Infinity") {
        pos_ += 9;
        return -HUGE_VAL;
    }
    if (c == '-' || is_digit(c)) {
        if (!read_literal_number(v)) fail_syntax("a JSON number");
        return v;
    }
    if (c == '[') {
        throw decode_error(fault_kind::wrong_shape,
                           field_prefix(field) + "an array where a number is due");
    }
    if (c == '{' || c == 't' || c == 'f' || c == 'n') {
        const std::size_t at = pos_;
        skip_value();
        throw decode_error(fault_kind::bad_value,
                           field_prefix(field) + "expected a number, found " +
                               truncate_raw(text_.substr(at, pos_ - at), 40));
    }
    fail_syntax("a number");
}

std::int64_t json_cursor::read_integer(std::string_view field) {
    const char c = peek();
    const std::size_t start = pos_;
    if (c == '-' || is_digit(c)) {
        double ignored = 0;
        if (!read_literal_number(ignored)) fail_syntax("a JSON number");
        std::int64_t v = 0;
        const auto r = std::from_chars(text_.data() + start, text_.data() + pos_, v);
        if (r.ec == std::errc() && r.ptr == text_.data() + pos_) return v;
        throw decode_error(fault_kind::bad_value,
                           field_prefix(field) + "expected an integer, found " +
                               std::string(text_.substr(start, pos_ - start)));
    }
    skip_value();
    throw decode_error(fault_kind::bad_value,
                       field_prefix(field) + "expected an integer, found " +
                           truncate_raw(text_.substr(start, pos_ - start), 40));
}

void json_cursor::read_number_row(numeric_value& out, std::string_view field, std::size_t row) {
    expect('[', "'['");
    const std::size_t first = out.values.size();
    if (!consume(']')) {
        do {
            if (peek() == '[') {
                throw decode_error(fault_kind::wrong_shape,
                                   field_prefix(field) + "arrays nested deeper than 2 levels");
            }
            out.values.push_back(read_number(field));
        } while (consume(','));
        expect(']', "',' or ']' in an array");
    }
    const std::size_t length = out.values.size() - first;
    if (row == 0) {
        out.cols = length;
    } else if (length != out.cols && out.ragged_row == SIZE_MAX) {
        out.ragged_row = row;
        out.ragged_length = length;
    }
    out.rows = row + 1;
}

void json_cursor::read_numeric(numeric_value& out, std::string_view field) {
    out.clear();
    if (peek() != '[') {
        out.values.push_back(read_number(field));
        return;
    }
    ++pos_;
    out.rank = 1;
    if (consume(']')) return;
    const auto mixed = [&] {
        throw decode_error(fault_kind::wrong_shape,
                           field_prefix(field) + "an array mixing numbers and arrays");
    };
    if (peek() == '[') {
        out.rank = 2;
        std::size_t row = 0;
        do {
            if (peek() != '[') mixed();
            read_number_row(out, field, row++);
        } while (consume(','));
    } else {
        do {
            if (peek() == '[') mixed();
            out.values.push_back(read_number(field));
        } while (consume(','));
        out.rows = out.values.size();
    }
    expect(']', "',' or ']' in an array");
}

void json_cursor::skip_value(int depth) {
    if (depth > 64) fail_syntax("at most 64 levels of nesting");
    const char c = peek();
    double v = 0;
    switch (c) {
        case '{':
            ++pos_;
            if (consume('}')) return;
            do {
                if (peek() != '"') fail_syntax("a string key");
                read_string(scratch_);
                expect(':', "':' after a key");
                skip_value(depth + 1);
            } while (consume(','));
            expect('}', "',' or '}' in an object");
            return;
        case '[':
            ++pos_;
            if (consume(']')) return;
            do {
                skip_value(depth + 1);
            } while (consume(','));
            expect(']', "',' or ']' in an array");
            return;
        case '"':
            read_string(scratch_);
            return;
        default:
            break;
    }
    for (const std::string_view word : {"true", "false", "null", "NaN", "Infinity", "-Infinity"}) {
        if (text_.substr(pos_, word.size()) == word) {
            pos_ += word.size();
            return;
        }
    }
    if (!read_literal_number(v)) fail_syntax("a JSON value");
}

}  // namespace xentcheck::check::detail
