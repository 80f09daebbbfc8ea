/// Internal: the genome behind generated problems (choice codes) and its decoding.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include <rapidcheck/Random.h>
#include <rapidcheck/Seq.h>

#include "xentcheck/properties/generators.h"

namespace xentcheck::properties::detail {

// Choice codes are integers whose 0 is the simplest choice; every decoding is monotone in the
// code, so shrinking a code toward 0 by bisection finds the threshold a failure needs.
inline constexpr int code_range = 1 << 16;   // codes that pick an index or a count
inline constexpr int entry_range = 1 << 20;  // per-logit codes: sign bit + 19-bit magnitude
inline constexpr int class_code_range = 100 * code_range;    // the class-count code
inline constexpr int mask_threshold = entry_range / 10 * 8;  // masked regime: codes above: -inf
inline constexpr int ignore_threshold = 75;      // row ignore code (of 100) from which ignored
inline constexpr int whole_mask_threshold = 90;  // whole-row mask code (of 100)

/// code c in [0, range) mapped monotonically onto [0, n).
inline std::size_t scaled(long long c, std::size_t n, long long range = code_range) {
    return static_cast<std::size_t>(static_cast<unsigned long long>(c) * n /
                                    static_cast<unsigned long long>(range));
}

/// One row's choices. Everything is drawn whatever the regime (unused parts are inert), so
/// shrinking the regime keeps the other draws.
struct row_genome {
    int regime = 0;               // logit regime code in [0, code_range)
    int base = 0;                 // entry code of the tie value (near_ties, exact_ties)
    int gap = 0;                  // dominant logit: +-(10 + gap), gap in [0, 2048]
    int flags = 0;                // bit 0: negative offset; bit 1: target follows the dominant
                                  // logit (dominant) or may be masked (masked)
    std::size_t dominant_at = 0;  // class of the dominant logit
    std::size_t target = 0;       // class of an index or one-hot target
    int ignore = 0;               // >= ignore_threshold: ignored row (when enabled)
    int soft_mode = 0;            // 0 one-hot, 1 soft normalised, 2 unnormalised
    int whole_mask = 0;           // >= whole_mask_threshold: all -inf (when enabled)
    std::vector<int> values;      // one entry code per class
    std::vector<int> soft;        // one code per class (probability targets only)
};

/// A whole problem's choices.
struct genome {
    int dtype = 0, kind = 0, reduction = 0;  // indices into the config's lists
    class_regime classes_from = class_regime::small;
    std::size_t classes = 1;
    bool weights = false;
    std::vector<int> weight_codes;   // one per class when weights
    bool ignore = false;             // ignored rows enabled (index targets)
    bool ignore_class_zero = false;  // ignore_index 0 (a class) instead of -100
    int smoothing = 0;               // label_smoothing = smoothing / 32
    std::vector<row_genome> rows;    // at least one
};

/// The class count a class code stands for under `config`.
struct class_choice {
    class_regime regime;
    std::size_t classes;
};
class_choice decode_classes(int code, const generator_config& config);

/// A row's choices drawn uniformly from `random`.
row_genome draw_row(rc::Random& random, std::size_t classes, bool probability_target);
/// A problem's choices drawn from `random`; the number of rows grows with `size` (0..100).
genome draw_genome(rc::Random& random, int size, const generator_config& config);

/// The logits of one row (float-exact for float32) and the class its target uses.
std::vector<double> express_logits(const row_genome& row, const generator_config& config,
                                   std::size_t classes, scalar_type dtype,
                                   std::size_t& target_class);
/// The problem a genome stands for.
labelled_problem express(const genome& g, const generator_config& config);

/// Simpler genomes (never below `min_classes` classes), most promising first: fewer rows, fewer
/// classes, simpler options, then simpler row choices and entry codes.
rc::Seq<genome> shrink_genome(const genome& g, std::size_t min_classes);
/// Simpler versions of one row with a fixed class count.
rc::Seq<row_genome> shrink_row(const row_genome& row);

}  // namespace xentcheck::properties::detail
