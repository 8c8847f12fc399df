#!/usr/bin/env python3
"""corral's mock of the Anthropic Messages API, for running the real Claude
Code CLI offline in end-to-end tests. Python standard library only; listens on
127.0.0.1 only.

Endpoints: POST /v1/messages (SSE when "stream": true, else JSON),
POST /v1/messages/count_tokens, GET /v1/models[/ID], HEAD anything.

The answer to a main-loop request (one that offers the Bash tool) is chosen by
markers in the newest user text:
  corral:bash   -> tool_use Bash `echo hello > hello.txt`
  corral:bash2  -> tool_use Bash `echo second > second.txt`
  (none)        -> a short text reply
After a tool_result the reply is the text "Done.". Requests without the Bash
tool are side calls (titles, topic checks) and get a tiny text or JSON reply.

usage: mock_anthropic.py --port-file FILE [--log FILE] [--delay-ms N]
(--delay-ms: wait before each main-loop answer, so "working" is visible)
"""

import argparse
import json
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

TOOLS = {
    "corral:bash2": ("echo second > second.txt", "Write second.txt"),
    "corral:bash": ("echo hello > hello.txt", "Write hello.txt"),
}

_log_lock = threading.Lock()
_args = None


def record(obj):
    if not _args.log:
        return
    obj["t"] = time.time()
    with _log_lock, open(_args.log, "a", encoding="utf-8") as f:
        f.write(json.dumps(obj) + "\n")


def texts(content):
    if isinstance(content, str):
        return [content]
    return [b.get("text", "") for b in content or [] if isinstance(b, dict) and b.get("type") == "text"]


def has_tool_result(content):
    return isinstance(content, list) and any(
        isinstance(b, dict) and b.get("type") == "tool_result" for b in content)


def plan(body):
    """Returns a list of content blocks: ("text", str) or ("tool_use", name, input)."""
    tools = {t.get("name") for t in body.get("tools") or [] if isinstance(t, dict)}
    if "Bash" not in tools:
        fmt = (body.get("output_config") or {}).get("format") or {}
        schema = fmt.get("schema") if isinstance(fmt, dict) else None
        if isinstance(schema, dict) and schema.get("type") == "object":
            props = schema.get("properties") or {}
            obj = {}
            for k, v in props.items():
                t = (v or {}).get("type")
                obj[k] = False if t == "boolean" else 0 if t in ("integer", "number") else [] if t == "array" else "Mock"
            return [("text", json.dumps(obj))]
        return [("text", "Mock")]
    users = [m for m in body.get("messages") or [] if m.get("role") == "user"]
    last = users[-1] if users else {}
    content = last.get("content")
    newest = " ".join(texts(content))
    if has_tool_result(content) and "corral:" not in newest:
        return [("text", "Done.")]
    for marker, (cmd, desc) in TOOLS.items():
        if marker in newest:
            return [("text", "I will run a command."),
                    ("tool_use", "Bash", {"command": cmd, "description": desc})]
    return [("text", "Hello from corral's mock.")]


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def reply_json(self, code, obj):
        data = json.dumps(obj).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_HEAD(self):
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def do_GET(self):
        path = self.path.split("?")[0].rstrip("/")
        model = {"type": "model", "id": "claude-sonnet-4-5", "display_name": "Mock",
                 "created_at": "2025-01-01T00:00:00Z"}
        if path == "/v1/models":
            return self.reply_json(200, {"data": [model], "has_more": False,
                                         "first_id": model["id"], "last_id": model["id"]})
        if path.startswith("/v1/models/"):
            return self.reply_json(200, dict(model, id=path.rsplit("/", 1)[1]))
        return self.reply_json(404, {"type": "error", "error": {"type": "not_found_error", "message": path}})

    def do_POST(self):
        n = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(n) if n else b"{}"
        try:
            body = json.loads(raw or b"{}")
        except ValueError:
            return self.reply_json(400, {"type": "error", "error": {"type": "invalid_request_error",
                                                                    "message": "bad json"}})
        path = self.path.split("?")[0]
        if path.endswith("/count_tokens"):
            return self.reply_json(200, {"input_tokens": max(1, len(raw) // 4)})
        if path != "/v1/messages":
            return self.reply_json(404, {"type": "error", "error": {"type": "not_found_error", "message": path}})
        blocks = plan(body)
        if any(t.get("name") == "Bash" for t in body.get("tools") or [] if isinstance(t, dict)):
            time.sleep(_args.delay_ms / 1000.0)
        record({"path": path, "answer": [list(b) for b in blocks]})
        model = body.get("model") or "claude-sonnet-4-5"
        usage = {"input_tokens": 10, "output_tokens": 5,
                 "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0}
        stop = "tool_use" if any(b[0] == "tool_use" for b in blocks) else "end_turn"
        if not body.get("stream"):
            content = [{"type": "text", "text": b[1]} if b[0] == "text" else
                       {"type": "tool_use", "id": "toolu_" + uuid.uuid4().hex[:20], "name": b[1], "input": b[2]}
                       for b in blocks]
            return self.reply_json(200, {"id": "msg_" + uuid.uuid4().hex[:20], "type": "message",
                                         "role": "assistant", "model": model, "content": content,
                                         "stop_reason": stop, "stop_sequence": None, "usage": usage})
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Connection", "close")
        self.end_headers()
        self.close_connection = True

        def event(kind, data):
            data["type"] = kind
            self.wfile.write(f"event: {kind}\ndata: {json.dumps(data)}\n\n".encode())
            self.wfile.flush()

        try:
            event("message_start", {"message": {"id": "msg_" + uuid.uuid4().hex[:20], "type": "message",
                                                 "role": "assistant", "model": model, "content": [],
                                                 "stop_reason": None, "stop_sequence": None, "usage": usage}})
            for i, b in enumerate(blocks):
                if b[0] == "text":
                    event("content_block_start", {"index": i, "content_block": {"type": "text", "text": ""}})
                    event("content_block_delta", {"index": i, "delta": {"type": "text_delta", "text": b[1]}})
                else:
                    event("content_block_start", {"index": i, "content_block": {
                        "type": "tool_use", "id": "toolu_" + uuid.uuid4().hex[:20], "name": b[1], "input": {}}})
                    event("content_block_delta", {"index": i, "delta": {
                        "type": "input_json_delta", "partial_json": json.dumps(b[2])}})
                event("content_block_stop", {"index": i})
            event("message_delta", {"delta": {"stop_reason": stop, "stop_sequence": None},
                                    "usage": {"output_tokens": 5}})
            event("message_stop", {})
        except (BrokenPipeError, ConnectionResetError):
            pass


def main():
    global _args
    ap = argparse.ArgumentParser()
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--log")
    ap.add_argument("--delay-ms", type=int, default=0)
    _args = ap.parse_args()
    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    srv.daemon_threads = True
    with open(_args.port_file + ".tmp", "w") as f:
        f.write(str(srv.server_address[1]))
    import os
    os.replace(_args.port_file + ".tmp", _args.port_file)
    srv.serve_forever()


if __name__ == "__main__":
    main()
