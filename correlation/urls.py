from django.urls import path

from . import views

app_name = "rules"

urlpatterns = [
    path("", views.rule_list, name="list"),
    path("new/", views.rule_edit, name="new"),
    path("coverage/", views.coverage, name="coverage"),
    path("<uuid:pk>/", views.rule_detail, name="detail"),
    path("<uuid:pk>/edit/", views.rule_edit, name="edit"),
    path("<uuid:pk>/active/", views.rule_toggle, name="toggle"),
    path("<uuid:pk>/backtest/", views.rule_backtest_page, name="backtest"),
]
