from django.urls import path

from . import views, views_admin

app_name = "areas"
urlpatterns = [
    path("", views.browse, name="browse"),
    path("manage/", views_admin.manage_home, name="manage_home"),
    path("manage/import/", views_admin.division_import, name="import"),
    path("manage/grids/<int:pk>/", views_admin.grid_edit, name="grid_edit"),
    path("manage/<str:code>/", views_admin.manage, name="manage"),
    path("manage/<str:code>/grids/new/", views_admin.grid_new, name="grid_new"),
    path("<str:code>/", views.area_detail, name="detail"),
    path("<str:code>/zone/", views.zone_declare, name="zone_declare"),
    path("zone/<int:pk>/lift/", views.zone_lift, name="zone_lift"),
]
