// Every error reply the proxy makes itself (as opposed to relaying a node's), in one place. The
// texts Redis also sends are byte-identical to Redis 7.0 (common/redis_errors.h); the proxy's own
// start with "ERR proxy: " and say why and, where one exists, which flag would allow it.
// Each constant or builder yields the text after the leading '-'.
#pragma once

#include <string>
#include <string_view>

#include "common/redis_errors.h"

namespace rs::proxy::errors {

// ---- Redis's own texts, for the states the proxy keeps itself (multi.c, server.c, pubsub.c) ----
inline constexpr std::string_view kExecAbort =
    "EXECABORT Transaction discarded because of previous errors.";
inline constexpr std::string_view kExecWithoutMulti = "ERR EXEC without MULTI";
inline constexpr std::string_view kDiscardWithoutMulti = "ERR DISCARD without MULTI";
inline constexpr std::string_view kMultiNested = "ERR MULTI calls can not be nested";
inline constexpr std::string_view kWatchInsideMulti = "ERR WATCH inside MULTI is not allowed";
inline constexpr std::string_view kInvalidCursor = "ERR invalid cursor";
inline constexpr std::string_view kTimeoutNotFloat = "ERR timeout is not a float or out of range";
inline constexpr std::string_view kTimeoutNegative = "ERR timeout is negative";
inline constexpr std::string_view kTimeoutNotInteger =
    "ERR timeout is not an integer or out of range";
inline constexpr std::string_view kNoProto = "NOPROTO unsupported protocol version";
inline constexpr std::string_view kNotBusy = "NOTBUSY No scripts in execution right now.";
inline constexpr std::string_view kNotBusyFunction = "NOTBUSY No scripts in execution right now.";
inline constexpr std::string_view kUnknownPubsubSubcommand =
    "ERR unknown subcommand or wrong number of arguments for '";
inline constexpr std::string_view kSelectNotAllowed = "ERR SELECT is not allowed in cluster mode";
inline constexpr std::string_view kAuthWithoutPassword =
    "ERR AUTH <password> called without any password configured for the default user. Are you "
    "sure your configuration is correct?";
inline constexpr std::string_view kProtocolVersionNotInteger =
    "ERR Protocol version is not an integer or out of range";
inline constexpr std::string_view kHelloNoAuth =
    "NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO "
    "<proto> AUTH <user> <pass> option can be used to authenticate the client and select the "
    "RESP protocol version at the same time";
inline constexpr std::string_view kClientNameInvalid =
    "ERR Client names cannot contain spaces, newlines or special characters.";
inline constexpr std::string_view kNoSuchClient = "ERR No such client";
inline constexpr std::string_view kClientIdNotPositive = "ERR client-id should be greater than 0";
inline constexpr std::string_view kUnblockReason =
    "ERR CLIENT UNBLOCK reason should be TIMEOUT or ERROR";
inline constexpr std::string_view kUnblockedByClient =
    "UNBLOCKED client unblocked via CLIENT UNBLOCK";
inline constexpr std::string_view kMaxClients = "ERR max number of clients reached";
// CLIENT TRACKING and CLIENT CACHING (networking.c, tracking.c).
inline constexpr std::string_view kTrackingSingleRedirect =
    "ERR A client can only redirect to a single other client";
inline constexpr std::string_view kTrackingNoSuchRedirect =
    "ERR The client ID you want redirect to does not exist";
inline constexpr std::string_view kTrackingPrefixWithoutBcast =
    "ERR PREFIX option requires BCAST mode to be enabled";
inline constexpr std::string_view kTrackingSwitchBcast =
    "ERR You can't switch BCAST mode on/off before disabling tracking for this client, and then "
    "re-enabling it with a different mode.";
inline constexpr std::string_view kTrackingOptWithBcast =
    "ERR OPTIN and OPTOUT are not compatible with BCAST";
inline constexpr std::string_view kTrackingOptinAndOptout =
    "ERR You can't specify both OPTIN mode and OPTOUT mode";
inline constexpr std::string_view kTrackingSwitchOpt =
    "ERR You can't switch OPTIN/OPTOUT mode before disabling tracking for this client, and then "
    "re-enabling it with a different mode.";
inline constexpr std::string_view kCachingWithoutTracking =
    "ERR CLIENT CACHING can be called only when the client is in tracking mode with OPTIN or "
    "OPTOUT mode enabled";
inline constexpr std::string_view kCachingYesWithoutOptin =
    "ERR CLIENT CACHING YES is only valid when tracking is enabled in OPTIN mode.";
inline constexpr std::string_view kCachingNoWithoutOptout =
    "ERR CLIENT CACHING NO is only valid when tracking is enabled in OPTOUT mode.";
// "ERR Prefix '<p>' overlaps with an existing prefix '<q>'. Prefixes for a single client must not
// overlap." and the same "with another provided prefix".
std::string PrefixOverlapsExisting(std::string_view prefix, std::string_view existing);
std::string PrefixOverlapsGiven(std::string_view prefix, std::string_view other);
// "ERR Syntax error in HELLO option '<opt>'", "ERR Unknown client type '<t>'",
// "ERR No such user '<u>'".
std::string HelloSyntax(std::string_view option);
std::string UnknownClientType(std::string_view type);
std::string NoSuchUser(std::string_view user);
// "ERR Can't execute '<cmd>': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are
// allowed in this context" (processCommand, a RESP2 client in subscribed mode).
std::string OnlySubscribeCommands(std::string_view command);
// "ERR wrong number of arguments for '<name>' command".
std::string WrongArity(std::string_view name);
// "ERR unknown subcommand '<sub>'. Try <CMD> HELP."
std::string UnknownSubcommand(std::string_view command, std::string_view sub);

// ---- The proxy's own ----
inline constexpr std::string_view kNoTopology = "CLUSTERDOWN proxy: no topology known yet";
inline constexpr std::string_view kMsetnxCrossSlot =
    "ERR proxy: MSETNX with keys in several slots is refused (it could not be atomic); use "
    "keys with one {hash tag}";
inline constexpr std::string_view kScriptCrossSlot =
    "ERR proxy: scripts with keys in several slots cannot run through a cluster proxy (a "
    "script runs on one node); use keys with one {hash tag}";
inline constexpr std::string_view kAclUsersReason =
    "ACL users are not supported: the proxy authenticates clients itself, with --requirepass "
    "as the user default, and users on the nodes would not apply to its clients";
inline constexpr std::string_view kTakesOverConnection =
    "ERR proxy: SYNC, PSYNC and REPLCONF take over the connection with the replication stream "
    "and are never relayed by the proxy; connect a replica to a node directly";
inline constexpr std::string_view kWatchLost =
    "ERR proxy: the connection holding this client's WATCH was lost";
inline constexpr std::string_view kSubscribeInMulti =
    "ERR proxy: (P|S)SUBSCRIBE inside MULTI is not supported by the proxy";
inline constexpr std::string_view kMonitorMode =
    "ERR proxy: this connection is in MONITOR mode; only QUIT and RESET are accepted";
inline constexpr std::string_view kReplyModeUnsupported =
    "ERR proxy: CLIENT REPLY takes ON, OFF or SKIP";

inline constexpr std::string_view kTxWithoutState =
    "ERR proxy: a transaction reply without a transaction";
inline constexpr std::string_view kTxTooManyRedirects =
    "ERR proxy: the transaction was redirected too many times";
inline constexpr std::string_view kBlockingLostState = "ERR proxy: a blocking command lost its state";
inline constexpr std::string_view kResetByUnblock =
    "ERR proxy: the connection was reset by CLIENT UNBLOCK";
// "ERR proxy: '<CMD>' is not supported by the proxy yet".
std::string NotYetSupported(std::string_view command);
// "ERR proxy: CLIENT <SUB> is not supported by the proxy".
std::string ClientSubcommandUnsupported(std::string_view sub);
// "ERR proxy: 'CLUSTER <SUB>' is refused by the proxy (...)".
std::string ClusterSubcommandRefused(std::string_view sub);
// "ERR proxy: <cmd> inside MULTI is not supported by the proxy (...)".
std::string InsideMultiRefused(std::string_view command);
// "ERR proxy: unexpected <what> reply from <node>".
std::string UnexpectedReply(std::string_view what, std::string_view node);
// "ERR proxy: '<CMD>' is refused by the proxy (start it with --allow-admin-commands)".
std::string AdminRefused(std::string_view command);
// "ERR proxy: '<CMD> <SUB>' is refused by the proxy (...reason)".
std::string SubcommandRefused(std::string_view command, std::string_view sub,
                              std::string_view reason);
// "ERR proxy: too many session connections (--max-sessions N reached on this worker) ...".
std::string TooManySessions(int max_sessions);
// A request's node failed. Whether the node may have run the command is part of the text, for a
// client deciding whether to retry (docs/proxy.md "Errors whose outcome is unknown"):
//  - not written to the node (down, refused, still connecting):
//    "ERR proxy: backend h:p is unavailable (why)[, retrying connection shortly]; the command was
//    not sent";
//  - written, and the connection lost or timed out before the reply:
//    "ERR proxy: backend h:p timed out after N ms; the command may have been applied" (`why` is
//    "timed out after N ms") or "ERR proxy: backend h:p failed (why); the command may have been
//    applied".
inline constexpr std::string_view kNotSent = "; the command was not sent";
inline constexpr std::string_view kMayHaveRun = "; the command may have been applied";
std::string BackendUnavailable(std::string_view address, std::string_view why, bool retrying);
std::string BackendLost(std::string_view address, std::string_view why, bool sent);
// A stream connection's failure (pub/sub): "ERR proxy: backend h:p failed: why".
std::string BackendFailed(std::string_view address, std::string_view why);
// The EXEC of a transaction whose node failed after EXEC was sent (`error`, a BackendLost text,
// says how): the outcome is unknown, and the proxy does not guess.
std::string ExecOutcomeUnknown(std::string_view address, std::string_view error);
// A fan-out command that failed on some nodes: "ERR proxy: CONFIG SET failed on h:p (err), ...".
std::string FanOutFailed(std::string_view command, std::string_view failures);

}  // namespace rs::proxy::errors
