"""A customer's app placing pickup orders through nginx over TLS, inside the install test's
machine (tests/it/install.rs), until the file STOP exists.

Each order has its own idempotency key and is sent again with the same key until it gets a
201, as the app would (nginx answers 502 while the web server restarts); one line per order
goes to OUT: "<key> <order id> <attempts>". A key that gets no 201 within two minutes is
written as "<key> lost <attempts>".

    python3 orders.py BASE CAFILE EMAIL PASSWORD PIZZA_ID OUT STOP
"""

import http.cookiejar
import json
import os
import ssl
import sys
import time
import urllib.error
import urllib.request
import uuid

base, cafile, email, password, pizza_id, out, stop = sys.argv[1:]
context = ssl.create_default_context(cafile=cafile)
opener = urllib.request.build_opener(
    urllib.request.HTTPSHandler(context=context),
    urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()),
)


def post(path, body):
    request = urllib.request.Request(
        base + path,
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json", "Accept": "application/json"},
        method="POST",
    )
    try:
        with opener.open(request, timeout=10) as reply:
            return reply.status, json.load(reply)
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode(errors="replace")
    except OSError as error:
        return 0, str(error)


def log_in():
    deadline = time.monotonic() + 60
    while True:
        status, body = post("/api/session", {"email": email, "password": password})
        if status == 200:
            return
        if time.monotonic() > deadline:
            sys.exit(f"cannot log in: {status} {body}")
        time.sleep(0.5)


log_in()
with open(out, "a", buffering=1) as lines:
    while not os.path.exists(stop):
        key = uuid.uuid4().hex
        attempts = 0
        deadline = time.monotonic() + 120
        placed = "lost"
        while time.monotonic() < deadline:
            attempts += 1
            status, body = post("/api/orders", {
                "pizzeria": "test",
                "lines": [{"pizza_id": int(pizza_id), "quantity": 1}],
                "fulfilment": "pickup",
                "payment": "on_site",
                "idempotency_key": key,
            })
            if status == 201:
                placed = str(body["order"]["id"])
                break
            if status == 401:
                log_in()
            time.sleep(0.5)
        lines.write(f"{key} {placed} {attempts}\n")
        time.sleep(0.3)
