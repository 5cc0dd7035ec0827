#pragma once
// The small text files `train` keeps in its save dir, written so that a process killed at any
// moment (kill -9 included) leaves no half-written file behind (docs/reliability.md):
// config.yaml is replaced atomically; metrics.jsonl is appended one flushed line at a time,
// and a line cut short by a kill is dropped when the next run opens the file.

#include <fstream>
#include <string>

namespace trellis {

// Writes `text` to a temporary file beside `path` and renames it over `path`.
void write_text_atomically(const std::string& path, const std::string& text);

// Opens `path` for appending; a last line without its newline (the process writing it was
// killed) is cut off first. Returns the number of bytes cut.
size_t open_whole_lines_for_append(const std::string& path, std::ofstream* out);

}  // namespace trellis
