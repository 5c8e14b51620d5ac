// CURVE encryption and authentication of the pipeline's ZeroMQ links (docs/protocol.md,
// "Security"): key files, the allow-list, the ZAP handler that enforces it, and the socket
// options of a CURVE server or client. Built on libzmq's own CURVE (zeromq/libzmq
// doc/zmq_curve.adoc) and the ZAP protocol (rfc.zeromq.org/spec/27).
//
// Key files use czmq's certificate format (zcert), so keys made with czmq tools work too:
//   NAME.key          public:  a `curve` section with `public-key = "<40 Z85 chars>"`
//   NAME.key_secret   secret:  the same plus `secret-key = "<40 Z85 chars>"` (mode 0600)
// An allow-list is a directory of NAME.key files (NAME is what the logs call the peer), or a
// single file holding one or more public keys (`public-key = "..."` lines or bare Z85 keys).
//
// Roles: servers (planner jobs, persister results and control) bind with their key pair and
// ask the ZAP handler about every client; clients (fetchers, the planner's control link,
// qlir-status --repair) connect with their own key pair and the server's public key.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>
#include <zmq.hpp>

#include "common/status.h"

namespace qlir::curve {

// ZAP domains: a server socket names the list its clients are checked against.
inline constexpr std::string_view kJobsDomain = "qlir-jobs";        // planner ROUTER
inline constexpr std::string_view kResultsDomain = "qlir-results";  // persister PULL
inline constexpr std::string_view kControlDomain = "qlir-control";  // persister ROUTER

// Z85 text (40 characters) of 32-byte Curve25519 keys.
struct KeyPair {
  std::string public_key;
  std::string secret_key;
};

// True when `key` is 40 Z85 characters that decode to 32 bytes.
bool IsZ85Key(std::string_view key);

// A fresh key pair (zmq_curve_keypair). Fails only when libzmq lacks CURVE (no libsodium).
Result<KeyPair> GenerateKeyPair();

// Writes `dir`/NAME.key (mode 0644) and `dir`/NAME.key_secret (mode 0600), each through a
// temporary and a rename. Refuses to overwrite an existing key file (the error names it).
// NAME: letters, digits, '.', '_' and '-'.
Status SaveKeyPair(const KeyPair& keys, const std::filesystem::path& dir, const std::string& name);

// Parses a certificate text; `what` names the file in errors.
Result<KeyPair> ParseSecretKeyText(std::string_view text, const std::string& what);
Result<std::vector<std::string>> ParsePublicKeysText(std::string_view text,
                                                     const std::string& what);
// A NAME.key_secret file: both keys, and the public key must belong to the secret one.
Result<KeyPair> LoadSecretKeyFile(const std::filesystem::path& path);
// One public key: a NAME.key file (a NAME.key_secret file is accepted too).
Result<std::string> LoadPublicKeyFile(const std::filesystem::path& path);

// Allowed client keys: public key -> a name for logs (the key file's stem).
using AllowList = std::map<std::string, std::string>;
// A directory: every *.key file in it (not recursive; other files are ignored). A file: every
// key in it. Any key file that does not parse is an error naming it, so a typo never silently
// locks a fetcher out (or in); so is a list with no key at all.
Result<AllowList> LoadAllowList(const std::filesystem::path& path);

// The three flags every process takes, with the same names and meanings (README, "Keys").
struct Flags {
  std::string secret_key_file;  // --curve-secret-key FILE: our key pair; turns CURVE on
  std::string server_key_file;  // --curve-server-key FILE: the server's public key (clients)
  std::string allow_path;       // --curve-allow DIR|FILE: client keys let in (servers)
  bool any() const {
    return !secret_key_file.empty() || !server_key_file.empty() || !allow_path.empty();
  }
};

// The loaded form of Flags.
struct Setup {
  KeyPair own;
  std::string server_public;  // clients: the server's key; empty for a server-only process
  AllowList allowed;          // servers: clients let in
};

enum class Role { kServer, kClient, kServerAndClient };
// nullopt when no flag is given (CURVE off). Errors: a flag given without --curve-secret-key,
// a server without --curve-allow, a client without --curve-server-key (a kServerAndClient
// process, the planner, uses its own public key when none is given: the planner and the
// persister share the data server's key pair), a flag its role does not take, a bad file.
Result<std::optional<Setup>> LoadSetup(const Flags& flags, Role role);

// Socket options, set before bind/connect. Errors name the option.
Status MakeServer(zmq::socket_t& socket, const KeyPair& own, std::string_view zap_domain);
Status MakeClient(zmq::socket_t& socket, const KeyPair& own, const std::string& server_public);

// A CURVE client's view of its handshakes: a refused key otherwise looks like a silent server.
// Monitors `socket` (zmq_socket_monitor, started before connect) and, from Drain, logs a failed
// handshake with `peer` (WARN, at most once a minute per peer and key across all the watches
// of the process, so across reconnects too, saying what to check) and a successful
// one (INFO, once after each failure and at the first). Single-threaded, like the socket.
// REQUIRES: destroyed before `socket` is closed or together with it (it holds no reference
// that outlives the socket's monitor).
class HandshakeWatch {
 public:
  static Result<std::unique_ptr<HandshakeWatch>> Start(zmq::context_t* context,
                                                       zmq::socket_t* socket, std::string peer,
                                                       std::string own_public_key);
  zmq::socket_t& events() { return events_; }  // poll it for ZMQ_POLLIN, then Drain
  void Drain(int64_t now_ms);
  int64_t failures() const { return failures_; }

 private:
  HandshakeWatch(zmq::context_t* context, std::string peer, std::string own_public_key);
  zmq::socket_t events_;  // PAIR connected to the monitor
  std::string peer_;
  std::string own_public_key_;
  bool ok_logged_ = false;
  int64_t failures_ = 0;
};

// ZAP decisions without sockets. Each domain has its list; an unknown domain or mechanism, or
// a key not in the domain's list, is refused. Refusals are logged (WARN, with the key, the
// peer's address and the domain), at most once per key and domain every `log_every_ms` (a
// refused client retries its handshake every few hundred ms); first acceptances are logged
// once per key, address and domain (INFO).
class ZapPolicy {
 public:
  explicit ZapPolicy(int64_t log_every_ms = 60000) : log_every_ms_(log_every_ms) {}
  void Allow(std::string_view domain, const AllowList& keys);

  struct Request {
    std::string domain;
    std::string address;
    std::string mechanism;
    std::string client_key;  // Z85; empty unless mechanism is CURVE
  };
  struct Reply {
    bool ok = false;
    std::string status_code;  // "200" or "400"
    std::string status_text;
    std::string user_id;  // the key's name when ok
  };
  Reply Decide(const Request& request, int64_t now_ms);

  int64_t accepted() const { return accepted_; }
  int64_t refused() const { return refused_; }

 private:
  struct LogState {
    int64_t last_ms = 0;
    int64_t suppressed = 0;
  };
  int64_t log_every_ms_;
  std::map<std::string, AllowList, std::less<>> domains_;
  std::map<std::string, LogState> refused_log_;  // domain + key -> when last logged
  std::map<std::string, bool> accepted_log_;     // domain + key + address, logged once
  int64_t accepted_ = 0;
  int64_t refused_ = 0;
};

// One thread reading whole messages from one socket until stopped (ZapHandler and RefusalWatch
// run on it): every signal is blocked in it (they belong to the main thread's poll); Stop, or the
// destructor, wakes it through an eventfd and joins it. `on_message` runs in the thread and
// returns false to end it (the context is terminating).
class ReaderThread {
 public:
  using OnMessage = std::function<bool(std::vector<zmq::message_t>& frames)>;
  ReaderThread() = default;
  ~ReaderThread() { Stop(); }
  ReaderThread(const ReaderThread&) = delete;
  ReaderThread& operator=(const ReaderThread&) = delete;

  // `what` names the thread in log lines. REQUIRES: `socket` outlives Stop().
  Status Start(zmq::socket_t* socket, std::string what, OnMessage on_message);
  void Stop();

 private:
  void Serve();

  zmq::socket_t* socket_ = nullptr;  // used only by the thread once it runs
  std::string what_;
  OnMessage on_message_;
  int stop_fd_ = -1;  // eventfd: written by Stop
  std::thread thread_;
};

// Answers ZAP requests for one context on inproc://zeromq.zap.01, in a thread of its own (all
// signals blocked there), until destroyed. With CURVE and no handler bound, libzmq lets every
// client in: start this before any CURVE server socket of `context` binds.
// REQUIRES: one per context; destroyed before the context is closed.
class ZapHandler {
 public:
  static Result<std::unique_ptr<ZapHandler>> Start(zmq::context_t* context, ZapPolicy policy);
  ~ZapHandler();
  ZapHandler(const ZapHandler&) = delete;
  ZapHandler& operator=(const ZapHandler&) = delete;

 private:
  ZapHandler(zmq::context_t* context, ZapPolicy policy);
  // Answers one request (RFC 27); false when the context is terminating.
  bool Answer(std::vector<zmq::message_t>& frames);

  zmq::socket_t socket_;  // REP, used only by the thread once it runs
  ZapPolicy policy_;      // used only by the thread
  ReaderThread reader_;
};

// A server's view of the handshakes it refused that no ZAP handler saw: a peer speaking another
// security mechanism (a fetcher without CURVE against a CURVE server, or the reverse) or
// broken ZMTP. ZAP logs refused keys itself; these would otherwise be silent.
// The decisions, without sockets: Refused returns the WARN line to log, or "" when the same
// reason was logged less than `log_every_ms` ago (a refused client retries every few hundred
// ms), counting what it leaves out.
class RefusalLog {
 public:
  explicit RefusalLog(std::string socket_name, int64_t log_every_ms = 60000)
      : socket_name_(std::move(socket_name)), log_every_ms_(log_every_ms) {}
  // `protocol`: a ZMTP protocol error (else: no detail); `address`: the peer's, if known.
  std::string Refused(bool protocol, std::string_view address, int64_t now_ms);
  int64_t refused() const { return refused_; }

 private:
  struct LogState {
    int64_t last_ms = 0;
    int64_t suppressed = 0;
    bool logged = false;
  };
  std::string socket_name_;
  int64_t log_every_ms_;
  std::map<std::string, LogState> by_address_;
  int64_t refused_ = 0;
};

// Monitors a server socket (start before bind) in a thread of its own and logs, through a
// RefusalLog, every peer whose handshake failed outside ZAP. Destroy before the socket closes.
class RefusalWatch {
 public:
  static Result<std::unique_ptr<RefusalWatch>> Start(zmq::context_t* context, zmq::socket_t* socket,
                                                     std::string socket_name);
  ~RefusalWatch();
  RefusalWatch(const RefusalWatch&) = delete;
  RefusalWatch& operator=(const RefusalWatch&) = delete;

 private:
  RefusalWatch(zmq::context_t* context, std::string socket_name);
  void OnEvent(const std::vector<zmq::message_t>& frames);

  zmq::socket_t events_;  // PAIR connected to the monitor; used only by the thread
  RefusalLog log_;        // used only by the thread
  ReaderThread reader_;
};

}  // namespace qlir::curve
