#!/usr/bin/env python3
"""A small real HTTP server for the plugin tests, on 127.0.0.1 only.

Prints the port it listens on, then serves until stdin closes (the test process ends):
  GET  /status/<code>        answers <code> with body "status <code>"
  GET  /flaky/<name>/<n>     answers 503 the first <n> times for <name>, then 200 "ready"
  POST /status/<code>        answers <code>
  POST /chat                 records the request (path, query, body, Content-Type, X-Note) and answers
                             {"name": "spaces/test/messages/<k>"}; GET /chat/requests lists them
  GET  /slow                 answers after 5 seconds
"""
import json
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

counts = {}
requests = []
lock = threading.Lock()


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def reply(self, code, body, content_type="text/plain"):
        data = body.encode()
        self.send_response(code)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        parts = urlsplit(self.path).path.strip("/").split("/")
        if parts[0] == "status":
            self.reply(int(parts[1]), "status " + parts[1])
        elif parts[0] == "flaky":
            with lock:
                counts[parts[1]] = counts.get(parts[1], 0) + 1
                seen = counts[parts[1]]
            if seen <= int(parts[2]):
                self.reply(503, "starting")
            else:
                self.reply(200, "ready")
        elif parts[0] == "chat" and parts[1:] == ["requests"]:
            with lock:
                self.reply(200, json.dumps(requests), "application/json")
        elif parts[0] == "slow":
            time.sleep(5)
            self.reply(200, "late")
        else:
            self.reply(404, "not found")

    def do_POST(self):
        length = int(self.headers.get("Content-Length", 0))
        body = self.rfile.read(length).decode()
        split = urlsplit(self.path)
        parts = split.path.strip("/").split("/")
        if parts[0] == "status":
            self.reply(int(parts[1]), "status " + parts[1])
            return
        with lock:
            requests.append({"path": split.path, "query": split.query, "body": body,
                             "content_type": self.headers.get("Content-Type", ""),
                             "note": self.headers.get("X-Note", "")})
            k = len(requests)
        self.reply(200, json.dumps({"name": "spaces/test/messages/%d" % k}), "application/json")


server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
print(server.server_address[1], flush=True)
threading.Thread(target=server.serve_forever, daemon=True).start()
sys.stdin.read()
server.shutdown()
