#!/usr/bin/env python3
"""corral's mock LLM API: one server on 127.0.0.1 that speaks the APIs of the
four agent CLIs corral's end-to-end tests drive offline. Python standard
library only.

  Anthropic Messages   POST /v1/messages (SSE or JSON), /v1/messages/count_tokens
                       -> Claude Code (ANTHROPIC_BASE_URL=http://127.0.0.1:PORT)
  OpenAI Responses     POST /v1/responses (SSE)
                       -> Codex CLI (model provider with wire_api = "responses")
  OpenAI Chat          POST /v1/chat/completions (SSE or JSON)
                       -> Aider (--openai-api-base http://127.0.0.1:PORT/v1)
  Gemini               POST /v1beta/models/M:streamGenerateContent?alt=sse,
                       :generateContent, :countTokens
                       -> Gemini CLI (GOOGLE_GEMINI_BASE_URL=http://127.0.0.1:PORT)
  Models lists         GET /v1/models, /v1beta/models

What a main-loop request gets is chosen by a marker in the newest user text
(`mock:` works as `corral:` everywhere: `mock:bash please write hello.txt`):
  corral:bash   run `echo hello > hello.txt`
  corral:bash2  run `echo second > second.txt`
  corral:cmd CMD
                run CMD: everything after `corral:cmd ` to the end of the text
                block that holds the marker, trimmed (so it should be the last
                thing typed); description "Run the requested command"
  corral:deep N run `{ { ... echo deep; }; }; ...`: N nested brace groups
                (a command too deep to evaluate)
  corral:cmddesc DESC ||| CMD
                run CMD with the model-written description DESC (Anthropic's
                `description`, Gemini's `description`, Codex's
                `justification`, the text before Aider's ```bash block): to
                craft hostile descriptions
  corral:write  (Anthropic only) Write a new file notes.txt in the project
  corral:writeto PATH
                (Anthropic only) Write a file at the project's directory
                joined with PATH, as given (`src/../../outside.txt`): to the
                end of the text block, trimmed
  (none)        a short text reply
Each API expresses "run this" its own way: a Bash tool_use (Anthropic), an
escalated exec_command function call (Responses), a ```bash block (Chat, for
Aider), a run_shell_command functionCall (Gemini). After a tool result the
reply is "Done.". Requests without tools are side calls (titles, routing,
next-speaker checks, commit messages) and get small text or schema-shaped JSON.

usage: mock_llm.py --port-file FILE [--log FILE] [--delay-ms N]
(--delay-ms: wait before each main-loop answer, so "working" is visible)
"""

import argparse
import json
import os
import re
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

COMMANDS = [  # longest marker first
    ("corral:bash2", "echo second > second.txt", "Write second.txt"),
    ("corral:bash", "echo hello > hello.txt", "Write hello.txt"),
]

_args = None
_lock = threading.Lock()


def record(obj):
    if not _args.log:
        return
    obj["t"] = round(time.time(), 3)
    with _lock, open(_args.log, "a", encoding="utf-8") as f:
        f.write(json.dumps(obj) + "\n")


def uid(prefix):
    return prefix + uuid.uuid4().hex[:20]


CMD_DESC = "Run the requested command"


def command_for(text):
    """(command, description, crafted) asked for by a marker in `text` (a
    string, or the list of a message's text blocks), or None; `crafted` when
    the user wrote the description (corral:cmddesc)."""
    blocks = [text or ""] if not isinstance(text, list) else [b or "" for b in text]
    for block in reversed(blocks):
        m = re.search(r"corral:deep (\d+)", block)
        if m:
            n = min(int(m.group(1)), 10000)
            return "{ " * n + "echo deep; " + "}; " * n, CMD_DESC, False
        i = block.find("corral:cmddesc ")
        if i >= 0:
            rest = block[i + len("corral:cmddesc "):]
            desc, sep, cmd = rest.partition("|||")
            if sep and cmd.strip():
                return cmd.strip(), desc.strip(), True
        i = block.find("corral:cmd ")
        if i >= 0 and block[i + len("corral:cmd "):].strip():
            return block[i + len("corral:cmd "):].strip(), CMD_DESC, False
    joined = "\n".join(blocks)
    for marker, cmd, desc in COMMANDS:
        if marker in joined:
            return cmd, desc, False
    return None


def texts(content):
    """The text blocks of a content value in any of the APIs' shapes, with
    `mock:` markers read as `corral:` (`mock:bash` is `corral:bash`)."""
    if content is None:
        return []
    if isinstance(content, str):
        return [content.replace("mock:", "corral:")]
    if isinstance(content, dict):
        return texts(content.get("parts") or content.get("text") or "")
    out = []
    for part in content:
        if isinstance(part, dict):
            if part.get("type") in (None, "text", "input_text", "output_text") or "text" in part:
                out.append(str(part.get("text") or "").replace("mock:", "corral:"))
        else:
            out.append(str(part).replace("mock:", "corral:"))
    return out


def flat(content):
    """Text of a content value in any of the APIs' shapes."""
    return "\n".join(texts(content))


def system_text(body):
    s = body.get("system")
    if isinstance(s, list):
        return "\n".join(b.get("text", "") for b in s if isinstance(b, dict))
    return s or ""


def sample(schema, key=None):
    """A small value that fits a JSON schema (side calls ask for these)."""
    if not isinstance(schema, dict):
        return "mock"
    if key == "next_speaker":
        return "user"
    t = schema.get("type")
    t = t.lower() if isinstance(t, str) else t
    if schema.get("enum"):
        return schema["enum"][0]
    if t == "object" or "properties" in schema:
        props = schema.get("properties") or {}
        return {k: sample(v, k) for k, v in props.items()}
    if t == "array":
        return []
    if t == "boolean":
        return False
    if t in ("integer", "number"):
        return 1
    return "Mock session" if key == "title" else "mock"


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    # ---------------------------------------------------------------- plumbing
    def body(self):
        n = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(n) if n else b""
        if not n and self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            while True:
                size = int(self.rfile.readline().strip() or b"0", 16)
                if size == 0:
                    self.rfile.readline()
                    break
                raw += self.rfile.read(size)
                self.rfile.readline()
        try:
            return json.loads(raw or b"{}")
        except ValueError:
            return None

    def json_reply(self, code, obj):
        data = json.dumps(obj).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def sse_start(self):
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Connection", "close")
        self.end_headers()
        self.close_connection = True

    def sse(self, data, event=None):
        chunk = (f"event: {event}\n" if event else "") + "data: " + (
            data if isinstance(data, str) else json.dumps(data)) + "\n\n"
        self.wfile.write(chunk.encode())
        self.wfile.flush()

    def think(self):
        time.sleep(_args.delay_ms / 1000.0)

    def not_found(self):
        self.json_reply(404, {"error": {"message": "mock: no route " + self.path, "type": "not_found"}})

    # ---------------------------------------------------------------- verbs
    def do_HEAD(self):
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def do_GET(self):
        path = self.path.split("?")[0].rstrip("/")
        if path == "/v1/models":
            return self.json_reply(200, {"object": "list", "data": [
                {"id": m, "object": "model", "type": "model", "display_name": m,
                 "created_at": "2025-01-01T00:00:00Z", "owned_by": "mock"}
                for m in ("claude-sonnet-4-5", "gpt-4o", "gpt-4o-mini", "gpt-5.5")],
                "has_more": False})
        if path.startswith("/v1/models/"):
            m = path.rsplit("/", 1)[1]
            return self.json_reply(200, {"id": m, "type": "model", "display_name": m,
                                         "created_at": "2025-01-01T00:00:00Z"})
        if re.fullmatch(r"/v1(beta|alpha)?/models", path):
            return self.json_reply(200, {"models": [
                {"name": "models/" + m, "displayName": m,
                 "supportedGenerationMethods": ["generateContent", "streamGenerateContent"]}
                for m in ("gemini-2.5-pro", "gemini-2.5-flash")]})
        return self.not_found()

    def do_POST(self):
        body = self.body()
        path = self.path.split("?")[0].rstrip("/")
        if body is None:
            return self.json_reply(400, {"error": {"message": "bad json"}})
        try:
            if path == "/v1/messages/count_tokens":
                return self.json_reply(200, {"input_tokens": 100})
            if path == "/v1/messages":
                return self.anthropic(body)
            if path.endswith("/responses"):
                return self.openai_responses(body)
            if path.endswith("/chat/completions"):
                return self.chat(body)
            m = re.fullmatch(r"/v1(?:beta|alpha)?/models/([^/:]+):(\w+)", path)
            if m:
                return self.gemini(body, m.group(1), m.group(2))
            return self.not_found()
        except (BrokenPipeError, ConnectionResetError):
            pass

    # ---------------------------------------------------------------- Anthropic
    def anthropic(self, body):
        tools = {t.get("name") for t in body.get("tools") or [] if isinstance(t, dict)}
        users = [m for m in body.get("messages") or [] if m.get("role") == "user"]
        last = users[-1].get("content") if users else ""
        text = flat(last)
        blocks_text = texts(last)
        after_tool = isinstance(last, list) and any(
            isinstance(b, dict) and b.get("type") == "tool_result" for b in last)
        blocks = []
        if "Bash" not in tools:
            fmt = (body.get("output_config") or {}).get("format") or {}
            schema = fmt.get("schema") if isinstance(fmt, dict) else None
            blocks = [("text", json.dumps(sample(schema)) if schema else "Mock")]
        else:
            self.think()
            cmd = command_for(blocks_text)
            if after_tool and "corral:" not in text:
                blocks = [("text", "Done.")]
            elif "corral:writeto " in text:
                m = re.search(r"(?:Primary working directory|Working directory):\s*(\S+)",
                              system_text(body) + "\n" + "\n".join(
                                  flat(x.get("content")) for x in body.get("messages") or []))
                cwd = m.group(1) if m else os.getcwd()
                block = next(b for b in blocks_text if "corral:writeto " in b)
                rel = block[block.index("corral:writeto ") + len("corral:writeto "):].strip()
                rel = rel.splitlines()[0] if rel else rel
                blocks = [("text", "I will write a file."),
                          ("tool_use", "Write", {"file_path": cwd.rstrip("/") + "/" + rel,
                                                 "content": "written by corral's mock\n"})]
            elif "corral:write" in text:
                m = re.search(r"(?:Primary working directory|Working directory):\s*(\S+)",
                              system_text(body) + "\n" + "\n".join(
                                  flat(x.get("content")) for x in body.get("messages") or []))
                cwd = m.group(1) if m else os.getcwd()
                blocks = [("text", "I will write notes.txt."),
                          ("tool_use", "Write", {"file_path": os.path.join(cwd, "notes.txt"),
                                                 "content": "written by corral's mock\n"})]
            elif cmd:
                blocks = [("text", "I will run a command."),
                          ("tool_use", "Bash", {"command": cmd[0], "description": cmd[1]})]
            else:
                blocks = [("text", "Hello from corral's mock.")]
        record({"api": "anthropic", "answer": [list(b) for b in blocks]})
        stop = "tool_use" if any(b[0] == "tool_use" for b in blocks) else "end_turn"
        model = body.get("model") or "claude-sonnet-4-5"
        usage = {"input_tokens": 10, "output_tokens": 5,
                 "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0}
        if not body.get("stream"):
            content = [{"type": "text", "text": b[1]} if b[0] == "text" else
                       {"type": "tool_use", "id": uid("toolu_"), "name": b[1], "input": b[2]}
                       for b in blocks]
            return self.json_reply(200, {"id": uid("msg_"), "type": "message", "role": "assistant",
                                         "model": model, "content": content, "stop_reason": stop,
                                         "stop_sequence": None, "usage": usage})
        self.sse_start()

        def ev(kind, data):
            data["type"] = kind
            self.sse(data, kind)

        ev("message_start", {"message": {"id": uid("msg_"), "type": "message", "role": "assistant",
                                         "model": model, "content": [], "stop_reason": None,
                                         "stop_sequence": None, "usage": usage}})
        for i, b in enumerate(blocks):
            if b[0] == "text":
                ev("content_block_start", {"index": i, "content_block": {"type": "text", "text": ""}})
                ev("content_block_delta", {"index": i, "delta": {"type": "text_delta", "text": b[1]}})
            else:
                ev("content_block_start", {"index": i, "content_block": {
                    "type": "tool_use", "id": uid("toolu_"), "name": b[1], "input": {}}})
                ev("content_block_delta", {"index": i, "delta": {
                    "type": "input_json_delta", "partial_json": json.dumps(b[2])}})
            ev("content_block_stop", {"index": i})
        ev("message_delta", {"delta": {"stop_reason": stop, "stop_sequence": None},
                             "usage": {"output_tokens": 5}})
        ev("message_stop", {})

    # ---------------------------------------------------------------- Responses
    def openai_responses(self, body):
        items = body.get("input") or []
        tools = {}
        for t in body.get("tools") or []:
            name = t.get("name") or (t.get("function") or {}).get("name")
            if name:
                tools[name] = t.get("type")
        last = items[-1] if items else {}
        user_text = []
        for it in reversed(items):
            if it.get("type") in (None, "message") and it.get("role") == "user":
                user_text = texts(it.get("content"))
                break
        fmt = (body.get("text") or {}).get("format") or {}
        out = []  # ("message", text) or ("call", item)
        if fmt.get("type") == "json_schema":
            out.append(("message", json.dumps(sample(fmt.get("schema")))))
        elif last.get("type") in ("function_call_output", "custom_tool_call_output"):
            self.think()
            out.append(("message", "Done."))
        else:
            self.think()
            cmd = command_for(user_text)
            if cmd:
                if "exec_command" in tools:
                    name, args = "exec_command", {"cmd": cmd[0]}
                elif "shell_command" in tools:
                    name, args = "shell_command", {"command": cmd[0]}
                else:
                    name, args = "shell", {"command": ["bash", "-lc", cmd[0]]}
                # Escalation outside the sandbox is what makes Codex ask.
                args["sandbox_permissions"] = "require_escalated"
                args["justification"] = cmd[1]
                out.append(("message", "I will run a command."))
                out.append(("call", {"type": "function_call", "id": uid("fc_"), "call_id": uid("call_"),
                                     "name": name, "arguments": json.dumps(args),
                                     "status": "completed"}))
            else:
                out.append(("message", "Hello from corral's mock."))
        record({"api": "responses", "answer": out})
        self.sse_start()
        rid = uid("resp_")
        resp = {"id": rid, "object": "response", "created_at": int(time.time()),
                "status": "in_progress", "model": body.get("model", "mock"), "output": []}
        self.sse({"type": "response.created", "response": resp}, "response.created")
        done = []
        for idx, (kind, payload) in enumerate(out):
            if kind == "message":
                mid = uid("msg_")
                item = {"type": "message", "id": mid, "role": "assistant", "status": "in_progress",
                        "content": []}
                self.sse({"type": "response.output_item.added", "output_index": idx, "item": item},
                         "response.output_item.added")
                self.sse({"type": "response.content_part.added", "item_id": mid, "output_index": idx,
                          "content_index": 0, "part": {"type": "output_text", "text": ""}},
                         "response.content_part.added")
                self.sse({"type": "response.output_text.delta", "item_id": mid, "output_index": idx,
                          "content_index": 0, "delta": payload}, "response.output_text.delta")
                self.sse({"type": "response.output_text.done", "item_id": mid, "output_index": idx,
                          "content_index": 0, "text": payload}, "response.output_text.done")
                item = dict(item, status="completed",
                            content=[{"type": "output_text", "text": payload, "annotations": []}])
            else:
                item = payload
                self.sse({"type": "response.output_item.added", "output_index": idx, "item": item},
                         "response.output_item.added")
            self.sse({"type": "response.output_item.done", "output_index": idx, "item": item},
                     "response.output_item.done")
            done.append(item)
        usage = {"input_tokens": 100, "input_tokens_details": {"cached_tokens": 0},
                 "output_tokens": 20, "output_tokens_details": {"reasoning_tokens": 0},
                 "total_tokens": 120}
        self.sse({"type": "response.completed",
                  "response": dict(resp, status="completed", output=done, usage=usage)},
                 "response.completed")

    # ---------------------------------------------------------------- Chat
    def chat(self, body):
        messages = body.get("messages") or []
        system = " ".join(flat(m.get("content")) for m in messages if m.get("role") == "system")
        user = next((texts(m.get("content")) for m in reversed(messages) if m.get("role") == "user"), [])
        # A client with a `bash` function tool (opencode) gets a tool call;
        # after its result, "Done.".
        fns = {(t.get("function") or {}).get("name") for t in body.get("tools") or []
               if isinstance(t, dict)}
        if "bash" in fns:
            last = messages[-1].get("role") if messages else ""
            cmd = command_for(user) if last == "user" else None
            if cmd:
                return self.chat_tool_call(body, "bash", {"command": cmd[0], "description": cmd[1]})
            if last == "tool":
                return self.chat_text(body, "Done.")
        if "commit message" in system.lower():
            reply = "chore: mock change"
        else:
            self.think()
            cmd = command_for(user)
            intro = cmd[1] if cmd and cmd[2] else "Run this:"
            reply = (f"{intro}\n\n```bash\n{cmd[0]}\n```\n" if cmd
                     else "Hello from corral's mock.\n")
        return self.chat_text(body, reply)

    def chat_text(self, body, reply):
        record({"api": "chat", "reply": reply})
        model = body.get("model", "gpt-4o")
        usage = {"prompt_tokens": 100, "completion_tokens": 20, "total_tokens": 120}
        cid, created = uid("chatcmpl-"), int(time.time())
        if not body.get("stream"):
            return self.json_reply(200, {"id": cid, "object": "chat.completion", "created": created,
                                         "model": model, "usage": usage, "choices": [{
                                             "index": 0, "finish_reason": "stop",
                                             "message": {"role": "assistant", "content": reply}}]})
        self.sse_start()
        base = {"id": cid, "object": "chat.completion.chunk", "created": created, "model": model}
        self.sse(dict(base, choices=[{"index": 0, "delta": {"role": "assistant", "content": reply},
                                      "finish_reason": None}]))
        self.sse(dict(base, choices=[{"index": 0, "delta": {}, "finish_reason": "stop"}]))
        if (body.get("stream_options") or {}).get("include_usage"):
            self.sse(dict(base, choices=[], usage=usage))
        self.sse("[DONE]")

    def chat_tool_call(self, body, name, args):
        self.think()
        record({"api": "chat", "tool_call": [name, args]})
        model = body.get("model", "gpt-4o")
        usage = {"prompt_tokens": 100, "completion_tokens": 20, "total_tokens": 120}
        cid, created = uid("chatcmpl-"), int(time.time())
        call = {"id": uid("call_"), "type": "function",
                "function": {"name": name, "arguments": json.dumps(args)}}
        if not body.get("stream"):
            return self.json_reply(200, {"id": cid, "object": "chat.completion", "created": created,
                                         "model": model, "usage": usage, "choices": [{
                                             "index": 0, "finish_reason": "tool_calls",
                                             "message": {"role": "assistant", "content": None,
                                                         "tool_calls": [call]}}]})
        self.sse_start()
        base = {"id": cid, "object": "chat.completion.chunk", "created": created, "model": model}
        self.sse(dict(base, choices=[{"index": 0, "delta": {
            "role": "assistant", "tool_calls": [dict(call, index=0)]}, "finish_reason": None}]))
        self.sse(dict(base, choices=[{"index": 0, "delta": {}, "finish_reason": "tool_calls"}]))
        self.sse(dict(base, choices=[], usage=usage))
        self.sse("[DONE]")

    # ---------------------------------------------------------------- Gemini
    def gemini(self, body, model, method):
        if method == "countTokens":
            return self.json_reply(200, {"totalTokens": 100})
        if method not in ("generateContent", "streamGenerateContent"):
            return self.not_found()
        gc = body.get("generationConfig") or {}
        schema = gc.get("responseJsonSchema") or gc.get("responseSchema")
        tools = [fd.get("name") for t in body.get("tools") or []
                 for fd in (t.get("functionDeclarations") or [])]
        contents = body.get("contents") or []
        if schema or gc.get("responseMimeType") == "application/json" or not tools:
            parts = [{"text": json.dumps(sample(schema)) if (schema or gc.get("responseMimeType"))
                      else "Mock"}]
        else:
            self.think()
            last = next((c for c in reversed(contents) if c.get("role", "user") == "user"), {})
            text = flat(last)
            after_tool = any(isinstance(p, dict) and "functionResponse" in p for p in last.get("parts", []))
            cmd = command_for(texts(last))
            if after_tool and "corral:" not in text:
                parts = [{"text": "Done."}]
            elif cmd:
                parts = [{"text": "I will run a command.\n"},
                         {"functionCall": {"name": "run_shell_command",
                                           "args": {"command": cmd[0], "description": cmd[1]}}}]
            else:
                parts = [{"text": "Hello from corral's mock."}]
        record({"api": "gemini", "answer": parts})
        chunk = {"candidates": [{"content": {"role": "model", "parts": parts}, "index": 0,
                                 "finishReason": "STOP"}],
                 "usageMetadata": {"promptTokenCount": 100, "candidatesTokenCount": 20,
                                   "totalTokenCount": 120},
                 "modelVersion": model}
        if method == "generateContent":
            return self.json_reply(200, chunk)
        self.sse_start()
        self.wfile.write(("data: %s\r\n\r\n" % json.dumps(chunk)).encode())
        self.wfile.flush()


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
    os.replace(_args.port_file + ".tmp", _args.port_file)
    srv.serve_forever()


if __name__ == "__main__":
    main()
