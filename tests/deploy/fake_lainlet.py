"""A loopback stand-in for lainlet's procwatcher (shared/lainlet-api.md 1.3, 1.5) for the deploy
tests: GET /v2/procwatcher?appname=APP answers the JSON array in PODS_FILE; with watch=1 the
connection is hijacked as lainlet does (raw header, no length, no chunking), `init` (id 1) comes
first, heartbeats every `heartbeat` s, and an `update` whenever PODS_FILE changes.

Usage: fake_lainlet.py APPNAME PODS_FILE PORT_FILE  (writes the port it listens on to PORT_FILE)
"""
import http.server
import os
import socketserver
import sys
import time
import urllib.parse

APP, PODS_FILE, PORT_FILE = sys.argv[1:4]


def pods():
    with open(PODS_FILE) as f:
        return f.read().strip()


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.0"

    def do_GET(self):
        url = urllib.parse.urlparse(self.path)
        q = urllib.parse.parse_qs(url.query)
        if url.path.rstrip("/") != "/v2/procwatcher":
            return self.reply(404, "404 not found")
        if q.get("appname", [""])[0] != APP:
            return self.reply(400, "authorize failed, no permission")
        if q.get("watch", [""])[0] in ("", "0", "false"):
            return self.reply(200, pods())
        heartbeat = int(q.get("heartbeat", ["0"])[0] or 0)
        self.wfile.write(b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
                         b"Vary: Accept-Encoding\r\n\r\n")
        sent, next_id, last_beat = pods(), 2, time.monotonic()
        self.event(1, "init", sent)
        try:
            while True:
                time.sleep(0.2)
                now = pods()
                if now != sent:
                    self.event(next_id, "update", now)
                    sent, next_id = now, next_id + 1
                if heartbeat and time.monotonic() - last_beat >= heartbeat:
                    self.wfile.write(b"id: 0\nevent: heartbeat\n\n")
                    self.wfile.flush()
                    last_beat = time.monotonic()
        except (BrokenPipeError, ConnectionResetError):
            pass

    def event(self, ident, name, data):
        self.wfile.write(("id: %d\nevent: %s\ndata: %s\n\n" % (ident, name, data)).encode())
        self.wfile.flush()

    def reply(self, code, body):
        self.send_response(code)
        self.end_headers()
        self.wfile.write(body.encode())

    def log_message(self, *args):
        pass


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True


if __name__ == "__main__":
    server = Server(("127.0.0.1", 0), Handler)
    tmp = PORT_FILE + ".tmp"
    with open(tmp, "w") as f:
        f.write("%d\n" % server.server_port)
    os.rename(tmp, PORT_FILE)
    server.serve_forever()
