"""The operators' console in a real browser (Debian's Chromium driven by Playwright) against a
real server on a real port, with real car units (`ev-unit`) on the WebSocket channel.

A scripted fleet of three cars: one whose unit is connected (available, green), one that only
posts positions over HTTP (offline, grey) and one that reports a low battery (purple). The test
signs in as the admin, finds every marker in its colour, watches the offline car's marker move
when it reports, follows a rental through reserved, in use and late (the server's clock runs
240 times faster, so a two-hour rental ends in 30 s), opens the late-rentals list, and reads on
the reports tab a revenue figure equal to the ledger's. Screenshots go to $ARTIFACTS.

Run by scripts/console-browser.sh, which builds the binaries and starts nothing else.
"""

import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from datetime import datetime, timedelta, timezone

from playwright.sync_api import expect, sync_playwright

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
TARGET = os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target"))
ARTIFACTS = os.environ.get("ARTIFACTS", os.path.join(TARGET, "console-artifacts"))
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
SPEEDUP = 240
ADMIN = ("admin@console.test", "console-admin-2026")
CENTRO = (-27.5954, -48.5480)
TRINDADE = (-27.5880, -48.5220)
COLOURS = {  # the console's palette (console.css), as computed styles report it
    "available": "rgb(31, 157, 85)",
    "reserved": "rgb(214, 158, 46)",
    "in_use": "rgb(43, 108, 176)",
    "late": "rgb(197, 48, 48)",
    "low_battery": "rgb(128, 90, 213)",
    "offline": "rgb(138, 148, 166)",
}


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Server:
    def __init__(self):
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.dir = tempfile.mkdtemp(prefix="evr-console-")
        self.log_path = os.path.join(self.dir, "server.log")
        env = dict(os.environ)
        env.update({
            "EVR_SERVER__BIND": f"127.0.0.1:{self.port}",
            "EVR_SERVER__CLOCK_SPEEDUP": str(SPEEDUP),
            "EVR_STORAGE__DATA_DIR": os.path.join(self.dir, "data"),
            "EVR_AUTH__ADMIN_EMAIL": ADMIN[0],
            "EVR_AUTH__ADMIN_PASSWORD": ADMIN[1],
            # Late for ten simulated hours before the automatic end: long enough to watch.
            "EVR_RENTAL__AUTO_END_AFTER_MIN": "600",
            "EVR_EVENTS__POSITION_EVERY_S": "1",
            "RUST_LOG": "info",
        })
        self.log = open(self.log_path, "w")
        self.process = subprocess.Popen([os.path.join(TARGET, "debug", "ev-rental")], env=env,
                                        stdout=self.log, stderr=subprocess.STDOUT)
        self.units = []
        for _ in range(200):
            try:
                self.call("GET", "/healthz")
                return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("the server did not start; see " + self.log_path)

    def call(self, method, path, body=None, token=None, expect=None):
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(self.base + path, data=data, method=method)
        request.add_header("content-type", "application/json")
        if token:
            request.add_header("authorization", f"Bearer {token}")
        try:
            with urllib.request.urlopen(request, timeout=30) as answer:
                status, text = answer.status, answer.read().decode()
        except urllib.error.HTTPError as error:
            status, text = error.code, error.read().decode()
        if expect is not None and status != expect:
            raise AssertionError(f"{method} {path}: {status} {text}")
        return json.loads(text) if text else None

    def now(self):
        return datetime.fromisoformat(self.call("GET", "/healthz")["time"].replace("Z", "+00:00"))

    def token(self, email, password):
        return self.call("POST", "/v1/auth/token", {"email": email, "password": password}, expect=200)["access_token"]

    def unit(self, vehicle, device_token, position):
        env = dict(os.environ, EV_UNIT_TOKEN=device_token, RUST_LOG="info")
        unit = subprocess.Popen(
            [os.path.join(TARGET, "debug", "ev-unit"), "--server", self.base, "--vehicle", vehicle,
             "--lat", str(position[0]), "--lon", str(position[1])],
            env=env, stdout=self.log, stderr=subprocess.STDOUT)
        self.units.append(unit)

    def confirmation_code(self, email):
        """The code of the confirmation e-mail the log mailer wrote for `email`."""
        for _ in range(100):
            with open(self.log_path) as log:
                text = log.read()
            # The log backend masks the address: its first character and its domain.
            local, domain = email.split("@")
            at = text.rfind(f"{local[0]}***@{domain}")
            if at >= 0:
                found = re.search(r"\b(\d{6})\b", text[at:at + 4000])
                if found:
                    return found.group(1)
            time.sleep(0.1)
        raise AssertionError(f"no confirmation e-mail to {email} in {self.log_path}")

    def stop(self):
        for unit in self.units:
            unit.terminate()
        self.process.terminate()
        self.process.wait(timeout=30)
        self.log.close()


def register_car(server, admin, n, plate):
    car = server.call("POST", "/v1/vehicles", {
        "plate": plate, "model": "BYD Dolphin", "year": 2025, "hourly_rate_cents": 3000,
        "battery_kwh": 44.9, "range_km": 300.0}, token=admin, expect=201)
    return car["id"], car["device_token"]


def post_fix(server, vehicle, device, position, battery=80.0, speed=0.0):
    server.call("POST", f"/v1/units/{vehicle}/positions", {
        "lat": position[0], "lon": position[1], "recorded_at": server.now().isoformat(),
        "speed_kmh": speed, "battery_pct": battery}, token=device, expect=202)


def sign_in(page, server):
    page.goto(server.base + "/console")
    page.fill("input[name=email]", ADMIN[0])
    page.fill("input[name=password]", ADMIN[1])
    page.click("button[type=submit]")
    expect(page.locator("#stream-status")).to_have_attribute("data-state", "live", timeout=20_000)


def marker(page, plate):
    return page.locator(f'circle.car[data-plate="{plate}"]')


def expect_state(page, plate, state, timeout=20_000):
    expect(marker(page, plate)).to_have_attribute("data-state", state, timeout=timeout)
    fill = marker(page, plate).evaluate("node => getComputedStyle(node).fill")
    assert fill == COLOURS[state], f"{plate} is {state} but drawn {fill}"


def main():
    os.makedirs(ARTIFACTS, exist_ok=True)
    server = Server()
    try:
        run(server)
    finally:
        server.stop()


def run(server):
    admin = server.token(*ADMIN)
    online, online_device = register_car(server, admin, 1, "CNS1A01")
    silent, silent_device = register_car(server, admin, 2, "CNS1A02")
    drained, drained_device = register_car(server, admin, 3, "CNS1A03")
    server.unit(online, online_device, CENTRO)
    server.unit(drained, drained_device, TRINDADE)
    post_fix(server, silent, silent_device, TRINDADE)
    time.sleep(1)
    post_fix(server, drained, drained_device, TRINDADE, battery=12.0)

    customer_email = "ana.console@example.com"
    server.call("POST", "/v1/customers", {
        "name": "Ana Beatriz Souza", "cpf": "529.982.247-25", "cnh": "79143829831",
        "email": customer_email, "phone": "+55 48 99999-1234", "password": "s3nha-segura-1",
        "card": {"number": "4111111111111111", "exp_month": 12, "exp_year": 2030, "cvc": "123",
                 "holder_name": "ANA B SOUZA"}}, expect=201)
    customer = server.token(customer_email, "s3nha-segura-1")
    code = server.confirmation_code(customer_email)
    server.call("POST", "/v1/customers/me/email-confirmation", {"code": code}, token=customer, expect=200)

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1280, "height": 860})
        errors = []
        page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.goto(server.base + "/")
        expect(page.locator("a[href='/docs']")).to_be_visible()
        page.click("a[href='/console']")
        expect(page.locator("#login")).to_be_visible()
        sign_in(page, server)

        expect_state(page, "CNS1A01", "available")
        expect_state(page, "CNS1A02", "offline")
        expect_state(page, "CNS1A03", "low_battery")
        page.screenshot(path=os.path.join(ARTIFACTS, "console-fleet.png"), full_page=True)

        # The silent car reports from elsewhere: its marker moves with the stream.
        before = marker(page, "CNS1A02").get_attribute("cx")
        post_fix(server, silent, silent_device, CENTRO)
        expect(marker(page, "CNS1A02")).not_to_have_attribute("cx", before, timeout=20_000)

        # A rental: reserved, then in use once the unit has unlocked it.
        start = server.now() + timedelta(minutes=1)
        end = start + timedelta(hours=2)
        reservation = server.call("POST", "/v1/reservations", {
            "vehicle_id": online, "start_at": start.isoformat(), "end_at": end.isoformat()},
            token=customer, expect=201)
        expect_state(page, "CNS1A01", "reserved")
        server.call("POST", f"/v1/vehicles/{online}/unlock", {}, token=customer, expect=200)
        expect_state(page, "CNS1A01", "in_use")
        rentals = page.locator("#rentals li[data-state]")
        expect(rentals).to_have_count(1)
        expect(rentals.first).to_contain_text("Ana S.")

        # Two simulated hours pass in 30 s: the rental is late, first in the late-only list.
        expect_state(page, "CNS1A01", "late", timeout=90_000)
        page.check("#only-late")
        expect(page.locator("#rentals li.late")).to_have_count(1)
        expect(page.locator("#rentals li.late")).to_contain_text("CNS1A01")
        page.screenshot(path=os.path.join(ARTIFACTS, "console-late.png"), full_page=True)

        # The renter brings it back; the reports show what the ledger captured.
        finished = server.call("POST", f"/v1/reservations/{reservation['id']}/finish", {}, token=customer, expect=200)
        charges = server.call("GET", f"/v1/reservations/{reservation['id']}/charges", token=admin, expect=200)
        # What the ledger took: captures of the holds and charges beyond them.
        ledger = sum(entry["amount_cents"] for entry in charges["items"]
                     if entry["kind"] in ("capture", "charge"))
        assert ledger > 0, charges
        assert finished["reservation"]["status"] == "completed"
        page.click(".tabs button[data-tab=reports]")
        today = (server.now() - timedelta(hours=3)).date()
        page.fill("#report-range input[name=from]", (today - timedelta(days=1)).isoformat())
        page.fill("#report-range input[name=to]", (today + timedelta(days=1)).isoformat())
        total = page.locator("#revenue")
        deadline = time.time() + 30
        while True:
            page.click("#report-range button[type=submit]")
            page.wait_for_timeout(500)
            shown = total.get_attribute("data-total-cents")
            if shown == str(ledger) or time.time() > deadline:
                break
        assert shown == str(ledger), f"the console shows {shown} centavos, the ledger {ledger}"
        page.screenshot(path=os.path.join(ARTIFACTS, "console-reports.png"), full_page=True)

        # A phone-sized screen gets the same console, stacked.
        phone = browser.new_page(viewport={"width": 390, "height": 844}, is_mobile=True)
        # Simulated hours have passed: the drained car reports again, or its charge would be stale.
        post_fix(server, drained, drained_device, TRINDADE, battery=11.0)
        sign_in(phone, server)
        expect(phone.locator("#console")).to_be_visible()
        expect(marker(phone, "CNS1A03")).to_have_attribute("data-state", "low_battery", timeout=20_000)
        width = phone.evaluate("document.documentElement.scrollWidth")
        assert width <= 390, f"the console is {width} px wide on a 390 px screen"
        phone.screenshot(path=os.path.join(ARTIFACTS, "console-phone.png"), full_page=True)
        browser.close()
    csp_errors = [error for error in errors if "Content Security Policy" in error]
    assert not csp_errors, csp_errors
    print("console browser test: passed")


if __name__ == "__main__":
    try:
        main()
    except AssertionError as failure:
        print(f"console browser test: FAILED: {failure}", file=sys.stderr)
        sys.exit(1)
