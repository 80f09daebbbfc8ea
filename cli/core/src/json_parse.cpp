/// JSON text to a document: a SAX builder that records error positions and repeated keys.
#include "xentcheck/cli/json_parse.h"

#include <algorithm>
#include <utility>
#include <vector>

namespace xentcheck::cli {

namespace {

using json = nlohmann::json;

/// Builds a document like nlohmann's own DOM parser, but keeps the byte offset of a syntax
/// error, renames repeated keys instead of overwriting, and bounds the nesting depth.
class dom_builder {
  public:
    explicit dom_builder(json& root) : root_(root) {}

    bool null() { return add(nullptr); }
    bool boolean(bool v) { return add(v); }
    bool number_integer(json::number_integer_t v) { return add(v); }
    bool number_unsigned(json::number_unsigned_t v) { return add(v); }
    bool number_float(json::number_float_t v, const json::string_t&) { return add(v); }
    bool string(json::string_t& v) { return add(std::move(v)); }
    bool binary(json::binary_t& v) { return add(json::binary(std::move(v))); }

    bool start_object(std::size_t) { return open(json::value_t::object); }
    bool start_array(std::size_t) { return open(json::value_t::array); }
    bool end_object() { return close(); }
    bool end_array() { return close(); }

    bool key(json::string_t& k) {
        auto& object = stack_.back()->get_ref<json::object_t&>();
        auto [it, inserted] = object.try_emplace(std::move(k));
        if (!inserted) {
            std::string renamed(duplicate_key_prefix);
            renamed += it->first;
            it = object.insert_or_assign(std::move(renamed), json()).first;
        }
        slot_ = &it->second;
        return true;
    }

    bool parse_error(std::size_t position, const std::string&,
                     const nlohmann::detail::exception& e) {
        error_position_ = position;
        error_message_ = e.what();
        return false;
    }

    std::optional<std::size_t> error_position() const { return error_position_; }
    const std::string& error_message() const { return error_message_; }

  private:
    template <class V>
    bool add(V&& v) {
        place(json(std::forward<V>(v)));
        return true;
    }

    json* place(json&& v) {
        if (stack_.empty()) {
            root_ = std::move(v);
            return &root_;
        }
        json& top = *stack_.back();
        if (top.is_array()) {
            auto& a = top.get_ref<json::array_t&>();
            a.push_back(std::move(v));
            return &a.back();
        }
        *slot_ = std::move(v);
        return slot_;
    }

    bool open(json::value_t type) {
        if (stack_.size() >= max_json_depth) {
            error_message_ = "arrays and objects nested deeper than " +
                             std::to_string(max_json_depth) + " levels";
            return false;
        }
        stack_.push_back(place(json(type)));
        return true;
    }

    bool close() {
        stack_.pop_back();
        return true;
    }

    json& root_;
    std::vector<json*> stack_;
    json* slot_ = nullptr;
    std::optional<std::size_t> error_position_;
    std::string error_message_;
};

/// nlohmann's messages start with "[json.exception.parse_error.101] parse error at line 1,
/// column 10: "; the position is reported separately (in the original text), so drop it.
std::string clean_message(std::string m) {
    if (!m.empty() && m.front() == '[') {
        const auto end = m.find("] ");
        if (end != std::string::npos) m.erase(0, end + 2);
    }
    if (m.rfind("parse error", 0) == 0) {
        const auto colon = m.find(": ");
        if (colon != std::string::npos) m.erase(0, colon + 2);
    }
    return m;
}

}  // namespace

void parse_json_text(std::string_view text, json& out, bare_token_rewrite& scratch) {
    const bool rewritten = rewrite_bare_non_finite(text, scratch);
    const std::string_view parsed = rewritten ? std::string_view(scratch.text) : text;
    dom_builder builder(out);
    if (json::sax_parse(parsed.begin(), parsed.end(), &builder)) return;
    out = json();
    if (!builder.error_position()) {
        throw json_syntax_error(clean_message(builder.error_message()), std::nullopt, std::nullopt);
    }
    // The parser reports how many bytes it read; the offending byte is the last one read.
    const std::size_t read = *builder.error_position();
    std::size_t offset = read == 0 ? 0 : read - 1;
    if (rewritten) offset = scratch.original_offset(offset);
    offset = std::min(offset, text.size());
    const std::string_view before = text.substr(0, offset);
    const std::size_t line =
        1 + static_cast<std::size_t>(std::count(before.begin(), before.end(), '\n'));
    const std::size_t line_start = before.rfind('\n');
    const std::size_t column =
        line_start == std::string_view::npos ? offset + 1 : offset - line_start;
    throw json_syntax_error(clean_message(builder.error_message()), line, column);
}

json parse_json_text(std::string_view text) {
    json out;
    bare_token_rewrite scratch;
    parse_json_text(text, out, scratch);
    return out;
}

}  // namespace xentcheck::cli
