from django.db import models


class AlertStatus(models.TextChoices):
    OPEN = "open", "Open"
    ACKNOWLEDGED = "acknowledged", "Acknowledged"
    IN_PROGRESS = "in_progress", "In progress"
    CLOSED = "closed", "Closed"


class CloseReason(models.TextChoices):
    RESOLVED = "resolved", "Resolved"
    FALSE_POSITIVE = "false_positive", "False positive"
    BENIGN_TRUE_POSITIVE = "benign_true_positive", "Benign true positive"
    DUPLICATE = "duplicate", "Duplicate"
    MUTED = "muted", "Muted"  # closed by an analyst's mute of similar alerts, not by hand


# What a person may pick when closing an alert by hand, and the resolutions an incident
# closes with: one list, so an incident's resolution is what its alerts are closed as.
CLOSE_REASONS_BY_HAND = [c for c in CloseReason.choices if c[0] != CloseReason.MUTED]


class IncidentStatus(models.TextChoices):
    NEW = "new", "New"
    TRIAGE = "triage", "Triage"
    CONTAINMENT = "containment", "Containment"
    ERADICATION = "eradication", "Eradication"
    RECOVERY = "recovery", "Recovery"
    CLOSED = "closed", "Closed"


class IncidentPriority(models.TextChoices):
    LOW = "low", "P4 - Low"
    MEDIUM = "medium", "P3 - Medium"
    HIGH = "high", "P2 - High"
    CRITICAL = "critical", "P1 - Critical"


class TLP(models.TextChoices):
    """Traffic Light Protocol 2.0."""

    CLEAR = "clear", "TLP:CLEAR"
    GREEN = "green", "TLP:GREEN"
    AMBER = "amber", "TLP:AMBER"
    AMBER_STRICT = "amber_strict", "TLP:AMBER+STRICT"
    RED = "red", "TLP:RED"


class ResponseActionType(models.TextChoices):
    WEBHOOK = "webhook", "Webhook"
    EMAIL = "email", "E-mail"
    BLOCK_IP = "block_ip", "Block IP"
    DISABLE_ACCOUNT = "disable_account", "Disable account"
    ISOLATE_HOST = "isolate_host", "Isolate host"
    MANUAL = "manual", "Manual step"


class ResponseActionStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    AWAITING_APPROVAL = "awaiting_approval", "Awaiting approval"
    APPROVED = "approved", "Approved"
    REJECTED = "rejected", "Rejected"
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"


class SettleOutcome(models.TextChoices):
    """What a manager found when they checked an action left running (its worker died)."""

    FAILED = "failed", "Failed"
    SUCCEEDED = "succeeded", "Succeeded (verified by hand)"


class ConnectorKind(models.TextChoices):
    WEBHOOK = "webhook", "Webhook (HTTP POST)"
    EMAIL = "email", "E-mail"
    COMMAND = "command", "Command"


class NotificationTopic(models.TextChoices):
    ALERT_RAISED = "alert_raised", "New alert"
    INCIDENT_OPENED = "incident_opened", "New incident"
    INCIDENT_ASSIGNED = "incident_assigned", "Incident assigned"
    INCIDENT_STATUS = "incident_status", "Incident status changed"
    ACTION_APPROVAL = "action_approval", "Response action awaiting approval"


class DeliveryStatus(models.TextChoices):
    SENDING = "sending", "Sending"
    SENT = "sent", "Sent"
    THROTTLED = "throttled", "Held back (throttled)"
    FAILED = "failed", "Failed"


class TimelineKind(models.TextChoices):
    CREATED = "created", "Created"
    UPDATED = "updated", "Updated"
    STATUS_CHANGED = "status_changed", "Status changed"
    ASSIGNED = "assigned", "Assigned"
    ALERT_LINKED = "alert_linked", "Alert linked"
    ALERT_GROUPED = "alert_grouped", "Alert grouped in automatically"
    EVENT_LINKED = "event_linked", "Event linked"
    ASSET_LINKED = "asset_linked", "Asset linked"
    IOC_LINKED = "ioc_linked", "IOC linked"
    COMMENTED = "commented", "Comment"
    TASK_ADDED = "task_added", "Task added"
    TASK_UPDATED = "task_updated", "Task updated"
    EVIDENCE_ADDED = "evidence_added", "Evidence added"
    ACTION_REQUESTED = "action_requested", "Response action requested"
    ACTION_DECIDED = "action_decided", "Response action approved or rejected"
    ACTION_FINISHED = "action_finished", "Response action finished"
    ACTION_SETTLED = "action_settled", "Running response action settled by hand"
    OBSERVABLE_ADDED = "observable_added", "Observable added"
    ALERT_COMMENTS_COPIED = "alert_comments_copied", "Alert comments carried over"
    ALERTS_CLOSED = "alerts_closed", "Linked alerts closed"


class IncidentType(models.TextChoices):
    """What kind of case this is; picks the case template (its starting tasks)."""

    MALWARE = "malware", "Malware"
    PHISHING = "phishing", "Phishing"
    INTRUSION = "intrusion", "Intrusion / unauthorized access"
    ACCOUNT_COMPROMISE = "account_compromise", "Account compromise"
    DATA_EXFILTRATION = "data_exfiltration", "Data exfiltration"
    DENIAL_OF_SERVICE = "denial_of_service", "Denial of service"
    POLICY_VIOLATION = "policy_violation", "Policy violation"
    OTHER = "other", "Other"


class TaskStatus(models.TextChoices):
    OPEN = "open", "Open"
    DONE = "done", "Done"
    SKIPPED = "skipped", "Not needed"


class ObservableKind(models.TextChoices):
    """What an incident's observable is. Alert entities bring ip, user and host; an
    analyst adds any of the first six (each becomes or finds an IOC; a host is an asset
    matter, not an indicator)."""

    IP = "ip", "IP address"
    DOMAIN = "domain", "Domain"
    HASH = "hash", "File hash"
    USER = "user", "User account"
    URL = "url", "URL"
    EMAIL = "email", "E-mail address"
    HOST = "host", "Host"


class ObservableSource(models.TextChoices):
    ALERT = "alert", "From an alert"
    ANALYST = "analyst", "Added by an analyst"
