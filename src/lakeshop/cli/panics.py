"""A Rust panic's report (deltalake's runtime threads write it to the process's stderr
themselves, e.g. ``thread 'tokio-rt-worker' panicked at … Already shut down`` after a full
disk) is kept off the console: the error that matters is already one clear line. With
``--debug`` nothing is filtered."""

from __future__ import annotations

import atexit
import os
import re
import threading

from lakeshop.pipeline import interrupt

_PANIC = re.compile(rb"^thread '[^']*'( \(\d+\))? panicked at ")
#: lines of a panic report after its first: the message, the backtrace and its frames
_REPORT = re.compile(rb"^(stack backtrace:|note: |\s+\d+: |\s+at )")


def hide_rust_panics() -> None:
    """Route file descriptor 2 through a filter thread that drops Rust panic reports."""
    real = os.dup(2)
    read, write = os.pipe()
    os.dup2(write, 2)
    os.close(write)

    def pump() -> None:
        skipping = 0  # lines still to drop of the panic report being read
        with os.fdopen(read, "rb") as lines:
            for line in lines:
                if _PANIC.match(line):
                    skipping = 2  # the panic line and its message
                if skipping:
                    skipping -= 1
                    continue
                if _REPORT.match(line):
                    continue
                os.write(real, line)

    thread = threading.Thread(target=pump, name="rust-panic-filter", daemon=True)
    thread.start()

    def restore() -> None:
        os.dup2(real, 2)  # closes the pipe's last write end: the pump reads to its end
        thread.join(timeout=5)

    atexit.register(restore)
    interrupt.before_exit(restore)  # a second Ctrl-C exits without atexit: its line must get out
