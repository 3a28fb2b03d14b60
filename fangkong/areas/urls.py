from django.urls import path

from . import views

app_name = "areas"
urlpatterns = [
    path("", views.browse, name="browse"),
    path("<str:code>/", views.area_detail, name="detail"),
    path("<str:code>/zone/", views.zone_declare, name="zone_declare"),
    path("zone/<int:pk>/lift/", views.zone_lift, name="zone_lift"),
]
