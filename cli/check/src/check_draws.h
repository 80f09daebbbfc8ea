/// Internal: the generated problems of a check run, drawn once per generator configuration.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <rapidcheck/Gen.h>
#include <rapidcheck/Random.h>
#include <rapidcheck/Shrinkable.h>

#include "xentcheck/properties/generators.h"

namespace xentcheck::check::detail {

/// A drawn problem that can be shrunk.
using shrinkable = rc::Shrinkable<properties::labelled_problem>;

/// RapidCheck's size for case i of n: from 0 up to max_size at the last case.
int size_of(int i, int n, int max_size);

/// A configuration as a string: equal strings draw equal problems from equal seeds.
std::string signature(const properties::generator_config& c);

/// The generated problems of a run, drawn once per configuration: properties with the same
/// configuration see the same problems (and their answers are remembered). Drawn problems are
/// kept up to a memory budget; past it (very large --max-success) a problem is drawn again
/// from its remembered random state when asked.
class draws {
  public:
    struct drawn {
        shrinkable source;                   ///< for shrinking
        properties::labelled_problem value;  ///< source.value(), expressed once
    };

    draws(std::uint64_t seed, int count, int max_size)
        : seed_(seed), count_(count), max_size_(max_size) {}

    /// A configuration's generator and the problems drawn from it so far.
    struct stream {
        stream(const properties::generator_config& c, std::uint64_t seed)
            : gen(properties::gen_labelled_problem(c)), random(seed) {}
        rc::Gen<properties::labelled_problem> gen;
        rc::Random random;                                ///< splits give each case its state
        std::vector<rc::Random> randoms;                  ///< the state of case i
        std::vector<std::shared_ptr<const drawn>> cases;  ///< kept problems (or null)
    };

    /// The problems of a configuration (the same for every configuration with its signature),
    /// valid as long as this object; found once per property, not once per problem (the
    /// signature and its lookup took 1.7% of a run's instructions per problem).
    stream& of(const properties::generator_config& config);
    /// Problem i (from 0) of the configuration `problems`.
    std::shared_ptr<const drawn> get(stream& problems, int i);

  private:
    /// Estimated bytes of kept problems (values and their genomes), across configurations.
    static constexpr std::size_t budget = std::size_t(128) << 20;
    std::uint64_t seed_;
    int count_, max_size_;
    std::size_t used_ = 0;
    std::map<std::string, stream> streams_;
};

}  // namespace xentcheck::check::detail
