"""socapp's URLs plus one view that forgot every check: the matrix's controls use it to
show that a new route without a policy entry, and an unguarded one, fail the suite."""

from django.http import HttpRequest, JsonResponse
from django.urls import path

from socapp.roof.urls import urlpatterns as socapp_urlpatterns


def leak(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"secret": "team A's"})


urlpatterns = [*socapp_urlpatterns, path("api/v1/leak/", leak, name="leak")]
