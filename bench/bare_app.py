"""The BARE route of the warm benchmark: a Chalice app whose one route returns a constant HTML page."""

from __future__ import annotations

from chalice import Chalice, Response

PAGE = "<!doctype html><html><head><title>Bare</title></head><body><p>A constant page.</p></body></html>"

app = Chalice(app_name="bare")


@app.route("/bare")
def bare() -> Response:
    return Response(body=PAGE, status_code=200, headers={"Content-Type": "text/html; charset=utf-8"})
