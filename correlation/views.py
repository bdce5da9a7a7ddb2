"""The rule pages: list and health, editor (save, test on an event), enable/disable,
backtest, and the ATT&CK coverage view. Thin: the work is in services and selectors."""

from __future__ import annotations

import uuid
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from events.search import QueryError
from socapp.users import User, user_of

from .attack import coverage_matrix
from .forms import RULE_TEMPLATE, BacktestForm, RuleForm, TryForm
from .handoff import alert_desk
from .models import CorrelationRule
from .selectors import (
    rule_inputs_and_users,
    rule_quarantine_for,
    rules_for_list,
    rules_visible_to,
)
from .services import (
    BacktestError,
    EventTooLarge,
    parse_moment,
    rule_backtest,
    rule_save,
    rule_set_active,
    rule_try,
)
from .sigma.documents import RuleInvalid, RuleProblem
from .sigma.from_search import rule_from_search

VIEW = "correlation.view_correlationrule"


def _rule(request: HttpRequest, pk: uuid.UUID) -> CorrelationRule:
    return get_object_or_404(rules_visible_to(user_of(request)), pk=pk)


@login_required
@permission_required(VIEW, raise_exception=True)
def rule_list(request: HttpRequest) -> HttpResponse:
    rules, filters = rules_for_list(user_of(request), request.GET)
    page = Paginator(rules, 50).get_page(request.GET.get("page"))
    return render(request, "correlation/rule_list.html", {"page": page, "filters": filters})


@login_required
@permission_required(VIEW, raise_exception=True)
def rule_detail(request: HttpRequest, pk: uuid.UUID) -> HttpResponse:
    return _detail(request, _rule(request, pk))


def _detail(
    request: HttpRequest,
    rule: CorrelationRule,
    *,
    backtest_form: BacktestForm | None = None,
    backtest: Any = None,
    status: int = 200,
) -> HttpResponse:
    inputs, users = rule_inputs_and_users(rule)
    context = {
        "rule": rule,
        "stats": getattr(rule, "stats", None),
        "quarantine": rule_quarantine_for(user_of(request), rule),
        "alerts": alert_desk().recent_alerts_of_rule(user_of(request), rule.pk, 10),
        "versions": rule.versions.all()[:10],
        "inputs": inputs,
        "users": users,
        "lines": numbered(rule.definition, []),
        "backtest_form": backtest_form or BacktestForm(),
        "backtest": backtest,
    }
    return render(request, "correlation/rule_detail.html", context, status=status)


def numbered(text: str, problems: list[RuleProblem]) -> list[tuple[int, str, list[str]]]:
    """The definition's lines with their numbers and the problems found on each; none
    for a text past RULE_MAX_BYTES (its problem says so, and listing it costs)."""
    if len(text) > settings.RULE_MAX_BYTES:
        return []
    by_line: dict[int, list[str]] = {}
    for problem in problems:
        by_line.setdefault(problem.line or 1, []).append(problem.message)
    lines = text.splitlines() or [""]
    return [(n, line, by_line.get(n, [])) for n, line in enumerate(lines, 1)]


def _new_rule_initial(request: HttpRequest) -> dict[str, Any]:
    """A blank rule, or the draft of an event search ("Make a rule of it"), saved
    inactive so that it is backtested before it raises anything."""
    query = request.GET.get("from_search", "")
    if query:
        try:
            definition = rule_from_search(query)
        except (QueryError, ValueError) as exc:
            messages.error(request, f"That search cannot become a rule: {exc}")
        else:
            messages.info(
                request,
                "A draft from your search: save it (inactive), backtest "
                "it on the rule's page, then switch it on.",
            )
            return {"definition": definition, "is_active": False}
    return {"definition": RULE_TEMPLATE.format(id=uuid.uuid4()), "is_active": True}


def _may_save(user: User, pk: uuid.UUID | None) -> bool:
    """Writing rules is for SOC admins: ``change_`` for an existing rule, ``add_`` for a
    new one (docs/SECURITY.md)."""
    needed = "correlation.change_correlationrule" if pk else "correlation.add_correlationrule"
    return bool(user.has_perm(needed))


@login_required
@permission_required(VIEW, raise_exception=True)
def rule_edit(request: HttpRequest, pk: uuid.UUID | None = None) -> HttpResponse:
    """The editor. Reading a rule and its tester need what the API's
    ``POST /rules/test/`` needs (``view_correlationrule``); saving needs add/change."""
    can_save = _may_save(user_of(request), pk)
    if request.method == "POST" and "try" not in request.POST and not can_save:
        raise PermissionDenied("Writing rules is for SOC admins.")
    rule = _rule(request, pk) if pk else None
    initial = (
        {"definition": rule.definition, "is_active": rule.is_active, "team": rule.team}
        if rule
        else _new_rule_initial(request)
    )
    form = RuleForm(request.POST or None, initial=initial)
    try_form = TryForm(request.POST if "try" in request.POST else None)
    context: dict[str, Any] = {"rule": rule, "form": form, "try_form": try_form}
    context["can_save"] = can_save
    status = 200
    if request.method == "POST" and form.is_valid():
        definition = form.cleaned_data["definition"]
        try:
            if "try" in request.POST:
                if try_form.is_valid():
                    context["tried"] = rule_try(
                        definition=definition,
                        event=try_form.cleaned_data["event"],
                        raw=try_form.cleaned_data["raw"],
                    )
                else:
                    status = 400
            else:
                saved = rule_save(
                    actor=user_of(request),
                    definition=definition,
                    rule=rule,
                    is_active=form.cleaned_data["is_active"],
                    team=form.cleaned_data["team"],
                )
                messages.success(request, f"Saved {saved.name} (version {saved.version}).")
                return redirect("rules:detail", pk=saved.pk)
        except RuleInvalid as exc:
            context["problems"] = exc.problems
            context["lines"] = numbered(definition, exc.problems)
            status = 400
        except EventTooLarge as exc:
            try_form.add_error("event", str(exc))
            status = 400
    elif request.method == "POST":
        status = 400
    return render(request, "correlation/rule_form.html", context, status=status)


@require_POST
@login_required
@permission_required("correlation.change_correlationrule", raise_exception=True)
def rule_toggle(request: HttpRequest, pk: uuid.UUID) -> HttpResponse:
    rule = _rule(request, pk)
    active = request.POST.get("active") == "1"
    rule_set_active(rule=rule, actor=user_of(request), active=active)
    messages.success(request, f"{rule.name} is {'enabled' if active else 'disabled'}.")
    return redirect("rules:detail", pk=rule.pk)


@require_POST
@login_required
@permission_required("correlation.backtest_correlationrule", raise_exception=True)
def rule_backtest_page(request: HttpRequest, pk: uuid.UUID) -> HttpResponse:
    rule = _rule(request, pk)
    form = BacktestForm(request.POST)
    if not form.is_valid():
        return _detail(request, rule, backtest_form=form, status=400)
    try:
        result = rule_backtest(
            actor=user_of(request),
            rule=rule,
            since=parse_moment(form.cleaned_data["since"]),
            until=parse_moment(form.cleaned_data["until"] or "0s"),
        )
    except BacktestError as exc:
        form.add_error(None, str(exc))
        return _detail(request, rule, backtest_form=form, status=400)
    return _detail(request, rule, backtest_form=form, backtest=result)


@login_required
@permission_required(VIEW, raise_exception=True)
def coverage(request: HttpRequest) -> HttpResponse:
    matrix = coverage_matrix(user_of(request), covered_only=request.GET.get("covered") == "1")
    return render(request, "correlation/coverage.html", {"matrix": matrix})
