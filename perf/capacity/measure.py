#!/usr/bin/python3
"""measure.py OUT.time CMD...: runs CMD (stdout/stderr inherited) and writes "wall_s user_s sys_s
max_rss_kb" of it (and its waited-for children) to OUT.time and "voluntary involuntary" context
switches to OUT.csw; exits with CMD's status."""
import os
import sys
import time

out, cmd = sys.argv[1], sys.argv[2:]
t0 = time.monotonic()
pid = os.fork()
if pid == 0:
    try:
        os.execvp(cmd[0], cmd)
    finally:
        os._exit(127)
_, status, ru = os.wait4(pid, 0)
wall = time.monotonic() - t0
with open(out, "w") as f:
    f.write(f"{wall:.3f} {ru.ru_utime:.3f} {ru.ru_stime:.3f} {ru.ru_maxrss}\n")
with open(os.path.splitext(out)[0] + ".csw", "w") as f:
    f.write(f"{ru.ru_nvcsw} {ru.ru_nivcsw}\n")
sys.exit(os.waitstatus_to_exitcode(status) if os.WIFEXITED(status) else 128 + os.WTERMSIG(status))
