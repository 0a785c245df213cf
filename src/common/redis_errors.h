// Every error reply text the service sends to Redis clients, byte-identical to Redis 7.0 so real
// clients and Redis's own tests see what they expect. Each constant is the text after the leading
// '-' of the wire reply (the writer adds "-" and "\r\n").
#pragma once

#include <string_view>

namespace rs::redis_errors {

// Request framing, from processMultibulkBuffer / processInlineBuffer in Redis 7.0 networking.c.
// addReplyError prefixes "ERR " to these, so the prefix is part of the constant.
inline constexpr std::string_view kInvalidMultibulkLength =
    "ERR Protocol error: invalid multibulk length";
inline constexpr std::string_view kInvalidBulkLength = "ERR Protocol error: invalid bulk length";
// Followed by the offending byte and a closing quote: "...got 'x'". Built by
// ExpectedDollarError() in resp_parser.cc because the byte varies.
inline constexpr std::string_view kExpectedDollarPrefix = "ERR Protocol error: expected '$', got '";
inline constexpr std::string_view kTooBigMbulkCountString =
    "ERR Protocol error: too big mbulk count string";
inline constexpr std::string_view kTooBigBulkCountString =
    "ERR Protocol error: too big bulk count string";
inline constexpr std::string_view kTooBigInlineRequest =
    "ERR Protocol error: too big inline request";
inline constexpr std::string_view kUnbalancedQuotes =
    "ERR Protocol error: unbalanced quotes in request";
inline constexpr std::string_view kUnauthenticatedMultibulkLength =
    "ERR Protocol error: unauthenticated multibulk length";
inline constexpr std::string_view kUnauthenticatedBulkLength =
    "ERR Protocol error: unauthenticated bulk length";

// Replies the proxy needs (server.c / cluster.c in Redis 7.0).
inline constexpr std::string_view kCrossSlot =
    "CROSSSLOT Keys in request don't hash to the same slot";
inline constexpr std::string_view kNoAuth = "NOAUTH Authentication required.";
inline constexpr std::string_view kWrongPass =
    "WRONGPASS invalid username-password pair or user is disabled.";
inline constexpr std::string_view kClusterDown = "CLUSTERDOWN The cluster is down";
inline constexpr std::string_view kClusterDownUnbound = "CLUSTERDOWN Hash slot not served";
inline constexpr std::string_view kTryAgain =
    "TRYAGAIN Multiple keys request during rehashing of slot";
// "ERR unknown command '<name>', with args beginning with: '<a1>' '<a2>' " (processCommand):
// the prefix below, then the name, then kUnknownCommandArgs, then each arg as "'<arg>' ".
inline constexpr std::string_view kUnknownCommandPrefix = "ERR unknown command '";
inline constexpr std::string_view kUnknownCommandArgs = "', with args beginning with: ";
// "ERR wrong number of arguments for '<name>' command" (addReplyErrorArity).
inline constexpr std::string_view kWrongArityPrefix = "ERR wrong number of arguments for '";
inline constexpr std::string_view kWrongAritySuffix = "' command";
inline constexpr std::string_view kSyntaxError = "ERR syntax error";
inline constexpr std::string_view kNotInteger = "ERR value is not an integer or out of range";

// First words of the redirect and retry errors a node sends back (cluster.c), which the proxy
// checks on the first line of an error reply.
inline constexpr std::string_view kMovedWord = "MOVED";
inline constexpr std::string_view kAskWord = "ASK";
inline constexpr std::string_view kTryAgainWord = "TRYAGAIN";

}  // namespace rs::redis_errors
