/// JSON text output helpers: escaped strings and arrays of numbers.
#include "xentcheck/cli/json_out.h"

#include <cstdint>
#include <cstring>

namespace xentcheck::cli {

namespace {

/// Length of the valid UTF-8 sequence starting at text[k], or 0 if it is not valid.
std::size_t utf8_sequence_length(std::string_view text, std::size_t k) {
    const auto byte = [&](std::size_t i) { return static_cast<unsigned char>(text[i]); };
    const unsigned char b = byte(k);
    std::size_t n = 0;
    unsigned min_code = 0;
    unsigned code = 0;
    if (b >= 0xC2 && b <= 0xDF) {
        n = 2, min_code = 0x80, code = b & 0x1Fu;
    } else if (b >= 0xE0 && b <= 0xEF) {
        n = 3, min_code = 0x800, code = b & 0x0Fu;
    } else if (b >= 0xF0 && b <= 0xF4) {
        n = 4, min_code = 0x10000, code = b & 0x07u;
    } else {
        return 0;
    }
    if (k + n > text.size()) return 0;
    for (std::size_t i = 1; i < n; ++i) {
        if ((byte(k + i) & 0xC0u) != 0x80u) return 0;
        code = (code << 6) | (byte(k + i) & 0x3Fu);
    }
    if (code < min_code || code > 0x10FFFF || (code >= 0xD800 && code <= 0xDFFF)) return 0;
    return n;
}

}  // namespace

namespace detail {

char* write_json_string(char* out, std::string_view text) noexcept {
    *out++ = '"';
    std::size_t k = 0;
    while (k < text.size()) {
        // Copy the run of bytes that need no escaping in one go (the common case), testing
        // eight bytes at a time for a control character, a non-ASCII byte, '"' or '\\'.
        std::size_t run = k;
        while (run + 8 <= text.size()) {
            std::uint64_t w;
            std::memcpy(&w, text.data() + run, 8);
            constexpr std::uint64_t ones = 0x0101010101010101u, highs = 0x8080808080808080u;
            const auto has_zero = [](std::uint64_t v) { return (v - ones) & ~v & highs; };
            if (((w - 0x20 * ones) | w | has_zero(w ^ ('"' * ones)) | has_zero(w ^ ('\\' * ones))) &
                highs) {
                break;
            }
            run += 8;
        }
        while (run < text.size()) {
            const auto b = static_cast<unsigned char>(text[run]);
            if (b < 0x20 || b >= 0x80 || b == '"' || b == '\\') break;
            ++run;
        }
        if (run > k) {
            std::memcpy(out, text.data() + k, run - k);
            out += run - k;
            k = run;
            continue;
        }
        const auto c = static_cast<unsigned char>(text[k]);
        if (c >= 0x80) {
            const std::size_t n = utf8_sequence_length(text, k);
            if (n == 0) {
                std::memcpy(out, "\xEF\xBF\xBD", 3);  // U+FFFD
                out += 3;
                ++k;
            } else {
                std::memcpy(out, text.data() + k, n);
                out += n;
                k += n;
            }
            continue;
        }
        *out++ = '\\';
        switch (c) {
            case '"':
            case '\\':
                *out++ = static_cast<char>(c);
                break;
            case '\n':
                *out++ = 'n';
                break;
            case '\t':
                *out++ = 't';
                break;
            case '\r':
                *out++ = 'r';
                break;
            default: {  // other control characters
                static constexpr char hex[] = "0123456789abcdef";
                std::memcpy(out, "u00", 3);
                out[3] = hex[c >> 4];
                out[4] = hex[c & 0xF];
                out += 5;
            }
        }
        ++k;
    }
    *out++ = '"';
    return out;
}

}  // namespace detail

void write_json_string(fmt::memory_buffer& out, std::string_view text) {
    const std::size_t size = out.size();
    out.resize(size + detail::json_string_bound(text.size()));
    char* const end = detail::write_json_string(out.data() + size, text);
    out.resize(static_cast<std::size_t>(end - out.data()));
}

std::string json_string(std::string_view text) {
    fmt::memory_buffer b;
    write_json_string(b, text);
    return fmt::to_string(b);
}

void write_json_numbers(fmt::memory_buffer& out, std::span<const double> values) {
    out.push_back('[');
    for (std::size_t k = 0; k < values.size(); ++k) {
        if (k) out.push_back(',');
        write_json_number(out, values[k]);
    }
    out.push_back(']');
}

void write_json_matrix(fmt::memory_buffer& out, std::span<const double> values, std::size_t columns,
                       bool nested) {
    if (!nested || columns == 0) {
        write_json_numbers(out, values);
        return;
    }
    out.push_back('[');
    for (std::size_t row = 0; row * columns < values.size(); ++row) {
        if (row) out.push_back(',');
        write_json_numbers(out, values.subspan(row * columns, columns));
    }
    out.push_back(']');
}

}  // namespace xentcheck::cli
