//! An order as stored in `orders` and `order_lines`.

use chrono::{DateTime, Utc};
use sqlx::{MySqlConnection, Row};

use crate::OrderError;
use catalog::product::ChosenKind;
use vocab::{
    Category, Cents, Channel, DeliveryAddress, Fulfilment, OnSitePlan, OrderStatus, PaymentMethod,
    PaymentMode, VatRate,
};

#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Line {
    pub id: u64,
    pub pizza_id: u64,
    pub pizza_name: String,
    pub category: Category,
    /// The size it was sold in (`None`: a product sold in one size).
    pub size_code: Option<String>,
    pub size_name: Option<String>,
    /// Everything included: the size's price and the options'.
    pub unit_price: Cents,
    /// The rate it was sold at.
    pub vat_rate: VatRate,
    pub quantity: u32,
    pub notes: String,
    /// Options then removals, as sold.
    pub choices: Vec<LineChoice>,
}

/// An option or a removal of a line, with its name and price as sold.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct LineChoice {
    pub kind: ChosenKind,
    pub code: String,
    pub name: String,
    pub group_name: String,
    pub price: Cents,
}

impl Line {
    pub fn options(&self) -> impl Iterator<Item = &LineChoice> {
        self.choices
            .iter()
            .filter(|c| c.kind != ChosenKind::Removal)
    }

    pub fn removals(&self) -> impl Iterator<Item = &LineChoice> {
        self.choices
            .iter()
            .filter(|c| c.kind == ChosenKind::Removal)
    }

    /// The same line to order again or to change: its product, size and choices.
    pub fn to_new(&self) -> crate::NewLine {
        crate::NewLine {
            pizza_id: self.pizza_id,
            quantity: self.quantity,
            size: self.size_code.clone(),
            options: self.options().map(|c| c.code.clone()).collect(),
            remove: self.removals().map(|c| c.code.clone()).collect(),
            notes: self.notes.clone(),
        }
    }

    /// « Reine (40 cm · sans Oignons) », « Margherita ».
    pub fn label_fr(&self) -> String {
        match self.detail_fr() {
            d if d.is_empty() => self.pizza_name.clone(),
            d => format!("{} ({d})", self.pizza_name),
        }
    }

    /// What was chosen, for people: « 40 cm · Base crème · + Mozzarella · sans Oignons ».
    pub fn detail_fr(&self) -> String {
        detail_fr(self.size_name.as_deref(), &self.choices)
    }
}

/// « 40 cm · Crème · + Mozzarella · sans Oignons »: a size, the alternatives chosen, what was
/// added, what was left out.
pub fn detail_fr(size_name: Option<&str>, choices: &[LineChoice]) -> String {
    let mut parts: Vec<String> = size_name.map(str::to_owned).into_iter().collect();
    for kind in [ChosenKind::Choice, ChosenKind::Option, ChosenKind::Removal] {
        parts.extend(
            choices
                .iter()
                .filter(|c| c.kind == kind)
                .map(LineChoice::label_fr),
        );
    }
    parts.join(" · ")
}

impl From<&catalog::product::Chosen> for LineChoice {
    fn from(c: &catalog::product::Chosen) -> LineChoice {
        LineChoice {
            kind: c.kind,
            code: c.code.clone(),
            name: c.name.clone(),
            group_name: c.group_name.clone(),
            price: c.price,
        }
    }
}

impl LineChoice {
    /// « sans Oignons », « + Mozzarella », « Crème » (a choice among alternatives reads as
    /// itself; an extra is added).
    pub fn label_fr(&self) -> String {
        match self.kind {
            ChosenKind::Removal => format!("sans {}", self.name),
            ChosenKind::Option => format!("+ {}", self.name),
            ChosenKind::Choice => self.name.clone(),
        }
    }
}

#[derive(Clone, Debug, serde::Serialize)]
pub struct Order {
    pub id: u64,
    pub pizzeria_id: u64,
    pub customer_id: u64,
    /// The rider who took the delivery, once one has.
    pub driver_id: Option<u64>,
    pub channel: Channel,
    pub fulfilment: Fulfilment,
    pub status: OrderStatus,
    pub payment_mode: PaymentMode,
    /// How a customer paying on site said they will pay.
    pub on_site_plan: Option<OnSitePlan>,
    pub customer_name: String,
    pub customer_phone: String,
    /// Where the order's e-mails go instead of the customer record's address (a counter order
    /// given the e-mail of a web account it is not attached to).
    pub contact_email: Option<String>,
    pub delivery: Option<DeliveryAddress>,
    /// `None`: as soon as possible.
    pub desired_at: Option<DateTime<Utc>>,
    /// When the customer was told it would be ready (pickup) or at the door (delivery): the
    /// slot, or for « dès que possible » the time the kitchen's queue allowed.
    pub promised_at: Option<DateTime<Utc>>,
    /// When the kitchen should start it.
    pub kitchen_at: Option<DateTime<Utc>>,
    pub notes: String,
    /// Everything the customer pays: the lines plus [`Order::delivery_fee`].
    pub total: Cents,
    /// The pizzeria's fee for delivering to the order's postal code (0 for pickup, or when
    /// the zone's free-delivery amount is reached).
    pub delivery_fee: Cents,
    pub version: u32,
    pub rejection_reason: Option<String>,
    pub created_at: DateTime<Utc>,
    pub lines: Vec<Line>,
}

const COLUMNS: &str =
    "id, pizzeria_id, customer_id, driver_id, channel, fulfilment, status, payment_mode, on_site_method, change_for_cents, customer_name,
    customer_phone, contact_email, delivery_street, delivery_complement, delivery_postal_code, delivery_city,
    delivery_instructions, desired_at, promised_at, kitchen_at, notes, total_cents, delivery_fee_cents, version, rejection_reason, created_at";

fn from_row(row: &sqlx::mysql::MySqlRow) -> Result<Order, sqlx::Error> {
    let street: Option<String> = row.try_get("delivery_street")?;
    Ok(Order {
        id: row.try_get("id")?,
        pizzeria_id: row.try_get("pizzeria_id")?,
        customer_id: row.try_get("customer_id")?,
        driver_id: row.try_get("driver_id")?,
        channel: row.try_get("channel")?,
        fulfilment: row.try_get("fulfilment")?,
        status: row.try_get("status")?,
        payment_mode: row.try_get("payment_mode")?,
        on_site_plan: {
            let change_for: Option<u32> = row.try_get("change_for_cents")?;
            row.try_get::<Option<PaymentMethod>, _>("on_site_method")?
                .map(|method| OnSitePlan {
                    method,
                    change_for: change_for.map(Cents),
                })
        },
        customer_name: row.try_get("customer_name")?,
        customer_phone: row.try_get("customer_phone")?,
        contact_email: row.try_get("contact_email")?,
        delivery: match street {
            Some(street) => Some(DeliveryAddress {
                street,
                complement: row
                    .try_get::<Option<String>, _>("delivery_complement")?
                    .unwrap_or_default(),
                postal_code: row
                    .try_get::<Option<String>, _>("delivery_postal_code")?
                    .unwrap_or_default(),
                city: row
                    .try_get::<Option<String>, _>("delivery_city")?
                    .unwrap_or_default(),
                instructions: row
                    .try_get::<Option<String>, _>("delivery_instructions")?
                    .unwrap_or_default(),
            }),
            None => None,
        },
        desired_at: row.try_get("desired_at")?,
        promised_at: row.try_get("promised_at")?,
        kitchen_at: row.try_get("kitchen_at")?,
        notes: row.try_get("notes")?,
        total: Cents(row.try_get("total_cents")?),
        delivery_fee: Cents(row.try_get("delivery_fee_cents")?),
        version: row.try_get("version")?,
        rejection_reason: row.try_get("rejection_reason")?,
        created_at: row.try_get("created_at")?,
        lines: Vec::new(),
    })
}

impl Order {
    /// The order with its lines.
    pub async fn load(conn: &mut MySqlConnection, id: u64) -> Result<Order, OrderError> {
        Self::load_with(conn, id, "").await
    }

    /// The order with its lines, its row locked until the transaction ends: every change of
    /// status or content starts here, so two changes to one order queue up.
    pub async fn lock(conn: &mut MySqlConnection, id: u64) -> Result<Order, OrderError> {
        Self::load_with(conn, id, " FOR UPDATE").await
    }

    async fn load_with(
        conn: &mut MySqlConnection,
        id: u64,
        suffix: &str,
    ) -> Result<Order, OrderError> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM orders WHERE id = ?{suffix}"
        )))
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?
        .ok_or(OrderError::NotFound)?;
        let mut order = from_row(&row)?;
        order.lines = load_lines(conn, id).await?;
        Ok(order)
    }

    /// A customer's orders, newest first, with their lines.
    pub async fn list_for_customer(
        conn: &mut MySqlConnection,
        customer_id: u64,
        limit: u32,
    ) -> Result<Vec<Order>, OrderError> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM orders WHERE customer_id = ? ORDER BY created_at DESC, id DESC LIMIT ?"
        )))
        .bind(customer_id)
        .bind(limit)
        .fetch_all(&mut *conn)
        .await?;
        let mut orders = rows.iter().map(from_row).collect::<Result<Vec<_>, _>>()?;
        attach_lines(conn, &mut orders).await?;
        Ok(orders)
    }

    /// A pizzeria's orders in the given statuses, oldest first, with lines (kitchen and
    /// delivery screens).
    pub async fn list_for_pizzeria(
        conn: &mut MySqlConnection,
        pizzeria_id: u64,
        statuses: &[OrderStatus],
    ) -> Result<Vec<Order>, OrderError> {
        if statuses.is_empty() {
            return Ok(Vec::new());
        }
        let placeholders = vec!["?"; statuses.len()].join(", ");
        let mut query = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM orders WHERE pizzeria_id = ? AND status IN ({placeholders})
             ORDER BY created_at, id"
        )))
        .bind(pizzeria_id);
        for s in statuses {
            query = query.bind(*s);
        }
        let rows = query.fetch_all(&mut *conn).await?;
        let mut orders = rows.iter().map(from_row).collect::<Result<Vec<_>, _>>()?;
        attach_lines(conn, &mut orders).await?;
        Ok(orders)
    }

    /// The pizzeria's orders matching what staff typed, newest first (at most `limit`): its
    /// number, or part of the customer's name or phone (spaces and dots in phone numbers are
    /// ignored, so « 06 12 » finds « 0612… »).
    pub async fn search(
        conn: &mut MySqlConnection,
        pizzeria_id: u64,
        query: &str,
        limit: u32,
    ) -> Result<Vec<Order>, OrderError> {
        let query = query.trim().trim_start_matches(['n', 'N', '°', '#']).trim();
        if query.is_empty() {
            return Ok(Vec::new());
        }
        let number: Option<u64> = query.parse().ok();
        let digits: String = query.chars().filter(char::is_ascii_digit).collect();
        let escaped = query
            .replace('\\', "\\\\")
            .replace('%', "\\%")
            .replace('_', "\\_");
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM orders
             WHERE pizzeria_id = ? AND (id = ? OR customer_name LIKE CONCAT('%', ?, '%')
                   OR (? <> '' AND REPLACE(REPLACE(REPLACE(customer_phone, ' ', ''), '.', ''), '+33', '0') LIKE CONCAT('%', ?, '%')))
             ORDER BY created_at DESC, id DESC LIMIT ?"
        )))
        .bind(pizzeria_id)
        .bind(number.unwrap_or(0))
        .bind(&escaped)
        .bind(&digits)
        .bind(&digits)
        .bind(limit)
        .fetch_all(&mut *conn)
        .await?;
        let mut orders = rows.iter().map(from_row).collect::<Result<Vec<_>, _>>()?;
        attach_lines(conn, &mut orders).await?;
        Ok(orders)
    }

    /// How many of the pizzeria's orders created since `from` are in each status.
    pub async fn count_by_status(
        conn: &mut MySqlConnection,
        pizzeria_id: u64,
        from: DateTime<Utc>,
    ) -> Result<Vec<(OrderStatus, i64)>, OrderError> {
        let mut counts: Vec<(OrderStatus, i64)> = sqlx::query_as(
            "SELECT CAST(status AS CHAR), COUNT(*) FROM orders
             WHERE pizzeria_id = ? AND created_at >= ? GROUP BY status",
        )
        .bind(pizzeria_id)
        .bind(from)
        .fetch_all(conn)
        .await?;
        counts.sort();
        Ok(counts)
    }

    /// Orders of every pizzeria by status, all statuses listed (0 included), for monitoring.
    pub async fn count_all_by_status(
        pool: &sqlx::MySqlPool,
    ) -> Result<Vec<(OrderStatus, i64)>, OrderError> {
        let rows: Vec<(OrderStatus, i64)> =
            sqlx::query_as("SELECT CAST(status AS CHAR), COUNT(*) FROM orders GROUP BY status")
                .fetch_all(pool)
                .await?;
        Ok(OrderStatus::ALL
            .iter()
            .map(|s| {
                let n = rows.iter().find(|(r, _)| r == s).map_or(0, |(_, n)| *n);
                (*s, n)
            })
            .collect())
    }

    pub fn status_label(&self) -> &'static str {
        self.status.label_fr(self.fulfilment)
    }

    /// The time promised, as the customer reads it: « prête vers 19:40 » (pickup), « livrée
    /// vers 20:05 » (delivery); for a slot, only once the kitchen moved it past the slot.
    pub fn promise_fr(&self) -> Option<String> {
        let promised = self.promised_at?;
        // A slot's promise is the slot, unless the kitchen fell behind and moved it.
        if self.desired_at.is_some_and(|due| promised <= due) {
            return None;
        }
        let at = crate::place::clock(promised);
        Some(match self.fulfilment {
            Fulfilment::Delivery => format!("livrée vers {at}"),
            Fulfilment::Pickup => format!("prête vers {at}"),
        })
    }

    /// How many of its items the kitchen makes (pizzas, starters; not drinks or desserts).
    pub fn cooked(&self) -> u32 {
        self.lines
            .iter()
            .filter(|l| l.category.is_cooked())
            .map(|l| l.quantity)
            .sum()
    }

    /// What the pizzas come to, before the delivery fee.
    pub fn subtotal(&self) -> Cents {
        Cents(self.total.0.saturating_sub(self.delivery_fee.0))
    }
}

/// Fills in the lines of `orders` (two queries for them all).
async fn attach_lines(conn: &mut MySqlConnection, orders: &mut [Order]) -> Result<(), sqlx::Error> {
    let ids: Vec<u64> = orders.iter().map(|o| o.id).collect();
    for (order_id, line) in lines_of(conn, &ids).await? {
        if let Some(o) = orders.iter_mut().find(|o| o.id == order_id) {
            o.lines.push(line);
        }
    }
    Ok(())
}

async fn load_lines(conn: &mut MySqlConnection, order_id: u64) -> Result<Vec<Line>, sqlx::Error> {
    Ok(lines_of(conn, &[order_id])
        .await?
        .into_iter()
        .map(|(_, l)| l)
        .collect())
}

/// The lines of these orders, with their choices, by order then as written.
async fn lines_of(
    conn: &mut MySqlConnection,
    order_ids: &[u64],
) -> Result<Vec<(u64, Line)>, sqlx::Error> {
    if order_ids.is_empty() {
        return Ok(Vec::new());
    }
    let placeholders = vec!["?"; order_ids.len()].join(", ");
    let sql = format!(
        "SELECT id, order_id, pizza_id, pizza_name, CAST(category AS CHAR), size_code, size_name,
                unit_price_cents, CAST(vat_rate AS CHAR), quantity, notes
         FROM order_lines WHERE order_id IN ({placeholders}) ORDER BY order_id, id"
    );
    type Row = (
        u64,
        u64,
        u64,
        String,
        Category,
        Option<String>,
        Option<String>,
        u32,
        VatRate,
        u32,
        String,
    );
    let mut query = sqlx::query_as::<_, Row>(sqlx::AssertSqlSafe(sql));
    for id in order_ids {
        query = query.bind(id);
    }
    let mut lines: Vec<(u64, Line)> = query
        .fetch_all(&mut *conn)
        .await?
        .into_iter()
        .map(
            |(
                id,
                order_id,
                pizza_id,
                pizza_name,
                category,
                size_code,
                size_name,
                price,
                vat_rate,
                quantity,
                notes,
            )| {
                (
                    order_id,
                    Line {
                        id,
                        pizza_id,
                        pizza_name,
                        category,
                        size_code,
                        size_name,
                        unit_price: Cents(price),
                        vat_rate,
                        quantity,
                        notes,
                        choices: Vec::new(),
                    },
                )
            },
        )
        .collect();
    if lines.is_empty() {
        return Ok(lines);
    }
    let placeholders = vec!["?"; lines.len()].join(", ");
    let sql = format!(
        "SELECT order_line_id, CAST(kind AS CHAR), code, name, group_name, price_cents
         FROM order_line_choices WHERE order_line_id IN ({placeholders})
         ORDER BY order_line_id, position"
    );
    let mut query =
        sqlx::query_as::<_, (u64, String, String, String, String, u32)>(sqlx::AssertSqlSafe(sql));
    for (_, l) in &lines {
        query = query.bind(l.id);
    }
    for (line_id, kind, code, name, group_name, price) in query.fetch_all(&mut *conn).await? {
        if let Some((_, line)) = lines.iter_mut().find(|(_, l)| l.id == line_id) {
            line.choices.push(LineChoice {
                kind: ChosenKind::parse(&kind),
                code,
                name,
                group_name,
                price: Cents(price),
            });
        }
    }
    Ok(lines)
}
