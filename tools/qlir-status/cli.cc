#include "tools/qlir-status/cli.h"

#include <algorithm>
#include <limits>

#include "common/curve.h"
#include "common/data_root.h"
#include "common/endpoint.h"
#include "common/flags.h"
#include "common/json.h"
#include "common/klines/interval.h"
#include "common/symbol.h"
#include "common/time_util.h"
#include "tools/qlir-status/holes.h"
#include "tools/qlir-status/migrate.h"
#include "tools/qlir-status/process_stats.h"
#include "tools/qlir-status/reconcile.h"
#include "tools/qlir-status/render.h"
#include "tools/qlir-status/repair.h"
#include "tools/qlir-status/series_report.h"
#include "tools/qlir-status/verify.h"

namespace qlir::status_tool {

std::string UsageText() {
  return "usage: qlir-status [--data-root DIR] [--json] [--symbol S] [--interval I]\n"
         "                   [--stats-dir DIR]   (the processes' counters, e.g. <run-dir>/stats)\n"
         "       qlir-status verify [--data-root DIR] [--json] [--symbol S] [--interval I]\n"
         "                          [--quick]   (presence, sizes and framing only)\n"
         "                          [--repair [--persister tcp://HOST:5703] [--timeout-ms N]\n"
         "                           [--curve-secret-key FILE [--curve-server-key FILE]]]\n"
         "       qlir-status holes [--data-root DIR] [--json] [--symbol S] [--interval I]\n"
         "       qlir-status reconcile [--data-root DIR] [--json] [--symbols A,B] [--interval 1m]\n"
         "                             [--start WHEN] [--end WHEN]\n"
         "       qlir-status migrate --to sqlite|json [--data-root DIR]\n"
         "verify checks every stored file against its digest and every row for sense.\n"
         "holes lists the candles missing inside closed ok slices, merged into UTC ranges.\n"
         "reconcile checks stored klines against stored aggTrades, candle by candle\n"
         "  (exit 0 all agree, 2 some disagree or could not be read, 69 nothing to compare).\n"
         "migrate moves the manifests between manifest.json files and state.sqlite3, offline\n"
         "  (exit 0 done or already so, 2 failed: nothing lost, run it again, 69 a persister\n"
         "  holds the data root).\n"
         "--curve-secret-key: the data server's key pair, for a persister run with CURVE.\n"
         "The data root is --data-root, else $QLIR_DATA_ROOT, else ~/qlir_data.\n"
         "Exit codes: 0 nothing wrong, 1 problems found, 2 could not run, 64 bad usage.\n";
}

Result<Options> ParseArgs(const std::vector<std::string>& args) {
  Options o;
  size_t i = 0;
  if (!args.empty() && (args[0] == "verify" || args[0] == "status" || args[0] == "holes" ||
                        args[0] == "reconcile" || args[0] == "migrate")) {
    o.verify = args[0] == "verify";
    o.holes = args[0] == "holes";
    o.reconcile = args[0] == "reconcile";
    o.migrate = args[0] == "migrate";
    ++i;
  }
  for (; i < args.size(); ++i) {
    std::string flag = args[i];
    std::optional<std::string> inline_value;
    if (flag.starts_with("--")) {
      if (size_t eq = flag.find('='); eq != std::string::npos) {
        inline_value = flag.substr(eq + 1);
        flag = flag.substr(0, eq);
      }
    }
    auto value = [&]() -> Result<std::string> {
      if (inline_value) return *inline_value;
      if (i + 1 >= args.size()) return Status::Error(flag + " needs a value");
      return args[++i];
    };
    auto no_value = [&]() -> Status {
      return inline_value ? Status::Error(flag + " takes no value") : Status::Ok();
    };
    if (flag == "-h" || flag == "--help") {
      o.help = true;
    } else if (flag == "--json") {
      QLIR_RETURN_IF_ERROR(no_value());
      o.json = true;
    } else if (flag == "--quick") {
      QLIR_RETURN_IF_ERROR(no_value());
      o.quick = true;
    } else if (flag == "--repair") {
      QLIR_RETURN_IF_ERROR(no_value());
      o.repair = true;
    } else if (flag == "--data-root") {
      auto v = value();
      if (!v) return v.status();
      if (v->empty()) return Status::Error("--data-root must not be empty");
      o.data_root = *v;
    } else if (flag == "--symbol") {
      auto v = value();
      if (!v) return v.status();
      if (Status s = ValidateSymbol(*v); !s.ok()) return Status::Error("--symbol: " + s.message());
      o.symbol = *v;
    } else if (flag == "--symbols") {
      auto v = value();
      if (!v) return v.status();
      std::string_view rest = *v;
      while (true) {
        const size_t comma = rest.find(',');
        const std::string one(rest.substr(0, comma));
        if (Status s = ValidateSymbol(one); !s.ok()) {
          return Status::Error("--symbols: " + s.message());
        }
        o.symbols.push_back(one);
        if (comma == std::string_view::npos) break;
        rest.remove_prefix(comma + 1);
      }
    } else if (flag == "--start" || flag == "--end") {
      auto v = value();
      if (!v) return v.status();
      auto t = ParseTimeUtc(*v);
      if (!t) return Status::Error(flag + ": " + t.error());
      (flag == "--start" ? o.start_ms : o.end_ms) = *t;
    } else if (flag == "--interval") {
      auto v = value();
      if (!v) return v.status();
      const auto& all = AllEndpoints();
      if (std::none_of(all.begin(), all.end(),
                       [&](const Endpoint* e) { return e->ValidateInterval(*v).ok(); })) {
        return Status::Error("--interval: unsupported interval '" + *v + "'");
      }
      o.interval = *v;
    } else if (flag == "--stats-dir") {
      auto v = value();
      if (!v) return v.status();
      if (v->empty()) return Status::Error("--stats-dir must not be empty");
      o.stats_dir = *v;
    } else if (flag == "--persister") {
      auto v = value();
      if (!v) return v.status();
      if (v->empty()) return Status::Error("--persister must not be empty");
      o.persister = *v;
    } else if (flag == "--curve-secret-key" || flag == "--curve-server-key") {
      auto v = value();
      if (!v) return v.status();
      if (v->empty()) return Status::Error(flag + " must not be empty");
      (flag == "--curve-secret-key" ? o.curve_secret_key : o.curve_server_key) = *v;
    } else if (flag == "--to") {
      auto v = value();
      if (!v) return v.status();
      if (*v == "sqlite") {
        o.to = StateBackend::kSqlite;
      } else if (*v == "json") {
        o.to = StateBackend::kJson;
      } else {
        return Status::Error("--to: 'sqlite' or 'json', not '" + *v + "'");
      }
    } else if (flag == "--timeout-ms") {
      auto v = value();
      if (!v) return v.status();
      auto n = ParseIntFlag("timeout-ms", *v, 1, std::numeric_limits<int>::max());
      if (!n) return n.status();
      o.timeout_ms = static_cast<int>(*n);
    } else if (flag == "verify" || flag == "status" || flag == "holes" || flag == "reconcile" ||
               flag == "migrate") {
      return Status::Error("'" + flag + "' must come first");
    } else {
      return Status::Error("unknown argument '" + args[i] + "'");
    }
  }
  if (o.migrate) {
    if (!o.to) return Status::Error("migrate needs --to sqlite or --to json");
    if (o.json || o.symbol || o.interval || o.stats_dir || !o.symbols.empty() || o.start_ms ||
        o.end_ms || o.quick || o.repair || o.persister || o.timeout_ms || o.curve_secret_key ||
        o.curve_server_key) {
      return Status::Error("'qlir-status migrate' takes only --to and --data-root");
    }
    return o;
  }
  if (o.to) return Status::Error("--to belongs to 'qlir-status migrate'");
  if ((o.verify || o.holes || o.reconcile) && o.stats_dir) {
    return Status::Error("--stats-dir belongs to 'qlir-status' (status), not to '" +
                         std::string(o.verify  ? "verify"
                                     : o.holes ? "holes"
                                               : "reconcile") +
                         "'");
  }
  if (!o.reconcile && (o.start_ms || o.end_ms || !o.symbols.empty())) {
    return Status::Error("--symbols, --start and --end belong to 'qlir-status reconcile'");
  }
  if (o.reconcile) {
    if (o.interval) {
      auto ms = klines::IntervalToMs(*o.interval);
      if (!ms.ok() || *o.interval == "1w") {
        return Status::Error("--interval: reconcile compares klines candles of 1s to 1d, not '" +
                             *o.interval + "'");
      }
    }
    if (o.start_ms && o.end_ms && *o.start_ms > *o.end_ms) {
      return Status::Error("--start is after --end");
    }
  }
  if (!o.verify && (o.repair || o.persister || o.timeout_ms || o.quick)) {
    return Status::Error(
        "--quick, --repair, --persister and --timeout-ms belong to 'qlir-status verify'");
  }
  if (!o.repair && (o.persister || o.timeout_ms || o.curve_secret_key || o.curve_server_key)) {
    return Status::Error(
        "--persister, --timeout-ms and --curve-* only make sense with 'verify --repair'");
  }
  if (o.curve_server_key && !o.curve_secret_key) {
    return Status::Error("--curve-server-key needs --curve-secret-key");
  }
  return o;
}

namespace {

// The key pair for --repair: the data server's; the server key defaults to its own public key.
Result<std::optional<curve::Setup>> LoadCurve(const Options& o) {
  if (!o.curve_secret_key) return std::optional<curve::Setup>();
  curve::Setup setup;
  auto own = curve::LoadSecretKeyFile(*o.curve_secret_key);
  if (!own.ok()) return own.status();
  setup.own = *own;
  setup.server_public = own->public_key;
  if (o.curve_server_key) {
    auto server = curve::LoadPublicKeyFile(*o.curve_server_key);
    if (!server.ok()) return server.status();
    setup.server_public = *server;
  }
  return std::optional<curve::Setup>(std::move(setup));
}

int RunStatus(const Options& o, const std::filesystem::path& root, std::ostream& out,
              std::ostream& err) {
  auto report = BuildStatusReport(root, SeriesFilter{o.symbol, o.interval});
  if (!report) {
    err << "qlir-status: " << report.error() << "\n";
    return kExitError;
  }
  std::optional<Result<ProcessStatsReport>> stats;
  if (o.stats_dir) stats = ReadProcessStats(*o.stats_dir);
  const int64_t now = WallClockMs();
  if (o.json) {
    std::string text = RenderStatusJson(*report);
    if (stats) {
      auto j = nlohmann::ordered_json::parse(text);
      j["processes"] = stats->ok() ? ProcessStatsJson(**stats, now)
                                   : nlohmann::ordered_json{{"error", stats->error()}};
      text = j.dump(2, ' ', false, nlohmann::ordered_json::error_handler_t::replace) + "\n";
    }
    out << text;
  } else {
    out << RenderStatusText(*report);
    if (stats) {
      out << (stats->ok() ? RenderProcessStatsText(**stats, now)
                          : "\nprocesses: " + stats->error() + "\n");
    }
  }
  return report->HasProblem() ? kExitProblems : kExitOk;
}

int RunVerify(const Options& o, const std::filesystem::path& root, std::ostream& out,
              std::ostream& err) {
  auto report = Verify(root, SeriesFilter{o.symbol, o.interval}, VerifyOptions{o.quick});
  if (!report) {
    err << "qlir-status verify: " << report.error() << "\n";
    return kExitError;
  }
  bool repair_failed = false;
  if (o.repair) {
    RepairResult r;
    r.persister = o.persister.value_or(kDefaultPersister);
    auto curve_setup = LoadCurve(o);
    if (!curve_setup.ok()) {
      r.error = curve_setup.error();
      repair_failed = true;
      err << "qlir-status verify: repair failed: " << r.error << "\n";
    }
    for (const auto& [endpoint, keys] : report->RepairKeys()) {
      if (repair_failed) break;
      auto sent =
          SendMarkPending(r.persister, endpoint, keys,
                          o.timeout_ms > 0 ? o.timeout_ms : kDefaultRepairTimeoutMs, *curve_setup);
      if (!sent) {
        r.error = sent.error();
        repair_failed = true;
        err << "qlir-status verify: repair failed: " << r.error << "\n";
        break;
      }
      r.requested += sent->sent;
      r.marked += sent->found;
    }
    report->repair = r;
  }
  out << (o.json ? RenderVerifyJson(*report) : RenderVerifyText(*report));
  if (repair_failed) return kExitError;
  return report->problems.empty() ? kExitOk : kExitProblems;
}

int RunHoles(const Options& o, const std::filesystem::path& root, std::ostream& out,
             std::ostream& err) {
  auto report = BuildHolesLedger(root, SeriesFilter{o.symbol, o.interval});
  if (!report) {
    err << "qlir-status holes: " << report.error() << "\n";
    return kExitError;
  }
  out << (o.json ? RenderHolesJson(*report) : RenderHolesText(*report));
  return report->HasProblem() ? kExitProblems : kExitOk;
}

int RunReconcile(const Options& o, const std::filesystem::path& root, std::ostream& out,
                 std::ostream& err) {
  ReconcileOptions ro;
  ro.symbols = o.symbols;
  if (o.symbol) ro.symbols.push_back(*o.symbol);
  if (o.interval) ro.interval = *o.interval;
  ro.start_ms = o.start_ms;
  ro.end_ms = o.end_ms;
  auto report = Reconcile(root, ro);
  if (!report) {
    err << "qlir-status reconcile: " << report.error() << "\n";
    return report.status().IsInvalidArgument() ? kExitUsage : kExitCannotStart;
  }
  out << (o.json ? RenderReconcileJson(*report) : RenderReconcileText(*report));
  const int code = ReconcileExitCode(*report);
  if (code == kExitCannotStart) {
    err << "qlir-status reconcile: nothing to compare: no symbol has both klines/SYMBOL/"
        << ro.interval << " and aggTrades/SYMBOL/id stored over a common time\n";
  }
  return code;
}

int RunMigrate(const Options& o, const std::filesystem::path& root, std::ostream& out,
               std::ostream& err) {
  auto r = Migrate(root, *o.to);
  if (!r) {
    err << "qlir-status migrate: " << r.error() << "\n";
    if (r.status().IsUnavailable()) {
      err << "qlir-status migrate: stop the persister first (migrate runs offline)\n";
      return kExitCannotStart;
    }
    err << "qlir-status migrate: nothing was lost; the data root still reads as "
        << StateBackendName(DetectStateBackend(root))
        << " (fix the cause and run the command again)\n";
    return kExitError;
  }
  out << RenderMigrateText(*r, root);
  return kExitOk;
}

}  // namespace

int Run(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  auto o = ParseArgs(args);
  if (!o) {
    err << "qlir-status: " << o.error() << "\n" << UsageText();
    return kExitUsage;
  }
  if (o->help) {
    out << UsageText();
    return kExitOk;
  }
  auto root = ResolveDataRoot(o->data_root);
  if (!root) {
    err << "qlir-status: " << root.error() << "\n";
    return o->reconcile ? kExitCannotStart : kExitError;
  }
  if (o->migrate) return RunMigrate(*o, *root, out, err);
  if (o->reconcile) return RunReconcile(*o, *root, out, err);
  if (o->holes) return RunHoles(*o, *root, out, err);
  return o->verify ? RunVerify(*o, *root, out, err) : RunStatus(*o, *root, out, err);
}

}  // namespace qlir::status_tool
