/// An eval_case back to the case format, as one line of JSON.
#include "xentcheck/cli/case_writer.h"

#include <iterator>

#include "xentcheck/cli/json_out.h"

namespace xentcheck::cli {

namespace {

void write_key(fmt::memory_buffer& out, std::string_view key, bool& first) {
    if (!first) out.push_back(',');
    first = false;
    write_json_string(out, key);
    out.push_back(':');
}

void write_target(fmt::memory_buffer& out, const eval_case& c) {
    if (c.target_kind == xentcheck::target_view::kind::probability) {
        write_json_matrix(out, c.target_probs, c.classes, c.batched);
        return;
    }
    if (c.target_is_scalar) {
        fmt::format_to(fmt::appender(out), "{}", c.target_indices.front());
        return;
    }
    out.push_back('[');
    for (std::size_t i = 0; i < c.target_indices.size(); ++i) {
        if (i) out.push_back(',');
        fmt::format_to(fmt::appender(out), "{}", c.target_indices[i]);
    }
    out.push_back(']');
}

}  // namespace

void write_case(fmt::memory_buffer& out, const eval_case& c) {
    bool first = true;
    out.push_back('{');
    if (c.name) {
        write_key(out, "name", first);
        write_json_string(out, *c.name);
    }
    if (c.note) {
        write_key(out, "note", first);
        write_json_string(out, *c.note);
    }
    write_key(out, c.from_probs ? "probs" : "logits", first);
    write_json_matrix(out, c.given, c.classes, c.batched);
    write_key(out, "target", first);
    write_target(out, c);
    if (!c.weight.empty()) {
        write_key(out, "weight", first);
        write_json_numbers(out, c.weight);
    }
    if (c.ignore_index != -100) {
        write_key(out, "ignore_index", first);
        fmt::format_to(fmt::appender(out), "{}", c.ignore_index);
    }
    if (c.label_smoothing != 0) {
        write_key(out, "label_smoothing", first);
        write_json_number(out, c.label_smoothing);
    }
    if (c.reduction != xentcheck::reduction::mean) {
        write_key(out, "reduction", first);
        write_json_string(out, xentcheck::to_string(c.reduction));
    }
    if (c.dtype != dtype::float64) {
        write_key(out, "dtype", first);
        write_json_string(out, to_string(c.dtype));
    }
    const expected_values& e = c.expect;
    if (e.has_probs || e.has_loss || e.has_grad) {
        write_key(out, "expect", first);
        bool first_expect = true;
        out.push_back('{');
        if (e.has_probs) {
            write_key(out, "probs", first_expect);
            write_json_matrix(out, e.probs, c.classes, c.batched);
        }
        if (e.has_loss) {
            write_key(out, "loss", first_expect);
            if (e.loss_is_array) {
                write_json_numbers(out, e.loss);
            } else {
                write_json_number(out, e.loss.front());
            }
        }
        if (e.has_grad) {
            write_key(out, "grad", first_expect);
            write_json_matrix(out, e.grad, c.classes, c.batched);
        }
        out.push_back('}');
    }
    if (c.tolerance) {
        write_key(out, "tolerance", first);
        out.append(std::string_view("{\"rtol\":"));
        write_json_number(out, c.tolerance->rtol);
        out.append(std::string_view(",\"atol\":"));
        write_json_number(out, c.tolerance->atol);
        out.push_back('}');
    }
    out.push_back('}');
}

std::string case_to_json(const eval_case& c) {
    fmt::memory_buffer b;
    write_case(b, c);
    return fmt::to_string(b);
}

}  // namespace xentcheck::cli
