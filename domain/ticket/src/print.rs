//! Printing an order's ticket and keeping its state: the kitchen's own printer first, a few
//! tries with backoff; then the backup printer with a BACKUP banner; an alert when a printer
//! goes offline (once, until it prints again). A ticket no printer took stays `failed` and
//! [`retry_failed`] tries it again later, so a long outage loses nothing.

use std::time::Duration;

use chrono::{DateTime, Utc};
use messages::event::{PrinterOffline, TicketPrinted};
use messages::{Envelope, Event, outbox};
use order::Order;
use sqlx::{MySqlConnection, MySqlPool};
use vocab::OrderStatus;

use crate::content::{Marks, Ticket};
use crate::printer::{self, PrintError, Timeouts};
use crate::{TicketError, escpos};

#[derive(Clone, Debug)]
pub struct Policy {
    /// Tries on one printer before moving on.
    pub attempts: u32,
    pub first_delay: Duration,
    pub timeouts: Timeouts,
}

impl Default for Policy {
    fn default() -> Policy {
        Policy {
            attempts: 3,
            first_delay: Duration::from_millis(300),
            timeouts: Timeouts::default(),
        }
    }
}

#[derive(Clone, Debug, sqlx::FromRow)]
pub struct PrinterRow {
    pub id: u64,
    pub pizzeria_id: Option<u64>,
    pub name: String,
    pub host: String,
    pub port: u16,
    pub last_error: Option<String>,
}

impl PrinterRow {
    /// The pizzeria's active printer of `role`; for the backup, the group-wide one if the shop
    /// has none of its own.
    async fn find(
        conn: &mut MySqlConnection,
        pizzeria_id: u64,
        role: &str,
    ) -> Result<Option<PrinterRow>, sqlx::Error> {
        sqlx::query_as(
            "SELECT id, pizzeria_id, name, host, port, last_error FROM printers
             WHERE active AND role = ? AND (pizzeria_id = ? OR (pizzeria_id IS NULL AND role = 'backup'))
             ORDER BY pizzeria_id IS NULL, id LIMIT 1",
        )
        .bind(role)
        .bind(pizzeria_id)
        .fetch_optional(conn)
        .await
    }
}

/// What kind of print is asked for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// The one ticket of a confirmed order.
    Original,
    /// A copy a staff member asked for.
    Reprint { requested_by: u64 },
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    Printed {
        ticket_id: u64,
        via_backup: bool,
    },
    /// The original was printed before: nothing done.
    AlreadyPrinted,
    /// No printer took it; kept as `failed` for [`retry_failed`].
    Failed {
        ticket_id: u64,
        error: String,
    },
}

async fn try_printer(p: &PrinterRow, bytes: &[u8], policy: &Policy) -> Result<(), PrintError> {
    let mut delay = policy.first_delay;
    let mut attempt = 1;
    loop {
        match printer::print(&p.host, p.port, bytes, policy.timeouts).await {
            Ok(()) => return Ok(()),
            Err(e) if attempt >= policy.attempts => return Err(e),
            Err(e) => {
                tracing::warn!(printer = %p.name, attempt, error = %e, "print failed; retrying");
                tokio::time::sleep(delay).await;
                delay *= 2;
                attempt += 1;
            }
        }
    }
}

async fn printer_ok(conn: &mut MySqlConnection, p: &PrinterRow) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE printers SET last_error = NULL, last_ok_at = CURRENT_TIMESTAMP(6) WHERE id = ?",
    )
    .bind(p.id)
    .execute(conn)
    .await?;
    Ok(())
}

/// Records the failure; alerts the managers if the printer was fine until now.
async fn printer_failed(
    conn: &mut MySqlConnection,
    p: &PrinterRow,
    pizzeria_id: u64,
    error: &PrintError,
    cause: Option<&Envelope>,
) -> Result<(), TicketError> {
    sqlx::query("UPDATE printers SET last_error = ? WHERE id = ?")
        .bind(error.to_string())
        .bind(p.id)
        .execute(&mut *conn)
        .await?;
    if p.last_error.is_none() {
        let event = Event::PrinterOffline(PrinterOffline {
            pizzeria_id,
            printer_id: p.id,
            printer_name: p.name.clone(),
            error: error.to_string(),
        });
        let envelope = match cause {
            Some(c) => Envelope::caused_by(event, c),
            None => Envelope::new(event),
        };
        outbox::enqueue(conn, &envelope).await?;
    }
    Ok(())
}

/// The ticket row to print: the order's original (created once) or a new reprint. Returns
/// `None` when the original was already printed.
async fn ticket_row(
    conn: &mut MySqlConnection,
    order_id: u64,
    kind: Kind,
) -> Result<Option<u64>, sqlx::Error> {
    match kind {
        Kind::Original => {
            sqlx::query("INSERT IGNORE INTO tickets (order_id, kind) VALUES (?, 'original')")
                .bind(order_id)
                .execute(&mut *conn)
                .await?;
            let (id, status): (u64, String) =
                sqlx::query_as("SELECT id, status FROM tickets WHERE original_of = ? FOR UPDATE")
                    .bind(order_id)
                    .fetch_one(conn)
                    .await?;
            Ok((status != "printed").then_some(id))
        }
        Kind::Reprint { requested_by } => {
            let done = sqlx::query(
                "INSERT INTO tickets (order_id, kind, requested_by) VALUES (?, 'reprint', ?)",
            )
            .bind(order_id)
            .bind(requested_by)
            .execute(conn)
            .await?;
            Ok(Some(done.last_insert_id()))
        }
    }
}

/// Prints the ticket of `order` (see the module docs), in the caller's transaction: the
/// ticket's state, the printers' state and the messages commit together.
pub async fn print_order(
    conn: &mut MySqlConnection,
    sends: &MySqlPool,
    order: &Order,
    kind: Kind,
    policy: &Policy,
    cause: Option<&Envelope>,
) -> Result<Outcome, TicketError> {
    let Some(ticket_id) = ticket_row(conn, order.id, kind).await? else {
        return Ok(Outcome::AlreadyPrinted);
    };
    let shop: String = sqlx::query_scalar("SELECT name FROM pizzerias WHERE id = ?")
        .bind(order.pizzeria_id)
        .fetch_one(&mut *conn)
        .await?;
    let reprint = matches!(kind, Kind::Reprint { .. });
    let main = PrinterRow::find(conn, order.pizzeria_id, "main").await?;
    let backup = PrinterRow::find(conn, order.pizzeria_id, "backup").await?;
    // A copy staff asked for says so already; an original may have left before.
    let mut doubt = match kind {
        Kind::Original => sending(sends, order.id).await?,
        Kind::Reprint { .. } => false,
    };

    let mut last_error = String::from("aucune imprimante configurée");
    for (printer, via_backup) in [(main, false), (backup, true)] {
        let Some(printer) = printer else { continue };
        let marks = Marks {
            reprint,
            backup: via_backup,
            possible_duplicate: doubt,
        };
        let bytes = escpos::encode(&Ticket::for_order(order, &shop, marks, Utc::now()));
        match try_printer(&printer, &bytes, policy).await {
            Ok(()) => {
                printer_ok(conn, &printer).await?;
                sqlx::query(
                    "UPDATE tickets SET status = 'printed', printer_id = ?, via_backup = ?, possible_duplicate = ?,
                         attempts = attempts + 1, last_error = NULL, printed_at = CURRENT_TIMESTAMP(6) WHERE id = ?",
                )
                .bind(printer.id)
                .bind(via_backup)
                .bind(doubt)
                .bind(ticket_id)
                .execute(&mut *conn)
                .await?;
                if kind == Kind::Original {
                    // With the ticket's own commit: cut before it, the mark stays « sending ».
                    sqlx::query("UPDATE ticket_sends SET state = 'printed' WHERE order_id = ?")
                        .bind(order.id)
                        .execute(&mut *conn)
                        .await?;
                }
                let event = Event::TicketPrinted(TicketPrinted {
                    order_id: order.id,
                    ticket_id,
                    printer_id: printer.id,
                    via_backup,
                    reprint,
                });
                let envelope = match cause {
                    Some(c) => Envelope::caused_by(event, c),
                    None => Envelope::new(event),
                };
                outbox::enqueue(conn, &envelope).await?;
                return Ok(Outcome::Printed {
                    ticket_id,
                    via_backup,
                });
            }
            Err(e) => {
                tracing::warn!(order_id = order.id, printer = %printer.name, error = %e, "printer gave up");
                // Cut mid-way, the printer may have printed part or all of it.
                doubt |= e.may_have_printed();
                printer_failed(conn, &printer, order.pizzeria_id, &e, cause).await?;
                last_error = format!("{} : {e}", printer.name);
            }
        }
    }
    if kind == Kind::Original && !doubt {
        // Every printer refused before taking anything: the next attempt is no duplicate.
        sqlx::query("UPDATE ticket_sends SET state = 'failed' WHERE order_id = ?")
            .bind(order.id)
            .execute(sends)
            .await?;
    }
    sqlx::query(
        "UPDATE tickets SET status = 'failed', attempts = attempts + 1, last_error = ? WHERE id = ?",
    )
    .bind(messages::truncate(&last_error, 500))
    .bind(ticket_id)
    .execute(conn)
    .await?;
    Ok(Outcome::Failed {
        ticket_id,
        error: last_error,
    })
}

/// Which of `order_ids` had their ticket printed marked « DOUBLON POSSIBLE » (the kitchen
/// card says so too).
pub async fn possible_duplicates(
    conn: &mut MySqlConnection,
    order_ids: &[u64],
) -> Result<std::collections::HashSet<u64>, sqlx::Error> {
    if order_ids.is_empty() {
        return Ok(Default::default());
    }
    let placeholders = vec!["?"; order_ids.len()].join(", ");
    // Only the number of placeholders varies.
    let mut query = sqlx::query_scalar::<_, u64>(sqlx::AssertSqlSafe(format!(
        "SELECT DISTINCT order_id FROM tickets WHERE possible_duplicate AND order_id IN ({placeholders})"
    )));
    for id in order_ids {
        query = query.bind(*id);
    }
    Ok(query.fetch_all(conn).await?.into_iter().collect())
}

/// Records, committed on its own connection, that the order's ticket is about to be sent;
/// whether an earlier send began and was never recorded as done or refused (the kitchen may
/// already have that ticket).
async fn sending(sends: &MySqlPool, order_id: u64) -> Result<bool, sqlx::Error> {
    let before: Option<String> =
        sqlx::query_scalar("SELECT state FROM ticket_sends WHERE order_id = ?")
            .bind(order_id)
            .fetch_optional(sends)
            .await?;
    sqlx::query(
        "INSERT INTO ticket_sends (order_id, state, sends) VALUES (?, 'sending', 1)
         ON DUPLICATE KEY UPDATE state = 'sending', sends = sends + 1",
    )
    .bind(order_id)
    .execute(sends)
    .await?;
    Ok(before.as_deref() == Some("sending"))
}

/// Tries again every ticket no printer took (oldest first, each in its own transaction);
/// returns how many are printed now. The kitchen worker calls it periodically.
pub async fn retry_failed(pool: &MySqlPool, policy: &Policy) -> Result<usize, TicketError> {
    let failed: Vec<(u64, u64, String, Option<u64>)> = sqlx::query_as(
        "SELECT id, order_id, kind, requested_by FROM tickets WHERE status = 'failed' ORDER BY id LIMIT 50",
    )
    .fetch_all(pool)
    .await?;
    let mut printed = 0;
    for (ticket_id, order_id, kind, requested_by) in failed {
        let mut tx = pool.begin().await?;
        let status: String =
            sqlx::query_scalar("SELECT status FROM tickets WHERE id = ? FOR UPDATE")
                .bind(ticket_id)
                .fetch_one(&mut *tx)
                .await?;
        if status != "failed" {
            continue;
        }
        let order = Order::load(&mut tx, order_id)
            .await
            .map_err(|e| TicketError::Order(e.to_string()))?;
        let kind = match (kind.as_str(), requested_by) {
            ("reprint", Some(by)) => Kind::Reprint { requested_by: by },
            _ => Kind::Original,
        };
        // A failed reprint is retried on its own row rather than as a new one.
        if let Kind::Reprint { .. } = kind {
            sqlx::query("DELETE FROM tickets WHERE id = ?")
                .bind(ticket_id)
                .execute(&mut *tx)
                .await?;
        }
        if let Outcome::Printed { .. } =
            print_order(&mut tx, pool, &order, kind, policy, None).await?
        {
            printed += 1;
        }
        tx.commit().await?;
    }
    Ok(printed)
}

/// Whether an order's original ticket waits for its kitchen start: a slot order planned to
/// start later than `now` (its ticket prints then, not hours early; « dès que possible » prints
/// at once whatever its place in the queue).
pub fn waits_for_its_start(order: &Order, now: DateTime<Utc>) -> bool {
    order.desired_at.is_some() && order.kitchen_at.is_some_and(|start| start > now)
}

/// Prints the original ticket of every slot order whose kitchen start has come (or that staff
/// started early) and that has none yet, each in its own transaction; returns how many printed.
/// The kitchen worker calls it with its retries.
pub async fn print_due(
    pool: &MySqlPool,
    policy: &Policy,
    now: DateTime<Utc>,
) -> Result<usize, TicketError> {
    let due: Vec<u64> = sqlx::query_scalar(
        "SELECT o.id FROM orders o
         WHERE o.status IN ('confirmed', 'preparing') AND o.desired_at IS NOT NULL
           AND (o.kitchen_at <= ? OR o.status = 'preparing')
           AND NOT EXISTS (SELECT 1 FROM tickets t WHERE t.original_of = o.id)
         ORDER BY o.kitchen_at LIMIT 50",
    )
    .bind(now)
    .fetch_all(pool)
    .await?;
    let mut printed = 0;
    for order_id in due {
        let mut tx = pool.begin().await?;
        let order = Order::lock(&mut tx, order_id)
            .await
            .map_err(|e| TicketError::Order(e.to_string()))?;
        if matches!(
            order.status,
            OrderStatus::Confirmed | OrderStatus::Preparing
        ) && let Outcome::Printed { .. } =
            print_order(&mut tx, pool, &order, Kind::Original, policy, None).await?
        {
            printed += 1;
        }
        tx.commit().await?;
    }
    Ok(printed)
}

/// One of an order's tickets, as the staff order page lists them.
#[derive(Clone, Debug, serde::Serialize, sqlx::FromRow)]
pub struct TicketState {
    pub id: u64,
    pub kind: String,
    pub status: String,
    pub printer: Option<String>,
    pub via_backup: bool,
    pub attempts: u32,
    pub last_error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub printed_at: Option<DateTime<Utc>>,
}

/// The order's tickets, oldest first.
pub async fn for_order(
    conn: &mut MySqlConnection,
    order_id: u64,
) -> Result<Vec<TicketState>, sqlx::Error> {
    sqlx::query_as(
        "SELECT t.id, CAST(t.kind AS CHAR) AS kind, CAST(t.status AS CHAR) AS status, p.name AS printer,
                t.via_backup, t.attempts, t.last_error, t.created_at, t.printed_at
         FROM tickets t LEFT JOIN printers p ON p.id = t.printer_id
         WHERE t.order_id = ? ORDER BY t.id",
    )
    .bind(order_id)
    .fetch_all(conn)
    .await
}
