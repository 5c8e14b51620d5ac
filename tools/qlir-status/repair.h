// `verify --repair`: asks the persister to mark slices pending so that the pipeline fetches them
// again (docs/protocol.md, "Planner/tools <-> persister": MARK_PENDING -> ACK). qlir-status never
// edits a file itself; the persister is the only writer under a data root.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/curve.h"
#include "common/status.h"

namespace qlir::status_tool {

inline constexpr char kDefaultPersister[] = "tcp://127.0.0.1:5703";
inline constexpr int kDefaultRepairTimeoutMs = 5000;
// Keys per MARK_PENDING message, far below wire::kMaxMessageBytes.
inline constexpr size_t kKeysPerMessage = 10000;

struct MarkPendingOutcome {
  uint64_t sent = 0;   // keys sent
  uint64_t found = 0;  // the sum of the ACK counts: keys the persister found and marked
};

// Connects a DEALER to the persister's control endpoint, sends MARK_PENDING{endpoint, keys} (in
// messages of at most kKeysPerMessage keys) and waits for each matching ACK, at most
// `timeout_ms` per message. Errors when the address is bad, the persister cannot be reached or
// does not answer in time, or an ACK carries an error. Never throws. An empty `keys` sends
// nothing. With `curve`, the DEALER is a CURVE client with curve->own and curve->server_public
// (the persister's control socket lets in only the data server's own key pair); a refused key
// shows as an unreachable persister.
Result<MarkPendingOutcome> SendMarkPending(const std::string& persister,
                                           const std::string& endpoint,
                                           const std::vector<std::string>& keys, int timeout_ms,
                                           const std::optional<curve::Setup>& curve = std::nullopt);

}  // namespace qlir::status_tool
