"""The messages of sshd, sudo, su, PAM and the user-management tools, as ECS fields.

Each function takes the syslog MSG and the document built so far, adds what it
recognises (field placement follows Elastic's ``system.auth`` module) and returns the
event type, or None when the message is one it does not know (it stays a plain syslog
event, searchable by its text).
"""

from __future__ import annotations

import re
from typing import Any

from .base import add_related, ip_or_none, port_or_none, put

_SSH_LOGIN = re.compile(
    r"(?P<result>Accepted|Failed) (?P<method>password|publickey|keyboard-interactive(?:/pam)?"
    r"|none|hostbased|gssapi-with-mic) for (?:invalid user )?(?P<user>.*?) from (?P<ip>\S+)"
    r" port (?P<port>\d+)(?: ssh2)?(?::? (?P<signature>.+))?$"
)
_SSH_INVALID = re.compile(
    r"[Ii]nvalid user (?P<user>.*?) from (?P<ip>\S+)(?: port (?P<port>\d+))?$"
)
# Older OpenSSH (before 7.x) names no port and puts a space in the reason code:
# "Received disconnect from ADDR: 11: Bye Bye", "Connection closed by ADDR [preauth]". The
# address ends on a hex digit so that the colon before the code is not taken for IPv6.
_SSH_DISCONNECT = re.compile(
    r"(?:Disconnected from|Connection closed by|Received disconnect from)"
    r"(?: (?P<who>invalid user|authenticating user|user) (?P<user>\S+))?"
    r" (?P<ip>[0-9a-fA-F:.]*[0-9a-fA-F])(?: port (?P<port>\d+))?(?::\s*\d+:)?(?P<reason>.*)$"
)
# The two ways sshd reports MaxAuthTries reached: newer releases log both lines for one
# connection, older ones only the second (with the user, without the address).
_SSH_MAX_TRIES = re.compile(
    r"(?:error: )?maximum authentication attempts exceeded for (?:invalid user )?(?P<user>\S+)"
    r" from (?P<ip>\S+) port (?P<port>\d+)"
)
_SSH_TOO_MANY = re.compile(
    r"Disconnecting(?: (?:invalid |authenticating )?user (?P<who>\S+) (?P<ip>\S+)"
    r" port (?P<port>\d+))?: Too many authentication failures(?: for (?:invalid user )?"
    r"(?P<user>[^\s\[]\S*))?"
)
_SSH_USERAUTH_INVALID = re.compile(
    r"input_userauth_request: invalid user (?P<user>.*?)(?P<preauth> \[preauth\])?$"
)
_SSH_REVERSE_MAPPING = re.compile(
    r"reverse mapping checking getaddrinfo for (?P<host>\S+) \[(?P<ip>[^\]]+)\] failed"
    r"|Address (?P<ip2>\S+) maps to (?P<host2>[^,\s]+), but this does not map back"
)
_PAM_MORE_FAILURES = re.compile(r"^PAM (?P<count>\d+) more authentication failures?;(?P<kv>.*)$")
_SSH_NO_IDENT = re.compile(r"Did not receive identification string from (?P<ip>\S+)")
_SUDO = re.compile(
    r"^\s*(?P<user>\S+) : (?:(?P<error>[^;]+?) ; )?TTY=(?P<tty>\S+) ; PWD=(?P<pwd>.+?) ;"
    r" USER=(?P<target>\S+) ;(?: GROUP=\S+ ;)?(?: TSID=\S+ ;)?(?: ENV=.*? ;)? COMMAND=(?P<cmd>.*)$"
)
_SU = re.compile(
    r"^(?:(?P<failed>FAILED SU)|\+|-)?\s*\(to (?P<target>[^)]+)\) (?P<user>\S+) on (?P<tty>\S+)"
)
_SU_SUCCESS = re.compile(r"^Successful su for (?P<target>\S+) by (?P<user>\S+)")
_PAM = re.compile(r"pam_(?P<module>\w+)\((?P<service>[^:)]+):(?P<facility>\w+)\): (?P<text>.*)$")
_PAM_KV = re.compile(r"(\w+)=(\S*)")
_PAM_SESSION = re.compile(
    r"session (?P<state>opened|closed) for user (?P<user>[^\s(]+)(?:\(uid=\d+\))?"
    r"(?: by (?P<by>[^\s(]*)(?:\(uid=(?P<uid>\d+)\))?)?"
)
_NEW_GROUP = re.compile(r"new group: name=(?P<name>[^,]+), GID=(?P<gid>\d+)")
_NEW_USER = re.compile(
    r"new user: name=(?P<name>[^,]+), UID=(?P<uid>\d+), GID=(?P<gid>\d+), home=(?P<home>[^,]+),"
    r" shell=(?P<shell>\S+)"
)
_DELETE_USER = re.compile(r"delete user '(?P<name>[^']+)'")


def _auth(doc: dict[str, Any], outcome: str, action: str, *, session: bool = False) -> None:
    put(doc, "event.category", ["authentication", "session"] if session else ["authentication"])
    put(
        doc,
        "event.type",
        [f"authentication_{outcome}", "info"] if outcome in ("success", "failure") else ["info"],
    )
    put(doc, "event.outcome", outcome)
    put(doc, "event.action", action)
    put(doc, "event.dataset", "system.auth")


def _source(doc: dict[str, Any], ip: str | None, port: str | None = None) -> None:
    address = ip_or_none(ip)
    if address:
        put(doc, "source.ip", address)
        add_related(doc, "ip", address)
    elif ip:
        put(doc, "source.address", ip)
    put(doc, "source.port", port_or_none(port))


def _user(doc: dict[str, Any], name: str | None) -> None:
    if name:
        put(doc, "user.name", name)
        add_related(doc, "user", name)


def sshd(message: str, doc: dict[str, Any]) -> str | None:
    """sshd's messages, current and older OpenSSH releases alike.

    One failed attempt is written on several lines; each line keeps what it says
    (``event.outcome: failure``), and ``system.auth.ssh.event`` tells the attempt itself
    ("Failed" password/key) from the lines around it: "Invalid" (the user does not exist:
    ``Invalid user NAME from ADDR`` and ``input_userauth_request: invalid user NAME``) and
    "MaxAuthTries" (the connection's summary once sshd gives up). Counting rules count
    the "Failed" lines only, as the pack's ``socapp_ssh_auth_failure`` does.
    """
    if match := _SSH_LOGIN.search(message):
        return _ssh_login(match, message, doc)
    if match := _SSH_USERAUTH_INVALID.search(message):
        _ssh_failure(doc, "Invalid", match["user"])
        if match["preauth"]:
            put(doc, "system.auth.ssh.preauth", True)
        return "ssh_invalid_user"
    if match := _SSH_INVALID.search(message):
        _ssh_failure(doc, "Invalid", match["user"], match["ip"], match["port"])
        return "ssh_invalid_user"
    if match := _SSH_MAX_TRIES.search(message):
        _ssh_failure(doc, "MaxAuthTries", match["user"], match["ip"], match["port"])
        return "ssh_login_failed"
    if match := _SSH_TOO_MANY.search(message):
        user = match["user"] or match["who"]
        _ssh_failure(doc, "MaxAuthTries", user, match["ip"], match["port"])
        return "ssh_login_failed"
    if match := _SSH_DISCONNECT.search(message):
        return _ssh_disconnect(match, doc)
    if match := _SSH_REVERSE_MAPPING.search(message):
        return _ssh_reverse_mapping(match, doc)
    if match := _SSH_NO_IDENT.search(message):
        _source(doc, match["ip"])
        put(doc, "system.auth.ssh.dropped_ip", ip_or_none(match["ip"]) or match["ip"])
        put(doc, "event.dataset", "system.auth")
        return "ssh_no_identification"
    if match := _PAM_MORE_FAILURES.match(message):
        return _pam_more_failures(match, doc)
    if "pam_" in message:
        return pam(message, doc)
    return None


def _ssh_login(match: re.Match[str], message: str, doc: dict[str, Any]) -> str:
    accepted = match["result"] == "Accepted"
    _auth(doc, "success" if accepted else "failure", "ssh_login", session=accepted)
    _user(doc, match["user"])
    _source(doc, match["ip"], match["port"])
    put(doc, "system.auth.ssh.event", match["result"])
    put(doc, "system.auth.ssh.method", match["method"])
    if match["signature"]:
        put(doc, "system.auth.ssh.signature", match["signature"].strip())
    if "invalid user" in message:
        put(doc, "system.auth.ssh.invalid_user", True)
    return "ssh_login_accepted" if accepted else "ssh_login_failed"


def _ssh_failure(
    doc: dict[str, Any],
    ssh_event: str,
    user: str | None,
    ip: str | None = None,
    port: str | None = None,
) -> None:
    _auth(doc, "failure", "ssh_login")
    _user(doc, user)
    if ip:
        _source(doc, ip, port)
    put(doc, "system.auth.ssh.event", ssh_event)


def _ssh_disconnect(match: re.Match[str], doc: dict[str, Any]) -> str:
    put(doc, "event.category", ["network", "session"])
    put(doc, "event.type", ["end"])
    put(doc, "event.action", "ssh_disconnect")
    put(doc, "event.dataset", "system.auth")
    _user(doc, match["user"])
    _source(doc, match["ip"], match["port"])
    reason = (match["reason"] or "").strip(" :")
    if reason.endswith("[preauth]"):
        put(doc, "system.auth.ssh.preauth", True)
        reason = reason.removesuffix("[preauth]").strip()
    put(doc, "system.auth.ssh.disconnect_reason", reason)
    return "ssh_disconnect"


def _ssh_reverse_mapping(match: re.Match[str], doc: dict[str, Any]) -> str:
    """The client's address and name do not resolve to each other (sshd's "POSSIBLE
    BREAK-IN ATTEMPT!"): a fact about DNS, not an authentication outcome."""
    put(doc, "event.category", ["network"])
    put(doc, "event.type", ["info"])
    put(doc, "event.action", "ssh_reverse_mapping_failed")
    put(doc, "event.dataset", "system.auth")
    _source(doc, match["ip"] or match["ip2"])
    host = match["host"] or match["host2"]
    put(doc, "source.domain", host)
    add_related(doc, "hosts", host)
    return "ssh_reverse_mapping_failed"


def _pam_more_failures(match: re.Match[str], doc: dict[str, Any]) -> str:
    """PAM's summary when sshd ends a connection: N failures besides the first, each
    already logged on its own (pam_unix and "Failed password" lines)."""
    fields = dict(_PAM_KV.findall(match["kv"]))
    _auth(doc, "failure", "pam_authentication")
    _user(doc, fields.get("user"))
    put(doc, "system.auth.pam.more_failures", int(match["count"]))
    put(doc, "system.auth.pam.ruser", fields.get("ruser"))
    put(doc, "system.auth.pam.tty", fields.get("tty"))
    _rhost(doc, fields.get("rhost"))
    return "pam_auth_failure"


def _rhost(doc: dict[str, Any], rhost: str | None) -> None:
    if rhost:
        address = ip_or_none(rhost)
        put(doc, "source.ip" if address else "source.domain", address or rhost)
        add_related(doc, "ip", address)


def sudo(message: str, doc: dict[str, Any]) -> str | None:
    if match := _SUDO.match(message):
        put(doc, "event.dataset", "system.auth")
        put(doc, "event.category", ["process"])
        put(doc, "event.action", "sudo")
        _user(doc, match["user"])
        put(doc, "user.effective.name", match["target"])
        add_related(doc, "user", match["target"])
        put(doc, "system.auth.sudo.tty", match["tty"])
        put(doc, "system.auth.sudo.pwd", match["pwd"])
        put(doc, "system.auth.sudo.user", match["target"])
        put(doc, "system.auth.sudo.command", match["cmd"].strip())
        put(doc, "process.command_line", match["cmd"].strip())
        if match["error"]:
            put(doc, "system.auth.sudo.error", match["error"].strip())
            put(doc, "event.outcome", "failure")
            put(doc, "event.type", ["denied"])
            return "sudo_denied"
        put(doc, "event.outcome", "success")
        put(doc, "event.type", ["start"])
        return "sudo_command"
    if "pam_" in message:
        return pam(message, doc)
    return None


def su(message: str, doc: dict[str, Any]) -> str | None:
    if match := _SU.match(message):
        failed = bool(match["failed"]) or message.startswith("-")
        _auth(doc, "failure" if failed else "success", "su")
        _user(doc, match["user"])
        put(doc, "user.effective.name", match["target"])
        add_related(doc, "user", match["target"])
        put(doc, "system.auth.su.tty", match["tty"])
        return "su_failed" if failed else "su_accepted"
    if match := _SU_SUCCESS.match(message):
        _auth(doc, "success", "su")
        _user(doc, match["user"])
        put(doc, "user.effective.name", match["target"])
        add_related(doc, "user", match["target"])
        return "su_accepted"
    if "pam_" in message:
        return pam(message, doc)
    return None


def pam(message: str, doc: dict[str, Any]) -> str | None:
    match = _PAM.search(message)
    if not match:
        return None
    put(doc, "event.dataset", "system.auth")
    put(doc, "system.auth.pam.module", match["module"])
    put(doc, "system.auth.pam.service", match["service"])
    put(doc, "system.auth.pam.facility", match["facility"])
    text = match["text"]
    if session := _PAM_SESSION.search(text):
        opened = session["state"] == "opened"
        put(doc, "event.category", ["session"])
        put(doc, "event.type", ["start" if opened else "end"])
        put(doc, "event.action", f"session_{session['state']}")
        put(doc, "event.outcome", "success")
        _user(doc, session["user"])
        if session["by"]:
            put(doc, "system.auth.pam.by", session["by"])
            add_related(doc, "user", session["by"])
        return f"pam_session_{session['state']}"
    if "authentication failure" in text:
        fields = dict(_PAM_KV.findall(text))
        _auth(doc, "failure", "pam_authentication")
        _user(doc, fields.get("user"))
        put(doc, "system.auth.pam.ruser", fields.get("ruser"))
        put(doc, "system.auth.pam.tty", fields.get("tty"))
        _rhost(doc, fields.get("rhost"))
        return "pam_auth_failure"
    return "pam"


def user_management(message: str, doc: dict[str, Any]) -> str | None:
    put(doc, "event.dataset", "system.auth")
    put(doc, "event.category", ["iam"])
    if match := _NEW_GROUP.search(message):
        put(doc, "event.type", ["creation", "group"])
        put(doc, "event.outcome", "success")
        put(doc, "group.name", match["name"])
        put(doc, "group.id", match["gid"])
        return "group_created"
    if match := _NEW_USER.search(message):
        put(doc, "event.type", ["creation", "user"])
        put(doc, "event.outcome", "success")
        _user(doc, match["name"])
        put(doc, "user.id", match["uid"])
        put(doc, "group.id", match["gid"])
        put(doc, "system.auth.useradd.home", match["home"])
        put(doc, "system.auth.useradd.shell", match["shell"])
        return "user_created"
    if match := _DELETE_USER.search(message):
        put(doc, "event.type", ["deletion", "user"])
        _user(doc, match["name"])
        return "user_deleted"
    if "pam_" in message:
        return pam(message, doc)
    return None
