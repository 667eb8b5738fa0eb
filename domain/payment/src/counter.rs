//! Money handed over at the door or the counter for orders paid on site, and the day's takings
//! by method for the manager.

use chrono::{DateTime, Utc};
use order::{Order, OrderError};
use serde::Serialize;
use sqlx::MySqlConnection;

use crate::PaymentError;
use vocab::{Cents, PaymentMethod, PaymentMode, PaymentStatus};

/// Records that the order's total was collected by one means; `false` if it already was (a
/// double tap). Online orders are paid already and refuse this.
pub async fn record_collected(
    conn: &mut MySqlConnection,
    order: &Order,
    tender: PaymentMethod,
    staff_id: u64,
) -> Result<bool, PaymentError> {
    let whole = Split {
        parts: vec![Part {
            method: tender,
            amount: order.total,
        }],
        change: Cents(0),
    };
    record_split(conn, order, &whole, staff_id).await
}

/// One means of payment and what it pays of the total.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Part {
    pub method: PaymentMethod,
    pub amount: Cents,
}

/// How a total is paid on the spot: one or more means (a meal voucher and cash), and the change
/// to give back on the cash.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Split {
    pub parts: Vec<Part>,
    pub change: Cents,
}

impl Split {
    /// « Titre-restaurant 10,00 €, Espèces 12,50 € »
    pub fn describe(&self) -> String {
        self.parts
            .iter()
            .map(|p| format!("{} {}", p.method.label_fr(), p.amount))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// Checks how staff say a total is paid: the amounts by means (zeros ignored, each means once)
/// must make the total exactly; `cash_given`, what the customer handed in cash, gives the change
/// and may not be less than the cash part. Meal vouchers give no change, so the amounts are what
/// each means pays, not what was handed.
pub fn split(
    total: Cents,
    amounts: &[(PaymentMethod, Cents)],
    cash_given: Option<Cents>,
) -> Result<Split, PaymentError> {
    let mut parts: Vec<Part> = Vec::new();
    for &(method, amount) in amounts {
        if !PaymentMethod::ON_SITE.contains(&method) {
            return Err(PaymentError::Counter(format!(
                "« {} » ne se règle pas au comptoir",
                method.label_fr()
            )));
        }
        if amount.0 == 0 {
            continue;
        }
        if parts.iter().any(|p| p.method == method) {
            return Err(PaymentError::Counter(format!(
                "« {} » figure deux fois",
                method.label_fr()
            )));
        }
        parts.push(Part { method, amount });
    }
    let sum = parts
        .iter()
        .try_fold(Cents(0), |s, p| s.checked_add(p.amount))
        .ok_or_else(|| PaymentError::Counter("montants trop élevés".into()))?;
    if parts.is_empty() {
        return Err(PaymentError::Counter(
            "indiquez ce que paie chaque moyen de paiement".into(),
        ));
    }
    if sum != total {
        return Err(PaymentError::Counter(format!(
            "les montants font {sum} pour une commande de {total}"
        )));
    }
    let cash = parts
        .iter()
        .find(|p| p.method == PaymentMethod::Cash)
        .map_or(Cents(0), |p| p.amount);
    let change = match cash_given {
        None => Cents(0),
        Some(_) if cash.0 == 0 => {
            return Err(PaymentError::Counter(
                "une somme remise en espèces sans part en espèces".into(),
            ));
        }
        Some(given) if given < cash => {
            return Err(PaymentError::Counter(format!(
                "le client a remis {given} en espèces pour une part de {cash}"
            )));
        }
        Some(given) => Cents(given.0 - cash.0),
    };
    Ok(Split { parts, change })
}

/// Records an order's on-site payment, one `collected` row per means; `false` if it was paid
/// already (a double tap). Online orders are paid already and refuse this.
pub async fn record_split(
    conn: &mut MySqlConnection,
    order: &Order,
    split: &Split,
    staff_id: u64,
) -> Result<bool, PaymentError> {
    if order.payment_mode != PaymentMode::OnSite
        || split
            .parts
            .iter()
            .any(|p| p.method == PaymentMethod::Stripe)
    {
        return Err(OrderError::Invalid("cette commande a été payée en ligne".into()).into());
    }
    // The order's row serialises two taps on « encaisser ».
    Order::lock(conn, order.id).await?;
    if is_paid(conn, order.id).await? {
        return Ok(false);
    }
    for part in &split.parts {
        sqlx::query(
            "INSERT INTO payments (order_id, method, status, amount_cents, captured_cents, captured_at, collected_by)
             VALUES (?, ?, ?, ?, ?, CURRENT_TIMESTAMP(6), ?)",
        )
        .bind(order.id)
        .bind(part.method)
        .bind(PaymentStatus::Collected)
        .bind(part.amount.0)
        .bind(part.amount.0)
        .bind(staff_id)
        .execute(&mut *conn)
        .await?;
    }
    Ok(true)
}

/// Whether the order's on-site payment was collected already.
pub async fn is_paid(conn: &mut MySqlConnection, order_id: u64) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM payments WHERE order_id = ? AND status = ?)")
        .bind(order_id)
        .bind(PaymentStatus::Collected)
        .fetch_one(conn)
        .await
}

/// Which of these orders were paid on site already (the boards' « Payée »).
pub async fn paid_among(
    conn: &mut MySqlConnection,
    order_ids: &[u64],
) -> Result<std::collections::HashSet<u64>, sqlx::Error> {
    if order_ids.is_empty() {
        return Ok(Default::default());
    }
    let placeholders = vec!["?"; order_ids.len()].join(", ");
    let mut query = sqlx::query_scalar::<_, u64>(sqlx::AssertSqlSafe(format!(
        "SELECT DISTINCT order_id FROM payments WHERE status = ? AND order_id IN ({placeholders})"
    )))
    .bind(PaymentStatus::Collected);
    for id in order_ids {
        query = query.bind(*id);
    }
    Ok(query.fetch_all(conn).await?.into_iter().collect())
}

/// Money taken by one means over a period.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Takings {
    /// Stripe (online, captured less refunds) or a means collected on site.
    pub method: PaymentMethod,
    pub label: &'static str,
    pub cents: i64,
    pub payments: i64,
}

/// The pizzeria's takings in `[from, to)` by method: captured online payments less refunds, and
/// what was collected on site.
pub async fn takings(
    conn: &mut MySqlConnection,
    pizzeria_id: u64,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Vec<Takings>, sqlx::Error> {
    let rows: Vec<(PaymentMethod, i64, i64)> = sqlx::query_as(
        "SELECT CAST(p.method AS CHAR), CAST(SUM(p.captured_cents - p.refunded_cents) AS SIGNED), COUNT(*)
         FROM payments p JOIN orders o ON o.id = p.order_id
         WHERE o.pizzeria_id = ? AND p.status IN (?, ?, ?)
           AND p.updated_at >= ? AND p.updated_at < ?
         GROUP BY p.method ORDER BY p.method",
    )
    .bind(pizzeria_id)
    .bind(PaymentStatus::Captured)
    .bind(PaymentStatus::Refunded)
    .bind(PaymentStatus::Collected)
    .bind(from)
    .bind(to)
    .fetch_all(conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(method, cents, payments)| Takings {
            label: method.label_fr(),
            method,
            cents,
            payments,
        })
        .collect())
}

/// What one staff member collected by one means over a period (the rider's cash at the end of
/// a shift).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Collected {
    pub staff_id: u64,
    pub staff_name: String,
    pub method: PaymentMethod,
    pub label: &'static str,
    /// Collected, less what was handed back from the till on those payments.
    pub cents: i64,
    pub payments: i64,
}

/// The pizzeria's on-site takings in `[from, to)` by who collected them and how, by name.
pub async fn collected_by_staff(
    conn: &mut MySqlConnection,
    pizzeria_id: u64,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Vec<Collected>, sqlx::Error> {
    let rows: Vec<(u64, String, PaymentMethod, i64, i64)> = sqlx::query_as(
        "SELECT u.id, u.full_name, CAST(p.method AS CHAR),
                CAST(SUM(p.captured_cents - p.refunded_cents) AS SIGNED), COUNT(*)
         FROM payments p JOIN orders o ON o.id = p.order_id JOIN users u ON u.id = p.collected_by
         WHERE o.pizzeria_id = ? AND p.status = ? AND p.created_at >= ? AND p.created_at < ?
         GROUP BY u.id, u.full_name, p.method ORDER BY u.full_name, u.id, p.method",
    )
    .bind(pizzeria_id)
    .bind(PaymentStatus::Collected)
    .bind(from)
    .bind(to)
    .fetch_all(conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(
            |(staff_id, staff_name, method, cents, payments)| Collected {
                staff_id,
                staff_name,
                label: method.label_fr(),
                method,
                cents,
                payments,
            },
        )
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use PaymentMethod::*;

    #[test]
    fn a_split_must_make_the_total_and_the_change_comes_from_the_cash() {
        let total = Cents(2250);
        let s = split(
            total,
            &[(MealVoucher, Cents(1000)), (Cash, Cents(1250))],
            Some(Cents(2000)),
        )
        .unwrap();
        assert_eq!(s.change, Cents(750));
        assert_eq!(
            s.describe(),
            "Titre-restaurant 10,00\u{a0}€, Espèces 12,50\u{a0}€"
        );
        assert_eq!(
            split(total, &[(Card, Cents(2250)), (Cash, Cents(0))], None)
                .unwrap()
                .parts
                .len(),
            1
        );
        let refused = |amounts: &[(PaymentMethod, Cents)], given| {
            split(total, amounts, given).unwrap_err().to_string()
        };
        assert_eq!(
            refused(&[(Cash, Cents(2000))], None),
            "les montants font 20,00\u{a0}€ pour une commande de 22,50\u{a0}€"
        );
        assert_eq!(
            refused(&[(Cash, Cents(2250))], Some(Cents(2000))),
            "le client a remis 20,00\u{a0}€ en espèces pour une part de 22,50\u{a0}€"
        );
        assert_eq!(
            refused(&[(Card, Cents(2250))], Some(Cents(5000))),
            "une somme remise en espèces sans part en espèces"
        );
        assert_eq!(
            refused(&[], None),
            "indiquez ce que paie chaque moyen de paiement"
        );
        assert_eq!(
            refused(&[(Stripe, Cents(2250))], None),
            "« Carte en ligne » ne se règle pas au comptoir"
        );
    }
}
