#pragma once
// Common Voice style tables of audio + transcript:
//  * the release TSV (`client_id path sentence up_votes ...`, tab-separated, no quoting), clips
//    under `<tsv dir>/clips/`;
//  * CSV exports (Kaggle / Hugging Face): a header with an audio column (`path`, `file`,
//    `filename`, `audio`, `audio_filepath`) and a text column (`sentence`, `text`,
//    `transcript`, `tgt_text`), RFC 4180 quoting.
// Audio paths are resolved, in order: as given (absolute or existing), clips_dir/PATH,
// <table dir>/clips/PATH, <table dir>/PATH; a missing `.mp3` suffix is tried too. Errors name
// file:line.

#include <cstdint>
#include <string>
#include <vector>

namespace trellis {

struct AudioTextRow {
  std::string id;     // the `id` column, else the audio file's stem
  std::string audio;  // resolved path (may not exist: checked when read)
  std::string text;
  std::string speaker;  // client_id / speaker when present
  std::string src_text;
  int64_t line = 0;
};

// delimiter '\t' (no quoting, fairseq/Common Voice TSV) or ',' (CSV with quotes); "" picks by
// the file extension (.csv -> ',').
std::vector<AudioTextRow> read_audio_text_table(const std::string& path,
                                                const std::string& clips_dir = "",
                                                char delimiter = 0);

// Splits one CSV record (RFC 4180: "" inside quotes is a quote). Multi-line quoted fields are
// not supported (DataError).
std::vector<std::string> split_csv_line(const std::string& line, char delimiter,
                                        const std::string& where);

}  // namespace trellis
