from django.urls import path

from . import views

app_name = "events"

urlpatterns = [
    path("upload/", views.upload, name="upload"),
    path("search/", views.search, name="search"),
    path("search/save/", views.save_search, name="save_search"),
    path("search/export.csv", views.search_export, name="search_export"),
]
