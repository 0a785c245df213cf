#include "proxy/proxy_errors.h"

#include <fmt/format.h>

#include "common/ascii.h"

namespace rs::proxy::errors {
std::string OnlySubscribeCommands(std::string_view command) {
  return fmt::format(
      "ERR Can't execute '{}': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are "
      "allowed in this context",
      AsciiLower(command));
}

std::string WrongArity(std::string_view name) {
  return fmt::format("{}{}{}", redis_errors::kWrongArityPrefix, name,
                     redis_errors::kWrongAritySuffix);
}

std::string UnknownSubcommand(std::string_view command, std::string_view sub) {
  return fmt::format("ERR unknown subcommand '{}'. Try {} HELP.", sub, AsciiUpper(command));
}

std::string HelloSyntax(std::string_view option) {
  return fmt::format("ERR Syntax error in HELLO option '{}'", option);
}

std::string UnknownClientType(std::string_view type) {
  return fmt::format("ERR Unknown client type '{}'", type);
}

std::string NoSuchUser(std::string_view user) { return fmt::format("ERR No such user '{}'", user); }

std::string PrefixOverlapsExisting(std::string_view prefix, std::string_view existing) {
  return fmt::format(
      "ERR Prefix '{}' overlaps with an existing prefix '{}'. Prefixes for a single client must "
      "not overlap.",
      prefix, existing);
}

std::string PrefixOverlapsGiven(std::string_view prefix, std::string_view other) {
  return fmt::format(
      "ERR Prefix '{}' overlaps with another provided prefix '{}'. Prefixes for a single client "
      "must not overlap.",
      prefix, other);
}

std::string NotYetSupported(std::string_view command) {
  return fmt::format("ERR proxy: '{}' is not supported by the proxy yet", AsciiUpper(command));
}

std::string ClientSubcommandUnsupported(std::string_view sub) {
  return fmt::format("ERR proxy: CLIENT {} is not supported by the proxy", AsciiUpper(sub));
}

std::string ClusterSubcommandRefused(std::string_view sub) {
  return fmt::format(
      "ERR proxy: 'CLUSTER {}' is refused by the proxy (the proxy shows clients a one-node "
      "cluster; change the cluster through redis-ctl)",
      AsciiUpper(sub));
}

std::string InsideMultiRefused(std::string_view command) {
  return fmt::format(
      "ERR proxy: {} inside MULTI is not supported by the proxy (it would change the session "
      "connection, not the client)",
      AsciiUpper(command));
}

std::string UnexpectedReply(std::string_view what, std::string_view node) {
  return fmt::format("ERR proxy: unexpected {} reply from {}", what, node);
}

std::string AdminRefused(std::string_view command) {
  return fmt::format("ERR proxy: '{}' is refused by the proxy (start it with --allow-admin-commands)",
                     AsciiUpper(command));
}

std::string SubcommandRefused(std::string_view command, std::string_view sub,
                              std::string_view reason) {
  return fmt::format("ERR proxy: '{} {}' is refused by the proxy ({})", AsciiUpper(command),
                     AsciiUpper(sub), reason);
}

std::string TooManySessions(int max_sessions) {
  return fmt::format(
      "ERR proxy: too many session connections on this worker (--max-sessions {} reached by "
      "transactions, WATCH and blocking commands); retry later or raise --max-sessions",
      max_sessions);
}

std::string BackendUnavailable(std::string_view address, std::string_view why, bool retrying) {
  return fmt::format("ERR proxy: backend {} is unavailable ({}){}{}", address, why,
                     retrying ? ", retrying connection shortly" : "", kNotSent);
}

std::string BackendLost(std::string_view address, std::string_view why, bool sent) {
  const std::string_view outcome = sent ? kMayHaveRun : kNotSent;
  if (why.starts_with("timed out")) {
    return fmt::format("ERR proxy: backend {} {}{}", address, why, outcome);
  }
  return fmt::format("ERR proxy: backend {} failed ({}){}", address, why, outcome);
}

std::string BackendFailed(std::string_view address, std::string_view why) {
  return fmt::format("ERR proxy: backend {} failed: {}", address, why);
}

std::string ExecOutcomeUnknown(std::string_view address, std::string_view error) {
  return fmt::format(
      "{} (after EXEC was sent to {}: the transaction may or may not have run)", error, address);
}

std::string FanOutFailed(std::string_view command, std::string_view failures) {
  return fmt::format("ERR proxy: {} failed on {}", AsciiUpper(command), failures);
}

}  // namespace rs::proxy::errors
