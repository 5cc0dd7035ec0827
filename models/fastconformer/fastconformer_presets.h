#pragma once
// The Fast Conformer sizes of NeMo's NEST table (docs/models.md, "Fast Conformer"): all with
// FF 4x, dw_striding x8 with 256 channels, rel_pos; kernel 9 except xxlarge (5); xlarge and
// xxlarge without xscaling and without bias.
//   small   D 176,  4 heads, 16 layers      large   D 512, 8 heads, 17 layers (NEST default)
//   medium  D 256,  4 heads, 16 layers      xlarge  D 1024, 8 heads, 24 layers
//                                           xxlarge D 1024, 8 heads, 42 layers, kernel 5

#include <string>
#include <vector>

#include "models/fastconformer/fastconformer_options.h"

namespace trellis {

// Names of the sizes, smallest first: small, medium, large, xlarge, xxlarge.
const std::vector<std::string>& fastconformer_sizes();
// Sets the size fields of `o` (dim, heads, layers, kernel, xscaling, use_bias, FF factor,
// subsampler channels); ConfigError for an unknown size.
void apply_fastconformer_preset(FastConformerOptions& o, const std::string& size);

}  // namespace trellis
