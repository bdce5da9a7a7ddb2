"""The console's alert pages (/alerts/), incident pages (/incidents/), entity pages
(/entities/), inventory pages (/assets/) and threat-intel pages (/intel/)."""

from django.urls import path

from .views import alerts, cases, entities, inventory, queue, reports, threat, vulnerabilities

alert_urlpatterns = (
    [
        path("", queue.queue, name="queue"),
        path("rows/", queue.queue_rows, name="rows"),
        path("bulk/", queue.bulk, name="bulk"),
        path("views/", alerts.save_view, name="save_view"),
        path("views/<uuid:pk>/delete/", alerts.delete_view, name="delete_view"),
        path("mutes/", alerts.mutes, name="mutes"),
        path("mutes/<uuid:pk>/lift/", alerts.lift_mute, name="lift_mute"),
        path("<uuid:pk>/", alerts.detail, name="detail"),
        path("<uuid:pk>/preview/", queue.preview, name="preview"),
        path("<uuid:pk>/<slug:action>/", alerts.triage, name="triage"),
    ],
    "alerts",
)

incident_urlpatterns = (
    [
        path("", cases.incident_list, name="list"),
        path("new/", cases.incident_new, name="new"),
        path("<str:number>/", cases.incident_page, name="detail"),
        path("<str:number>/timeline/", cases.incident_timeline_part, name="timeline"),
        path("<str:number>/actions/", cases.incident_actions_part, name="actions"),
        path("<str:number>/evidence/<uuid:pk>/", cases.evidence_download, name="evidence"),
        path("<str:number>/report.pdf", reports.incident_report, {"fmt": "pdf"}, name="report_pdf"),
        path("<str:number>/report.csv", reports.incident_report, {"fmt": "csv"}, name="report_csv"),
        path("<str:number>/<slug:action>/", cases.incident_change, name="change"),
    ],
    "incidents",
)

report_urlpatterns = (
    [
        path("", reports.index, name="index"),
        path("summary.pdf", reports.summary, {"fmt": "pdf"}, name="summary_pdf"),
        path("summary.csv", reports.summary, {"fmt": "csv"}, name="summary_csv"),
    ],
    "reports",
)

entity_urlpatterns = (
    [
        path("ip/<str:value>/", entities.entity_page, {"kind": "ip"}, name="ip"),
        path("user/<path:value>/", entities.entity_page, {"kind": "user"}, name="user"),
        path("host/<path:value>/", entities.entity_page, {"kind": "host"}, name="host"),
    ],
    "entities",
)

asset_urlpatterns = (
    [
        path("", inventory.asset_list, name="list"),
        path("new/", inventory.asset_new, name="new"),
        path("import/", inventory.asset_import, name="import"),
        path("discovered/", inventory.discovered_list, name="discovered"),
        path("vulnerabilities/", vulnerabilities.finding_list, name="vulnerabilities"),
        path("vulnerabilities/import/", vulnerabilities.finding_import, name="vuln_import"),
        path("<uuid:pk>/", inventory.asset_detail, name="detail"),
        path("<uuid:pk>/edit/", inventory.asset_edit, name="edit"),
    ],
    "assets",
)

intel_urlpatterns = (
    [
        path("", threat.ioc_list, name="iocs"),
        path("iocs/<uuid:pk>/", threat.ioc_detail, name="ioc"),
        path("import/", threat.intel_import_page, name="import"),
        path("feeds/", threat.feed_list, name="feeds"),
        path("feeds/new/", threat.feed_new, name="feed_new"),
        path("feeds/<uuid:pk>/", threat.feed_detail, name="feed"),
        path("feeds/<uuid:pk>/edit/", threat.feed_edit, name="feed_edit"),
        path("feeds/<uuid:pk>/fetch/", threat.feed_fetch, name="feed_fetch"),
    ],
    "intel",
)
