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

It honours `Idempotency-Key` as Stripe documents it (localstripe ignores the header): a POST
repeating a key already used with the same secret key gets the first request's reply again
(status and body, errors included) instead of acting twice. Our payments code sends a key with
every write; without this, a reply lost on the way (the Stripe fault test drops them on purpose)
would make a second PaymentIntent where Stripe returns the first.

Its mock Stripe.js (`/js.stripe.com/v3/`) is made to work like the real one for our checkout page:
`stripe.confirmCardPayment(clientSecret, {payment_method: {card: cardElement}})` confirms the
PaymentIntent from the browser (publishable key + client secret), accepting the card typed in the
mock element; 3-D Secure cards still show the mock's authentication box; a declined
PaymentIntent can be retried with another card. Without this the mock ignores the card, always
shows the 3-D Secure box and cannot confirm an intent created without a payment method.

It also binds 127.0.0.1 only (localstripe itself listens on every interface) and always starts
from scratch (no state from a previous run).

Usage: python localstripe_launcher.py [--port 8420]
"""

import argparse
import logging
import os
import re
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


# --- Browser-side confirmation (see the module docstring) ------------------------------------
PaymentIntent, PaymentMethod, Token = (resources.PaymentIntent, resources.PaymentMethod,
                                       resources.Token)

_orig_confirm = PaymentIntent._api_confirm.__func__


def _api_confirm(cls, id, payment_method=None, payment_method_data=None, client_secret=None,
                 use_stripe_sdk=None, return_url=None, **kwargs):
    obj = cls._api_retrieve(id)
    if client_secret is not None and client_secret != obj.client_secret:
        raise UserError(401, 'Unauthorized')
    if payment_method is not None and payment_method_data is not None:
        raise UserError(400, 'Bad request')
    if payment_method_data is not None:
        if not isinstance(payment_method_data, dict):
            raise UserError(400, 'Bad request')
        card = payment_method_data.get('card')
        if isinstance(card, dict) and 'token' in card:
            payment_method = Token._api_retrieve(card['token']).card.id
        else:
            payment_method = PaymentMethod(**payment_method_data).id
    if payment_method is not None:
        if obj.status not in ('requires_payment_method', 'requires_confirmation'):
            raise UserError(400, 'Bad request')
        PaymentMethod._api_retrieve(payment_method)  # 404 if unknown
        obj.payment_method = payment_method
        obj.latest_charge = None
        obj._authentication_failed = False
    return _orig_confirm(cls, id, **kwargs)


PaymentIntent._api_confirm = classmethod(_api_confirm)
# the route was registered with the old function object: rebind it
for route in server.app.router.routes():
    info = route.resource.get_info() if route.resource else {}
    if route.method == 'POST' and info.get('formatter') == '/v1/payment_intents/{id}/confirm':
        route._handler = server.api_extra(PaymentIntent._api_confirm, info['formatter'])

_JS_OVERRIDE = r"""
// ---- OC Pizza launcher: client-side confirmation with a card element, as Stripe.js does ----
(function () {
  const origStripe = Stripe;
  async function post(url, payload) {
    const response = await fetch(url, {method: 'POST', body: JSON.stringify(payload)});
    const body = await response.json().catch(() => ({}));
    return {ok: response.status === 200 && !body.error, body};
  }
  Stripe = function (apiKey) {
    const s = origStripe(apiKey);
    const handleNextAction = s.confirmCardPayment;  // original: 3DS modal + _authenticate
    s.confirmCardPayment = async function (clientSecret, data) {
      if (!data || !data.payment_method) {
        return handleNextAction(clientSecret, data);
      }
            try {
        const pi = clientSecret.match(/^(pi_\w+)_secret_/)[1];
        const payload = {key: apiKey, client_secret: clientSecret, use_stripe_sdk: true};
        if (typeof data.payment_method === 'string') {
          payload.payment_method = data.payment_method;
        } else {
          const pm = Object.assign({}, data.payment_method);
          if (pm.card instanceof Element) {
            const el = pm.card;
            if (!el.value) return {error: {type: 'validation_error', message: 'Your card number is incomplete.'}};
            pm.card = el.value.card;
            pm.billing_details = pm.billing_details || {};
            pm.billing_details.address = pm.billing_details.address || {};
            pm.billing_details.address.postal_code =
              pm.billing_details.address.postal_code || el.value.postal_code;
          }
          payload.payment_method_data = Object.assign({type: 'card'}, pm);
        }
        let r = await post(`${LOCALSTRIPE_BASE_API}/v1/payment_intents/${pi}/confirm`, payload);
        if (!r.ok) return {error: r.body.error};
        if (r.body.status === 'requires_action') {
          r = await handleNextAction(clientSecret);
          if (r.error) return r;
          if (r.paymentIntent.status === 'requires_payment_method') {
            return {error: Object.assign({type: 'card_error', payment_intent: r.paymentIntent},
                                         r.paymentIntent.last_payment_error)};
          }
          return r;
        }
        return {paymentIntent: r.body};
      } catch (err) {
        return {error: (typeof err === 'object' && err.error) ? err.error : err};
      }
    };
    return s;
  };
})();
"""

_JS_PATH = os.path.join(os.path.dirname(resources.__file__), 'localstripe-v3.js')
with open(_JS_PATH) as f:
    PATCHED_JS = f.read() + _JS_OVERRIDE

_orig_auth = server.auth_middleware
_PK_CONFIRM = re.compile(r'^/v1/payment_intents/\w+/confirm$')


@web.middleware
async def auth_middleware(request, handler):
    if request.method == 'GET' and request.path == '/js.stripe.com/v3/':
        return web.Response(text=PATCHED_JS, content_type='application/javascript')
    if request.method == 'POST' and _PK_CONFIRM.match(request.path):
        data = await server.get_post_data(request, remove_auth=False) or {}
        key = data.get('key')
        if (isinstance(key, str) and key.startswith('pk_')
                and isinstance(data.get('client_secret'), str)):
            return await handler(request)  # client_secret is checked in _api_confirm
    return await _orig_auth(request, handler)


server.app.middlewares[server.app.middlewares.index(_orig_auth)] = auth_middleware

# (secret key, Idempotency-Key) -> (status, body, content type) of the first reply. Stripe keeps
# them 24 hours; a test run is shorter than that, so nothing is evicted.
_replies = {}


@web.middleware
async def idempotency_middleware(request, handler):
    key = request.headers.get('Idempotency-Key')
    if request.method != 'POST' or not key:
        return await handler(request)
    slot = (request.headers.get('Authorization', ''), key)
    if slot in _replies:
        status, body, content_type = _replies[slot]
        return web.Response(status=status, body=body, content_type=content_type,
                            headers={'Idempotent-Replayed': 'true'})
    response = await handler(request)
    if isinstance(response, web.Response) and response.body is not None:
        _replies[slot] = (response.status, response.body, response.content_type)
    return response


# Outermost, so that errors turned into replies by localstripe's own middleware are kept too.
server.app.middlewares.insert(0, idempotency_middleware)


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
