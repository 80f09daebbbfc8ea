/// Problems to and from the case format.
#include "xentcheck/check/check_cases.h"

#include "xentcheck/cli/case_reader.h"
#include "xentcheck/cli/case_writer.h"
#include "xentcheck/cli/evaluation.h"

namespace xentcheck::check {

properties::problem problem_of(const cli::eval_case& c) {
    properties::problem p;
    p.dtype = c.dtype == cli::dtype::float32 ? properties::scalar_type::float32
                                             : properties::scalar_type::float64;
    p.rows = c.rows;
    p.classes = c.classes;
    p.logits = c.logits;
    if (c.target_kind == xentcheck::target_view::kind::index) {
        p.target = c.target_indices;
    } else {
        p.target = c.target_probs;
    }
    p.weight = c.weight;
    p.ignore_index = c.ignore_index;
    p.label_smoothing = c.label_smoothing;
    p.reduction = c.reduction;
    properties::validate(p);
    return p;
}

cli::eval_case case_of(const properties::problem& p, const properties::outputs* expect,
                       const std::string& name, const std::string& note) {
    cli::eval_case c;
    if (!name.empty()) c.name = name;
    if (!note.empty()) c.note = note;
    c.batched = true;
    c.rows = p.rows;
    c.classes = p.classes;
    c.given = p.logits;
    c.logits = p.logits;
    if (p.kind() == properties::target_kind::index) {
        c.target_kind = xentcheck::target_view::kind::index;
        c.target_indices = p.target_indices();
    } else {
        c.target_kind = xentcheck::target_view::kind::probability;
        c.target_probs = p.target_probs();
    }
    c.weight = p.weight;
    c.ignore_index = p.ignore_index;
    c.label_smoothing = p.label_smoothing;
    c.reduction = p.reduction;
    c.dtype =
        p.dtype == properties::scalar_type::float32 ? cli::dtype::float32 : cli::dtype::float64;
    if (expect) {
        c.expect.has_probs = c.expect.has_loss = c.expect.has_grad = true;
        c.expect.loss_is_array = p.reduction == xentcheck::reduction::none;
        c.expect.probs = expect->probs;
        c.expect.loss = expect->loss;
        c.expect.grad = expect->grad;
    }
    return c;
}

std::string case_json(const cli::eval_case& c) {
    return cli::case_to_json(c);
}

bool eval_fails(const cli::eval_case& c) {
    try {
        cli::evaluator e;
        return e.evaluate(c).failed();
    } catch (const std::exception&) {
        return true;
    }
}

bool has_nonnegative_targets(const properties::problem& p) {
    for (const double w : p.weight)
        if (w < 0) return false;
    if (p.kind() == properties::target_kind::probability) {
        for (const double y : p.target_probs())
            if (y < 0) return false;
    }
    return true;
}

std::vector<fixed_case> read_fixed_cases(const std::vector<std::string>& files,
                                         std::vector<cli::input_problem>& problems) {
    std::vector<fixed_case> out;
    for (const std::string& file : files) {
        cli::case_reader reader(file);
        for (;;) {
            const auto status = reader.next();
            if (status == cli::case_reader::status::done) break;
            if (status == cli::case_reader::status::error) {
                problems.push_back(reader.problem());
                continue;
            }
            const cli::eval_case& c = reader.current();
            std::string origin = file + ": case " + std::to_string(c.index);
            if (c.name) origin += " (\"" + *c.name + "\")";
            try {
                out.push_back({problem_of(c), origin});
            } catch (const xentcheck::input_error& e) {
                cli::input_problem bad;
                bad.file = file;
                bad.case_index = c.index;
                bad.case_name = c.name;
                bad.line = c.line;
                bad.field = e.field();
                bad.message = std::string(e.what()) +
                              " (check --cases sends a case's inputs "
                              "to the implementation as they are)";
                problems.push_back(std::move(bad));
            }
        }
    }
    return out;
}

}  // namespace xentcheck::check
