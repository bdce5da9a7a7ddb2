from .views import CorrelationRuleViewSet, CorrelationViewSet

routes = [
    ("rules", CorrelationRuleViewSet, "correlationrule"),
    ("correlations", CorrelationViewSet, "correlation"),
]
