#pragma once
// What a criterion needs from the task and the model, declared by the criterion itself (a
// static `needs(const Options&)` of its class, recorded at registration) so that tasks and the
// engine build what fits without knowing criteria by name.

namespace trellis {

struct CriterionNeeds {
  bool decoder = true;  // decoder logits (an encoder-decoder model)
  bool ctc = false;     // CTC logits (a CTC head; with `decoder`, an auxiliary CTC branch)
  // CTC over the source transcript with FBK's <ctc_blank> appended to the source dictionary
  // (the task must have a source side).
  bool source_ctc = false;
};

}  // namespace trellis
