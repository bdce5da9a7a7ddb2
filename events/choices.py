from django.db import models


class SourceType(models.TextChoices):
    NETWORK = "network", "Network (firewall, IDS, proxy, flow)"
    ENDPOINT = "endpoint", "Endpoint (OS, EDR)"
    APPLICATION = "application", "Application"
    CLOUD = "cloud", "Cloud"
    IDENTITY = "identity", "Identity"
    THREAT_INTEL = "threat_intel", "Threat intelligence"
    VULNERABILITY_SCANNER = "vulnerability_scanner", "Vulnerability scanner"
    OTHER = "other", "Other"


class LogFormat(models.TextChoices):
    SYSLOG = "syslog", "Syslog (RFC 3164 / RFC 5424)"
    CEF = "cef", "ArcSight CEF"
    LEEF = "leef", "IBM LEEF"
    JSON = "json", "JSON (NDJSON or array)"
    SURICATA = "suricata", "Suricata EVE JSON"
    SNORT = "snort", "Snort alerts (alert_json, alert_fast, syslog)"
    ZEEK = "zeek", "Zeek (JSON or TSV)"
    ACCESS = "access", "Apache/nginx access log"
    WINDOWS = "windows", "Windows event log (EVTX or JSON)"
    CLOUDTRAIL = "cloudtrail", "AWS CloudTrail"


class EventCategory(models.TextChoices):
    """ECS ``event.category`` values."""

    AUTHENTICATION = "authentication", "Authentication"
    CONFIGURATION = "configuration", "Configuration"
    DATABASE = "database", "Database"
    DRIVER = "driver", "Driver"
    EMAIL = "email", "E-mail"
    FILE = "file", "File"
    HOST = "host", "Host"
    IAM = "iam", "Identity and access management"
    INTRUSION_DETECTION = "intrusion_detection", "Intrusion detection"
    MALWARE = "malware", "Malware"
    NETWORK = "network", "Network"
    PACKAGE = "package", "Package"
    PROCESS = "process", "Process"
    REGISTRY = "registry", "Registry"
    SESSION = "session", "Session"
    THREAT = "threat", "Threat"
    VULNERABILITY = "vulnerability", "Vulnerability"
    WEB = "web", "Web"
    OTHER = "other", "Other"


class AttributeDataType(models.TextChoices):
    STRING = "string", "String"
    INTEGER = "integer", "Integer"
    FLOAT = "float", "Float"
    BOOLEAN = "boolean", "Boolean"
    IP = "ip", "IP address"
    DATETIME = "datetime", "Date and time"
    JSON = "json", "JSON"


class PartitionInterval(models.TextChoices):
    DAY = "day", "Day"
    WEEK = "week", "Week"
    MONTH = "month", "Month"


class Transport(models.TextChoices):
    API = "api", "REST API"
    HEC = "hec", "Splunk HEC"
    SYSLOG = "syslog", "Syslog listener"
    FILE = "file", "File (ingest command)"
    UPLOAD = "upload", "Upload (web UI)"
    REPROCESS = "reprocess", "Quarantine reprocessing"
    HEALTH = "health", "Source health check (socapp itself)"
