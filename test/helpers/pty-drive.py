#!/usr/bin/env python3
"""Runs a command on a real pseudo-terminal (its controlling terminal) and plays a script.

usage: pty-drive.py SCRIPT_JSON CMD [ARGS...]
SCRIPT_JSON is a list of steps: {"expect": "text"} waits (up to 20 s) until the output so
far contains text; {"send": "text"} types it. Prints one JSON object on stdout:
{"output": everything the terminal showed, "status": exit status or -signal}.
"""
import json, os, pty, select, sys, time

steps = json.loads(sys.argv[1])
pid, fd = pty.fork()
if pid == 0:
    os.execvp(sys.argv[2], sys.argv[2:])
out = b""

def read_some(timeout):
    global out
    r, _, _ = select.select([fd], [], [], timeout)
    if not r:
        return False
    try:
        data = os.read(fd, 4096)
    except OSError:
        return None
    if not data:
        return None
    out += data
    return True

for step in steps:
    if "expect" in step:
        want = step["expect"].encode()
        deadline = time.time() + 20
        while want not in out and time.time() < deadline:
            if read_some(0.2) is None:
                break
        if want not in out:
            print(json.dumps({"output": out.decode("utf-8", "replace"), "status": None, "error": "expected " + step["expect"]}))
            sys.exit(0)
    else:
        time.sleep(0.05)
        os.write(fd, step["send"].encode())

deadline = time.time() + 20
while time.time() < deadline:
    if read_some(0.2) is None:
        break
_, status = os.waitpid(pid, 0)
code = os.WEXITSTATUS(status) if os.WIFEXITED(status) else -os.WTERMSIG(status)
print(json.dumps({"output": out.decode("utf-8", "replace"), "status": code}))
