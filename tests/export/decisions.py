"""The exported Locust file reads each answer as oa-hook's judge does: for every callback and a
range of answers (conforming, odd, refused, not JSON, not 200), the decision its `decision()`
and `invalid()` make of the answer is the one `oa-hook send` reports, and it calls the answer
conforming exactly when send does.

    python decisions.py OA_HOOK_BINARY LOCUSTFILE [CASES]   (LOCUSTFILE exported for `all`)

CASES, when given, is written with each answer and what send made of it, for the k6 script's
test to hold its own reading to.
"""

import http.server
import importlib.util
import json
import subprocess
import sys
import threading

binary, locustfile, *out = sys.argv[1:]
spec = importlib.util.spec_from_file_location("locustfile", locustfile)
script = importlib.util.module_from_spec(spec)
spec.loader.exec_module(script)

OK = {"ActionStatus": "OK", "ErrorInfo": "", "ErrorCode": 0}
ELEMENT = {"MsgType": "TIMTextElem", "MsgContent": {"Text": "hi"}}


def answer(**fields):
    changed = dict(OK)
    for key, value in fields.items():
        if value is None:
            changed.pop(key, None)
        else:
            changed[key] = value
    return json.dumps(changed)


ANSWERS = [(200, answer())]
ANSWERS += [(200, answer(ErrorCode=code)) for code in (1, 2, 3, -1, 120001, 125000, 130000, 130001)]
ANSWERS += [(200, answer(ActionStatus="FAIL", ErrorCode=code)) for code in (0, 1, 2, 120002)]
ANSWERS += [
    (200, answer(ErrorCode="0")),
    (200, answer(ErrorCode=1.5)),
    (200, answer(ActionStatus="ok")),
    (200, answer(ErrorInfo=None)),
    (200, answer(ActionStatus=None)),
    (200, answer(RefusedSubscribers_Account=["jared"])),
    (200, answer(RefusedSubscribers_Account=["zoe"], Extra=1)),
    (200, answer(RefusedSubscribers_Account="jared")),
    (200, answer(RefusedMembers_Account=["jared"])),
    (200, answer(MsgBody=[ELEMENT])),
    (200, answer(MsgBody=[ELEMENT], ErrorCode=1)),
    (200, answer(MsgBody="hi")),
    (200, answer(CloudCustomData="data")),
    (200, answer(CloudCustomData=5)),
    (200, "[1, 2]"),
    (200, "not json"),
    (500, answer()),
    (401, answer(ActionStatus="FAIL", ErrorCode=1)),
]

current = [200, ""]


class Backend(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        status, body = current
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body.encode())))
        self.end_headers()
        self.wfile.write(body.encode())

    def log_message(self, *args):
        pass


server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Backend)
threading.Thread(target=server.serve_forever, daemon=True).start()
url = f"http://127.0.0.1:{server.server_address[1]}/im"

cases = []
for callback in script.SPEC["callbacks"]:
    for status, body in ANSWERS:
        current[:] = [status, body]
        sent = subprocess.run(
            [binary, "send", callback["name"], "--url", url, "--output", "json"],
            capture_output=True, text=True, env={"PATH": "/usr/bin:/bin"},
        )
        judged = json.loads(sent.stdout)
        try:
            parsed = json.loads(body)
        except ValueError:
            parsed = None
        decided = script.decision(callback, status, parsed, False)
        conforms = status == 200 and parsed is not None and script.invalid(callback["answer"], parsed) is None
        where = f"{callback['name']} {status} {body}"
        assert decided == judged["decision"]["kind"], f"{where}: locust {decided}, send {judged['decision']}"
        assert conforms == (judged["verdict"] == "pass"), f"{where}: locust conforms={conforms}, send {judged['findings']}"
        cases.append({"callback": callback["name"], "status": status, "body": body,
                      "decision": decided, "conforms": conforms})
if out:
    with open(out[0], "w", encoding="utf-8") as written:
        json.dump(cases, written)
print(f"{len(cases)} answers: the Locust file decides as send does")
