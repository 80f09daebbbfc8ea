/// The accuracy dump writer (see dump.h and docs/accuracy.md for the format).
#include "dump.h"

#include <bit>
#include <stdexcept>
#include <vector>

namespace xentcheck::accuracy {

namespace {

static_assert(std::endian::native == std::endian::little, "the dump is little-endian");

template <class T>
void put(std::ofstream& out, T x) {
    out.write(reinterpret_cast<const char*>(&x), sizeof x);
}

template <class T>
void put_all(std::ofstream& out, const std::vector<T>& xs) {
    out.write(reinterpret_cast<const char*>(xs.data()),
              static_cast<std::streamsize>(xs.size() * sizeof(T)));
}

std::vector<double> residuals(const std::vector<oracle::value>& values) {
    std::vector<double> out;
    out.reserve(values.size());
    for (const auto& v : values)
        out.push_back(v.residual);
    return out;
}

}  // namespace

dump_writer::dump_writer(const std::string& path, std::uint64_t seed, std::uint64_t cases,
                         long precision)
    : out_(path, std::ios::binary | std::ios::trunc), path_(path) {
    if (!out_) throw std::runtime_error(path + ": cannot open for writing");
    out_ << R"({"format": "xentcheck-accuracy-dump", "version": 2, "seed": )" << seed
         << R"(, "cases": )" << cases << R"(, "precision": )" << precision << R"(, "regimes": [)";
    const auto regimes = oracle::all_regimes();
    for (std::size_t r = 0; r < regimes.size(); ++r)
        out_ << (r ? ", " : "") << '"' << oracle::to_string(regimes[r]) << '"';
    out_ << "]}\n";
}

void dump_writer::write(std::uint64_t case_id, const oracle::sampled_case& c,
                        const oracle::oracle_result& truth, const oracle::reference_bounds& bounds,
                        const cross_entropy_result<double>& ref) {
    put<std::uint64_t>(out_, case_id);
    put<std::uint32_t>(out_, static_cast<std::uint32_t>(c.kind));
    put<std::uint32_t>(out_, static_cast<std::uint32_t>(c.rows));
    put<std::uint32_t>(out_, static_cast<std::uint32_t>(c.classes));
    put<std::uint8_t>(out_, c.index_form ? 1 : 0);
    put<std::uint8_t>(out_, static_cast<std::uint8_t>(c.reduce));  // none, mean, sum
    put<std::uint8_t>(out_, c.weight.empty() ? 0 : 1);
    put<std::uint8_t>(out_, 0);
    put<std::int64_t>(out_, c.ignore_index);
    put<double>(out_, c.label_smoothing);
    put_all(out_, c.logits);
    if (c.index_form) {
        put_all(out_, c.indices);
    } else {
        put_all(out_, c.target_probs);
    }
    if (!c.weight.empty()) put_all(out_, c.weight);
    put_all(out_, oracle::oracle_result::nearest(truth.probs));
    put_all(out_, residuals(truth.probs));
    put_all(out_, oracle::oracle_result::nearest(truth.loss));
    put_all(out_, residuals(truth.loss));
    put_all(out_, bounds.loss_magnitude);
    put_all(out_, oracle::oracle_result::nearest(truth.grad));
    put_all(out_, residuals(truth.grad));
    put_all(out_, bounds.grad_magnitude);
    put_all(out_, ref.probs);
    put_all(out_, ref.loss);
    put_all(out_, ref.grad);
}

void dump_writer::close() {
    out_.flush();
    if (!out_) throw std::runtime_error(path_ + ": write error");
    out_.close();
}

}  // namespace xentcheck::accuracy
