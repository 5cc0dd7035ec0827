#pragma once
// Capabilities of a task that decoding and scorers may rely on (Task::traits()).

namespace trellis {

struct TaskTraits {
  bool target_lang_tag = false;  // every target starts with a language tag (<lang:xx>)
};

}  // namespace trellis
