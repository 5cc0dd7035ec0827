#pragma once
// fairseq speech-to-text TSV manifests (docs/data_formats.md, "fairseq TSV manifest").
//
// Tab-separated, header line first, UTF-8, no quoting and no escaping (Python csv with
// QUOTE_NONE): quotes are literal, fields cannot hold tabs or newlines. Columns are found by
// name (order free, extra columns kept in `extra`). Required: id, audio, n_frames, tgt_text;
// optional (default ""): speaker, src_text, src_lang, tgt_lang. Blank lines are skipped. Errors
// are DataError "file:line: ... (sample id)".

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace trellis {

struct ManifestRow {
  std::string id;
  std::string audio;
  int64_t n_frames = 0;
  std::string tgt_text;
  std::string speaker;
  std::string src_text;
  std::string src_lang;
  std::string tgt_lang;
  std::map<std::string, std::string> extra;  // any other column, by name
  int64_t line = 0;                          // 1-based line in the file (header = 1)
};

struct Manifest {
  std::string path;
  std::vector<std::string> columns;  // header, in file order
  std::vector<ManifestRow> rows;
  bool has_column(const std::string& name) const;
};

Manifest read_tsv_manifest(const std::string& path);
// Parses TSV text; `path` only names the source in errors.
Manifest parse_tsv_manifest(const std::string& text, const std::string& path);

// Writes a header of `columns` (default: id audio n_frames tgt_text speaker, plus src_text,
// src_lang, tgt_lang when any row has them) and one line per row. Throws DataError when a
// field holds a tab or newline (the format cannot represent it).
void write_tsv_manifest(const std::string& path, const std::vector<ManifestRow>& rows,
                        std::vector<std::string> columns = {});

// The three forms of the `audio` field: a .npy file, an audio file, or
// `archive.zip:OFFSET:LENGTH` (a byte range of a stored zip).
struct AudioRef {
  enum class Kind { kNpy, kAudioFile, kByteRange };
  Kind kind = Kind::kAudioFile;
  std::string path;  // joined with audio_root
  int64_t offset = 0;
  int64_t length = 0;
  // The spec string read_audio() accepts: path or "path:offset:length".
  std::string spec() const;
};

// Splits `audio` as fairseq does: a path whose suffix is a known extension (.npy .wav .flac
// .ogg .mp3 .zip without a range) is never split on ':'; otherwise 0 or 2 colon-separated
// integers after the path, anything else -> DataError ("invalid path"). `audio_root` is joined
// in front (a relative result stays relative to the working directory, as in fairseq).
AudioRef parse_audio_field(const std::string& audio, const std::string& audio_root = "");

}  // namespace trellis
