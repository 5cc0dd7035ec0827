// --optimizer adamw: the torch variant of optim/adam.cpp's update.
#include "optim/adamw.h"

TRELLIS_REGISTER(trellis::optimizer_registry(), "adamw", trellis::AdamW, trellis::AdamWOptions,
                 "torch.optim.AdamW (decoupled weight decay, default 0.01)");
