"""The case templates ``manage.py bootstrap`` creates when missing: the first tasks of a
new incident, by type, after the usual phases of incident handling (NIST SP 800-61:
analysis, containment, eradication, recovery, lessons learned). Admins edit them in the
Django admin; bootstrap never overwrites an edited template."""

from __future__ import annotations

from .choices import IncidentType

T = dict[str, str]


def _t(title: str, description: str = "") -> T:
    return {"title": title, "description": description}


COMMON_CLOSE = [
    _t("Write the summary and root cause"),
    _t("Lessons learned: what would have caught this earlier?"),
]

DEFAULT_TEMPLATES: dict[str, tuple[str, list[T]]] = {
    IncidentType.MALWARE: (
        "Malware infection",
        [
            _t("Identify the affected hosts", "Pivot on the host and the file hash."),
            _t("Isolate the affected hosts"),
            _t("Collect the sample and its hashes as evidence"),
            _t("Block the command-and-control addresses and domains"),
            _t("Remove the malware and its persistence"),
            _t("Restore from clean images and watch for reinfection"),
            *COMMON_CLOSE,
        ],
    ),
    IncidentType.PHISHING: (
        "Phishing",
        [
            _t("Collect the message with its headers as evidence"),
            _t("Find every recipient and who clicked or replied"),
            _t("Block the sender, URLs and attachments' hashes"),
            _t("Reset the credentials of anyone who entered them"),
            _t("Remove the message from mailboxes"),
            *COMMON_CLOSE,
        ],
    ),
    IncidentType.ACCOUNT_COMPROMISE: (
        "Account compromise",
        [
            _t("Confirm the suspicious logons with the account owner"),
            _t("Disable the account or reset its credentials and sessions"),
            _t("Review what the account did since the first suspicious logon"),
            _t("Check other accounts logging on from the same sources"),
            *COMMON_CLOSE,
        ],
    ),
    IncidentType.INTRUSION: (
        "Intrusion",
        [
            _t("Scope: which hosts and accounts are involved"),
            _t("Contain: block the attacker's addresses, isolate hosts"),
            _t("Preserve evidence (logs, memory, disk images)"),
            _t("Eradicate access: credentials, backdoors, vulnerabilities"),
            _t("Recover and monitor the affected systems"),
            *COMMON_CLOSE,
        ],
    ),
    IncidentType.DATA_EXFILTRATION: (
        "Data exfiltration",
        [
            _t("Identify the data and the destination"),
            _t("Stop the transfer (block the destination, the account or the host)"),
            _t("Assess the legal and notification duties"),
            _t("Find how the data was reached"),
            *COMMON_CLOSE,
        ],
    ),
    IncidentType.DENIAL_OF_SERVICE: (
        "Denial of service",
        [
            _t("Identify the targeted service and the traffic's sources"),
            _t("Apply filtering or rate limits upstream"),
            _t("Confirm the service is back to normal"),
            *COMMON_CLOSE,
        ],
    ),
}
