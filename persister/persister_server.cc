#include "persister/persister_server.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <tuple>

#include "common/data_root.h"
#include "common/endpoint.h"
#include "common/log.h"
#include "common/signals.h"
#include "common/symbol.h"
#include "persister/recovery.h"

namespace qlir::persister {

namespace fs = std::filesystem;

namespace {

constexpr int kMaxControlPerRound = 64;

std::string PeerOf(const zmq::message_t& id) {
  return std::string(static_cast<const char*>(id.data()), id.size());
}

}  // namespace

PersisterServer::PersisterServer(ServerOptions options, zmq::context_t* context,
                                 ManifestStore* store, Disk* disk)
    : options_(std::move(options)),
      context_(context),
      store_(store),
      clock_(options_.clock ? options_.clock : &real_clock_),
      intake_(IntakeOptions{.data_root = options_.data_root,
                            .write_threads = options_.write_threads,
                            .subscription_ms = options_.subscription_ms,
                            .confirm_holes_after_ms = options_.confirm_holes_after_ms},
              store, disk, clock_),
      results_(*context_, zmq::socket_type::pull),
      control_(*context_, zmq::socket_type::router),
      stats_(options_.stats_file, "persister", "persister", clock_->WallNowMs()) {
  if (::pipe2(stop_pipe_, O_NONBLOCK | O_CLOEXEC) != 0) {
    stop_pipe_[0] = stop_pipe_[1] = -1;
    LogError(std::string("cannot create the stop pipe: ") + std::strerror(errno));
  }
}

PersisterServer::~PersisterServer() {
  for (int fd : stop_pipe_) {
    if (fd >= 0) ::close(fd);
  }
}

Status PersisterServer::Bind() {
  if (stop_pipe_[0] < 0) return Status::Error("no stop pipe");
  try {
    for (zmq::socket_t* s : {&results_, &control_}) {
      s->set(zmq::sockopt::maxmsgsize, wire::kMaxMessageBytes);
      s->set(zmq::sockopt::linger, options_.linger_ms);
    }
    control_.set(zmq::sockopt::router_mandatory, 1);
  } catch (const zmq::error_t& e) {
    return Status::Error(std::string("cannot set socket options: ") + e.what());
  }
  if (options_.curve) {
    // The handler must be up before a CURVE server binds: without one libzmq lets anyone in.
    curve::ZapPolicy policy;
    policy.Allow(curve::kResultsDomain, options_.curve->allowed);
    policy.Allow(curve::kControlDomain, {{options_.curve->own.public_key, "data-server"}});
    auto zap = curve::ZapHandler::Start(context_, std::move(policy));
    if (!zap.ok()) return zap.status();
    zap_ = std::move(*zap);
    if (Status s = curve::MakeServer(results_, options_.curve->own, curve::kResultsDomain);
        !s.ok()) {
      return s;
    }
    if (Status s = curve::MakeServer(control_, options_.curve->own, curve::kControlDomain);
        !s.ok()) {
      return s;
    }
  }
  for (auto [socket, watch, name] : {std::tuple{&results_, &results_watch_, "results"},
                                     {&control_, &control_watch_, "control"}}) {
    auto w = curve::RefusalWatch::Start(context_, socket, name);
    if (!w.ok()) return w.status();
    *watch = std::move(*w);
  }
  try {
    results_.bind(options_.results_bind);
  } catch (const zmq::error_t& e) {
    return Status::Error("cannot bind results socket to " + options_.results_bind + ": " +
                         e.what());
  }
  try {
    control_.bind(options_.control_bind);
  } catch (const zmq::error_t& e) {
    return Status::Error("cannot bind control socket to " + options_.control_bind + ": " +
                         e.what());
  }
  LogInfo("results on " + results_endpoint() + ", control on " + control_endpoint() +
          ", data root " + options_.data_root.string() +
          (options_.curve ? ", CURVE with " + std::to_string(options_.curve->allowed.size()) +
                                " allowed fetcher key(s)"
                          : std::string(", no CURVE")));
  return Status::Ok();
}

std::string PersisterServer::results_endpoint() const {
  try {
    return results_.get(zmq::sockopt::last_endpoint);
  } catch (const zmq::error_t&) {
    return {};
  }
}

std::string PersisterServer::control_endpoint() const {
  try {
    return control_.get(zmq::sockopt::last_endpoint);
  } catch (const zmq::error_t&) {
    return {};
  }
}

void PersisterServer::Stop() {
  if (stop_pipe_[1] >= 0) {
    ssize_t n = ::write(stop_pipe_[1], "x", 1);
    (void)n;  // a full pipe already holds a stop request
  }
}

void PersisterServer::HandleResultFrame(const zmq::message_t& frame) {
  auto msg = wire::Decode(std::string_view(static_cast<const char*>(frame.data()), frame.size()));
  if (!msg) {
    intake_.OnDroppedResult();
    Log(LogLevel::kWarn, {},
        "results: dropped a bad frame of " + std::to_string(frame.size()) +
            " bytes: " + msg.error());
    return;
  }
  const auto* r = std::get_if<wire::FetchResult>(&*msg);
  if (!r) {
    intake_.OnDroppedResult();
    Log(LogLevel::kWarn, {},
        "results: dropped a " + std::string(wire::TypeName(wire::TypeOf(*msg))) +
            " message (only FETCH_RESULT belongs here)");
    return;
  }
  intake_.OnResult(*r);
}

void PersisterServer::Send(const std::vector<Intake::Outgoing>& out) {
  for (const Intake::Outgoing& o : out) {
    const std::string bytes = wire::Encode(o.message);
    try {
      zmq::message_t id(o.peer.data(), o.peer.size());
      zmq::message_t body(bytes.data(), bytes.size());
      if (!control_.send(id, zmq::send_flags::sndmore | zmq::send_flags::dontwait) ||
          !control_.send(body, zmq::send_flags::dontwait)) {
        LogWarn("subscriber " + PeerName(o.peer) + " is not reading; " +
                std::string(wire::TypeName(wire::TypeOf(o.message))) + " notice dropped");
      }
    } catch (const zmq::error_t& e) {
      if (e.num() != EHOSTUNREACH) {
        LogWarn("cannot send " + std::string(wire::TypeName(wire::TypeOf(o.message))) + ": " +
                e.what());
      }
      intake_.OnPeerGone(o.peer);
    }
  }
}

void PersisterServer::Reply(const std::vector<zmq::message_t>& envelope, const wire::Message& m) {
  const std::string bytes = wire::Encode(m);
  try {
    for (const zmq::message_t& part : envelope) {
      zmq::message_t copy(part.data(), part.size());
      if (!control_.send(copy, zmq::send_flags::sndmore | zmq::send_flags::dontwait)) {
        LogWarn("control peer is not reading; reply dropped");
        return;
      }
    }
    zmq::message_t body(bytes.data(), bytes.size());
    if (!control_.send(body, zmq::send_flags::dontwait)) {
      LogWarn("control peer is not reading; reply dropped");
    }
  } catch (const zmq::error_t& e) {
    LogWarn(std::string("cannot reply on control socket: ") + e.what());
  }
}

void PersisterServer::HandleControl(std::vector<zmq::message_t>* frames) {
  // [routing id][optional empty delimiter...][message]: the reply goes back with the same
  // envelope, so both DEALER and REQ peers work.
  if (frames->size() < 2) {
    LogWarn("control: dropped a message without routing envelope");
    return;
  }
  zmq::message_t payload = std::move(frames->back());
  frames->pop_back();
  const std::string peer = PeerOf(frames->front());
  auto msg =
      wire::Decode(std::string_view(static_cast<const char*>(payload.data()), payload.size()));
  if (!msg) {
    LogWarn("control: dropped a bad frame of " + std::to_string(payload.size()) + " bytes from " +
            PeerName(peer) + ": " + msg.error());
    return;
  }
  if (auto reply = intake_.OnControl(peer, *msg, clock_->MonotonicNowMs())) Reply(*frames, *reply);
}

void PersisterServer::WriteStats(bool force) {
  const int64_t wall = clock_->WallNowMs();
  if (!force && !stats_.Due(wall)) return;
  stats_.Write(wall, intake_.Snapshot());
}

void PersisterServer::RecoverLaggingSeries() {
  // Series are loaded (and recovered) when first asked for. One whose responses/ changed after
  // its state was written (a crash between a response file and the next manifest write or
  // commit) is recovered now, so that the state catches up even if nobody asks for that series
  // before the next stop. A rename into responses/ updates the directory's modification time.
  auto series = ListSeries(options_.data_root);
  if (!series) {
    LogError("cannot look for series to recover at start: " + series.error());
    return;
  }
  int recovered = 0;
  for (const SeriesLocation& loc : *series) {
    const Endpoint* endpoint = FindEndpoint(loc.endpoint);
    if (!endpoint || !ValidateSymbol(loc.symbol).ok() ||
        !endpoint->ValidateInterval(loc.interval).ok()) {
      continue;
    }
    if (!store_->CheckAtStart(loc).lagging) {
      to_upgrade_.push_back(loc);  // UpgradeStep, once serving
      continue;
    }
    const SeriesId id{loc.endpoint, loc.symbol, loc.interval};
    auto loaded = store_->LoadStatusPage(id, "", 1);
    if (!loaded) {
      LogError("cannot recover " + id.ToString() + " at start: " + loaded.error());
    } else {
      ++recovered;
    }
  }
  if (recovered > 0) {
    LogInfo("recovered at start " + std::to_string(recovered) +
            " series whose responses changed after their manifest");
  }
}

bool PersisterServer::UpgradeStep() {
  // A manifest written before entries had a digest is upgraded (recovery.h): its stored slices
  // get the digest of their files, without a refetch. Loading the series does it; a series
  // loaded already was upgraded then.
  if (upgrade_next_ >= to_upgrade_.size()) return false;
  const SeriesLocation loc = to_upgrade_[upgrade_next_++];
  const SeriesId id{loc.endpoint, loc.symbol, loc.interval};
  const auto loaded = store_->LoadedSeries();
  if (std::find(loaded.begin(), loaded.end(), id) == loaded.end()) {
    if (const size_t lacking = store_->LackingDigests(loc); lacking > 0) {
      if (auto page = store_->LoadStatusPage(id, "", 1); !page) {
        LogError("cannot upgrade " + id.ToString() + ": " + page.error());
      } else {
        ++upgraded_;
        without_digest_ += lacking;
      }
    }
  }
  if (upgrade_next_ < to_upgrade_.size()) return true;
  LogInfo("looked for manifests written without digests in " + std::to_string(to_upgrade_.size()) +
          " series: upgraded " + std::to_string(upgraded_) + ", in which " +
          std::to_string(without_digest_) +
          " stored slices lacked one (each series' 'loaded' line says how many got one from "
          "their file and how many were set pending)");
  to_upgrade_ = {};
  return false;
}

void PersisterServer::ReadControl() {
  for (int i = 0; i < kMaxControlPerRound; ++i) {
    std::vector<zmq::message_t> frames;
    try {
      zmq::message_t part;
      if (!control_.recv(part, zmq::recv_flags::dontwait)) break;
      frames.push_back(std::move(part));
      while (frames.back().more()) {
        zmq::message_t next;
        if (!control_.recv(next, zmq::recv_flags::none)) break;
        frames.push_back(std::move(next));
      }
    } catch (const zmq::error_t& e) {
      if (e.num() == EINTR) break;
      LogWarn(std::string("control: receive failed: ") + e.what());
      break;
    }
    if (frames.size() > 8) {
      LogWarn("control: dropped a message of " + std::to_string(frames.size()) + " frames");
      continue;
    }
    HandleControl(&frames);
  }
}

void PersisterServer::ReadResults() {
  // Bounded by count and by time, so that control messages (HELLO renewals, status requests)
  // are read at least every ~50 ms even while results keep arriving.
  const int64_t round_start = clock_->MonotonicNowMs();
  for (int i = 0; i < options_.max_batch && clock_->MonotonicNowMs() - round_start < 50; ++i) {
    zmq::message_t frame;
    try {
      if (!results_.recv(frame, zmq::recv_flags::dontwait)) break;
      if (frame.more()) {  // one frame per message: drain and drop the rest
        LogWarn("results: dropped a multi-frame message");
        while (frame.more()) {
          if (!results_.recv(frame, zmq::recv_flags::none)) break;
        }
        continue;
      }
    } catch (const zmq::error_t& e) {
      if (e.num() == EINTR) break;
      LogWarn(std::string("results: receive failed: ") + e.what());
      break;
    }
    HandleResultFrame(frame);
  }
  intake_.WriteBatch();
}

Status PersisterServer::Run() {
  RecoverLaggingSeries();
  LogInfo("ready: serving results and control");
  zmq::pollitem_t items[] = {
      {nullptr, stop_pipe_[0], ZMQ_POLLIN, 0},
      {results_.handle(), 0, ZMQ_POLLIN, 0},
      {control_.handle(), 0, ZMQ_POLLIN, 0},
      {nullptr, options_.stop_fd, ZMQ_POLLIN, 0},
  };
  const size_t n_items = options_.stop_fd >= 0 ? 4 : 3;
  bool stopping = false;
  while (!stopping) {
    const int64_t now = clock_->MonotonicNowMs();
    int64_t timeout = upgrade_next_ < to_upgrade_.size() ? 0 : 1000;
    if (auto next = store_->NextFlushMs()) timeout = std::clamp<int64_t>(*next - now, 0, timeout);
    if (intake_.commit_pending()) timeout = std::min<int64_t>(timeout, 200);
    WriteStats(false);
    try {
      zmq::poll(items, n_items, std::chrono::milliseconds(timeout));
    } catch (const zmq::error_t& e) {
      if (e.num() != EINTR) return Status::Error(std::string("poll failed: ") + e.what());
      continue;
    }
    if (items[0].revents & ZMQ_POLLIN) {
      char buf[64];
      while (::read(stop_pipe_[0], buf, sizeof buf) > 0) {
      }
      stopping = true;
    }
    if (n_items == 4 && (items[3].revents & ZMQ_POLLIN)) {
      LogInfo("signal " + std::to_string(TakeStopSignal(options_.stop_fd)) + ": stopping");
      stopping = true;
    }
    const bool busy = (items[1].revents | items[2].revents) & ZMQ_POLLIN;
    if (!stopping && (items[2].revents & ZMQ_POLLIN)) ReadControl();
    if (!stopping && (items[1].revents & ZMQ_POLLIN)) ReadResults();
    if (!stopping && (!busy || clock_->MonotonicNowMs() - upgrade_last_ms_ >= 1000)) {
      if (UpgradeStep()) upgrade_last_ms_ = clock_->MonotonicNowMs();
    }
    Send(intake_.Commit(clock_->MonotonicNowMs()));
    // The manifest may only name files whose directory entries are durable.
    if (intake_.files_durable()) {
      if (Status s = store_->FlushDue(clock_->MonotonicNowMs()); !s.ok()) LogError(s.message());
    }
  }
  LogInfo("stopping: flushing");
  auto last = intake_.Drain(clock_->MonotonicNowMs());
  if (!last) return last.status();
  Send(*last);
  QLIR_RETURN_IF_ERROR(store_->Close());
  WriteStats(true);
  LogInfo("stopped; everything flushed");
  return Status::Ok();
}

}  // namespace qlir::persister
