//! Notifications worker: every event passes by; the mail crate decides which deserve an e-mail
//! and sends each one once.

use mail::{Delivery, MailError, Mailer};
use messages::Envelope;
use messages::consumer::{Handler, HandlerError};
use messages::topology::Route;
use sqlx::MySqlConnection;

/// Sees every event and decides which ones are worth an e-mail; also makes sure every message
/// type has a route, so the relay's mandatory publishing never bounces.
pub const ROUTE: Route = Route {
    name: "notifications",
    bindings: &["#"],
};

/// The consumer's name (queue, `processed_messages`).
pub const CONSUMER: &str = ROUTE.name;

#[derive(Clone, Debug)]
pub struct NotificationsWorker {
    pub mailer: Mailer,
    /// How the links in e-mails are made.
    pub links: mail::compose::Links,
}

fn mail_error(e: MailError) -> HandlerError {
    match e {
        MailError::Db(e) => e.into(),
        MailError::Transient(reason) => HandlerError::Transient(reason),
        other => HandlerError::Permanent(other.to_string()),
    }
}

impl Handler for NotificationsWorker {
    async fn handle(
        &self,
        conn: &mut MySqlConnection,
        message: &Envelope,
    ) -> Result<(), HandlerError> {
        let outgoing = mail::compose::for_event(conn, message, &self.links)
            .await
            .map_err(mail_error)?;
        for mail in &outgoing {
            match self.mailer.deliver(conn, mail).await.map_err(mail_error)? {
                Delivery::Sent => tracing::info!(key = %mail.key, "e-mail sent"),
                Delivery::AlreadyHandled => tracing::info!(key = %mail.key, "e-mail already sent"),
                Delivery::Refused(reason) => {
                    tracing::warn!(key = %mail.key, %reason, "e-mail refused for good")
                }
            }
        }
        Ok(())
    }
}
