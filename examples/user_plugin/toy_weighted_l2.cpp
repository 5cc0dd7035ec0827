#include "toy_weighted_l2.h"

TRELLIS_REGISTER(trellis::criterion_registry(), "toy_weighted_l2", toy::ToyWeightedL2,
                 toy::ToyWeightedL2Options, "plugin example: weighted L2 criterion");
