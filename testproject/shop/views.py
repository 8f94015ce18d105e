"""Views covering what a development server must handle.

Plain, JSON, streamed, slow, failing, file, upload and endless responses, plus
an echo view that reports what the server put in the WSGI environ.
"""

import asyncio
import hashlib
import math
import os
import threading
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

from django.core.handlers.asgi import ASGIRequest
from django.http import (
    FileResponse,
    HttpRequest,
    HttpResponse,
    JsonResponse,
    StreamingHttpResponse,
)
from django.shortcuts import render
from django.views.decorators.csrf import csrf_exempt

from .forms import NoteForm
from .models import Customer, Order

SAMPLE_FILE = Path(__file__).resolve().parent / "files" / "sample.txt"


def _float_param(request: HttpRequest, name: str, default: float) -> float:
    """Read a non-negative float from the query string; bad input means the default."""
    try:
        value = float(request.GET.get(name, default))
    except ValueError:
        return default
    return max(value, 0.0) if math.isfinite(value) else default


def _int_param(request: HttpRequest, name: str, default: int) -> int:
    """Read a non-negative int from the query string; bad input means the default."""
    try:
        value = int(request.GET.get(name, default))
    except ValueError:
        return default
    return max(value, 0)


def index(request: HttpRequest) -> HttpResponse:
    """Template page pulling in static files, so static serving is exercised."""
    return render(request, "shop/index.html")


def hello(request: HttpRequest) -> HttpResponse:
    """Smallest possible response: the benchmark measures the server, not Django."""
    return HttpResponse("Hello, world!", content_type="text/plain")


async def hello_async(request: HttpRequest) -> HttpResponse:
    """The same, from an async view (served without a thread hop for the view under ASGI)."""
    return HttpResponse("Hello, world!", content_type="text/plain")


def json_view(request: HttpRequest) -> JsonResponse:
    """A small JSON payload."""
    return JsonResponse({"message": "hello", "items": [1, 2, 3]})


def stream(request: HttpRequest) -> StreamingHttpResponse:
    """Yield ``?chunks=N`` lines with ``?delay=S`` between them, to prove chunks
    reach the client one by one instead of being buffered.

    Under ASGI the iterator is asynchronous: Django's ASGI handler reads a synchronous one to
    its end before it sends anything, so only an async iterator streams there.
    """
    chunks = _int_param(request, "chunks", 5)
    delay = _float_param(request, "delay", 0.0)

    def generate() -> Iterator[bytes]:
        for i in range(chunks):
            if i and delay:
                time.sleep(delay)
            yield f"chunk {i}\n".encode()

    async def agenerate() -> AsyncIterator[bytes]:
        for i in range(chunks):
            if i and delay:
                await asyncio.sleep(delay)
            yield f"chunk {i}\n".encode()

    content = agenerate() if isinstance(request, ASGIRequest) else generate()
    return StreamingHttpResponse(content, content_type="text/plain")


def upload(request: HttpRequest) -> HttpResponse:
    """Multipart upload through a CSRF-protected form, saved to a real model."""
    if request.method == "POST":
        form = NoteForm(request.POST, request.FILES)
        if form.is_valid():
            note = form.save()
            uploaded = request.FILES.get("attachment")
            size = uploaded.size if uploaded is not None else 0
            return HttpResponse(f"saved: {note.title}\nsize: {size}\n", content_type="text/plain")
        return render(request, "shop/upload.html", {"form": form}, status=400)
    return render(request, "shop/upload.html", {"form": NoteForm()})


def slow(request: HttpRequest) -> HttpResponse:
    """Sleep ``?seconds=`` (default 1.0), to test concurrency and shutdown waits.

    It announces itself on stdout, so a test knows the request is in flight without guessing.
    """
    seconds = _float_param(request, "seconds", 1.0)
    print(f"slow view: sleeping {seconds} s", flush=True)
    time.sleep(seconds)
    return HttpResponse(f"slept {seconds}", content_type="text/plain")


def error(request: HttpRequest) -> HttpResponse:
    """Fail on purpose, to test the debug page and error logging."""
    raise RuntimeError("boom from testproject")


def download(request: HttpRequest) -> FileResponse:
    """Serve a ~200 KB file as an attachment (FileResponse / wsgi.file_wrapper)."""
    return FileResponse(SAMPLE_FILE.open("rb"), as_attachment=True, filename="sample.txt")


def events(request: HttpRequest) -> StreamingHttpResponse:
    """Endless server-sent events, to test that shutdown cuts never-ending streams (and, under
    ASGI, that a client's disconnect stops them: the generator says so on stdout)."""
    interval = _float_param(request, "interval", 0.5)

    def generate() -> Iterator[bytes]:
        n = 0
        while True:
            yield f"data: tick {n}\n\n".encode()
            n += 1
            time.sleep(interval)

    async def agenerate() -> AsyncIterator[bytes]:
        n = 0
        try:
            while True:
                yield f"data: tick {n}\n\n".encode()
                n += 1
                await asyncio.sleep(interval)
        finally:
            print(f"events view: stream ended after {n} ticks", flush=True)

    content = agenerate() if isinstance(request, ASGIRequest) else generate()
    response = StreamingHttpResponse(content, content_type="text/event-stream")
    response["Cache-Control"] = "no-cache"
    response["X-Accel-Buffering"] = "no"
    return response


def chat(request: HttpRequest) -> HttpResponse:
    """A page that opens the echo and broadcast websockets (with ``TESTPROJECT_ASGI=1``)."""
    return render(request, "shop/chat.html")


@csrf_exempt
def echo(request: HttpRequest) -> JsonResponse:
    """Describe the request as the server handed it over, for HTTP-layer tests."""
    body = request.body
    meta = request.META
    return JsonResponse(
        {
            "method": request.method,
            "path": request.path,
            "path_info": request.path_info,
            "script_name": meta.get("SCRIPT_NAME", ""),
            "query_string": meta.get("QUERY_STRING", ""),
            "body_length": len(body),
            "body_sha256": hashlib.sha256(body).hexdigest(),
            "content_type": meta.get("CONTENT_TYPE", ""),
            "content_length": meta.get("CONTENT_LENGTH", ""),
            "headers": {k: v for k, v in meta.items() if k.startswith("HTTP_")},
            "remote_addr": meta.get("REMOTE_ADDR", ""),
            "server_name": meta.get("SERVER_NAME", ""),
            "server_port": meta.get("SERVER_PORT", ""),
            "wsgi_multithread": meta.get("wsgi.multithread"),
            "wsgi_multiprocess": meta.get("wsgi.multiprocess"),
            "url_scheme": meta.get("wsgi.url_scheme"),
            "is_secure": request.is_secure(),
            "absolute_uri": request.build_absolute_uri(),
        }
    )


def debugger(request: HttpRequest) -> HttpResponse:
    """Stop in ``breakpoint()`` (only with TESTPROJECT_BREAKPOINT=1), to show pdb works in the terminal."""
    if os.environ.get("TESTPROJECT_BREAKPOINT") != "1":
        return HttpResponse("breakpoints are off", content_type="text/plain", status=404)
    answer = "unchanged"
    breakpoint()
    return HttpResponse(f"after breakpoint: {answer}", content_type="text/plain")


def orders(request: HttpRequest) -> HttpResponse:
    """The seeded orders with their customers: one query, or 1 + 20 with ``?naive=1`` (an N+1 loop)."""
    queryset = Order.objects.all() if request.GET.get("naive") == "1" else Order.objects.select_related("customer")
    lines = [f"{order.number} {order.customer.name} {order.total}" for order in queryset]
    return HttpResponse("\n".join(lines) + "\n", content_type="text/plain")


#: Barriers by name, so concurrent requests to ``queries`` can wait for each other.
_MEETINGS: dict[str, threading.Barrier] = {}
_MEETINGS_LOCK = threading.Lock()


def _meet(name: str) -> None:
    """Wait (10 s at most) until a second request with the same ``?meet=`` name arrives here."""
    with _MEETINGS_LOCK:
        barrier = _MEETINGS.setdefault(name, threading.Barrier(2, timeout=10))
    barrier.wait()


def queries(request: HttpRequest) -> HttpResponse:
    """Run exactly ``?count=N`` queries (the same statement and parameters, so no N+1 warning).

    With ``?meet=NAME`` it runs half of them, waits for another request with that name, then
    runs the rest: two such requests are certainly in flight at once, their queries interleaved.
    """
    count = _int_param(request, "count", 1)
    meet = request.GET.get("meet")
    for n in range(count):
        if meet and n == count // 2:
            _meet(meet)
        Customer.objects.filter(pk=1).exists()
    return HttpResponse(f"ran {count} queries\n", content_type="text/plain")


def queries_stream(request: HttpRequest) -> StreamingHttpResponse:
    """Stream ``?count=N`` lines, running one query for each while the response is iterated."""
    count = _int_param(request, "count", 3)

    def generate() -> Iterator[bytes]:
        for n in range(count):
            yield f"line {n}: customer 1 exists: {Customer.objects.filter(pk=1).exists()}\n".encode()

    return StreamingHttpResponse(generate(), content_type="text/plain")
