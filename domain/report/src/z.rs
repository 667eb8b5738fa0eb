//! Computing a day's report and writing it as CSV.

use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use chrono_tz::Europe::Paris;
use serde::Serialize;
use sqlx::MySqlConnection;

use crate::ReportError;
use vocab::{Cents, Fulfilment, OrderStatus, PaymentMethod, PaymentStatus, RefundStatus, VatRate};

/// Sales at one VAT rate: prices include VAT, so `net + vat = gross`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct VatLine {
    pub rate: VatRate,
    pub gross: Cents,
    pub vat: Cents,
    pub net: Cents,
}

/// An amount and a count by means of payment.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ByMethod {
    pub method: PaymentMethod,
    pub amount: Cents,
    pub count: i64,
}

/// What was sold of one category (pizzas, drinks…) in the orders handed over.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ByCategory {
    pub category: vocab::Category,
    pub items: i64,
    pub gross: Cents,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ZReport {
    pub day: NaiveDate,
    /// Orders placed that day, by status now.
    pub orders: Vec<(OrderStatus, i64)>,
    pub orders_count: i64,
    /// Orders handed over that day.
    pub handed_over: i64,
    pub sales: Vec<VatLine>,
    /// The same sales by category, without the delivery fees.
    pub by_category: Vec<ByCategory>,
    /// Delivery fees of the orders handed over, counted in the sales at 10 % (an accessory of
    /// a meal to eat soon follows its rate).
    pub delivery_fees: Cents,
    pub sales_gross: Cents,
    pub sales_vat: Cents,
    pub takings: Vec<ByMethod>,
    pub takings_total: Cents,
    pub refunds: Vec<ByMethod>,
    pub refunds_total: Cents,
}

impl ZReport {
    /// Takings less refunds.
    pub fn net_takings(&self) -> i64 {
        i64::from(self.takings_total.0) - i64::from(self.refunds_total.0)
    }
}

/// `[start, end)` of a Paris day, in UTC.
pub fn bounds(day: NaiveDate) -> (DateTime<Utc>, DateTime<Utc>) {
    let at = |d: NaiveDate| {
        let midnight = d.and_hms_opt(0, 0, 0).expect("midnight exists");
        Paris
            .from_local_datetime(&midnight)
            .earliest()
            .map(|t| t.with_timezone(&Utc))
            .unwrap_or_else(|| midnight.and_utc())
    };
    (at(day), at(day.succ_opt().unwrap_or(day)))
}

/// Sales grouped by rate, each rate's VAT taken out of its total (one rounding per rate, as a
/// till does), lowest rate first.
pub fn vat_lines(lines: impl IntoIterator<Item = (VatRate, Cents)>) -> Vec<VatLine> {
    let mut by_rate: Vec<(VatRate, Cents)> = Vec::new();
    for (rate, amount) in lines {
        match by_rate.iter_mut().find(|(r, _)| *r == rate) {
            Some((_, total)) => *total = total.saturating_add(amount),
            None => by_rate.push((rate, amount)),
        }
    }
    by_rate.sort_by_key(|(r, _)| r.basis_points());
    by_rate
        .into_iter()
        .map(|(rate, gross)| {
            let vat = rate.vat_in(gross);
            VatLine {
                rate,
                gross,
                vat,
                net: Cents(gross.0 - vat.0),
            }
        })
        .collect()
}

fn cents(raw: i64) -> Cents {
    Cents(u32::try_from(raw.max(0)).unwrap_or(u32::MAX))
}

fn total(rows: &[ByMethod]) -> Cents {
    rows.iter()
        .fold(Cents(0), |sum, r| sum.saturating_add(r.amount))
}

/// Amounts by means of payment: `sql` takes the pizzeria, `statuses` and the period, in
/// that order.
async fn by_method(
    conn: &mut MySqlConnection,
    sql: &'static str,
    pizzeria_id: u64,
    statuses: &[&str],
    (from, to): (DateTime<Utc>, DateTime<Utc>),
) -> Result<Vec<ByMethod>, sqlx::Error> {
    let mut query = sqlx::query_as::<_, (PaymentMethod, i64, i64)>(sql).bind(pizzeria_id);
    for s in statuses {
        query = query.bind(*s);
    }
    Ok(query
        .bind(from)
        .bind(to)
        .fetch_all(conn)
        .await?
        .into_iter()
        .map(|(method, amount, count)| ByMethod {
            method,
            amount: cents(amount),
            count,
        })
        .collect())
}

/// The pizzeria's report for `day` (Paris).
pub async fn for_day(
    conn: &mut MySqlConnection,
    pizzeria_id: u64,
    day: NaiveDate,
) -> Result<ZReport, ReportError> {
    let (from, to) = bounds(day);
    let mut orders: Vec<(OrderStatus, i64)> = sqlx::query_as(
        "SELECT CAST(status AS CHAR), COUNT(*) FROM orders
         WHERE pizzeria_id = ? AND created_at >= ? AND created_at < ? GROUP BY status",
    )
    .bind(pizzeria_id)
    .bind(from)
    .bind(to)
    .fetch_all(&mut *conn)
    .await?;
    orders.sort();
    let handed_over: Vec<u64> = sqlx::query_scalar(
        "SELECT DISTINCT h.order_id FROM order_status_history h JOIN orders o ON o.id = h.order_id
         WHERE o.pizzeria_id = ? AND h.to_status IN (?, ?) AND h.created_at >= ? AND h.created_at < ?",
    )
    .bind(pizzeria_id)
    .bind(OrderStatus::Delivered)
    .bind(OrderStatus::PickedUp)
    .bind(from)
    .bind(to)
    .fetch_all(&mut *conn)
    .await?;
    let sold: Vec<(VatRate, i64)> = if handed_over.is_empty() {
        Vec::new()
    } else {
        let placeholders = vec!["?"; handed_over.len()].join(", ");
        let mut query = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT CAST(vat_rate AS CHAR), CAST(SUM(unit_price_cents * quantity) AS SIGNED)
             FROM order_lines WHERE order_id IN ({placeholders}) GROUP BY vat_rate"
        )));
        for id in &handed_over {
            query = query.bind(*id);
        }
        query.fetch_all(&mut *conn).await?
    };
    let by_category: Vec<ByCategory> = if handed_over.is_empty() {
        Vec::new()
    } else {
        let placeholders = vec!["?"; handed_over.len()].join(", ");
        let mut query = sqlx::query_as::<_, (vocab::Category, i64, i64)>(sqlx::AssertSqlSafe(format!(
            "SELECT CAST(category AS CHAR), CAST(SUM(quantity) AS SIGNED), CAST(SUM(unit_price_cents * quantity) AS SIGNED)
             FROM order_lines WHERE order_id IN ({placeholders}) GROUP BY category ORDER BY category"
        )));
        for id in &handed_over {
            query = query.bind(*id);
        }
        query
            .fetch_all(&mut *conn)
            .await?
            .into_iter()
            .map(|(category, items, gross)| ByCategory {
                category,
                items,
                gross: cents(gross),
            })
            .collect()
    };
    let delivery_fees: i64 = if handed_over.is_empty() {
        0
    } else {
        let placeholders = vec!["?"; handed_over.len()].join(", ");
        let mut query = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
            "SELECT CAST(COALESCE(SUM(delivery_fee_cents), 0) AS SIGNED) FROM orders WHERE id IN ({placeholders})"
        )));
        for id in &handed_over {
            query = query.bind(*id);
        }
        query.fetch_one(&mut *conn).await?
    };
    let delivery_fees = cents(delivery_fees);
    let sales = vat_lines(
        sold.into_iter()
            .map(|(r, c)| (r, cents(c)))
            .chain((delivery_fees.0 > 0).then_some((VatRate::Intermediate, delivery_fees))),
    );
    let takings = by_method(
        conn,
        "SELECT CAST(p.method AS CHAR), CAST(SUM(p.captured_cents) AS SIGNED), COUNT(*)
         FROM payments p JOIN orders o ON o.id = p.order_id
         WHERE o.pizzeria_id = ? AND p.status IN (?, ?, ?) AND p.captured_at >= ? AND p.captured_at < ?
         GROUP BY p.method ORDER BY p.method",
        pizzeria_id,
        &[
            PaymentStatus::Captured.as_str(),
            PaymentStatus::Refunded.as_str(),
            PaymentStatus::Collected.as_str(),
        ],
        (from, to),
    )
    .await?;
    let refunds = by_method(
        conn,
        "SELECT CAST(r.method AS CHAR), CAST(SUM(r.amount_cents) AS SIGNED), COUNT(*)
         FROM refunds r JOIN orders o ON o.id = r.order_id
         WHERE o.pizzeria_id = ? AND r.status IN (?) AND r.done_at >= ? AND r.done_at < ?
         GROUP BY r.method ORDER BY r.method",
        pizzeria_id,
        &[RefundStatus::Done.as_str()],
        (from, to),
    )
    .await?;
    Ok(ZReport {
        day,
        orders_count: orders.iter().map(|(_, n)| n).sum(),
        orders,
        handed_over: i64::try_from(handed_over.len()).unwrap_or(i64::MAX),
        sales_gross: sales
            .iter()
            .fold(Cents(0), |s, l| s.saturating_add(l.gross)),
        sales_vat: sales.iter().fold(Cents(0), |s, l| s.saturating_add(l.vat)),
        sales,
        by_category,
        delivery_fees,
        takings_total: total(&takings),
        takings,
        refunds_total: total(&refunds),
        refunds,
    })
}

/// Euros with a decimal comma and no symbol, as French spreadsheets read them.
fn amount(c: Cents) -> String {
    format!("{},{:02}", c.0 / 100, c.0 % 100)
}

impl ZReport {
    /// The report as CSV for a spreadsheet: `;`-separated (French Excel), one row per figure:
    /// section, label, count, amount with VAT, VAT, amount without VAT.
    pub fn to_csv(&self, shop: &str) -> Result<String, ReportError> {
        let mut w = csv::WriterBuilder::new()
            .delimiter(b';')
            .from_writer(Vec::new());
        let mut row = |cells: [&str; 6]| {
            w.write_record(cells)
                .map_err(|e| ReportError::Csv(e.to_string()))
        };
        row([
            "section",
            "libellé",
            "nombre",
            "montant TTC",
            "TVA",
            "montant HT",
        ])?;
        let day = self.day.format("%d/%m/%Y").to_string();
        row(["rapport", &format!("{shop} — Z du {day}"), "", "", "", ""])?;
        for (status, n) in &self.orders {
            row([
                "commandes",
                status.label_fr(Fulfilment::Pickup),
                &n.to_string(),
                "",
                "",
                "",
            ])?;
        }
        row([
            "commandes",
            "Total passées",
            &self.orders_count.to_string(),
            "",
            "",
            "",
        ])?;
        row([
            "commandes",
            "Remises au client",
            &self.handed_over.to_string(),
            "",
            "",
            "",
        ])?;
        for l in &self.sales {
            row([
                "ventes",
                &format!("TVA {}", l.rate.label_fr()),
                "",
                &amount(l.gross),
                &amount(l.vat),
                &amount(l.net),
            ])?;
        }
        for c in &self.by_category {
            row([
                "ventes",
                &format!("dont {}", c.category.label_fr().to_lowercase()),
                &c.items.to_string(),
                &amount(c.gross),
                "",
                "",
            ])?;
        }
        if self.delivery_fees.0 > 0 {
            row([
                "ventes",
                "dont frais de livraison (TVA 10 %)",
                "",
                &amount(self.delivery_fees),
                "",
                "",
            ])?;
        }
        row([
            "ventes",
            "Total",
            "",
            &amount(self.sales_gross),
            &amount(self.sales_vat),
            &amount(Cents(self.sales_gross.0 - self.sales_vat.0)),
        ])?;
        for (section, rows, sum) in [
            ("encaissements", &self.takings, self.takings_total),
            ("remboursements", &self.refunds, self.refunds_total),
        ] {
            for r in rows {
                let count = r.count.to_string();
                row([
                    section,
                    r.method.label_fr(),
                    &count,
                    &amount(r.amount),
                    "",
                    "",
                ])?;
            }
            row([section, "Total", "", &amount(sum), "", ""])?;
        }
        let net = self.net_takings();
        let net = format!(
            "{}{}",
            if net < 0 { "-" } else { "" },
            amount(cents(net.abs()))
        );
        row([
            "solde",
            "Encaissements moins remboursements",
            "",
            &net,
            "",
            "",
        ])?;
        let bytes = w
            .into_inner()
            .map_err(|e| ReportError::Csv(e.to_string()))?;
        String::from_utf8(bytes).map_err(|e| ReportError::Csv(e.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sales_are_grouped_by_rate_with_the_vat_taken_out_once_per_rate() {
        let lines = vat_lines([
            (VatRate::Intermediate, Cents(950)),
            (VatRate::Standard, Cents(600)),
            (VatRate::Intermediate, Cents(1200)),
            (VatRate::Reduced, Cents(211)),
        ]);
        assert_eq!(
            lines,
            vec![
                VatLine {
                    rate: VatRate::Reduced,
                    gross: Cents(211),
                    vat: Cents(11),
                    net: Cents(200)
                },
                VatLine {
                    rate: VatRate::Intermediate,
                    gross: Cents(2150),
                    vat: Cents(195),
                    net: Cents(1955)
                },
                VatLine {
                    rate: VatRate::Standard,
                    gross: Cents(600),
                    vat: Cents(100),
                    net: Cents(500)
                },
            ]
        );
    }

    #[test]
    fn a_paris_day_in_utc_follows_summer_and_winter_time() {
        let d = |y, m, day| NaiveDate::from_ymd_opt(y, m, day).unwrap();
        let (from, to) = bounds(d(2026, 12, 2));
        assert_eq!(from.to_rfc3339(), "2026-12-01T23:00:00+00:00");
        assert_eq!(to.to_rfc3339(), "2026-12-02T23:00:00+00:00");
        // The night the clocks go back lasts 25 hours.
        let (from, to) = bounds(d(2026, 10, 25));
        assert_eq!((to - from).num_hours(), 25);
    }

    #[test]
    fn the_csv_is_semicolon_separated_with_decimal_commas() {
        let z = ZReport {
            day: NaiveDate::from_ymd_opt(2026, 12, 2).unwrap(),
            orders: vec![(OrderStatus::Delivered, 2)],
            orders_count: 2,
            handed_over: 2,
            sales: vat_lines([(VatRate::Intermediate, Cents(2150))]),
            by_category: vec![ByCategory {
                category: vocab::Category::Pizza,
                items: 2,
                gross: Cents(2150),
            }],
            delivery_fees: Cents(0),
            sales_gross: Cents(2150),
            sales_vat: Cents(195),
            takings: vec![ByMethod {
                method: PaymentMethod::Cash,
                amount: Cents(2150),
                count: 2,
            }],
            takings_total: Cents(2150),
            refunds: vec![ByMethod {
                method: PaymentMethod::Cash,
                amount: Cents(950),
                count: 1,
            }],
            refunds_total: Cents(950),
        };
        let csv = z.to_csv("OC Pizza Test").unwrap();
        assert!(
            csv.starts_with("section;libellé;nombre;montant TTC;TVA;montant HT\n"),
            "{csv}"
        );
        assert!(csv.contains("ventes;TVA 10 %;;21,50;1,95;19,55\n"), "{csv}");
        assert!(csv.contains("encaissements;Espèces;2;21,50;;\n"), "{csv}");
        assert!(csv.contains("ventes;dont pizzas;2;21,50;;\n"), "{csv}");
        assert!(
            csv.contains("solde;Encaissements moins remboursements;;12,00;;\n"),
            "{csv}"
        );
    }
}
