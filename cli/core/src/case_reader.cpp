/// Case files read one case at a time; JSON Lines streamed line by line.
#include "xentcheck/cli/case_reader.h"

#include <stdio.h>  // getline (POSIX)
#include <sys/stat.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <string_view>

#include "case_fast_parse.h"
#include "xentcheck/cli/case_parse.h"
#include "xentcheck/cli/json_parse.h"

namespace xentcheck::cli {

namespace {

using json = nlohmann::json;

bool is_blank(std::string_view s) {
    return s.find_first_not_of(" \t\r\n") == std::string_view::npos;
}

/// Reads a whole file; returns false with errno's description in `error` on failure. A regular
/// file is read straight into a string of its size (a 20 MB case would otherwise be copied
/// through every doubling of the string); the loop after it takes what is left (a file that
/// grew, or a pipe).
bool read_file(std::FILE* f, std::string& out, std::string& error) {
    struct stat st {};
    if (fstat(fileno(f), &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0) {
        out.resize(static_cast<std::size_t>(st.st_size));
        out.resize(std::fread(out.data(), 1, out.size(), f));
    }
    char chunk[1 << 16];
    for (;;) {
        const std::size_t n = std::fread(chunk, 1, sizeof chunk, f);
        out.append(chunk, n);
        if (n < sizeof chunk) break;
    }
    if (std::ferror(f)) {
        error = std::strerror(errno);
        return false;
    }
    return true;
}

std::string syntax_message(const json_syntax_error& e, std::size_t line) {
    std::string m = std::string("invalid JSON: ") + e.what();
    // A JSON Lines file read as one document fails at the start of its second line.
    if (line > 1 && m.find("expected end of input") != std::string::npos) {
        m += " (several JSON values: is this a JSON Lines file? name it *.jsonl)";
    }
    return m;
}

}  // namespace

bool is_json_lines_path(const std::string& path) {
    if (path.size() < 6) return false;
    std::string ext = path.substr(path.size() - 6);
    for (char& ch : ext)
        ch = static_cast<char>(ch >= 'A' && ch <= 'Z' ? ch - 'A' + 'a' : ch);
    return ext == ".jsonl";
}

case_reader::case_reader(std::string path) : path_(std::move(path)) {}

case_reader::~case_reader() {
    if (file_) std::fclose(file_);
    std::free(line_buffer_);
}

case_reader::status case_reader::file_error(std::string message, std::string field) {
    form_ = form::finished;
    problem_ = input_problem{};
    problem_.file = path_;
    problem_.field = std::move(field);
    problem_.message = std::move(message);
    return status::error;
}

case_reader::status case_reader::parse_into_case(const json& value) {
    case_.index = case_count_++;
    case_.line = form_ == form::json_lines ? std::optional(line_number_) : std::nullopt;
    try {
        parse_case(value, case_);
        return status::ok;
    } catch (const field_error& e) {
        problem_ = input_problem{};
        problem_.file = path_;
        problem_.case_index = case_.index;
        problem_.case_name = case_.name;
        problem_.line = case_.line;
        problem_.field = e.field();
        problem_.message = e.what();
        return status::error;
    }
}

void case_reader::open() {
    file_ = std::fopen(path_.c_str(), "rb");
    if (!file_) {
        file_error(std::string("cannot open: ") + std::strerror(errno));
        return;
    }
    if (is_json_lines_path(path_)) {
        form_ = form::json_lines;
        return;
    }
    std::string text, error;
    const bool read = read_file(file_, text, error);
    std::fclose(file_);
    file_ = nullptr;
    if (!read) {
        file_error("cannot read: " + error);
        return;
    }
    // A file of one common case (the usual form of a large, vocabulary-sized case) is read
    // directly, as JSON Lines are; anything else goes through the JSON parser.
    case_.index = 0;
    case_.line = std::nullopt;
    if (detail::fast_parse_case(text, case_)) {
        form_ = form::document;
        single_case_ = single_case_read_ = true;
        return;
    }
    try {
        parse_json_text(text, document_, rewrite_scratch_);
    } catch (const json_syntax_error& e) {
        file_error(syntax_message(e, e.line().value_or(0)));
        problem_.line = e.line();
        problem_.column = e.column();
        return;
    }
    form_ = form::document;
    if (document_.is_array()) {
        cases_ = &document_;
    } else if (document_.is_object() && document_.contains("cases")) {
        for (const auto& [key, value] : document_.items()) {
            if (key == "cases") continue;
            const bool repeated = key.rfind(duplicate_key_prefix, 0) == 0;
            file_error(repeated ? "\"cases\" is given more than once"
                                : "unknown top-level field next to \"cases\" (a file "
                                  "{\"cases\": [...]} has no other fields)",
                       repeated ? "cases" : key);
            return;
        }
        cases_ = &document_["cases"];
        if (!cases_->is_array()) {
            file_error("expected an array of cases, got " + describe_json_value(*cases_), "cases");
        }
    } else if (document_.is_object()) {
        cases_ = &document_;
        single_case_ = true;
    } else {
        file_error("expected a case object, an array of cases or {\"cases\": [...]}, got " +
                   describe_json_value(document_));
    }
}

case_reader::status case_reader::next_in_document() {
    if (single_case_) {
        form_ = form::finished;
        if (single_case_read_) {
            ++case_count_;
            return status::ok;
        }
        return parse_into_case(*cases_);
    }
    if (case_count_ >= cases_->size()) {
        form_ = form::finished;
        document_ = json();
        return status::done;
    }
    return parse_into_case((*cases_)[case_count_]);
}

case_reader::status case_reader::next_line() {
    for (;;) {
        errno = 0;
        const ssize_t n = ::getline(&line_buffer_, &line_capacity_, file_);
        if (n < 0) {
            const bool failed = std::ferror(file_) != 0;
            const int err = errno;
            std::fclose(file_);
            file_ = nullptr;
            if (failed) return file_error(std::string("cannot read: ") + std::strerror(err));
            form_ = form::finished;
            return status::done;
        }
        ++line_number_;
        std::string_view line(line_buffer_, static_cast<std::size_t>(n));
        // Without the line end, a syntax error at the end of the line gets its own column.
        while (!line.empty() && (line.back() == '\n' || line.back() == '\r'))
            line.remove_suffix(1);
        if (is_blank(line)) continue;
        // Common valid lines are read directly; anything else (including every invalid line)
        // goes through the JSON parser and parse_case, which explain what is wrong.
        case_.index = case_count_;
        case_.line = line_number_;
        if (detail::fast_parse_case(line, case_)) {
            ++case_count_;
            return status::ok;
        }
        try {
            parse_json_text(line, line_value_, rewrite_scratch_);
        } catch (const json_syntax_error& e) {
            problem_ = input_problem{};
            problem_.file = path_;
            problem_.case_index = case_count_++;
            problem_.line = line_number_;
            problem_.column = e.column();
            problem_.message = std::string("invalid JSON: ") + e.what();
            return status::error;
        }
        return parse_into_case(line_value_);
    }
}

case_reader::status case_reader::next() {
    if (form_ == form::unopened) {
        open();
        if (form_ == form::finished) return status::error;
    }
    switch (form_) {
        case form::json_lines:
            return next_line();
        case form::document:
            return next_in_document();
        default:
            return status::done;
    }
}

}  // namespace xentcheck::cli
