//! Sending through SMTP, once. Each e-mail has a row in `email_log` keyed by its stable
//! Message-ID, written in the caller's transaction (the consumer's, together with its
//! processed-message record):
//! - already `sent` or `failed`: nothing is sent again;
//! - SMTP 4xx or unreachable: [`MailError::Transient`], the transaction rolls back and the
//!   message is retried with backoff;
//! - SMTP 5xx: recorded as `failed` with the server's answer, never retried;
//! - but an authentication refusal (530, 534, 535, 538) is our configuration, not the
//!   address: [`MailError::Transient`] too, logged as an error, so the e-mail is kept (retried,
//!   then parked in the dead-letter queue to replay) and goes out once `SMTP_URL` is fixed.
//!
//! The one gap left: the server accepted the e-mail and the commit then failed. The retry sends
//! the same Message-ID again, which mail clients show once.

use std::time::Duration;

use lettre::message::header::ContentType;
use lettre::message::{Mailbox, MultiPart, SinglePart};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use sqlx::MySqlConnection;

use crate::{MailError, Outgoing, render};

/// What [`Mailer::deliver`] did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Delivery {
    Sent,
    /// Sent (or refused for good) before: nothing done.
    AlreadyHandled,
    /// The server refused it permanently (5xx); recorded, not retried.
    Refused(String),
}

#[derive(Clone)]
pub struct Mailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
    domain: String,
}

impl std::fmt::Debug for Mailer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mailer")
            .field("from", &self.from)
            .finish_non_exhaustive()
    }
}

impl Mailer {
    /// `url`: `smtp://host:port` (plain, local sink), `smtp://user:pass@host:587?tls=required`
    /// or `smtps://user:pass@host` (providers). `from`: `Name <address>`.
    pub fn new(url: &str, from: &str) -> Result<Mailer, MailError> {
        let from: Mailbox =
            from.parse()
                .map_err(|e: lettre::address::AddressError| MailError::Address {
                    address: from.to_owned(),
                    reason: e.to_string(),
                })?;
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
            .map_err(|e| MailError::Config(format!("SMTP_URL: {e}")))?
            .timeout(Some(Duration::from_secs(15)))
            .build();
        let domain = from.email.domain().to_owned();
        Ok(Mailer {
            transport,
            from,
            domain,
        })
    }

    fn build(&self, mail: &Outgoing) -> Result<Message, MailError> {
        let (text, html) = render::render(&mail.subject, &mail.body)?;
        let mut builder = Message::builder()
            .from(self.from.clone())
            .subject(&mail.subject)
            .message_id(Some(format!("<{}@{}>", mail.key, self.domain)));
        for to in &mail.to {
            let mailbox: Mailbox =
                to.parse()
                    .map_err(|e: lettre::address::AddressError| MailError::Address {
                        address: to.clone(),
                        reason: e.to_string(),
                    })?;
            builder = builder.to(mailbox);
        }
        builder
            .multipart(
                MultiPart::alternative()
                    .singlepart(
                        SinglePart::builder()
                            .header(ContentType::TEXT_PLAIN)
                            .body(text),
                    )
                    .singlepart(
                        SinglePart::builder()
                            .header(ContentType::TEXT_HTML)
                            .body(html),
                    ),
            )
            .map_err(|e| MailError::Config(e.to_string()))
    }

    /// Sends `mail` unless its log row says it was handled; see the module docs.
    pub async fn deliver(
        &self,
        conn: &mut MySqlConnection,
        mail: &Outgoing,
    ) -> Result<Delivery, MailError> {
        let message_id = format!("<{}@{}>", mail.key, self.domain);
        let status: Option<String> =
            sqlx::query_scalar("SELECT status FROM email_log WHERE message_id = ? FOR UPDATE")
                .bind(&message_id)
                .fetch_optional(&mut *conn)
                .await?;
        if matches!(status.as_deref(), Some("sent" | "failed")) {
            return Ok(Delivery::AlreadyHandled);
        }
        let recipients = mail.to.join(", ");
        sqlx::query(
            "INSERT INTO email_log (message_id, order_id, template, recipient, subject, status, attempts)
             VALUES (?, ?, ?, ?, ?, 'sending', 1)
             ON DUPLICATE KEY UPDATE attempts = attempts + 1, status = 'sending'",
        )
        .bind(&message_id)
        .bind(mail.order_id)
        .bind(&mail.template)
        .bind(messages::truncate(&recipients, 254))
        .bind(messages::truncate(&mail.subject, 255))
        .execute(&mut *conn)
        .await?;

        let message = match self.build(mail) {
            Ok(m) => m,
            // A bad recipient address will not get better: record it, do not retry.
            Err(e @ MailError::Address { .. }) => {
                self.record_failure(conn, &message_id, &e.to_string())
                    .await?;
                return Ok(Delivery::Refused(e.to_string()));
            }
            Err(e) => return Err(e),
        };
        match self.transport.send(message).await {
            Ok(_) => {
                sqlx::query(
                    "UPDATE email_log SET status = 'sent', sent_at = CURRENT_TIMESTAMP(6), last_error = NULL WHERE message_id = ?",
                )
                .bind(&message_id)
                .execute(&mut *conn)
                .await?;
                Ok(Delivery::Sent)
            }
            Err(e) if refuses_our_credentials(&e) => {
                let reason = format!(
                    "the SMTP server refused our credentials ({e}): check SMTP_URL; the e-mail is kept and retried"
                );
                tracing::error!(%message_id, %reason, "SMTP authentication refused");
                Err(MailError::Transient(reason))
            }
            Err(e) if e.is_permanent() => {
                let reason = e.to_string();
                self.record_failure(conn, &message_id, &reason).await?;
                tracing::warn!(%message_id, %reason, "SMTP refused the e-mail for good");
                Ok(Delivery::Refused(reason))
            }
            Err(e) => Err(MailError::Transient(e.to_string())),
        }
    }

    async fn record_failure(
        &self,
        conn: &mut MySqlConnection,
        message_id: &str,
        reason: &str,
    ) -> Result<(), sqlx::Error> {
        sqlx::query("UPDATE email_log SET status = 'failed', last_error = ? WHERE message_id = ?")
            .bind(messages::truncate(reason, 500))
            .bind(message_id)
            .execute(conn)
            .await?;
        Ok(())
    }
}

/// Authentication required (530), mechanism too weak (534), credentials invalid (535),
/// encryption required for it (538).
fn refuses_our_credentials(e: &lettre::transport::smtp::Error) -> bool {
    e.is_permanent()
        && e.status()
            .is_some_and(|code| matches!(code.to_string().as_str(), "530" | "534" | "535" | "538"))
}

/// An e-mail about one of a shop's orders that the server refused for good, as the manager
/// sees it.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, sqlx::FromRow)]
pub struct Refused {
    pub order_id: u64,
    pub recipient: String,
    pub subject: String,
    pub reason: String,
    pub at: chrono::DateTime<chrono::Utc>,
}

/// The shop's customers' e-mails refused since `since`, newest first (at most 20).
pub async fn refused_for_shop(
    conn: &mut MySqlConnection,
    pizzeria_id: u64,
    since: chrono::DateTime<chrono::Utc>,
) -> Result<Vec<Refused>, sqlx::Error> {
    sqlx::query_as(
        "SELECT e.order_id, e.recipient, e.subject, COALESCE(e.last_error, '') AS reason, e.created_at AS at
         FROM email_log e JOIN orders o ON o.id = e.order_id
         WHERE o.pizzeria_id = ? AND e.status = 'failed' AND e.created_at >= ?
         ORDER BY e.id DESC LIMIT 20",
    )
    .bind(pizzeria_id)
    .bind(since)
    .fetch_all(conn)
    .await
}
