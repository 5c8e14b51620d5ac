// The one exit-code table of every program (planner, fetcher, persister, qlir-status,
// exchange-sim) and every script (start-data-server, stop-data-server, start-fetchers, test).
// README.md, "Exit codes", prints the same table for users; keep the two in step.
//
// supervisord restarts a program whose exit is not final: the generated configuration lists
// the final codes (kDone, kDoneWithFailures, kStopped, kUsage, kCannotStart) as `exitcodes`, so
// a crash (a signal, kInternal) or kTemporary is restarted with supervisord's backoff.
#pragma once

namespace qlir {

enum ExitCode : int {
  // Complete: --once with every slice stored, or a long-running process stopped by
  // SIGTERM/SIGINT after a clean shutdown.
  kExitDone = 0,
  // An unexpected error (a bug or a broken invariant). Not final: restarted.
  kExitInternal = 1,
  // Complete, but with failures for good: slices the exchange will never serve, or symbols
  // skipped as unknown. What failed is named on stderr and in the log.
  kExitDoneWithFailures = 2,
  // Stopped by the user (SIGTERM, SIGINT, SIGHUP or stop-data-server) before a --once run
  // was complete.
  kExitStopped = 3,
  // Bad usage: an unknown flag, a bad value. Final: the same command fails again. (sysexits
  // EX_USAGE.)
  kExitUsage = 64,
  // Cannot start: a port already in use, a data root that cannot be written, a lock held by
  // another process (the holder is named), a stage that supervisord could not start. Final
  // until the operator acts. (sysexits EX_UNAVAILABLE.)
  kExitCannotStart = 69,
  // A temporary failure outlasted its deadline, e.g. the exchange unreachable for longer than
  // --once allows. Not final: running again later can succeed. (sysexits EX_TEMPFAIL.)
  kExitTemporary = 75,
};

// "0,2,3,64,69": the codes supervisord must treat as expected (final, not restarted).
inline constexpr const char* kFinalExitCodesForSupervisord = "0,2,3,64,69";

}  // namespace qlir
