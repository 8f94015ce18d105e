"""URLs of the test project; tests and benchmarks depend on these exact paths."""

from django.urls import path

from . import views

app_name = "shop"

urlpatterns = [
    path("", views.index, name="index"),
    path("hello/", views.hello, name="hello"),
    path("hello-async/", views.hello_async, name="hello-async"),
    path("json/", views.json_view, name="json"),
    path("stream/", views.stream, name="stream"),
    path("upload/", views.upload, name="upload"),
    path("slow/", views.slow, name="slow"),
    path("error/", views.error, name="error"),
    path("download/", views.download, name="download"),
    path("events/", views.events, name="events"),
    path("echo/", views.echo, name="echo"),
    path("debugger/", views.debugger, name="debugger"),
    path("orders/", views.orders, name="orders"),
    path("queries/", views.queries, name="queries"),
    path("queries/stream/", views.queries_stream, name="queries-stream"),
    path("chat/", views.chat, name="chat"),
]
