#include "common/wire.h"

namespace qlir::wire {
namespace {

template <typename T>
struct TypeFor;
template <>
struct TypeFor<Ready> {
  static constexpr Type v = Type::kReady;
};
template <>
struct TypeFor<Heartbeat> {
  static constexpr Type v = Type::kHeartbeat;
};
template <>
struct TypeFor<Job> {
  static constexpr Type v = Type::kJob;
};
template <>
struct TypeFor<JobDone> {
  static constexpr Type v = Type::kJobDone;
};
template <>
struct TypeFor<JobReturn> {
  static constexpr Type v = Type::kJobReturn;
};
template <>
struct TypeFor<FetchResult> {
  static constexpr Type v = Type::kFetchResult;
};
template <>
struct TypeFor<Hello> {
  static constexpr Type v = Type::kHello;
};
template <>
struct TypeFor<Durable> {
  static constexpr Type v = Type::kDurable;
};
template <>
struct TypeFor<StatusRequest> {
  static constexpr Type v = Type::kStatusRequest;
};
template <>
struct TypeFor<StatusReply> {
  static constexpr Type v = Type::kStatusReply;
};
template <>
struct TypeFor<MarkPending> {
  static constexpr Type v = Type::kMarkPending;
};
template <>
struct TypeFor<Ack> {
  static constexpr Type v = Type::kAck;
};
template <>
struct TypeFor<Pending> {
  static constexpr Type v = Type::kPending;
};
template <>
struct TypeFor<Recheck> {
  static constexpr Type v = Type::kRecheck;
};

template <typename T>
Result<Message> As(const msgpack::object& payload) {
  T value;
  payload.convert(value);  // throws msgpack::type_error on a mismatch; caught by Decode
  return Message(std::move(value));
}

}  // namespace

Type TypeOf(const Message& m) {
  return std::visit([](const auto& v) { return TypeFor<std::decay_t<decltype(v)>>::v; }, m);
}

std::string_view TypeName(Type t) {
  switch (t) {
    case Type::kReady:
      return "READY";
    case Type::kHeartbeat:
      return "HEARTBEAT";
    case Type::kJob:
      return "JOB";
    case Type::kJobDone:
      return "JOB_DONE";
    case Type::kJobReturn:
      return "JOB_RETURN";
    case Type::kFetchResult:
      return "FETCH_RESULT";
    case Type::kHello:
      return "HELLO";
    case Type::kDurable:
      return "DURABLE";
    case Type::kStatusRequest:
      return "STATUS_REQUEST";
    case Type::kStatusReply:
      return "STATUS_REPLY";
    case Type::kMarkPending:
      return "MARK_PENDING";
    case Type::kAck:
      return "ACK";
    case Type::kPending:
      return "PENDING";
    case Type::kRecheck:
      return "RECHECK";
  }
  return "UNKNOWN";
}

std::string Encode(const Message& m) {
  msgpack::sbuffer buf;
  msgpack::packer<msgpack::sbuffer> pk(buf);
  pk.pack_array(3);
  pk.pack(static_cast<uint32_t>(TypeOf(m)));
  pk.pack(kProtocolVersion);
  std::visit([&](const auto& v) { pk.pack(v); }, m);
  return std::string(buf.data(), buf.size());
}

Result<Message> Decode(std::string_view bytes) {
  if (bytes.empty()) return Status::Error("empty message");
  if (static_cast<int64_t>(bytes.size()) > kMaxMessageBytes) {
    return Status::Error("message of " + std::to_string(bytes.size()) + " bytes exceeds the limit");
  }
  try {
    // Limits keep a hostile frame from asking for huge allocations.
    msgpack::unpack_limit limit(/*array=*/1 << 20, /*map=*/1 << 16, /*str=*/kMaxMessageBytes,
                                /*bin=*/kMaxMessageBytes, /*ext=*/1024, /*depth=*/16);
    size_t off = 0;
    msgpack::object_handle oh =
        msgpack::unpack(bytes.data(), bytes.size(), off, nullptr, nullptr, limit);
    if (off != bytes.size()) return Status::Error("trailing bytes after message");
    const msgpack::object& o = oh.get();
    if (o.type != msgpack::type::ARRAY || o.via.array.size != 3) {
      return Status::Error("message is not a [type, version, payload] array");
    }
    const msgpack::object* a = o.via.array.ptr;
    if (a[0].type != msgpack::type::POSITIVE_INTEGER ||
        a[1].type != msgpack::type::POSITIVE_INTEGER) {
      return Status::Error("message type or version is not an unsigned integer");
    }
    const uint64_t version = a[1].via.u64;
    if (version != kProtocolVersion) {
      return Status::Error("unsupported protocol version " + std::to_string(version));
    }
    switch (static_cast<Type>(a[0].via.u64)) {
      case Type::kReady:
        return As<Ready>(a[2]);
      case Type::kHeartbeat:
        return As<Heartbeat>(a[2]);
      case Type::kJob:
        return As<Job>(a[2]);
      case Type::kJobDone:
        return As<JobDone>(a[2]);
      case Type::kJobReturn:
        return As<JobReturn>(a[2]);
      case Type::kFetchResult:
        return As<FetchResult>(a[2]);
      case Type::kHello:
        return As<Hello>(a[2]);
      case Type::kDurable:
        return As<Durable>(a[2]);
      case Type::kStatusRequest:
        return As<StatusRequest>(a[2]);
      case Type::kStatusReply:
        return As<StatusReply>(a[2]);
      case Type::kMarkPending:
        return As<MarkPending>(a[2]);
      case Type::kAck:
        return As<Ack>(a[2]);
      case Type::kPending:
        return As<Pending>(a[2]);
      case Type::kRecheck:
        return As<Recheck>(a[2]);
    }
    return Status::Error("unknown message type " + std::to_string(a[0].via.u64));
  } catch (const std::exception& e) {
    return Status::Error(std::string("malformed message: ") + e.what());
  }
}

}  // namespace qlir::wire
