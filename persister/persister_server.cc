#include "persister/persister_server.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <thread>
#include <tuple>
#include <cerrno>
#include <cstring>

#include <nlohmann/json.hpp>

#include "common/data_root.h"
#include "common/endpoint.h"
#include "common/json_syntax.h"
#include "common/response_file.h"
#include "common/slice_id.h"
#include "common/symbol.h"
#include "common/time_util.h"
#include "common/log.h"
#include "common/signals.h"
#include "persister/recovery.h"
#include "persister/slice_precedence.h"

namespace qlir::persister {

namespace fs = std::filesystem;

namespace {

constexpr size_t kSlicesPerNotice = 5000;
constexpr int kMaxControlPerRound = 64;

std::optional<std::string> IsoOrNull(int64_t ms) {
  if (ms <= 0) return std::nullopt;
  return FormatIsoUtc(ms);
}

std::optional<int64_t> TsOrNull(int64_t ts) {
  if (ts < 0) return std::nullopt;
  return ts;
}

// Every sliced endpoint answers with a JSON array (klines, aggTrades, fundingRate); anything
// else is not stored.
bool IsJsonArray(std::string_view body) {
  size_t i = body.find_first_not_of(" \t\r\n");
  if (i == std::string_view::npos || body[i] != '[') return false;
  // A syntax-only pass: nlohmann::json::accept took two thirds of the persister's CPU here
  // (issue #8, common/json_syntax.h).
  return IsValidJson(body);
}

std::string PeerName(const zmq::message_t& id) {
  static const char* kHex = "0123456789abcdef";
  std::string out;
  const auto* p = static_cast<const unsigned char*>(id.data());
  for (size_t i = 0; i < id.size(); ++i) {
    out += kHex[p[i] >> 4];
    out += kHex[p[i] & 15];
  }
  return out;
}

}  // namespace

PersisterServer::PersisterServer(ServerOptions options, zmq::context_t* context,
                                 ManifestStore* store, Disk* disk)
    : options_(std::move(options)),
      context_(context),
      store_(store),
      disk_(disk),
      clock_(options_.clock ? options_.clock : &real_clock_),
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
    if (Status s = curve::MakeServer(results_, options_.curve->own, curve::kResultsDomain); !s.ok()) {
      return s;
    }
    if (Status s = curve::MakeServer(control_, options_.curve->own, curve::kControlDomain); !s.ok()) {
      return s;
    }
  }
  for (auto [socket, watch, name] :
       {std::tuple{&results_, &results_watch_, "results"}, {&control_, &control_watch_, "control"}}) {
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

Status PersisterServer::EnsureResponsesDir(const fs::path& dir) {
  if (created_dirs_.contains(dir)) return Status::Ok();
  if (Status s = CreateDirsDurably(dir, disk_); !s.ok()) return s;
  created_dirs_.insert(dir);
  return Status::Ok();
}

void PersisterServer::HandleResultFrame(const zmq::message_t& frame) {
  auto msg = wire::Decode(std::string_view(static_cast<const char*>(frame.data()), frame.size()));
  if (!msg) {
    ++counters_["results_dropped"];
    Log(LogLevel::kWarn, {}, "results: dropped a bad frame of " +
                                     std::to_string(frame.size()) + " bytes: " + msg.error());
    return;
  }
  const auto* r = std::get_if<wire::FetchResult>(&*msg);
  if (!r) {
    ++counters_["results_dropped"];
    Log(LogLevel::kWarn, {},
        "results: dropped a " + std::string(wire::TypeName(wire::TypeOf(*msg))) +
            " message (only FETCH_RESULT belongs here)");
    return;
  }
  // A second result for a key already waiting in this batch: write the batch first, so that
  // the store decides between the two in arrival order.
  if (pending_keys_.contains(r->key)) WritePending();
  if (auto w = PrepareResult(*r)) {
    pending_keys_.insert(w->rec.key);
    pending_.push_back(std::move(*w));
  }
}

std::optional<PersisterServer::PendingWrite> PersisterServer::PrepareResult(
    const wire::FetchResult& r) {
  ++counters_["results_received"];
  // Check what the result claims before it touches the disk.
  const Endpoint* endpoint = FindEndpoint(r.endpoint);
  if (!endpoint) {
    ++counters_["results_dropped"];
    Log(LogLevel::kWarn, r.key, "dropped result: " + UnknownEndpointMessage(r.endpoint));
    return std::nullopt;
  }
  auto key = endpoint->ParseKey(r.key);
  if (!key) {
    Log(LogLevel::kWarn, {}, "dropped result: " + key.error());
    return std::nullopt;
  }
  auto outcome = ParseSliceStatus(r.outcome);
  if (!outcome || *outcome == SliceStatus::kPending) {
    Log(LogLevel::kWarn, r.key, "dropped result with invalid outcome '" + r.outcome + "'");
    return std::nullopt;
  }
  const std::string endpoint_name(endpoint->name());
  const SeriesId series{endpoint_name, key->symbol, key->interval};

  SliceRecord rec;
  rec.key = r.key;
  rec.status = *outcome;
  rec.http_status = r.http_status > 0 ? std::optional<int>(r.http_status) : std::nullopt;
  rec.requested_at = IsoOrNull(r.requested_at_ms);
  rec.completed_at = IsoOrNull(r.completed_at_ms);
  // fetched_at is the exchange's clock, second precision as written in the file; recovery
  // derives ok/partial from the same value, so both agree.
  const int64_t fetched_ms = (r.server_time_ms > 0 ? r.server_time_ms : r.completed_at_ms);
  const int64_t fetched_s_ms = fetched_ms - ((fetched_ms % 1000) + 1000) % 1000;
  if (rec.status != SliceStatus::kFailed) {
    if (!IsJsonArray(r.body)) {
      Log(LogLevel::kWarn, r.key,
          "body of " + std::to_string(r.body.size()) +
              " bytes is not a valid JSON array; recording failed");
      rec.status = SliceStatus::kFailed;
      rec.error = "body is not a valid JSON array";
    } else {
      if (rec.status == SliceStatus::kOk &&
          StatusForWindow(key->end_ms, fetched_s_ms) == SliceStatus::kPartial) {
        Log(LogLevel::kWarn, r.key,
            "result claims ok but was fetched at " + FormatIsoUtc(fetched_ms) +
                ", before its window closed; storing as partial");
        rec.status = SliceStatus::kPartial;
      }
      rec.n_items = r.n_items;
      rec.first_ts = TsOrNull(r.first_ts);
      rec.last_ts = TsOrNull(r.last_ts);
    }
  } else {
    rec.error = r.error.empty() ? std::optional<std::string>("unknown error") : r.error;
  }

  auto existing = store_->Lookup(series, r.key);
  if (!existing) {
    Log(LogLevel::kError, r.key, "cannot load series, result not stored: " + existing.error());
    return std::nullopt;
  }
  if (!Supersedes(rec.status, *existing)) {
    // The stored result wins (ok is final; a failure never replaces a stored response).
    ++counters_["results_superseded"];
    notices_[endpoint_name].push_back({r.key, std::string(SliceStatusName(**existing))});
    return std::nullopt;
  }
  if (rec.status != SliceStatus::kFailed) {
    auto dir = SeriesDir(options_.data_root, endpoint_name, key->symbol, key->interval);
    if (!dir) {
      Log(LogLevel::kWarn, r.key, "dropped result: " + dir.error());
      return std::nullopt;
    }
    PendingWrite w;
    w.series = series;
    w.rec = std::move(rec);
    w.responses = *dir / kResponsesDir;
    w.target = w.responses / (key->slice_id() + ".json");
    w.body_size = static_cast<int64_t>(r.body.size());
    if (Status s = EnsureResponsesDir(w.responses); !s.ok()) {
      ++counters_["write_errors"];
      Log(LogLevel::kError, r.key, "cannot store response, not acknowledged: " + s.message());
      return std::nullopt;
    }
    w.bytes = EncodeResponseFile(ResponseMeta{r.url, r.key, FormatIsoUtc(fetched_ms)}, r.body);
    return w;
  }
  // A failure has no file: record it at once.
  PendingWrite w;
  w.series = series;
  w.rec = std::move(rec);
  FinishResult(&w);
  return std::nullopt;
}

void PersisterServer::WritePending() {
  if (pending_.empty()) return;
  // The files of a batch are written (temporary, fsync, rename) in parallel: fsync waits on the
  // disk, and several in flight share the file system's journal commits. Their directory is
  // fsynced once, by CommitBatch, before anything is acknowledged or named by a manifest.
  const size_t n = pending_.size();
  const size_t threads = std::min<size_t>(n, static_cast<size_t>(std::max(1, options_.write_threads)));
  std::atomic<size_t> next{0};
  auto work = [&] {
    for (size_t i = next++; i < n; i = next++) {
      PendingWrite& w = pending_[i];
      w.write_status = disk_->WriteFileAtomic(w.target, w.bytes, /*sync_dir=*/false);
    }
  };
  std::vector<std::thread> helpers;
  for (size_t t = 1; t < threads; ++t) helpers.emplace_back(work);
  work();
  for (std::thread& t : helpers) t.join();
  // In arrival order, as before: what the store keeps and what DURABLE says.
  for (PendingWrite& w : pending_) FinishResult(&w);
  pending_.clear();
  pending_keys_.clear();
}

void PersisterServer::FinishResult(PendingWrite* w) {
  const SliceRecord& rec = w->rec;
  if (!w->target.empty()) {
    if (!w->write_status.ok()) {
      ++counters_["write_errors"];
      Log(LogLevel::kError, rec.key,
          "cannot store response, not acknowledged: " + w->write_status.message());
      return;
    }
    ++counters_["files_written"];
    counters_["bytes_written"] += w->body_size;
    dirs_to_sync_.insert(w->responses);
  }
  auto kept = store_->Record(w->series, rec);
  if (!kept) {
    Log(LogLevel::kError, rec.key, "cannot record result: " + kept.error());
    return;
  }
  Log(LogLevel::kInfo, rec.key,
      std::string(rec.status == SliceStatus::kFailed ? "recorded " : "stored ") +
          std::string(SliceStatusName(*kept)) +
          (rec.status == SliceStatus::kFailed ? " (" + rec.error.value_or("") + ")" : ""));
  ++counters_["recorded_" + std::string(SliceStatusName(*kept))];
  notices_[w->series.endpoint].push_back({rec.key, std::string(SliceStatusName(*kept))});
}

void PersisterServer::CommitBatch() {
  // Order matters: the renames become durable (directory fsync) before anyone hears of them.
  for (auto it = dirs_to_sync_.begin(); it != dirs_to_sync_.end();) {
    Status s = disk_->SyncDir(*it);
    if (!s.ok()) {
      ++counters_["fsync_errors"];
      LogError("cannot fsync " + it->string() + ", acknowledgements held back: " + s.message());
      return;  // retried on the next round; nothing is acknowledged meanwhile
    }
    it = dirs_to_sync_.erase(it);
  }
  for (const auto& [endpoint, slices] : notices_) {
    counters_["durable_slices"] += static_cast<int64_t>(slices.size());
    Broadcast(endpoint, slices);
  }
  notices_.clear();
}

void PersisterServer::Broadcast(const std::string& endpoint,
                                const std::vector<wire::SliceState>& slices) {
  const int64_t now = clock_->MonotonicNowMs();
  std::erase_if(subscribers_, [&](const auto& kv) { return kv.second < now; });
  if (subscribers_.empty()) return;
  for (size_t from = 0; from < slices.size(); from += kSlicesPerNotice) {
    wire::Durable d;
    d.endpoint = endpoint;
    d.slices.assign(slices.begin() + static_cast<std::ptrdiff_t>(from),
                    slices.begin() + static_cast<std::ptrdiff_t>(
                                         std::min(slices.size(), from + kSlicesPerNotice)));
    const std::string bytes = wire::Encode(d);
    for (auto it = subscribers_.begin(); it != subscribers_.end();) {
      bool gone = false;
      try {
        zmq::message_t id(it->first.data(), it->first.size());
        zmq::message_t body(bytes.data(), bytes.size());
        if (!control_.send(id, zmq::send_flags::sndmore | zmq::send_flags::dontwait) ||
            !control_.send(body, zmq::send_flags::dontwait)) {
          LogWarn("subscriber " + PeerName(id) + " is not reading; DURABLE notice dropped");
        }
      } catch (const zmq::error_t& e) {
        if (e.num() != EHOSTUNREACH) LogWarn(std::string("cannot send DURABLE: ") + e.what());
        gone = true;
      }
      it = gone ? subscribers_.erase(it) : std::next(it);
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
  const zmq::message_t& id = frames->front();
  auto msg = wire::Decode(std::string_view(static_cast<const char*>(payload.data()), payload.size()));
  if (!msg) {
    LogWarn("control: dropped a bad frame of " + std::to_string(payload.size()) +
               " bytes from " + PeerName(id) + ": " + msg.error());
    return;
  }
  if (auto* h = std::get_if<wire::Hello>(&*msg)) {
    const std::string key(static_cast<const char*>(id.data()), id.size());
    if (!subscribers_.contains(key)) {
      LogInfo("subscriber '" + h->sender + "' (" + PeerName(id) + ") joined");
    }
    subscribers_[key] = clock_->MonotonicNowMs() + options_.subscription_ms;
    return;
  }
  if (auto* q = std::get_if<wire::StatusRequest>(&*msg)) {
    // Asking for statuses also subscribes the asker to DURABLE notices, as HELLO does: the
    // planner must not miss the notices of results stored right after its first request.
    subscribers_[std::string(static_cast<const char*>(id.data()), id.size())] =
        clock_->MonotonicNowMs() + options_.subscription_ms;
    wire::StatusReply reply;
    reply.request_id = q->request_id;
    reply.endpoint = q->endpoint;
    reply.symbol = q->symbol;
    reply.interval = q->interval;
    const Endpoint* endpoint = FindEndpoint(q->endpoint);
    if (!endpoint) {
      reply.error = UnknownEndpointMessage(q->endpoint);
    } else if (Status s = ValidateSymbol(q->symbol); !s.ok()) {
      reply.error = s.message();
    } else if (!endpoint->ValidateInterval(q->interval).ok()) {
      reply.error = "unsupported interval '" + q->interval + "'";
    } else {
      auto statuses = store_->LoadStatuses(SeriesId{q->endpoint, q->symbol, q->interval});
      if (!statuses) {
        reply.error = statuses.error();
      } else {
        reply.slices.reserve(statuses->size());
        for (const auto& [k, st] : *statuses) {
          reply.slices.push_back({k, std::string(SliceStatusName(st))});
        }
      }
    }
    if (!reply.error.empty()) LogWarn("STATUS_REQUEST: " + reply.error);
    // A series too large for one frame would be dropped by the peer: say so instead.
    if (static_cast<int64_t>(wire::Encode(reply).size()) > wire::kMaxMessageBytes) {
      reply.error = "series has " + std::to_string(reply.slices.size()) +
                    " slices, too many for one STATUS_REPLY";
      reply.slices.clear();
      LogError("STATUS_REQUEST: " + reply.error);
    }
    Reply(*frames, reply);
    return;
  }
  if (auto* mp = std::get_if<wire::MarkPending>(&*msg)) {
    wire::Ack ack;
    ack.request_id = mp->request_id;
    std::map<SeriesId, std::vector<std::string>> by_series;
    const Endpoint* endpoint = FindEndpoint(mp->endpoint);
    if (!endpoint) ack.error = UnknownEndpointMessage(mp->endpoint);
    for (const std::string& k : mp->keys) {
      if (!endpoint) break;
      auto key = endpoint->ParseKey(k);
      if (!key) {
        if (ack.error.empty()) ack.error = key.error();
        continue;
      }
      by_series[SeriesId{mp->endpoint, key->symbol, key->interval}].push_back(k);
    }
    if (endpoint) {
      for (const auto& [series, keys] : by_series) {
        auto n = store_->MarkPending(series, keys, clock_->WallNowMs());
        if (!n) {
          if (ack.error.empty()) ack.error = n.error();
          continue;
        }
        ack.count += *n;
      }
    }
    if (!ack.error.empty()) LogWarn("MARK_PENDING: " + ack.error);
    Reply(*frames, ack);
    return;
  }
  LogWarn("control: dropped a " + std::string(wire::TypeName(wire::TypeOf(*msg))) +
             " message from " + PeerName(id));
}

void PersisterServer::WriteStats(bool force) {
  const int64_t wall = clock_->WallNowMs();
  if (!force && !stats_.Due(wall)) return;
  Counters c = counters_;
  for (const char* name : {"results_received", "recorded_ok", "recorded_partial",
                           "recorded_failed", "results_dropped", "write_errors", "bytes_written"}) {
    c.emplace(name, 0);
  }
  c["subscribers"] = static_cast<int64_t>(subscribers_.size());
  c["dirs_to_sync"] = static_cast<int64_t>(dirs_to_sync_.size());
  int64_t waiting = 0;
  for (const auto& [endpoint, slices] : notices_) waiting += static_cast<int64_t>(slices.size());
  c["notices_waiting"] = waiting;
  stats_.Write(wall, c);
}

void PersisterServer::RecoverLaggingSeries() {
  // Series are loaded (and recovered) when first asked for. One whose responses/ changed after
  // its manifest was written (a crash between a response file and the next manifest write) is
  // recovered now, so that manifest.json catches up even if nobody asks for that series before
  // the next stop. A rename into responses/ updates the directory's modification time.
  std::error_code ec;
  const fs::path binance = options_.data_root / "binance";
  if (!fs::is_directory(binance, ec)) return;
  int recovered = 0;
  for (const Endpoint* endpoint : AllEndpoints()) {
    const fs::path raw = binance / std::string(endpoint->name()) / "raw";
    for (fs::directory_iterator sym(raw, ec), end; !ec && sym != end; sym.increment(ec)) {
      const std::string symbol = sym->path().filename().string();
      if (!sym->is_directory(ec) || !ValidateSymbol(symbol).ok()) continue;
      std::error_code ec2;
      for (fs::directory_iterator iv(sym->path(), ec2), end2; !ec2 && iv != end2;
           iv.increment(ec2)) {
        const std::string interval = iv->path().filename().string();
        if (!iv->is_directory(ec2) || !endpoint->ValidateInterval(interval).ok()) continue;
        std::error_code e1, e2;
        const auto responses_time = fs::last_write_time(iv->path() / kResponsesDir, e1);
        const auto manifest_time = fs::last_write_time(iv->path() / kManifestName, e2);
        if (e1 || (!e2 && manifest_time > responses_time)) continue;
        const SeriesId series{std::string(endpoint->name()), symbol, interval};
        auto loaded = store_->LoadStatuses(series);
        if (!loaded) {
          LogError("cannot recover " + series.ToString() + " at start: " + loaded.error());
        } else {
          ++recovered;
        }
      }
    }
  }
  if (recovered > 0) {
    LogInfo("recovered at start " + std::to_string(recovered) +
            " series whose responses changed after their manifest");
  }
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
    int64_t timeout = 1000;
    if (auto next = store_->NextFlushMs()) timeout = std::clamp<int64_t>(*next - now, 0, timeout);
    if (!dirs_to_sync_.empty() || !notices_.empty()) timeout = std::min<int64_t>(timeout, 200);
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
    if (!stopping && (items[2].revents & ZMQ_POLLIN)) {
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
    if (!stopping && (items[1].revents & ZMQ_POLLIN)) {
      // Bounded by count and by time, so that control messages (HELLO renewals, status
      // requests) are read at least every ~50 ms even while results keep arriving.
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
      WritePending();
    }
    CommitBatch();
    // The manifest may only name files whose directory entries are durable.
    if (dirs_to_sync_.empty()) {
      if (Status s = store_->FlushDue(clock_->MonotonicNowMs()); !s.ok()) LogError(s.message());
    }
  }
  LogInfo("stopping: flushing");
  WritePending();
  CommitBatch();
  if (!dirs_to_sync_.empty()) {
    return Status::Error("response directories could not be fsynced at shutdown");
  }
  if (Status s = store_->Flush(); !s.ok()) return s;
  WriteStats(true);
  LogInfo("stopped; everything flushed");
  return Status::Ok();
}

}  // namespace qlir::persister
