// The one stop-signal mechanism of every process: SIGTERM and SIGINT are blocked in main before
// any thread exists (ours, libcurl's, ZeroMQ's inherit the mask), so they are delivered only to a
// signalfd that the socket loop polls beside its sockets. No handler runs, nothing is
// interrupted mid-call (no EINTR), and a stop is one more readable descriptor. SIGPIPE is
// ignored (a peer closing a socket is an error value, not a death).
#pragma once

#include "common/status.h"

namespace qlir {

// Call from main before starting any thread. Returns the signalfd (non-blocking, close-on-exec);
// it becomes readable once SIGTERM or SIGINT arrives and stays readable until read.
Result<int> BlockStopSignals();

// Reads one pending signal from the descriptor: its number, or 0 when none is waiting.
int TakeStopSignal(int signal_fd);

}  // namespace qlir
