//! Stripe, through async-stripe: the few calls the system makes, with every error sorted into
//! "try again" (network, timeouts, 409/429/5xx, unreadable replies whose outcome is unknown)
//! and "final" (card declined, other 4xx). Every write carries an idempotency key; since not
//! every Stripe double honours it, callers also read the PaymentIntent's state before acting.

use std::collections::HashMap;
use std::time::Duration;

use stripe::{Client, ClientBuilder, IdempotencyKey, RequestStrategy, StripeError, StripeRequest};
use stripe_core::payment_intent::{
    CancelPaymentIntent, CapturePaymentIntent, CreatePaymentIntent, RetrievePaymentIntent,
};
use stripe_core::refund::{CreateRefund, ListRefund};
use stripe_core::{PaymentIntent, PaymentIntentCaptureMethod, PaymentIntentStatus};
use stripe_types::Currency;

/// Where a PaymentIntent stands, as far as we care.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum IntentStatus {
    /// Waiting for the customer (card form, 3-D Secure) or declined and waiting for another card.
    AwaitingCustomer,
    Processing,
    /// Authorised: the amount is held, to be captured or released.
    RequiresCapture,
    Succeeded,
    Canceled,
    Other(String),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Intent {
    pub id: String,
    pub status: IntentStatus,
    pub amount: i64,
    pub amount_capturable: i64,
    pub amount_received: i64,
    pub client_secret: Option<String>,
    pub payment_method: Option<String>,
    /// The last decline's message, if the customer's card was refused.
    pub failure: Option<String>,
}

impl From<PaymentIntent> for Intent {
    fn from(pi: PaymentIntent) -> Intent {
        let status = match &pi.status {
            PaymentIntentStatus::RequiresPaymentMethod
            | PaymentIntentStatus::RequiresConfirmation
            | PaymentIntentStatus::RequiresAction => IntentStatus::AwaitingCustomer,
            PaymentIntentStatus::Processing => IntentStatus::Processing,
            PaymentIntentStatus::RequiresCapture => IntentStatus::RequiresCapture,
            PaymentIntentStatus::Succeeded => IntentStatus::Succeeded,
            PaymentIntentStatus::Canceled => IntentStatus::Canceled,
            other => IntentStatus::Other(format!("{other:?}")),
        };
        Intent {
            id: pi.id.as_str().to_owned(),
            status,
            amount: pi.amount,
            amount_capturable: pi.amount_capturable,
            amount_received: pi.amount_received,
            client_secret: pi.client_secret.clone(),
            payment_method: pi
                .payment_method
                .as_ref()
                .map(|m| m.id().as_str().to_owned()),
            failure: pi.last_payment_error.as_ref().map(|e| {
                let code = e
                    .decline_code
                    .clone()
                    .or_else(|| e.code.as_ref().map(|c| c.as_str().to_owned()));
                decline_fr(code.as_deref()).to_owned()
            }),
        }
    }
}

/// A Stripe call that did not succeed.
/// What a customer is told when the card is refused, from Stripe's decline or error code: in
/// French, and never more than the customer needs (a card reported stolen reads like any
/// refusal).
pub fn decline_fr(code: Option<&str>) -> &'static str {
    match code.unwrap_or("") {
        "insufficient_funds" => "provision insuffisante sur la carte",
        "expired_card" => "la carte est expirée",
        "incorrect_cvc" | "invalid_cvc" => "le cryptogramme (CVC) est incorrect",
        "incorrect_number" | "invalid_number" => "le numéro de carte est incorrect",
        "invalid_expiry_month" | "invalid_expiry_year" => "la date d'expiration est incorrecte",
        "processing_error" => "une erreur est survenue pendant le paiement : réessayez",
        "authentication_required" | "payment_intent_authentication_failure" => {
            "la validation auprès de votre banque (3-D Secure) n'a pas abouti"
        }
        "card_velocity_exceeded" | "withdrawal_count_limit_exceeded" => {
            "le plafond de la carte est atteint"
        }
        _ => "votre banque a refusé le paiement",
    }
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum StripeFailure {
    /// Worth retrying with the same idempotency key.
    #[error("Stripe indisponible : {0}")]
    Transient(String),
    /// The card was refused; the intent, when Stripe returned it.
    #[error("carte refusée : {message}")]
    Declined {
        message: String,
        intent: Option<Box<Intent>>,
    },
    /// Stripe refused the request itself (a bug or a state we did not expect).
    #[error("Stripe a refusé la demande ({status}) : {message}")]
    Refused { status: u16, message: String },
}

fn classify(e: StripeError) -> StripeFailure {
    match e {
        StripeError::ClientError(m) => StripeFailure::Transient(m),
        StripeError::Timeout => StripeFailure::Transient("délai dépassé".into()),
        // Either a proxy's error page or a reply we could not read: the outcome is unknown, and
        // the retry starts by reading the intent's state.
        StripeError::JSONDeserialize(m) => StripeFailure::Transient(m),
        StripeError::ConfigError(m) => StripeFailure::Refused {
            status: 0,
            message: m,
        },
        StripeError::Stripe(api, status) => {
            let message = api
                .message
                .clone()
                .or_else(|| api.code.as_ref().map(|c| c.as_str().to_owned()))
                .unwrap_or_else(|| format!("erreur {status}"));
            if status == 402 || api.type_ == stripe::ApiErrorsType::CardError {
                let code = api
                    .decline_code
                    .clone()
                    .or_else(|| api.code.as_ref().map(|c| c.as_str().to_owned()));
                StripeFailure::Declined {
                    message: decline_fr(code.as_deref()).to_owned(),
                    intent: api
                        .payment_intent
                        .clone()
                        .map(|pi| Box::new(Intent::from(pi))),
                }
            } else if matches!(status, 409 | 429 | 500..=599) {
                StripeFailure::Transient(format!("{status} {message}"))
            } else {
                StripeFailure::Refused { status, message }
            }
        }
    }
}

fn key(raw: String) -> RequestStrategy {
    // Our keys are short ASCII strings, always valid.
    RequestStrategy::Idempotent(
        IdempotencyKey::new(raw).expect("idempotency keys are 1..255 chars"),
    )
}

/// The metadata key carrying our `refunds.id` on a Stripe refund.
const REFUND_TAG: &str = "ocpizza_refund_id";

#[derive(Clone)]
pub struct Gateway {
    client: Client,
}

impl std::fmt::Debug for Gateway {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Gateway")
    }
}

impl Gateway {
    /// `api_base`: `https://api.stripe.com/` in production, localstripe's address locally.
    pub fn new(secret_key: &str, api_base: &str) -> Result<Gateway, StripeFailure> {
        let client = ClientBuilder::new(secret_key)
            .url(api_base)
            .timeout(Duration::from_secs(20))
            .build()
            .map_err(classify)?;
        Ok(Gateway { client })
    }

    /// A PaymentIntent for `amount_cents`, captured later by hand. With a `payment_method` and
    /// `confirm`, it is authorised at once (counter terminals, tests); without, the customer's
    /// browser confirms it with the client secret.
    pub async fn create(
        &self,
        order_id: u64,
        amount_cents: u32,
        payment_method: Option<&str>,
        confirm: bool,
        idempotency_key: String,
    ) -> Result<Intent, StripeFailure> {
        let mut request = CreatePaymentIntent::new(i64::from(amount_cents), Currency::EUR)
            .capture_method(PaymentIntentCaptureMethod::Manual)
            .metadata(HashMap::from([(
                "order_id".to_owned(),
                order_id.to_string(),
            )]));
        if let Some(pm) = payment_method {
            request = request.payment_method(pm);
        }
        if confirm {
            request = request.confirm(true);
        }
        request
            .customize()
            .request_strategy(key(idempotency_key))
            .send(&self.client)
            .await
            .map(Intent::from)
            .map_err(classify)
    }

    pub async fn retrieve(&self, id: &str) -> Result<Intent, StripeFailure> {
        RetrievePaymentIntent::new(id)
            .send(&self.client)
            .await
            .map(Intent::from)
            .map_err(classify)
    }

    pub async fn capture(
        &self,
        id: &str,
        amount_cents: u32,
        idempotency_key: String,
    ) -> Result<Intent, StripeFailure> {
        CapturePaymentIntent::new(id)
            .amount_to_capture(i64::from(amount_cents))
            .customize()
            .request_strategy(key(idempotency_key))
            .send(&self.client)
            .await
            .map(Intent::from)
            .map_err(classify)
    }

    /// Releases an authorisation (the customer is never charged).
    pub async fn cancel(&self, id: &str, idempotency_key: String) -> Result<Intent, StripeFailure> {
        CancelPaymentIntent::new(id)
            .customize()
            .request_strategy(key(idempotency_key))
            .send(&self.client)
            .await
            .map(Intent::from)
            .map_err(classify)
    }

    /// Gives back `amount_cents` of a captured payment.
    /// Refunds `amount_cents` of the intent's charge, tagged with our refund's id so that
    /// [`Gateway::find_refund`] can tell whether an earlier attempt went through.
    pub async fn refund(
        &self,
        intent_id: &str,
        amount_cents: u32,
        refund_id: u64,
    ) -> Result<String, StripeFailure> {
        CreateRefund::new()
            .payment_intent(intent_id)
            .amount(i64::from(amount_cents))
            .metadata(HashMap::from([(
                REFUND_TAG.to_owned(),
                refund_id.to_string(),
            )]))
            .customize()
            .request_strategy(key(format!("{intent_id}-refund-{refund_id}")))
            .send(&self.client)
            .await
            .map(|r| r.id.as_str().to_owned())
            .map_err(classify)
    }

    /// The Stripe refund made for our refund `refund_id` on this intent, if one was: a crash
    /// between Stripe's answer and our commit must not refund twice (idempotency keys expire,
    /// and not every Stripe double honours them).
    pub async fn find_refund(
        &self,
        intent_id: &str,
        refund_id: u64,
    ) -> Result<Option<String>, StripeFailure> {
        let tag = refund_id.to_string();
        let list = ListRefund::new()
            .payment_intent(intent_id)
            .limit(100)
            .send(&self.client)
            .await
            .map_err(classify)?;
        Ok(list
            .data
            .into_iter()
            .find(|r| {
                r.metadata
                    .as_ref()
                    .and_then(|m| m.get(REFUND_TAG))
                    .is_some_and(|v| *v == tag)
            })
            .map(|r| r.id.as_str().to_owned()))
    }
}
