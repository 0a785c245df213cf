#include "proxy/tracking.h"

#include <cstring>

#include "common/resp_parser.h"
#include "common/resp_writer.h"
#include "proxy/command_table.h"
#include "proxy/proxy_errors.h"
#include "proxy/reply_builder.h"

namespace rs::proxy {
namespace {

// stringCheckPrefix: two prefixes overlap when one starts the other (a key could match both).
bool Overlap(std::string_view a, std::string_view b) {
  const size_t n = a.size() < b.size() ? a.size() : b.size();
  return std::memcmp(a.data(), b.data(), n) == 0;
}

Status Error(std::string_view text) { return Status::InvalidArgument(std::string(text)); }

// Reads "<digits>\r\n" at `pos` (after a type byte).
bool ReadLength(std::string_view s, size_t* pos, int64_t* out) {
  const size_t eol = s.find("\r\n", *pos);
  if (eol == std::string_view::npos) return false;
  if (!resp::ParseRedisInt(s.substr(*pos, eol - *pos), out)) return false;
  *pos = eol + 2;
  return true;
}

}  // namespace

Result<TrackingCommand> ParseTracking(std::span<const std::string_view> args,
                                      const TrackingState& current,
                                      const std::function<bool(int64_t)>& client_exists) {
  TrackingCommand cmd;
  const size_t argc = args.size();
  for (size_t j = 3; j < argc; ++j) {
    const bool more = j + 1 < argc;
    const std::string_view opt = args[j];
    if (EqualsIgnoreCase(opt, "redirect") && more) {
      ++j;
      if (cmd.redirect != 0) return Error(errors::kTrackingSingleRedirect);
      int64_t id = 0;
      if (!resp::ParseRedisInt(args[j], &id)) return Error(redis_errors::kNotInteger);
      // Redis wants the client to exist now, though it may go later.
      if (!client_exists(id)) return Error(errors::kTrackingNoSuchRedirect);
      cmd.redirect = id;
    } else if (EqualsIgnoreCase(opt, "bcast")) {
      cmd.bcast = true;
    } else if (EqualsIgnoreCase(opt, "optin")) {
      cmd.optin = true;
    } else if (EqualsIgnoreCase(opt, "optout")) {
      cmd.optout = true;
    } else if (EqualsIgnoreCase(opt, "noloop")) {
      cmd.noloop = true;
    } else if (EqualsIgnoreCase(opt, "prefix") && more) {
      ++j;
      cmd.prefixes.emplace_back(args[j]);
    } else {
      return Error(redis_errors::kSyntaxError);
    }
  }
  if (argc < 3) return Error(redis_errors::kSyntaxError);
  if (EqualsIgnoreCase(args[2], "off")) return cmd;
  if (!EqualsIgnoreCase(args[2], "on")) return Error(redis_errors::kSyntaxError);
  cmd.on = true;
  if (!cmd.bcast && !cmd.prefixes.empty()) return Error(errors::kTrackingPrefixWithoutBcast);
  if (current.on && current.bcast != cmd.bcast) return Error(errors::kTrackingSwitchBcast);
  if (cmd.bcast && (cmd.optin || cmd.optout)) return Error(errors::kTrackingOptWithBcast);
  if (cmd.optin && cmd.optout) return Error(errors::kTrackingOptinAndOptout);
  if ((cmd.optin && current.optout) || (cmd.optout && current.optin)) {
    return Error(errors::kTrackingSwitchOpt);
  }
  if (cmd.bcast) {
    for (size_t i = 0; i < cmd.prefixes.size(); ++i) {
      for (const std::string& held : current.prefixes) {
        if (Overlap(held, cmd.prefixes[i])) {
          return Error(errors::PrefixOverlapsExisting(cmd.prefixes[i], held));
        }
      }
      for (size_t k = i + 1; k < cmd.prefixes.size(); ++k) {
        if (Overlap(cmd.prefixes[i], cmd.prefixes[k])) {
          return Error(errors::PrefixOverlapsGiven(cmd.prefixes[i], cmd.prefixes[k]));
        }
      }
    }
  }
  return cmd;
}

void ApplyTracking(const TrackingCommand& cmd, TrackingState* state) {
  if (!cmd.on) {
    *state = TrackingState();  // disableTracking clears CACHING with the other flags
    return;
  }
  state->on = true;
  state->broken_redirect = false;
  state->redirect = cmd.redirect;
  state->bcast = cmd.bcast;
  state->optin = cmd.optin;
  state->optout = cmd.optout;
  state->noloop = cmd.noloop;
  if (cmd.bcast) {
    // Without PREFIX, BCAST is for every key: the empty prefix.
    if (cmd.prefixes.empty()) state->prefixes.insert(std::string());
    for (const std::string& p : cmd.prefixes) state->prefixes.insert(p);
  }
}

Result<Caching> ParseCaching(std::string_view arg, const TrackingState& state) {
  if (!state.on) return Error(errors::kCachingWithoutTracking);
  if (EqualsIgnoreCase(arg, "yes")) {
    if (!state.optin) return Error(errors::kCachingYesWithoutOptin);
    return Caching::kYes;
  }
  if (EqualsIgnoreCase(arg, "no")) {
    if (!state.optout) return Error(errors::kCachingNoWithoutOptout);
    return Caching::kNo;
  }
  return Error(redis_errors::kSyntaxError);
}

std::string NodeTrackingCommand(const TrackingState& state, std::span<const std::string> prefixes,
                                int64_t node_redirect) {
  std::vector<std::string_view> args = {"CLIENT", "TRACKING", "on"};
  const std::string redirect = std::to_string(node_redirect);
  if (node_redirect != 0) {
    args.push_back("REDIRECT");
    args.push_back(redirect);
  }
  if (state.bcast) args.push_back("BCAST");
  for (const std::string& p : prefixes) {
    args.push_back("PREFIX");
    args.push_back(p);
  }
  if (state.optin) args.push_back("OPTIN");
  if (state.optout) args.push_back("OPTOUT");
  if (state.noloop) args.push_back("NOLOOP");
  std::string out;
  resp::AppendCommand(&out, std::span<const std::string_view>(args));
  return out;
}

std::vector<std::string> NodeTrackingSetup(const TrackingState& state, int64_t node_redirect) {
  std::vector<std::string> named;
  for (const std::string& p : state.prefixes) {
    if (!p.empty()) named.push_back(p);
  }
  std::vector<std::string> out;
  out.push_back(NodeTrackingCommand(state, named, node_redirect));
  if (!named.empty() && state.prefixes.count(std::string()) > 0) {
    out.push_back(NodeTrackingCommand(state, {}, node_redirect));
  }
  return out;
}

std::string CachingCommand(Caching caching) {
  std::string out;
  resp::AppendCommand(&out, {"CLIENT", "CACHING", caching == Caching::kNo ? "no" : "yes"});
  return out;
}

std::string TrackingInfoReply(const TrackingState* state, int resp) {
  const bool on = state != nullptr && state->on;
  std::vector<std::string_view> flags = {on ? "on" : "off"};
  if (on) {
    if (state->bcast) flags.push_back("bcast");
    if (state->optin) {
      flags.push_back("optin");
      if (state->caching == Caching::kYes) flags.push_back("caching-yes");
    }
    if (state->optout) {
      flags.push_back("optout");
      if (state->caching == Caching::kNo) flags.push_back("caching-no");
    }
    if (state->noloop) flags.push_back("noloop");
    if (state->broken_redirect) flags.push_back("broken_redirect");
  }
  ReplyBuilder r(resp);
  r.Map(3);
  r.Bulk("flags").Set(static_cast<int64_t>(flags.size()));
  for (std::string_view f : flags) r.Bulk(f);
  r.Bulk("redirect").Integer(GetRedir(state));
  r.Bulk("prefixes").Array(on ? static_cast<int64_t>(state->prefixes.size()) : 0);
  if (on) {
    for (const std::string& p : state->prefixes) r.Bulk(p);
  }
  return r.Take();
}

int64_t GetRedir(const TrackingState* state) {
  return state != nullptr && state->on ? state->redirect : -1;
}

bool ParseTrackingPush(std::string_view reply, TrackingPush* out) {
  if (reply.size() < 4 || reply.substr(0, 4) != ">2\r\n") return false;
  size_t pos = 4;
  int64_t len = 0;
  if (pos >= reply.size() || reply[pos] != '$') return false;
  ++pos;
  if (!ReadLength(reply, &pos, &len) || len < 0 ||
      pos + static_cast<size_t>(len) + 2 > reply.size()) {
    return false;
  }
  const std::string_view word = reply.substr(pos, static_cast<size_t>(len));
  pos += static_cast<size_t>(len) + 2;
  const std::string_view value = reply.substr(pos);
  if (value.empty()) return false;
  if (word == "invalidate") {
    out->kind = TrackingPushKind::kInvalidate;
    out->value = value;
    out->null = value == "_\r\n" || value == "$-1\r\n" || value == "*-1\r\n";
    return out->null || value[0] == '*';
  }
  if (word == "tracking-redir-broken") {
    out->kind = TrackingPushKind::kRedirBroken;
    out->value = value;
    out->null = false;
    return value[0] == ':';
  }
  return false;
}

std::string InvalidationForTarget(const TrackingPush& push, int target_resp, bool subscribed) {
  std::string out;
  if (target_resp == 3) {
    out = ">2\r\n$10\r\ninvalidate\r\n";
    out.append(push.null ? std::string_view("_\r\n") : push.value);
  } else if (subscribed) {
    out = "*3\r\n$7\r\nmessage\r\n";
    resp::AppendBulk(&out, kInvalidateChannel);
    out.append(push.null ? std::string_view("$-1\r\n") : push.value);
  }
  return out;
}

std::string NullInvalidationPush() { return ">2\r\n$10\r\ninvalidate\r\n_\r\n"; }

std::string RedirBrokenPush(int64_t id) {
  std::string out = ">2\r\n$21\r\ntracking-redir-broken\r\n";
  resp::AppendInteger(&out, id);
  return out;
}

}  // namespace rs::proxy
