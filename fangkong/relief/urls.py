from django.urls import path

from . import views, views_care, views_hotline, views_numbers

app_name = "relief"
urlpatterns = [
    # A resident's household
    path("", views.mine, name="mine"),
    path("ask/", views.ask, name="ask"),
    path("r/<int:pk>/confirm/", views.confirm, name="confirm"),
    path("r/<int:pk>/complain/", views.complain, name="complain"),
    path("r/<int:pk>/cancel/", views.cancel, name="cancel"),
    # Triage
    path("queue/", views.queue, name="queue"),
    path("queue/batch/", views.batch, name="batch"),
    path("new/", views.register, name="register"),
    path("r/<int:pk>/", views.detail, name="request"),
    path("r/<int:pk>/dispatch/", views.dispatch, name="dispatch"),
    path("r/<int:pk>/urgency/", views.urgency, name="urgency"),
    path("r/<int:pk>/reopen/", views.reopen, name="reopen"),
    path("r/<int:pk>/call/", views.call, name="call"),
    path("escalations/", views.escalation_list, name="escalations"),
    path("escalations/<int:pk>/ack/", views.escalation_ack, name="escalation_ack"),
    # The worker's phone
    path("tasks/", views.tasks, name="tasks"),
    path("tasks/<int:pk>/", views.task, name="task"),
    path("tasks/<int:pk>/<str:step>/", views.task_step, name="task_step"),
    # Proactive care, supplies
    path("care/", views_care.care, name="care"),
    path("care/<int:pk>/", views_care.checkin, name="checkin"),
    path("care/plan/", views_care.plan, name="care_plan"),
    path("supplies/", views_care.supplies, name="supplies"),
    path("supplies/<int:pk>/", views_care.point, name="point"),
    path("supplies/<int:pk>/receive/", views_care.receive, name="receive"),
    path("stock/<int:pk>/adjust/", views_care.adjust, name="adjust"),
    # Hotline
    path("hotline/", views_hotline.hotline, name="hotline"),
    path("hotline/open/", views_hotline.open_ticket, name="ticket_open"),
    path("hotline/shift/", views_hotline.shift, name="hotline_shift"),
    path("hotline/<int:pk>/", views_hotline.ticket, name="ticket"),
    path("hotline/<int:pk>/<str:step>/", views_hotline.ticket_step, name="ticket_step"),
    # Numbers
    path("numbers/", views_numbers.numbers, name="numbers"),
    path("numbers/<str:code>/", views_numbers.numbers_area, name="numbers_area"),
    path("numbers/<str:code>/export.xlsx", views_numbers.export, name="numbers_export"),
]
