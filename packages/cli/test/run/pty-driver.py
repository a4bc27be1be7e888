#!/usr/bin/env python3
"""Runs a command on a real pseudo-terminal and drives it from a line protocol on stdin.

Usage: pty-driver.py COLS ROWS -- COMMAND ARG...

The command starts as a session leader with the terminal's slave side as its controlling terminal,
stdin, stdout and stderr. Requests are JSON lines on stdin; each gets one JSON line on stdout:
  {"op": "send", "data": "..."}                        -> {"ok": true}
  {"op": "expect", "re": "...", "timeout": 30}         -> {"ok": true, "text": "<output up to the match>"}
     (output is consumed up to the end of the match; on timeout: {"ok": false, "text": "<all unread>"})
  {"op": "echo", "data": "x", "count": 50}             -> {"ok": true, "ms": [...]} time from writing each
     byte until it is read back (a byte at a time: the keystroke echo round trip)
  {"op": "resize", "cols": 120, "rows": 40}            -> {"ok": true} (the command gets SIGWINCH)
  {"op": "settings"}                                   -> {"ok": true, "stty": "<stty -g of the terminal>"}
  {"op": "initial"}                                    -> {"ok": true, "stty": "<stty -g before the command started>"}
  {"op": "wait", "timeout": 60}                        -> {"ok": true, "code": N, "signal": S, "text": "<rest>"}
"""
import fcntl
import json
import os
import pty
import re
import select
import struct
import subprocess
import sys
import termios
import time


def main():
    cols, rows = int(sys.argv[1]), int(sys.argv[2])
    argv = sys.argv[sys.argv.index('--') + 1:]
    master, slave = pty.openpty()
    set_size(master, cols, rows)
    slave_name = os.ttyname(slave)
    initial = settings(slave_name)
    pid = os.fork()
    if pid == 0:
        os.close(master)
        os.setsid()
        fcntl.ioctl(slave, termios.TIOCSCTTY, 0)
        for fd in (0, 1, 2):
            os.dup2(slave, fd)
        if slave > 2:
            os.close(slave)
        os.execvp(argv[0], argv)
    buf = b''
    for line in sys.stdin:
        req = json.loads(line)
        op = req['op']
        if op == 'send':
            os.write(master, req['data'].encode())
            reply({'ok': True})
        elif op == 'expect':
            pattern = re.compile(req['re'].encode(), re.S)
            deadline = time.monotonic() + req.get('timeout', 30)
            while True:
                m = pattern.search(buf)
                if m:
                    text, buf = buf[:m.end()], buf[m.end():]
                    reply({'ok': True, 'text': text.decode(errors='replace')})
                    break
                chunk = read(master, deadline - time.monotonic())
                if chunk is None:
                    reply({'ok': False, 'text': buf.decode(errors='replace')})
                    break
                buf += chunk
        elif op == 'echo':
            times = []
            for _ in range(req.get('count', 50)):
                data = req['data'].encode()
                start = time.monotonic()
                os.write(master, data)
                got = b''
                deadline = start + 10
                while data not in got:
                    chunk = read(master, deadline - time.monotonic())
                    if chunk is None:
                        break
                    got += chunk
                times.append((time.monotonic() - start) * 1000)
            reply({'ok': True, 'ms': times})
        elif op == 'resize':
            set_size(master, req['cols'], req['rows'])
            reply({'ok': True})
        elif op == 'settings':
            reply({'ok': True, 'stty': settings(slave_name)})
        elif op == 'initial':
            reply({'ok': True, 'stty': initial})
        elif op == 'wait':
            buf = wait_exit(pid, master, buf, time.monotonic() + req.get('timeout', 60))


def wait_exit(pid, master, buf, deadline):
    """Waits for the command to end, collecting its output; replies and returns what stays unread."""
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            break
        if time.monotonic() > deadline:
            reply({'ok': False, 'text': buf.decode(errors='replace')})
            return buf
        chunk = read(master, 0.05)
        if chunk:
            buf += chunk
    while True:
        chunk = read(master, 0.05)
        if not chunk:
            break
        buf += chunk
    code = os.WEXITSTATUS(status) if os.WIFEXITED(status) else None
    sig = os.WTERMSIG(status) if os.WIFSIGNALED(status) else None
    reply({'ok': True, 'code': code, 'signal': sig, 'text': buf.decode(errors='replace')})
    return b''


def settings(name):
    """`stty -g` of the terminal `name`."""
    fd = os.open(name, os.O_RDWR | os.O_NOCTTY)
    try:
        return subprocess.run(['stty', '-g'], stdin=fd, capture_output=True, text=True).stdout.strip()
    finally:
        os.close(fd)


def read(fd, timeout):
    """Some bytes from fd, or None after `timeout` seconds or at its end."""
    if timeout <= 0:
        return None
    ready, _, _ = select.select([fd], [], [], timeout)
    if not ready:
        return None
    try:
        data = os.read(fd, 65536)
    except OSError:
        return None
    return data or None


def set_size(fd, cols, rows):
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack('HHHH', rows, cols, 0, 0))


def reply(obj):
    sys.stdout.write(json.dumps(obj) + '\n')
    sys.stdout.flush()


main()
