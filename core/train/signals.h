#pragma once
// SIGINT/SIGTERM during training: the first one asks the loop to stop after the current update
// (it then saves checkpoint_last.pt and exits with 128 + the signal number); a second one ends
// the process at once (the default action).

namespace trellis {

void install_stop_signals();
void restore_default_signals();
// 0 when no stop was asked for, else the signal number.
int stop_signal();

}  // namespace trellis
