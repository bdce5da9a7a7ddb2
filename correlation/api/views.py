from typing import Any

from django.db.models import QuerySet
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from socapp.api.viewsets import ReadOnlyViewSet
from socapp.users import user_of

from ..filters import CorrelationFilterSet, CorrelationRuleFilterSet
from ..models import Correlation, CorrelationRule
from ..selectors import rules_visible_to
from ..services import (
    BacktestError,
    EventTooLarge,
    parse_moment,
    rule_backtest,
    rule_save,
    rule_set_active,
    rule_try,
)
from ..sigma.documents import RuleInvalid
from .serializers import (
    BacktestRequestSerializer,
    BacktestResultSerializer,
    CorrelationRuleSerializer,
    CorrelationSerializer,
    RuleInvalidSerializer,
    RuleTestResultSerializer,
    RuleTestSerializer,
    RuleVersionSerializer,
)


def invalid(exc: RuleInvalid) -> Response:
    """400 naming each problem with its line, in DRF's field-error shape plus the lines."""
    problems = [{"line": p.line, "message": p.message} for p in exc.problems]
    return Response(
        {"definition": [str(p) for p in exc.problems], "problems": problems},
        status=status.HTTP_400_BAD_REQUEST,
    )


RULE_INVALID = OpenApiResponse(RuleInvalidSerializer, description="The rule does not validate.")


class CorrelationRuleViewSet(
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet,
):
    """Detection and correlation rules, written in Sigma. Create and update take the YAML
    in ``definition``; a rule that does not parse, uses an unknown modifier or references
    a missing rule is refused with 400 and the line at fault. Disable rules rather than
    delete them: their alerts keep pointing at them."""

    queryset = CorrelationRule.objects.none()  # the model, for permissions and the schema
    serializer_class = CorrelationRuleSerializer
    filterset_class = CorrelationRuleFilterSet
    ordering_fields = ["name", "updated_at", "level"]
    http_method_names = ["get", "post", "put", "patch", "head", "options"]
    action_permissions = {
        "enable": ["correlation.change_correlationrule"],
        "disable": ["correlation.change_correlationrule"],
        "versions": ["correlation.view_correlationrule"],
        "test_event": ["correlation.view_correlationrule"],
        "backtest": ["correlation.backtest_correlationrule"],
    }

    def get_queryset(self) -> QuerySet[CorrelationRule]:
        return rules_visible_to(user_of(self.request))

    def _save(self, request: Request, rule: CorrelationRule | None, partial: bool) -> Response:
        serializer = self.get_serializer(rule, data=request.data, partial=partial)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        definition = data.get("definition", rule.definition if rule else "")
        engine_settings = {
            k: data[k]
            for k in ("generate", "suppression_mode", "suppression_window", "suppress_by")
            if k in data
        }
        try:
            saved = rule_save(
                actor=user_of(request),
                definition=definition,
                rule=rule,
                is_active=data.get("is_active"),
                team=data.get("team"),
                engine_settings=engine_settings,
            )
        except RuleInvalid as exc:
            return invalid(exc)
        code = status.HTTP_201_CREATED if rule is None else status.HTTP_200_OK
        return Response(self.get_serializer(saved).data, status=code)

    @extend_schema(responses={201: CorrelationRuleSerializer, 400: RULE_INVALID})
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return self._save(request, None, partial=False)

    @extend_schema(responses={200: CorrelationRuleSerializer, 400: RULE_INVALID})
    def update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return self._save(request, self.get_object(), partial=kwargs.get("partial", False))

    @extend_schema(request=None, responses=CorrelationRuleSerializer)
    @action(detail=True, methods=["post"])
    def enable(self, request: Request, pk: str | None = None) -> Response:
        rule = rule_set_active(rule=self.get_object(), actor=user_of(request), active=True)
        return Response(self.get_serializer(rule).data)

    @extend_schema(request=None, responses=CorrelationRuleSerializer)
    @action(detail=True, methods=["post"])
    def disable(self, request: Request, pk: str | None = None) -> Response:
        rule = rule_set_active(rule=self.get_object(), actor=user_of(request), active=False)
        return Response(self.get_serializer(rule).data)

    @extend_schema(responses=RuleVersionSerializer(many=True))
    @action(detail=True, methods=["get"], pagination_class=None, filterset_class=None)
    def versions(self, request: Request, pk: str | None = None) -> Response:
        rule = self.get_object()
        return Response(RuleVersionSerializer(rule.versions.all(), many=True).data)

    @extend_schema(
        request=BacktestRequestSerializer,
        responses={200: BacktestResultSerializer, 400: OpenApiResponse(description="Bad times.")},
    )
    @action(detail=True, methods=["post"])
    def backtest(self, request: Request, pk: str | None = None) -> Response:
        """Run the rule over stored events and report what it would have raised, with the
        alert ids the live engine uses; nothing is raised or stored."""
        rule = self.get_object()
        form = BacktestRequestSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        try:
            result = rule_backtest(
                actor=user_of(request),
                rule=rule,
                since=parse_moment(form.validated_data["since"]),
                until=parse_moment(form.validated_data["until"]),
            )
        except BacktestError as exc:
            return Response({"detail": str(exc)}, status=status.HTTP_400_BAD_REQUEST)
        return Response(BacktestResultSerializer(result.as_dict()).data)

    @extend_schema(
        request=RuleTestSerializer,
        responses={200: RuleTestResultSerializer, 400: RULE_INVALID},
    )
    @action(detail=False, methods=["post"], url_path="test")
    def test_event(self, request: Request) -> Response:
        """Try a detection rule on one pasted event, without saving anything."""
        form = RuleTestSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        event = form.validated_data["event"]
        if not isinstance(event, dict):
            return Response({"event": ["An event is a JSON object."]}, status=400)
        try:
            result = rule_try(
                definition=form.validated_data["definition"],
                event=event,
                raw=form.validated_data["raw"],
            )
        except RuleInvalid as exc:
            return invalid(exc)
        except EventTooLarge as exc:
            return Response({"event": [str(exc)]}, status=status.HTTP_400_BAD_REQUEST)
        return Response(result.as_dict())


class CorrelationViewSet(ReadOnlyViewSet):
    queryset = Correlation.objects.select_related("rule").prefetch_related("event_links")
    serializer_class = CorrelationSerializer
    filterset_class = CorrelationFilterSet
    ordering_fields = ["end_time", "event_count"]
