"""Starts localstripe (a stateful fake Stripe server) the way our tests and local runs need it.

Why this exists: localstripe 1.15.10's replies lack fields that real Stripe always sends and that
async-stripe 1.0's typed structs require, so decoding its PaymentIntents and Events fails. Before
starting the server this launcher patches localstripe's serialisation to add them:

- PaymentIntent: `amount_capturable` (the amount while `requires_capture`, else 0),
  `amount_received` (the amount once `succeeded`, else 0), `confirmation_method` ("automatic"),
  `payment_method_types` (["card"]); `latest_charge` is the charge id, not the expanded charge.
  A declined PaymentIntent's `last_payment_error` gets the `type` that async-stripe requires,
  and `amount_received` after a partial capture is what was captured (localstripe models a
  partial capture as a full capture plus a refund of the rest).
- Declines answer 402 with `type: card_error`, a `decline_code` and the PaymentIntent, as real
  Stripe does (localstripe says `invalid_request_error` and leaves the PaymentIntent out).
- Event: `pending_webhooks` (0).

It also binds 127.0.0.1 only (localstripe itself listens on every interface) and always starts
from scratch (no state from a previous run).

Usage: python localstripe_launcher.py [--port 8420]
"""

import argparse
import logging
import socket

from aiohttp import web
from localstripe import resources, server
from localstripe.errors import UserError

_pi_export = resources.PaymentIntent._export


def _payment_intent_export(self, expand=None):
    obj = _pi_export(self, expand=expand)
    status = obj.get("status")
    amount = obj.get("amount") or 0
    obj.setdefault("amount_capturable", amount if status == "requires_capture" else 0)
    captured = getattr(self.latest_charge, "_amount_captured", None)
    received = amount if captured is None else captured
    obj.setdefault("amount_received", received if status == "succeeded" else 0)
    obj.setdefault("confirmation_method", "automatic")
    obj.setdefault("payment_method_types", ["card"])
    charge = obj.get("latest_charge")
    if isinstance(charge, dict):
        obj["latest_charge"] = charge.get("id")
    error = obj.get("last_payment_error")
    if isinstance(error, dict):
        error.setdefault("type", "card_error" if error.get("charge") else "invalid_request_error")
    return obj


resources.PaymentIntent._export = _payment_intent_export

_charge_capture = resources.Charge._capture


def _charge_capture_recording(self, amount, on_success=None):
    requested = resources.try_convert_to_int(amount)
    self._amount_captured = self.amount if requested is None else requested
    try:
        _charge_capture(self, amount, on_success=on_success)
    except Exception:
        self._amount_captured = None
        raise


resources.Charge._capture = _charge_capture_recording


def _charge_raise_card_error(self):
    error = UserError(402, self.failure_message,
                      {"code": self.failure_code, "decline_code": "generic_decline",
                       "charge": self.id})
    error.body["error"]["type"] = "card_error"
    raise error


resources.Charge._raise_failure = _charge_raise_card_error

_pi_report_failure = resources.PaymentIntent._report_failure


def _payment_intent_report_failure(self):
    try:
        _pi_report_failure(self)
    except UserError as error:
        error.body["error"].setdefault("payment_intent", self._export())
        raise


resources.PaymentIntent._report_failure = _payment_intent_report_failure

_event_export = resources.Event._export


def _event_export_with_pending(self, expand=None):
    obj = _event_export(self, expand=expand)
    obj.setdefault("pending_webhooks", 0)
    return obj


resources.Event._export = _event_export_with_pending


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=8420)
    parser.add_argument("--host", default="127.0.0.1")
    args = parser.parse_args()

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((args.host, args.port))

    logger = logging.getLogger("aiohttp.access")
    logger.setLevel(logging.INFO)
    logger.addHandler(logging.StreamHandler())
    web.run_app(server.app, sock=sock, access_log=logger)


if __name__ == "__main__":
    main()
