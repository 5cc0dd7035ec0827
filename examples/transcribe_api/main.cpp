// transcribe_api: prints the text of an audio file, then its words with start and end times,
// using trellis's C++ API (<trellis/transcriber.h>).
//
//   transcribe_api CHECKPOINT AUDIO [trellis-transcribe flags, e.g. --beam 5]
#include <trellis/transcriber.h>

#include <cstdio>
#include <exception>
#include <string>
#include <vector>

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: %s CHECKPOINT AUDIO [flags of trellis-transcribe]\n", argv[0]);
    return 2;
  }
  try {
    const std::vector<std::string> flags(argv + 3, argv + argc);
    const trellis::Transcriber asr(argv[1], flags);
    const trellis::Transcript t = asr.transcribe_file(argv[2]);
    std::printf("%s\n", t.text.c_str());
    for (const trellis::Word& w : t.words)
      std::printf("%.2f\t%.2f\t%s\n", w.start, w.end, w.word.c_str());
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "transcribe_api: %s\n", e.what());
    return 1;
  }
}
