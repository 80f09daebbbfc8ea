/// case_line_cursor.cpp: the cursor's reading of a large array's rows in two threads.
#include "case_line_cursor.h"

#include <cstring>
#include <system_error>
#include <thread>

namespace xentcheck::cli::detail::line_reading {

bool cursor::read_rows(const std::string_view* first, const std::string_view* last,
                       number_rule rule, std::vector<double>& out, std::size_t& columns) {
    for (; first != last; ++first) {
        cursor in(*first);
        const std::size_t before = out.size();
        if (!in.row(out, rule, nullptr, nullptr) || !in.at_end()) return false;
        const std::size_t length = out.size() - before;
        if (columns == 0) columns = length;
        if (length != columns) return false;
    }
    return true;
}

bool cursor::rows_in_two_threads(std::vector<double>& values, array_shape& shape,
                                 number_rule rule) {
    std::vector<std::string_view> rows;  // each row's text, between its '[' and its ']'
    do {
        if (!consume('[')) return false;
        const void* close = std::memchr(p_, ']', static_cast<std::size_t>(end_ - p_));
        if (close == nullptr) return false;
        rows.emplace_back(p_, static_cast<std::size_t>(static_cast<const char*>(close) - p_));
        p_ = static_cast<const char*>(close) + 1;
    } while (consume(','));
    if (rows.size() < 2 || !consume(']')) return false;
    // The first thread takes the rows that start before the middle of the text.
    const char* const middle =
        rows.front().data() + (rows.back().data() + rows.back().size() - rows.front().data()) / 2;
    std::size_t split = 1;
    while (split + 1 < rows.size() && rows[split].data() < middle)
        ++split;
    std::vector<double> second;
    std::size_t second_columns = 0;
    bool second_read = false;
    std::thread helper;
    try {
        helper = std::thread([&] {
            try {
                second_read = read_rows(rows.data() + split, rows.data() + rows.size(), rule,
                                        second, second_columns);
            } catch (...) {  // out of memory: the caller reads the array again, in one thread
                second_read = false;
            }
        });
    } catch (const std::system_error&) {  // no thread to be had: the same, in one thread
        return false;
    }
    std::size_t columns = 0;
    bool first_read = false;
    try {
        first_read = read_rows(rows.data(), rows.data() + split, rule, values, columns);
    } catch (...) {
        first_read = false;
    }
    helper.join();
    if (!first_read || !second_read || columns != second_columns) return false;
    values.insert(values.end(), second.begin(), second.end());
    shape.rows = rows.size();
    shape.columns = columns;
    return true;
}

}  // namespace xentcheck::cli::detail::line_reading
