/// The validated case: names, dtype and the views the reference takes.
#include "xentcheck/cli/eval_case.h"

namespace xentcheck::cli {

std::string_view to_string(dtype d) noexcept {
    return d == dtype::float32 ? "float32" : "float64";
}

std::optional<dtype> parse_dtype(std::string_view name) noexcept {
    if (name == "float64") return dtype::float64;
    if (name == "float32") return dtype::float32;
    return std::nullopt;
}

double unit_roundoff_of(dtype d) noexcept {
    return d == dtype::float32 ? xentcheck::unit_roundoff<float>()
                               : xentcheck::unit_roundoff<double>();
}

std::string eval_case::display_name() const {
    return case_display_name(name, index);
}

std::string case_display_name(const std::optional<std::string>& name, std::size_t index) {
    if (name) return *name;
    // Appending (rather than "#" + ...) avoids a false -Wrestrict in GCC 12's operator+.
    std::string s = "#";
    s += std::to_string(index);
    return s;
}

xentcheck::target_view eval_case::target() const {
    return target_kind == xentcheck::target_view::kind::index
               ? xentcheck::target_view::indices(target_indices)
               : xentcheck::target_view::probabilities(target_probs);
}

xentcheck::cross_entropy_options eval_case::options() const {
    xentcheck::cross_entropy_options o;
    o.weight = weight;
    o.ignore_index = ignore_index;
    o.label_smoothing = label_smoothing;
    o.reduction = reduction;
    return o;
}

void eval_case::clear() {
    index = 0;
    line.reset();
    name.reset();
    note.reset();
    from_probs = false;
    batched = false;
    rows = 0;
    classes = 0;
    given.clear();
    logits.clear();
    target_kind = xentcheck::target_view::kind::index;
    target_is_scalar = false;
    target_indices.clear();
    target_probs.clear();
    weight.clear();
    ignore_index = -100;
    label_smoothing = 0;
    reduction = xentcheck::reduction::mean;
    dtype = cli::dtype::float64;
    expect.has_probs = expect.has_loss = expect.has_grad = expect.loss_is_array = false;
    expect.probs.clear();
    expect.loss.clear();
    expect.grad.clear();
    tolerance.reset();
}

}  // namespace xentcheck::cli
