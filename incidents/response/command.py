"""A configured command run on the worker host, e.g. a firewall or EDR command-line tool.

The connector's ``command`` is an argument list; each ``{name}`` placeholder is filled
from the message's validated arguments, one argument at a time, and no shell runs it,
so a value can never become a second command. The exit status and output are recorded.
"""

from __future__ import annotations

import subprocess
import time
from typing import Any

from .contract import Message, Outcome, excerpt


class _Strict(dict):
    def __missing__(self, key: str) -> str:
        raise KeyError(f"the command uses {{{key}}}, which this action does not provide")


def argv(template: list[str], arguments: dict[str, str]) -> list[str]:
    values = _Strict(arguments)
    return [str(part).format_map(values) for part in template]


def deliver(connector: Any, message: Message) -> Outcome:
    if not connector.command:
        return Outcome(False, "The connector has no command configured.", {})
    args = argv(connector.command, message.arguments)
    started = time.monotonic()
    try:
        done = subprocess.run(  # noqa: S603 - an admin-configured argv, no shell
            args,
            capture_output=True,
            stdin=subprocess.DEVNULL,
            timeout=connector.timeout_seconds,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        detail = {"argv": args, "timed_out": True, "stdout": excerpt(exc.stdout or b"")}
        return Outcome(False, f"{args[0]} timed out after {connector.timeout_seconds} s", detail)
    detail = {
        "argv": args,
        "exit_status": done.returncode,
        "stdout": excerpt(done.stdout),
        "stderr": excerpt(done.stderr),
        "seconds": round(time.monotonic() - started, 3),
    }
    return Outcome(done.returncode == 0, f"{args[0]} exited with {done.returncode}", detail)
