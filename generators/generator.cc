#include "generators/generator.h"

namespace faultline::gen {

GenPtr Generator::Update(const Context&, const Op&) const { return shared_from_this(); }

}  // namespace faultline::gen
