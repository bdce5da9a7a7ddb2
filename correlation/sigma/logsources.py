"""Which stored events a Sigma rule sees: its ``logsource`` mapped onto socapp's events.

A logsource resolves to one or more *variants*. A variant names exact values some event
fields must have (``where``: Windows channel and event id, or the ``event.dataset`` our
parsers set) and, where the event's names differ from the ones Sigma's taxonomy uses, a
field-name map. The engine indexes rules by these ``where`` values, so an event only meets
the rules written for its kind of log.

Mapping choices (docs/DETECTION.md):
- Windows categories follow Sysmon's event ids (the taxonomy's reference); process
  creation also matches Security 4688 with its field names mapped.
- A logsource we have no table entry for matches events whose ``event.module`` (or the first
  part of ``event.dataset``) equals its product or service: ECS shippers such as Elastic
  Agent set these, so an ``okta`` or ``azure`` rule meets ``okta``/``azure`` events.
- A rule with an empty logsource sees every event.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

SYSMON = "Microsoft-Windows-Sysmon/Operational"


@dataclass(frozen=True)
class Variant:
    where: tuple[tuple[str, tuple[Any, ...]], ...]  # ((field, allowed values), ...)
    fields: dict[str, str] = field(default_factory=dict, hash=False, compare=False)

    @property
    def where_fields(self) -> tuple[str, ...]:
        return tuple(name for name, _ in self.where)

    def map_field(self, name: str) -> str:
        return self.fields.get(name, name)


def _v(fields: dict[str, str] | None = None, **where: Any) -> Variant:
    pairs = tuple(
        sorted(
            (name.replace("__", "."), tuple(v if isinstance(v, list | tuple) else [v]))
            for name, v in where.items()
        )
    )
    return Variant(pairs, fields or {})


def _sysmon(*event_ids: int, **extra: Any) -> Variant:
    return _v(Channel=SYSMON, EventID=list(event_ids), **extra)


# Security 4688 carries process creation under other names than Sysmon's event 1.
SECURITY_4688_FIELDS = {
    "Image": "NewProcessName",
    "ParentImage": "ParentProcessName",
    "User": "SubjectUserName",
    "ProcessId": "NewProcessId",
    "ParentProcessId": "ProcessId",
    "IntegrityLevel": "MandatoryLabel",
    "LogonId": "SubjectLogonId",
}

WINDOWS_CATEGORIES: dict[str, list[Variant]] = {
    "process_creation": [
        _sysmon(1),
        _v(SECURITY_4688_FIELDS, Channel="Security", EventID=4688),
    ],
    "file_change": [_sysmon(2)],
    "network_connection": [_sysmon(3)],
    "sysmon_status": [_sysmon(4, 16)],
    "process_termination": [_sysmon(5)],
    "driver_load": [_sysmon(6)],
    "image_load": [_sysmon(7)],
    "create_remote_thread": [_sysmon(8)],
    "raw_access_thread": [_sysmon(9)],
    "raw_access_read": [_sysmon(9)],
    "process_access": [_sysmon(10)],
    "file_event": [_sysmon(11)],
    "registry_add": [_sysmon(12, EventType="CreateKey")],
    "registry_delete": [_sysmon(12, EventType=["DeleteKey", "DeleteValue"])],
    "registry_set": [_sysmon(13)],
    "registry_rename": [_sysmon(14)],
    "registry_event": [_sysmon(12, 13, 14)],
    "create_stream_hash": [_sysmon(15)],
    "pipe_created": [_sysmon(17, 18)],
    "wmi_event": [_sysmon(19, 20, 21)],
    "dns_query": [_sysmon(22)],
    "file_delete": [_sysmon(23, 26)],
    "clipboard_capture": [_sysmon(24)],
    "process_tampering": [_sysmon(25)],
    "file_block_executable": [_sysmon(27)],
    "file_block_shredding": [_sysmon(28)],
    "file_executable_detected": [_sysmon(29)],
    "sysmon_error": [_sysmon(255)],
    "ps_module": [_v(Channel="Microsoft-Windows-PowerShell/Operational", EventID=4103)],
    "ps_script": [_v(Channel="Microsoft-Windows-PowerShell/Operational", EventID=4104)],
    "ps_classic_start": [_v(Channel="Windows PowerShell", EventID=400)],
    "ps_classic_provider_start": [_v(Channel="Windows PowerShell", EventID=600)],
    "ps_classic_script": [_v(Channel="Windows PowerShell", EventID=800)],
}

WINDOWS_SERVICES: dict[str, str | list[str]] = {
    "security": "Security",
    "system": "System",
    "application": "Application",
    "sysmon": SYSMON,
    "powershell": "Microsoft-Windows-PowerShell/Operational",
    "powershell-classic": "Windows PowerShell",
    "taskscheduler": "Microsoft-Windows-TaskScheduler/Operational",
    "wmi": "Microsoft-Windows-WMI-Activity/Operational",
    "windefend": "Microsoft-Windows-Windows Defender/Operational",
    "dns-server": "DNS Server",
    "dns-server-analytic": "Microsoft-Windows-DNS-Server/Analytical",
    "dns-client": "Microsoft-Windows-DNS Client Events/Operational",
    "bits-client": "Microsoft-Windows-Bits-Client/Operational",
    "codeintegrity-operational": "Microsoft-Windows-CodeIntegrity/Operational",
    "firewall-as": "Microsoft-Windows-Windows Firewall With Advanced Security/Firewall",
    "driver-framework": "Microsoft-Windows-DriverFrameworks-UserMode/Operational",
    "ntlm": "Microsoft-Windows-NTLM/Operational",
    "security-mitigations": [
        "Microsoft-Windows-Security-Mitigations/Kernel Mode",
        "Microsoft-Windows-Security-Mitigations/User Mode",
    ],
    "printservice-admin": "Microsoft-Windows-PrintService/Admin",
    "printservice-operational": "Microsoft-Windows-PrintService/Operational",
    "terminalservices-localsessionmanager": (
        "Microsoft-Windows-TerminalServices-LocalSessionManager/Operational"
    ),
    "openssh": "OpenSSH/Operational",
    "smbclient-security": "Microsoft-Windows-SmbClient/Security",
    "smbclient-connectivity": "Microsoft-Windows-SmbClient/Connectivity",
    "appxdeployment-server": "Microsoft-Windows-AppXDeploymentServer/Operational",
    "appxpackaging-om": "Microsoft-Windows-AppxPackaging/Operational",
    "msexchange-management": "MSExchange Management",
    "applocker": [
        "Microsoft-Windows-AppLocker/MSI and Script",
        "Microsoft-Windows-AppLocker/EXE and DLL",
        "Microsoft-Windows-AppLocker/Packaged app-Deployment",
        "Microsoft-Windows-AppLocker/Packaged app-Execution",
    ],
    "capi2": "Microsoft-Windows-CAPI2/Operational",
    "certificateservicesclient-lifecycle-system": (
        "Microsoft-Windows-CertificateServicesClient-Lifecycle-System/Operational"
    ),
    "diagnosis-scripted": "Microsoft-Windows-Diagnosis-Scripted/Operational",
    "shell-core": "Microsoft-Windows-Shell-Core/Operational",
    "ldap": "Microsoft-Windows-LDAP-Client/Debug",
    "lsa-server": "Microsoft-Windows-LSA/Operational",
    "hyper-v-worker": "Microsoft-Windows-Hyper-V-Worker",
    "kernel-shimengine": "Microsoft-Windows-Kernel-ShimEngine/Operational",
    "vhdmp": "Microsoft-Windows-VHDMP/Operational",
}

# Sigma's Linux services -> the datasets and program names our syslog parsers set.
LINUX_SERVICES: dict[str, list[Variant]] = {
    "auth": [_v(event__dataset="system.auth")],
    "sshd": [_v(event__dataset="system.auth", process__name="sshd")],
    "sudo": [_v(event__dataset="system.auth", process__name="sudo")],
    "su": [_v(event__dataset="system.auth", process__name="su")],
    "syslog": [_v(event__dataset=["syslog", "system.auth"])],
    "auditd": [_v(event__dataset="auditd.log")],
    "cron": [_v(event__dataset="syslog", process__name=["cron", "CRON", "crond"])],
    "vsftpd": [_v(event__dataset="syslog", process__name="vsftpd")],
    "clamav": [_v(event__dataset="syslog", process__name=["clamd", "freshclam"])],
    "guacamole": [_v(event__dataset="syslog", process__name="guacd")],
}

CATEGORIES: dict[str, list[Variant]] = {
    "webserver": [_v(event__dataset="access")],
    "firewall": [_v(event__dataset=["iptables.log", "cef.log", "leef"])],
    "dns": [_v(event__dataset=["suricata.dns", "zeek.dns"])],
    "proxy": [_v(event__dataset=["zeek.http", "suricata.http"])],
    "network_connection": [_v(event__dataset=["zeek.conn", "suricata.flow", "iptables.log"])],
    # socapp's own (Sigma has no category for it): every IDS sensor's signature alerts.
    "ids": [_v(event__dataset=["suricata.alert", "snort.alert"])],
}

PRODUCT_SERVICES: dict[tuple[str, str], list[Variant]] = {
    ("aws", "cloudtrail"): [_v(event__dataset="aws.cloudtrail")],
    ("snort", "alert"): [_v(event__dataset="snort.alert")],
    **{
        ("zeek", kind): [_v(event__dataset=f"zeek.{kind}")]
        for kind in (
            "conn",
            "dns",
            "http",
            "ssl",
            "files",
            "kerberos",
            "smb_files",
            "smb_mapping",
            "dce_rpc",
            "x509",
            "notice",
            "rdp",
            "ntlm",
        )
    },
    **{
        ("suricata", kind): [_v(event__dataset=f"suricata.{kind}")]
        for kind in (
            "alert",
            "flow",
            "dns",
            "http",
            "tls",
        )
    },
}

# A pseudo-field the engine computes per event: ``event.module`` or the first part of
# ``event.dataset`` - the product a log came from, for logsources without a table entry.
PRODUCT_FIELD = "@product"


def resolve(logsource: dict[str, Any] | None) -> list[Variant]:
    """The variants of a logsource; an empty list means "every event"."""
    logsource = {
        k: str(v).lower()
        for k, v in (logsource or {}).items()
        if v and k in ("product", "category", "service")
    }
    product = logsource.get("product")
    category = logsource.get("category")
    service = logsource.get("service")
    if not logsource or logsource == {"category": "any"}:
        # socapp's "category: any": every event (rules made from an event search)
        return []
    if product is None and service is None and category in CATEGORIES:
        # a generic category (no product) means every sensor that reports it, Sysmon too
        return CATEGORIES[category] + WINDOWS_CATEGORIES.get(category, [])
    if product == "windows" or (product is None and category in WINDOWS_CATEGORIES):
        return _windows(category, service)
    if product is not None and service is not None and (product, service) in PRODUCT_SERVICES:
        return PRODUCT_SERVICES[(product, service)]
    if product == "linux" and service in LINUX_SERVICES:
        return LINUX_SERVICES[service]
    if product == "linux" and service is None and category is None:
        return [_v(event__dataset=["syslog", "system.auth", "auditd.log", "iptables.log"])]
    if category in CATEGORIES and service is None:
        return CATEGORIES[category]
    names = [n for n in (product, service) if n]
    return [Variant(((PRODUCT_FIELD, tuple(names)),))]


def _windows(category: str | None, service: str | None) -> list[Variant]:
    if category:
        variants = WINDOWS_CATEGORIES.get(category)
        if variants is None:
            return [Variant(((PRODUCT_FIELD, ("windows-" + category,)),))]
        return variants
    if service:
        channel = WINDOWS_SERVICES.get(service)
        if channel is None:
            return [Variant(((PRODUCT_FIELD, ("windows-" + service,)),))]
        return [_v(Channel=channel)]
    return [Variant(((PRODUCT_FIELD, ("windows",)),))]
