"""redis-demo: a web page counting its visits in redis-service, through the portal.

The portal is redis-proxy, so the client is a plain (non-cluster) Redis client: the proxy routes
every key to the right node and follows resharding and failovers.
"""
import http.server
import os

import redis

host, _, port = os.environ.get("REDIS_ADDR", "redis.redis-demo.lain:8889").rpartition(":")
client = redis.Redis(host=host, port=int(port), socket_timeout=2, retry_on_timeout=True,
                     password=os.environ.get("REDIS_PROXY_PASSWORD") or None)


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        try:
            visits = client.incr("redis-demo:visits")
            body, code = ("visits: %d\n" % visits).encode(), 200
        except redis.RedisError as e:
            body, code = ("redis-service unavailable: %s\n" % e).encode(), 503
        self.send_response(code)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


if __name__ == "__main__":
    http.server.HTTPServer(("0.0.0.0", 8000), Handler).serve_forever()
