// Client-side caching (CLIENT TRACKING) through the proxy: the pure parts. A client's tracking mode
// as Redis keeps it, CLIENT TRACKING / CACHING parsed and checked as Redis checks them
// (networking.c), the command that sets tracking up on a node connection, CLIENT TRACKINGINFO's
// reply, and the nodes' invalidation pushes read and re-encoded for the client that receives them
// (tracking.c sendTrackingMessage).
//
// How it maps onto the cluster (worker_tracking.cc): the nodes do the tracking, each on a session
// connection of the client's own; their invalidations reach the client on that connection (RESP3)
// or, with REDIRECT, on a sink connection per node whose node-side id the session redirects to.
#pragma once

#include <cstdint>
#include <functional>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace rs::proxy {

// The channel a RESP2 redirect target receives invalidations on (when subscribed to it).
inline constexpr std::string_view kInvalidateChannel = "__redis__:invalidate";

// CLIENT CACHING yes|no, remembered for the client's next command (or transaction).
enum class Caching : uint8_t { kNone, kYes, kNo };

// A client's tracking mode, as Redis keeps it per client.
// Thread contract: a value type; owned by its client, in its worker.
struct TrackingState {
  bool on = false;
  bool bcast = false;
  bool optin = false;
  bool optout = false;
  bool noloop = false;
  bool broken_redirect = false;  // an invalidation found the redirect target gone
  int64_t redirect = 0;          // the client id invalidations go to; 0: the client itself
  // BCAST prefixes; they accumulate over CLIENT TRACKING ON commands, in Redis's (byte) order.
  std::set<std::string> prefixes;
  Caching caching = Caching::kNone;  // CLIENT CACHING given for the next command
};

// One CLIENT TRACKING command, parsed and checked against the client's state.
struct TrackingCommand {
  bool on = false;
  bool bcast = false;
  bool optin = false;
  bool optout = false;
  bool noloop = false;
  int64_t redirect = 0;
  std::vector<std::string> prefixes;  // as given, in order
};

// CLIENT TRACKING on|off [REDIRECT id] [BCAST] [PREFIX p]... [OPTIN] [OPTOUT] [NOLOOP] (`args`
// from CLIENT on), with Redis's checks in Redis's order. `client_exists(id)` says whether a client
// with that id is there to receive redirected invalidations. An error's message is the reply's
// text (byte-identical to Redis's). Prefixes that overlap each other are refused before anything
// changes (Redis 7.0.15 also enables tracking and sends a second reply, +OK, when the overlap is
// not with the first prefix given: a bug the proxy does not copy).
Result<TrackingCommand> ParseTracking(std::span<const std::string_view> args,
                                      const TrackingState& current,
                                      const std::function<bool(int64_t)>& client_exists);

// A parsed command applied: ON sets the flags and the redirect, clears a broken redirect and adds
// its prefixes to the client's; OFF clears everything (enableTracking / disableTracking).
void ApplyTracking(const TrackingCommand& cmd, TrackingState* state);

// CLIENT CACHING yes|no: the mode to remember, or Redis's error for the client's state.
Result<Caching> ParseCaching(std::string_view arg, const TrackingState& state);

// Redis's rule for CLIENT CACHING (resetClient): it is forgotten after a command that is not
// CLIENT, unless the client is inside MULTI after that command. Asked when the next command comes.
inline bool CachingExpired(bool previous_was_client, bool in_multi) {
  return !previous_was_client && !in_multi;
}

// The command that sets tracking up on one node connection: CLIENT TRACKING on with the client's
// flags, `prefixes` (all of them for a new connection, the command's new ones for one set up
// already: a node refuses a prefix it holds), and REDIRECT `node_redirect` unless it is 0.
std::string NodeTrackingCommand(const TrackingState& state, std::span<const std::string> prefixes,
                                int64_t node_redirect);
// The commands that set a new node connection up with the whole state: one, or two when BCAST has
// the empty prefix besides others (a node refuses them together, as overlapping, but keeps both
// when the empty one comes last, as it did for the client).
std::vector<std::string> NodeTrackingSetup(const TrackingState& state, int64_t node_redirect);
// "CLIENT CACHING yes|no" for `caching` (kYes or kNo).
std::string CachingCommand(Caching caching);

// CLIENT TRACKINGINFO: a map of flags (a set), redirect and prefixes, in protocol `resp`.
// `state` nullptr: tracking off.
std::string TrackingInfoReply(const TrackingState* state, int resp);
// CLIENT GETREDIR: the redirect id, 0 without one, -1 when tracking is off.
int64_t GetRedir(const TrackingState* state);

// ---- the nodes' pushes ----

enum class TrackingPushKind : uint8_t { kInvalidate, kRedirBroken };
// A node's tracking push: [invalidate, keys] or [tracking-redir-broken, id].
struct TrackingPush {
  TrackingPushKind kind = TrackingPushKind::kInvalidate;
  // kInvalidate: the keys as the node wrote them (an array of bulk strings, or a null after a
  // flush); kRedirBroken: the integer reply.
  std::string_view value;
  bool null = false;  // kInvalidate: every key (FLUSHALL, FLUSHDB)
};
// False for anything else (a push the proxy does not expect).
bool ParseTrackingPush(std::string_view reply, TrackingPush* out);

// What a redirect target receives for an invalidation (sendTrackingMessage): a RESP3 target the
// push [invalidate, keys]; a RESP2 target, only when `subscribed` to __redis__:invalidate, the
// pub/sub message [message, __redis__:invalidate, keys]; otherwise nothing (""). A null (every
// key) is written in the target's protocol (Redis writes it in the tracking client's, which only
// differs for a RESP3 client redirecting to a RESP2 one).
std::string InvalidationForTarget(const TrackingPush& push, int target_resp, bool subscribed);
// [invalidate, null] for a RESP3 client tracking without redirect: "forget every key".
std::string NullInvalidationPush();
// [tracking-redir-broken, id]: the redirect target of a RESP3 tracking client is gone.
std::string RedirBrokenPush(int64_t id);

}  // namespace rs::proxy
