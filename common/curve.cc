#include "common/curve.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zmq.h>

#include <atomic>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <map>
#include <mutex>
#include <string_view>
#include <zmq_addon.hpp>

#include "common/atomic_file.h"
#include "common/log.h"
#include "common/time_util.h"

namespace qlir::curve {
namespace fs = std::filesystem;

namespace {

constexpr const char* kZapEndpoint = "inproc://zeromq.zap.01";

std::string Trim(std::string_view s) {
  size_t b = s.find_first_not_of(" \t\r");
  if (b == std::string_view::npos) return {};
  size_t e = s.find_last_not_of(" \t\r");
  return std::string(s.substr(b, e - b + 1));
}

// `name = "value"` (quotes optional) -> value, when the line's name is `name`.
std::optional<std::string> Field(const std::string& line, std::string_view name) {
  if (!line.starts_with(name)) return std::nullopt;
  std::string rest = Trim(std::string_view(line).substr(name.size()));
  if (rest.empty() || rest[0] != '=') return std::nullopt;
  rest = Trim(std::string_view(rest).substr(1));
  if (rest.size() >= 2 && rest.front() == '"' && rest.back() == '"') {
    rest = rest.substr(1, rest.size() - 2);
  }
  return rest;
}

std::vector<std::string> Lines(std::string_view text) {
  std::vector<std::string> out;
  size_t pos = 0;
  while (pos <= text.size()) {
    size_t nl = text.find('\n', pos);
    if (nl == std::string_view::npos) nl = text.size();
    out.push_back(Trim(text.substr(pos, nl - pos)));
    pos = nl + 1;
  }
  return out;
}

bool ValidName(const std::string& name) {
  if (name.empty() || name[0] == '.') return false;
  for (char c : name) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '.' && c != '_' && c != '-') {
      return false;
    }
  }
  return true;
}

std::string Certificate(const KeyPair& keys, const std::string& name, bool secret) {
  std::string out =
      "#   ****  Generated on " + FormatIsoUtc(WallClockMs()) + " by qlir-keygen  ****\n";
  if (secret) {
    out +=
        "#   ZeroMQ CURVE **Secret** Certificate\n"
        "#   DO NOT PROVIDE THIS FILE TO OTHER USERS nor change its permissions.\n";
  } else {
    out +=
        "#   ZeroMQ CURVE Public Certificate\n"
        "#   Exchange securely, or use a secure mechanism to verify the contents\n"
        "#   of this file after exchange.\n";
  }
  out += "\nmetadata\n    name = \"" + name + "\"\ncurve\n    public-key = \"" + keys.public_key +
         "\"\n";
  if (secret) out += "    secret-key = \"" + keys.secret_key + "\"\n";
  return out;
}

// Writes `path` with `mode`, never replacing an existing file: a temporary, fsynced, then
// link()ed to the final name (which fails if it exists) and unlinked.
Status WriteNewFile(const fs::path& path, const std::string& bytes, mode_t mode) {
  const fs::path tmp = path.string() + ".tmp-" + std::to_string(::getpid());
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
  if (fd < 0) return Status::Error("cannot create " + tmp.string() + ": " + std::strerror(errno));
  size_t off = 0;
  bool ok = true;
  while (ok && off < bytes.size()) {
    ssize_t n = ::write(fd, bytes.data() + off, bytes.size() - off);
    if (n < 0 && errno == EINTR) continue;
    ok = n > 0;
    if (ok) off += static_cast<size_t>(n);
  }
  ok = ok && ::fchmod(fd, mode) == 0 && ::fsync(fd) == 0;
  ok = (::close(fd) == 0) && ok;
  if (!ok) {
    Status s = Status::Error("cannot write " + tmp.string() + ": " + std::strerror(errno));
    ::unlink(tmp.c_str());
    return s;
  }
  if (::link(tmp.c_str(), path.c_str()) != 0) {
    Status s = Status::Error(errno == EEXIST
                                 ? path.string() + " already exists; not overwriting a key"
                                 : "cannot create " + path.string() + ": " + std::strerror(errno));
    ::unlink(tmp.c_str());
    return s;
  }
  ::unlink(tmp.c_str());
  return Status::Ok();
}

}  // namespace

bool IsZ85Key(std::string_view key) {
  if (key.size() != 40) return false;
  const std::string z(key);
  uint8_t bin[32];
  return zmq_z85_decode(bin, z.c_str()) != nullptr;
}

Result<KeyPair> GenerateKeyPair() {
  char pub[41] = {0}, sec[41] = {0};
  if (zmq_curve_keypair(pub, sec) != 0) {
    return Status::Error(std::string("cannot make a CURVE key pair (libzmq without CURVE?): ") +
                         zmq_strerror(zmq_errno()));
  }
  return KeyPair{pub, sec};
}

Status SaveKeyPair(const KeyPair& keys, const fs::path& dir, const std::string& name) {
  if (!ValidName(name)) {
    return Status::Error("bad key name '" + name + "': use letters, digits, '.', '_' and '-'");
  }
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return Status::Error("cannot create " + dir.string() + ": " + ec.message());
  const fs::path pub = dir / (name + ".key");
  const fs::path sec = dir / (name + ".key_secret");
  if (fs::exists(pub) || fs::exists(sec)) {
    return Status::Error((fs::exists(sec) ? sec : pub).string() +
                         " already exists; not overwriting a key");
  }
  // The secret first: a public key without its secret would be useless.
  QLIR_RETURN_IF_ERROR(WriteNewFile(sec, Certificate(keys, name, true), 0600));
  QLIR_RETURN_IF_ERROR(WriteNewFile(pub, Certificate(keys, name, false), 0644));
  return SyncDir(dir);
}

Result<KeyPair> ParseSecretKeyText(std::string_view text, const std::string& what) {
  KeyPair keys;
  for (const std::string& line : Lines(text)) {
    if (auto v = Field(line, "public-key")) keys.public_key = *v;
    if (auto v = Field(line, "secret-key")) keys.secret_key = *v;
  }
  if (keys.secret_key.empty())
    return Status::Error(what + ": no secret-key (not a .key_secret file?)");
  if (!IsZ85Key(keys.secret_key))
    return Status::Error(what + ": secret-key is not 40 Z85 characters");
  char derived[41] = {0};
  if (zmq_curve_public(derived, keys.secret_key.c_str()) != 0) {
    return Status::Error(what + ": cannot derive the public key: " + zmq_strerror(zmq_errno()));
  }
  if (keys.public_key.empty()) {
    keys.public_key = derived;
  } else if (keys.public_key != derived) {
    return Status::Error(what + ": public-key does not belong to secret-key");
  }
  return keys;
}

Result<std::vector<std::string>> ParsePublicKeysText(std::string_view text,
                                                     const std::string& what) {
  std::vector<std::string> keys;
  int n = 0;
  for (const std::string& line : Lines(text)) {
    ++n;
    // Z85 has '#' and '=' in its alphabet: a line that is a whole key is a key, before any
    // other reading of it.
    std::optional<std::string> key;
    if (IsZ85Key(line)) {
      key = line;
    } else if (line.empty() || line[0] == '#') {
      continue;
    } else {
      key = Field(line, "public-key");
    }
    if (!key) continue;  // metadata, section names, secret-key
    if (!IsZ85Key(*key)) {
      return Status::Error(what + ":" + std::to_string(n) + ": not a 40-character Z85 key");
    }
    keys.push_back(*key);
  }
  if (keys.empty()) return Status::Error(what + ": no public key in it");
  return keys;
}

Result<KeyPair> LoadSecretKeyFile(const fs::path& path) {
  auto text = ReadFile(path);
  if (!text.ok()) return text.status();
  return ParseSecretKeyText(*text, path.string());
}

Result<std::string> LoadPublicKeyFile(const fs::path& path) {
  auto text = ReadFile(path);
  if (!text.ok()) return text.status();
  auto keys = ParsePublicKeysText(*text, path.string());
  if (!keys.ok()) return keys.status();
  if (keys->size() != 1) return Status::Error(path.string() + ": holds more than one public key");
  return keys->front();
}

Result<AllowList> LoadAllowList(const fs::path& path) {
  AllowList out;
  auto add = [&out](const fs::path& file) -> Status {
    auto text = ReadFile(file);
    if (!text.ok()) return text.status();
    auto keys = ParsePublicKeysText(*text, file.string());
    if (!keys.ok()) return keys.status();
    for (const std::string& k : *keys) out.emplace(k, file.stem().string());
    return Status::Ok();
  };
  std::error_code ec;
  if (fs::is_directory(path, ec)) {
    for (const auto& entry : fs::directory_iterator(path, ec)) {
      if (entry.path().extension() != ".key" || !entry.is_regular_file()) continue;
      QLIR_RETURN_IF_ERROR(add(entry.path()));
    }
    if (ec) return Status::Error("cannot list " + path.string() + ": " + ec.message());
    // An empty list would refuse every fetcher: surely a wrong directory, so say so at start.
    if (out.empty()) return Status::Error(path.string() + ": no NAME.key file in it");
  } else if (Status s = add(path); !s.ok()) {
    return s;
  }
  return out;
}

Result<std::optional<Setup>> LoadSetup(const Flags& flags, Role role) {
  if (!flags.any()) return std::optional<Setup>();
  if (flags.secret_key_file.empty()) {
    return Status::Error("--curve-server-key and --curve-allow need --curve-secret-key");
  }
  const bool server = role != Role::kClient;
  const bool client = role != Role::kServer;
  if (!server && !flags.allow_path.empty()) {
    return Status::Error("--curve-allow is for servers (planner, persister), not this process");
  }
  if (server && flags.allow_path.empty()) {
    return Status::Error(
        "--curve-secret-key needs --curve-allow DIR|FILE (the client keys let in)");
  }
  if (!client && !flags.server_key_file.empty()) {
    return Status::Error("--curve-server-key is for clients (fetcher, planner), not this process");
  }
  if (role == Role::kClient && flags.server_key_file.empty()) {
    return Status::Error(
        "--curve-secret-key needs --curve-server-key FILE (the server's public key)");
  }
  Setup setup;
  auto own = LoadSecretKeyFile(flags.secret_key_file);
  if (!own.ok()) return own.status();
  setup.own = *own;
  if (client) {
    if (flags.server_key_file.empty()) {
      setup.server_public = setup.own.public_key;
    } else {
      auto server_key = LoadPublicKeyFile(flags.server_key_file);
      if (!server_key.ok()) return server_key.status();
      setup.server_public = *server_key;
    }
  }
  if (server) {
    auto allowed = LoadAllowList(flags.allow_path);
    if (!allowed.ok()) return allowed.status();
    setup.allowed = *allowed;
  }
  return std::optional<Setup>(std::move(setup));
}

Status MakeServer(zmq::socket_t& socket, const KeyPair& own, std::string_view zap_domain) {
  try {
    socket.set(zmq::sockopt::curve_server, 1);
    socket.set(zmq::sockopt::curve_secretkey, own.secret_key);
    socket.set(zmq::sockopt::zap_domain, std::string(zap_domain));
  } catch (const zmq::error_t& e) {
    return Status::Error(std::string("cannot make a CURVE server socket: ") + e.what());
  }
  return Status::Ok();
}

Status MakeClient(zmq::socket_t& socket, const KeyPair& own, const std::string& server_public) {
  try {
    socket.set(zmq::sockopt::curve_serverkey, server_public);
    socket.set(zmq::sockopt::curve_publickey, own.public_key);
    socket.set(zmq::sockopt::curve_secretkey, own.secret_key);
  } catch (const zmq::error_t& e) {
    return Status::Error(std::string("cannot make a CURVE client socket: ") + e.what());
  }
  return Status::Ok();
}

void ZapPolicy::Allow(std::string_view domain, const AllowList& keys) {
  AllowList& list = domains_[std::string(domain)];
  for (const auto& [k, name] : keys) list.emplace(k, name);
}

ZapPolicy::Reply ZapPolicy::Decide(const Request& r, int64_t now_ms) {
  Reply reply;
  const std::string from = r.address.empty() ? "a local (ipc) peer" : r.address;
  auto domain = domains_.find(r.domain);
  std::string why;
  if (r.mechanism != "CURVE") {
    why = "mechanism " + r.mechanism + " is not allowed";
  } else if (domain == domains_.end()) {
    why = "unknown ZAP domain";
  } else if (auto it = domain->second.find(r.client_key); it == domain->second.end()) {
    why = "key not in the allow-list";
  } else {
    reply.ok = true;
    reply.status_code = "200";
    reply.status_text = "OK";
    reply.user_id = it->second;
    ++accepted_;
    if (accepted_log_.size() >= 10000) accepted_log_.clear();
    if (accepted_log_.emplace(r.domain + " " + r.client_key + " " + r.address, true).second) {
      Log(LogLevel::kInfo, "",
          "CURVE: accepted " + it->second + " (key " + r.client_key + ") from " + from + " on " +
              r.domain);
    }
    return reply;
  }
  reply.status_code = "400";
  reply.status_text = why;
  ++refused_;
  // Anyone can make keys: bound the memory they can make us spend on remembering them.
  if (refused_log_.size() >= 10000) refused_log_.clear();
  LogState& st = refused_log_[r.domain + " " + r.client_key];
  if (st.last_ms == 0 || now_ms - st.last_ms >= log_every_ms_) {
    std::string msg = "CURVE: refused key " + (r.client_key.empty() ? "(none)" : r.client_key) +
                      " from " + from + " on " + r.domain + ": " + why;
    if (st.suppressed > 0) msg += " (and " + std::to_string(st.suppressed) + " times since)";
    Log(LogLevel::kWarn, "", msg);
    st.last_ms = now_ms;
    st.suppressed = 0;
  } else {
    ++st.suppressed;
  }
  return reply;
}

Status ReaderThread::Start(zmq::socket_t* socket, std::string what, OnMessage on_message) {
  socket_ = socket;
  what_ = std::move(what);
  on_message_ = std::move(on_message);
  stop_fd_ = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (stop_fd_ < 0) return Status::Error(what_ + ": eventfd: " + std::strerror(errno));
  // Thread creation orders the socket's set-up before its use in the thread.
  thread_ = std::thread([this] { Serve(); });
  return Status::Ok();
}

void ReaderThread::Stop() {
  if (thread_.joinable()) {
    const uint64_t one = 1;
    [[maybe_unused]] ssize_t n = ::write(stop_fd_, &one, sizeof one);
    thread_.join();
  }
  if (stop_fd_ >= 0) ::close(stop_fd_);
  stop_fd_ = -1;
}

void ReaderThread::Serve() {
  sigset_t all;
  sigfillset(&all);
  pthread_sigmask(SIG_BLOCK, &all, nullptr);  // signals belong to the main thread's poll
  for (;;) {
    zmq::pollitem_t items[] = {{socket_->handle(), 0, ZMQ_POLLIN, 0},
                               {nullptr, stop_fd_, ZMQ_POLLIN, 0}};
    try {
      zmq::poll(items, 2, std::chrono::milliseconds(-1));
    } catch (const zmq::error_t& e) {
      if (e.num() == EINTR) continue;
      if (e.num() != ETERM) Log(LogLevel::kError, "", what_ + ": poll: " + e.what());
      return;
    }
    if (items[1].revents & ZMQ_POLLIN) return;
    if (!(items[0].revents & ZMQ_POLLIN)) continue;
    std::vector<zmq::message_t> frames;
    try {
      if (!zmq::recv_multipart(*socket_, std::back_inserter(frames), zmq::recv_flags::dontwait)) {
        continue;
      }
    } catch (const zmq::error_t& e) {
      if (e.num() == ETERM) return;
      Log(LogLevel::kWarn, "", what_ + ": receive: " + e.what());
      continue;
    }
    if (!on_message_(frames)) return;
  }
}

ZapHandler::ZapHandler(zmq::context_t* context, ZapPolicy policy)
    : socket_(*context, zmq::socket_type::rep), policy_(std::move(policy)) {}

Result<std::unique_ptr<ZapHandler>> ZapHandler::Start(zmq::context_t* context, ZapPolicy policy) {
  std::unique_ptr<ZapHandler> h;
  try {
    h.reset(new ZapHandler(context, std::move(policy)));
    h->socket_.set(zmq::sockopt::linger, 0);
    h->socket_.bind(kZapEndpoint);
  } catch (const zmq::error_t& e) {
    return Status::Error(std::string("cannot bind the ZAP handler on ") + kZapEndpoint + ": " +
                         e.what());
  }
  ZapHandler* raw = h.get();
  QLIR_RETURN_IF_ERROR(h->reader_.Start(&h->socket_, "ZAP handler",
                                        [raw](auto& frames) { return raw->Answer(frames); }));
  return h;
}

ZapHandler::~ZapHandler() {
  reader_.Stop();
  try {
    socket_.close();
  } catch (const zmq::error_t&) {
  }
}

bool ZapHandler::Answer(std::vector<zmq::message_t>& frames) {
  // RFC 27: version, request id, domain, address, identity, mechanism, credentials...
  ZapPolicy::Reply reply;
  std::string version = frames.size() > 0 ? frames[0].to_string() : "";
  std::string request_id = frames.size() > 1 ? frames[1].to_string() : "";
  if (frames.size() < 6 || version != "1.0") {
    reply.status_code = "500";
    reply.status_text = "malformed ZAP request";
    Log(LogLevel::kWarn, "",
        "ZAP handler: malformed request of " + std::to_string(frames.size()) + " frames");
  } else {
    ZapPolicy::Request req;
    req.domain = frames[2].to_string();
    req.address = frames[3].to_string();
    req.mechanism = frames[5].to_string();
    if (req.mechanism == "CURVE" && frames.size() >= 7 && frames[6].size() == 32) {
      char z85[41] = {0};
      zmq_z85_encode(z85, static_cast<const uint8_t*>(frames[6].data()), 32);
      req.client_key = z85;
    }
    reply = policy_.Decide(req, WallClockMs());
  }
  try {
    socket_.send(zmq::buffer(std::string("1.0")), zmq::send_flags::sndmore);
    socket_.send(zmq::buffer(request_id), zmq::send_flags::sndmore);
    socket_.send(zmq::buffer(reply.status_code), zmq::send_flags::sndmore);
    socket_.send(zmq::buffer(reply.status_text), zmq::send_flags::sndmore);
    socket_.send(zmq::buffer(reply.user_id), zmq::send_flags::sndmore);
    socket_.send(zmq::buffer(std::string()), zmq::send_flags::none);  // no metadata
  } catch (const zmq::error_t& e) {
    if (e.num() == ETERM) return false;
    Log(LogLevel::kWarn, "", std::string("ZAP handler: send: ") + e.what());
  }
  return true;
}

HandshakeWatch::HandshakeWatch(zmq::context_t* context, std::string peer,
                               std::string own_public_key)
    : events_(*context, zmq::socket_type::pair),
      peer_(std::move(peer)),
      own_public_key_(std::move(own_public_key)) {}

Result<std::unique_ptr<HandshakeWatch>> HandshakeWatch::Start(zmq::context_t* context,
                                                              zmq::socket_t* socket,
                                                              std::string peer,
                                                              std::string own_public_key) {
  static std::atomic<uint64_t> seq{0};
  const std::string endpoint =
      "inproc://qlir-handshake-watch-" + std::to_string(::getpid()) + "-" + std::to_string(seq++);
  if (zmq_socket_monitor(socket->handle(), endpoint.c_str(),
                         ZMQ_EVENT_HANDSHAKE_SUCCEEDED | ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL |
                             ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL |
                             ZMQ_EVENT_HANDSHAKE_FAILED_AUTH) != 0) {
    return Status::Error(std::string("cannot monitor the socket to ") + peer + ": " +
                         zmq_strerror(zmq_errno()));
  }
  std::unique_ptr<HandshakeWatch> w(
      new HandshakeWatch(context, std::move(peer), std::move(own_public_key)));
  try {
    w->events_.set(zmq::sockopt::linger, 0);
    w->events_.connect(endpoint);
  } catch (const zmq::error_t& e) {
    return Status::Error(std::string("cannot watch handshakes: ") + e.what());
  }
  return w;
}

namespace {

// When each (peer, own key) refusal was last logged by any HandshakeWatch of this process.
std::mutex& LastWarningsMutex() {
  static std::mutex mu;
  return mu;
}
std::map<std::string, int64_t>& LastWarnings() {
  static std::map<std::string, int64_t> last;
  return last;
}

}  // namespace

void HandshakeWatch::Drain(int64_t now_ms) {
  for (int i = 0; i < 1000; ++i) {
    std::vector<zmq::message_t> frames;
    try {
      if (!zmq::recv_multipart(events_, std::back_inserter(frames), zmq::recv_flags::dontwait)) {
        return;
      }
    } catch (const zmq::error_t&) {
      return;
    }
    if (frames.empty() || frames[0].size() < 6) continue;
    uint16_t event = 0;
    std::memcpy(&event, frames[0].data(), sizeof event);
    if (event == ZMQ_EVENT_HANDSHAKE_SUCCEEDED) {
      if (!ok_logged_) {
        Log(LogLevel::kInfo, "", "CURVE handshake with the " + peer_ + " done");
        ok_logged_ = true;
      }
      std::lock_guard<std::mutex> lock(LastWarningsMutex());
      LastWarnings().erase(peer_ + " " + own_public_key_);
      continue;
    }
    ++failures_;
    ok_logged_ = false;
    {
      // At most once a minute per peer and key for the whole process: a client makes a new
      // socket (and a new watch) at each reconnect, and must not say it again each time.
      std::lock_guard<std::mutex> lock(LastWarningsMutex());
      auto [it, fresh] = LastWarnings().try_emplace(peer_ + " " + own_public_key_, now_ms);
      if (!fresh && now_ms - it->second < 60000) continue;
      it->second = now_ms;
    }
    Log(LogLevel::kWarn, "",
        event == ZMQ_EVENT_HANDSHAKE_FAILED_AUTH
            ? "the " + peer_ + " refused our CURVE key " + own_public_key_ +
                  ": is its .key file in the data server's --curve-allow?"
            : "CURVE handshake with the " + peer_ +
                  " failed: a wrong --curve-server-key, or the server runs without CURVE");
  }
}

std::string RefusalLog::Refused(bool protocol, std::string_view address, int64_t now_ms) {
  ++refused_;
  // A retrying client comes from a new port each time: one line a minute per host.
  std::string host(address);
  if (size_t colon = host.rfind(':'); colon != std::string::npos && colon > 6) host.resize(colon);
  if (by_address_.size() >= 10000) by_address_.clear();
  LogState& st = by_address_[host];
  if (st.logged && now_ms - st.last_ms < log_every_ms_) {
    ++st.suppressed;
    return {};
  }
  std::string msg = "refused a peer on the " + socket_name_ + " socket" +
                    (host.empty() ? std::string() : " from " + host) + ": " +
                    (protocol ? "its handshake failed (a security mismatch: CURVE on one side "
                                "only, or not a qlir process)"
                              : "its handshake failed");
  if (st.suppressed > 0) {
    msg += " (" + std::to_string(st.suppressed) + " more since the last line)";
  }
  st = {now_ms, 0, true};
  return msg;
}

RefusalWatch::RefusalWatch(zmq::context_t* context, std::string socket_name)
    : events_(*context, zmq::socket_type::pair), log_(std::move(socket_name)) {}

Result<std::unique_ptr<RefusalWatch>> RefusalWatch::Start(zmq::context_t* context,
                                                          zmq::socket_t* socket,
                                                          std::string socket_name) {
  static std::atomic<uint64_t> seq{0};
  const std::string endpoint =
      "inproc://qlir-refusal-watch-" + std::to_string(::getpid()) + "-" + std::to_string(seq++);
  // Refused keys (HANDSHAKE_FAILED_AUTH) are ZAP's to log.
  if (zmq_socket_monitor(
          socket->handle(), endpoint.c_str(),
          ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL | ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL) != 0) {
    return Status::Error("cannot monitor the " + socket_name +
                         " socket: " + zmq_strerror(zmq_errno()));
  }
  std::unique_ptr<RefusalWatch> w(new RefusalWatch(context, socket_name));
  try {
    w->events_.set(zmq::sockopt::linger, 0);
    w->events_.connect(endpoint);
  } catch (const zmq::error_t& e) {
    return Status::Error("cannot watch the " + socket_name + " socket: " + e.what());
  }
  RefusalWatch* raw = w.get();
  QLIR_RETURN_IF_ERROR(w->reader_.Start(&w->events_, "refusal watch", [raw](auto& frames) {
    raw->OnEvent(frames);
    return true;
  }));
  return w;
}

RefusalWatch::~RefusalWatch() {
  reader_.Stop();
  try {
    events_.close();
  } catch (const zmq::error_t&) {
  }
}

void RefusalWatch::OnEvent(const std::vector<zmq::message_t>& frames) {
  if (frames.empty() || frames[0].size() < 6) return;
  uint16_t event = 0;
  std::memcpy(&event, frames[0].data(), sizeof event);
  // For a bound socket the event's address is the peer's (tcp://host:port).
  const std::string address = frames.size() > 1 ? frames[1].to_string() : std::string();
  const std::string line =
      log_.Refused(event == ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL, address, WallClockMs());
  if (!line.empty()) Log(LogLevel::kWarn, "", line);
}

}  // namespace qlir::curve
