/// The adapter between properties::implementation and the process client.
#include "xentcheck/check/external_implementation.h"

namespace xentcheck::check {

request_ref to_request(const properties::problem& p) {
    request_ref r;
    r.dtype = p.dtype == properties::scalar_type::float32 ? dtype::float32 : dtype::float64;
    r.rows = p.rows;
    r.classes = p.classes;
    r.logits = p.logits;
    if (p.kind() == properties::target_kind::index) {
        r.target_form = target_view::kind::index;
        r.target_indices = p.target_indices();
        if (p.ignore_index != -100) r.ignore_index = p.ignore_index;
    } else {
        r.target_form = target_view::kind::probability;
        r.target_probs = p.target_probs();
    }
    r.weight = p.weight;
    if (p.label_smoothing != 0) r.label_smoothing = p.label_smoothing;
    r.reduction = p.reduction;
    return r;
}

fault_error::fault_error(check::fault f)
    : properties::evaluation_error(f.to_string()), fault_(std::move(f)) {}

external_implementation::external_implementation(std::string name, std::string command,
                                                 client_options options)
    : name_(std::move(name)), client_(std::move(command), options) {}

properties::outputs external_implementation::evaluate(const properties::problem& p) {
    outcome o = client_.evaluate(to_request(p));
    if (!o.ok()) throw fault_error(std::move(o.fault));
    return {std::move(o.values.probs), std::move(o.values.loss), std::move(o.values.grad)};
}

std::vector<outcome> external_implementation::evaluate_batch(
    std::span<const properties::problem> problems, batch_policy policy) {
    std::vector<request_ref> requests;
    requests.reserve(problems.size());
    for (const auto& p : problems)
        requests.push_back(to_request(p));
    return client_.evaluate_batch(requests, policy);
}

std::vector<outcome> external_implementation::evaluate_repeated(const properties::problem& p,
                                                                std::size_t times,
                                                                batch_policy policy) {
    const std::vector<request_ref> requests(times, to_request(p));
    return client_.evaluate_batch(std::span<const request_ref>(requests), policy);
}

}  // namespace xentcheck::check
