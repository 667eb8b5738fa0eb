//! Placing an order: every rule a new order must pass, then the order, its lines, its first
//! history row and (when it needs no online payment) its `order.placed` message, written in the
//! caller's transaction. Nothing the client sends about prices or availability is trusted.

use std::collections::BTreeMap;

use catalog::Pizzeria;
use chrono::{DateTime, Duration, Utc};
use messages::{Envelope, outbox};
use sqlx::MySqlConnection;

use crate::transition::{announcement, record_history};
use crate::{Order, OrderError};
use vocab::input::{LINE_NOTES_MAX, MAX_LINES, MAX_PIZZAS, ORDER_NOTES_MAX};
use vocab::{
    Actor, Cents, Channel, DeliveryAddress, Fulfilment, OnSitePlan, OrderStatus, PaymentMode,
    PersonName, Phone, Quantity, VatRate,
};

/// A slot must leave the kitchen this much time, and be at most this far ahead.
pub const MIN_LEAD: Duration = Duration::minutes(15);
pub const MAX_AHEAD: Duration = Duration::days(7);

#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct NewLine {
    /// The product (pizza, drink, dessert…) from the menu.
    pub pizza_id: u64,
    #[schema(minimum = 1, maximum = 20)]
    pub quantity: u32,
    /// A size code from the product's `sizes`; absent: its default size.
    #[serde(default)]
    #[schema(max_length = 32)]
    pub size: Option<String>,
    /// Option codes from the product's `groups` (extras, a base…), within each group's bounds;
    /// a group left empty gets its default options.
    #[serde(default)]
    pub options: Vec<String>,
    /// Codes of the recipe's ingredients to leave out (« sans oignons »).
    #[serde(default)]
    pub remove: Vec<String>,
    #[serde(default)]
    #[schema(max_length = 300)]
    pub notes: String,
}

impl NewLine {
    /// A product as a customer who chooses nothing gets it.
    pub fn plain(pizza_id: u64, quantity: u32) -> NewLine {
        NewLine {
            pizza_id,
            quantity,
            size: None,
            options: Vec::new(),
            remove: Vec::new(),
            notes: String::new(),
        }
    }

    /// Whether two lines are the same product with the same choices (a cart merges them).
    pub fn same_choice(&self, other: &NewLine) -> bool {
        let sorted = |v: &[String]| {
            let mut v = v.to_vec();
            v.sort();
            v.dedup();
            v
        };
        self.pizza_id == other.pizza_id
            && self.size.as_deref().unwrap_or("") == other.size.as_deref().unwrap_or("")
            && sorted(&self.options) == sorted(&other.options)
            && sorted(&self.remove) == sorted(&other.remove)
            && self.notes.trim() == other.notes.trim()
    }
}

/// Choices one line may carry (options or removals): more is not a pizza but a typing error.
const MAX_CHOICES: usize = 20;

#[derive(Clone, Debug)]
pub struct NewOrder {
    pub pizzeria_id: u64,
    pub customer_id: u64,
    pub channel: Channel,
    pub fulfilment: Fulfilment,
    pub payment_mode: PaymentMode,
    /// Paid on site: how the customer says they will pay (none for online, or not said).
    pub on_site_plan: Option<OnSitePlan>,
    pub customer_name: String,
    pub customer_phone: String,
    /// See [`crate::Order::contact_email`].
    pub contact_email: Option<String>,
    pub delivery: Option<DeliveryAddress>,
    /// `None`: as soon as possible.
    pub desired_at: Option<DateTime<Utc>>,
    pub notes: String,
    pub lines: Vec<NewLine>,
    /// Chosen by the client once per checkout: a double submit finds the first order.
    pub idempotency_key: String,
}

#[derive(Debug)]
pub enum Placed {
    Created(Order),
    /// The same customer already placed an order with this key: that order, unchanged.
    AlreadyPlaced(Order),
}

fn invalid(message: impl Into<String>) -> OrderError {
    OrderError::invalid(message)
}

/// Checks what can be checked without the database.
pub fn check_shape(new: &NewOrder) -> Result<(), OrderError> {
    let key = &new.idempotency_key;
    if !(8..=64).contains(&key.len())
        || !key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        return Err(invalid(
            "clé d'idempotence invalide (8 à 64 caractères parmi A-Z, a-z, 0-9, - et _)",
        ));
    }
    if new.lines.is_empty() {
        return Err(invalid("le panier est vide"));
    }
    if new.lines.len() > MAX_LINES {
        return Err(invalid(format!("{MAX_LINES} lignes au plus par commande")));
    }
    let mut pizzas = 0u32;
    for line in &new.lines {
        pizzas += Quantity::new(line.quantity)?.get();
        if line.options.len() > MAX_CHOICES || line.remove.len() > MAX_CHOICES {
            return Err(invalid(format!(
                "{MAX_CHOICES} options et {MAX_CHOICES} retraits au plus par pizza"
            )));
        }
        let codes = line.options.iter().chain(&line.remove).chain(&line.size);
        if codes.into_iter().any(|c| c.len() > 32) {
            return Err(invalid(
                "code d'option, de taille ou d'ingrédient trop long",
            ));
        }
        if line.notes.chars().count() > LINE_NOTES_MAX {
            return Err(invalid(format!(
                "la remarque d'une pizza dépasse {LINE_NOTES_MAX} caractères"
            )));
        }
    }
    if pizzas > MAX_PIZZAS {
        return Err(invalid(format!(
            "{MAX_PIZZAS} pizzas au plus par commande ; appelez la pizzeria pour une commande de groupe"
        )));
    }
    PersonName::parse(&new.customer_name)?;
    Phone::parse(&new.customer_phone)?;
    if new.notes.chars().count() > ORDER_NOTES_MAX {
        return Err(invalid(format!(
            "la remarque dépasse {ORDER_NOTES_MAX} caractères"
        )));
    }
    match (&new.fulfilment, &new.delivery) {
        (Fulfilment::Delivery, None) => return Err(invalid("indiquez l'adresse de livraison")),
        (Fulfilment::Delivery, Some(address)) => {
            DeliveryAddress::parse(address)?;
        }
        (Fulfilment::Pickup, _) => {}
    }
    Ok(())
}

/// Whether the shop takes an order for `desired` (`None`: now).
pub fn check_time(
    shop: &Pizzeria,
    desired: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Result<(), OrderError> {
    match desired {
        None if !shop.is_open_at(now) => Err(invalid(format!(
            "{} est fermée en ce moment (horaires : {}) : choisissez un créneau",
            shop.name, shop.opening_hours
        ))),
        None => Ok(()),
        Some(at) if at < now + MIN_LEAD => Err(invalid(
            "choisissez un créneau au moins 15 minutes après maintenant",
        )),
        Some(at) if at > now + MAX_AHEAD => Err(invalid(
            "les commandes se prennent au plus 7 jours à l'avance",
        )),
        Some(at) if !shop.is_open_at(at) => Err(invalid(format!(
            "{} est fermée à ce créneau (horaires : {})",
            shop.name, shop.opening_hours
        ))),
        Some(_) => Ok(()),
    }
}

/// The fee for delivering `subtotal` of pizzas to `postal_code`, if the shop delivers there
/// and the order reaches the zone's minimum (checkout and modification alike).
pub(crate) async fn delivery_fee(
    conn: &mut MySqlConnection,
    shop: &Pizzeria,
    postal_code: &str,
    subtotal: Cents,
) -> Result<Cents, OrderError> {
    let Some(terms) = catalog::zone::terms_for(conn, shop.id, postal_code).await? else {
        let zones = catalog::zone::zones(conn, shop.id).await?;
        let codes: Vec<&str> = zones
            .iter()
            .flat_map(|z| z.postal_codes.iter().map(String::as_str))
            .collect();
        return Err(invalid(if codes.is_empty() {
            format!("{} ne livre pas : choisissez « à emporter »", shop.name)
        } else {
            format!(
                "{} ne livre pas au {} : elle livre au {} ; choisissez « à emporter » ou une pizzeria plus proche",
                shop.name,
                postal_code.trim(),
                codes.join(", ")
            )
        }));
    };
    terms.check(subtotal, postal_code.trim()).map_err(invalid)?;
    Ok(terms.fee_for(subtotal))
}

/// « 19:40 », Paris time.
pub fn clock(at: DateTime<Utc>) -> String {
    at.with_timezone(&chrono_tz::Europe::Paris)
        .format("%H:%M")
        .to_string()
}

/// Where the order takes its place in the kitchen, under the lock of the shop's kitchen row
/// (held until the caller's transaction ends, so two checkouts for the last room of a quarter
/// queue up and the second sees the first's bookings): for « dès que possible » the first room
/// in the queue, for a slot the quarters before it or a refusal naming the next slot that fits.
/// `leaving`: an order being changed, whose old bookings do not count.
#[expect(
    clippy::too_many_arguments,
    reason = "what an order is, for the kitchen; a struct would only rename the arguments"
)]
pub(crate) async fn fit_kitchen(
    conn: &mut MySqlConnection,
    shop: &Pizzeria,
    fulfilment: Fulfilment,
    postal_code: Option<&str>,
    pizzas: u32,
    desired: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
    leaving: Option<u64>,
) -> Result<pace::Fit, OrderError> {
    let travel = match (fulfilment, postal_code) {
        (Fulfilment::Delivery, Some(code)) => {
            catalog::zone::travel_for(conn, shop.id, code).await?
        }
        _ => Duration::zero(),
    };
    let kitchen = pace::store::kitchen(conn, shop.id, now, leaving, true).await?;
    match desired {
        None => kitchen.asap(pizzas, travel, now).ok_or_else(|| {
            invalid(format!(
                "la cuisine de {} est complète pour les prochaines heures : choisissez un créneau plus tard",
                shop.name
            ))
        }),
        Some(at) => kitchen
            .scheduled(pizzas, travel, at, now)
            .map_err(|refusal| {
                let why = match refusal {
                    pace::Refusal::Full { .. } => "est complet en cuisine",
                    pace::Refusal::TooSoon { .. } => {
                        "est trop proche pour que la cuisine ait le temps de préparer cette commande"
                    }
                };
                invalid(match refusal.next() {
                    Some(next) => format!(
                        "le créneau de {} {why} : le prochain possible est {}",
                        clock(at),
                        clock(next)
                    ),
                    None => format!(
                        "le créneau de {} {why}, et les suivants aussi sont complets",
                        clock(at)
                    ),
                })
            }),
    }
}

/// Writes where the order stands in the kitchen: its bookings, when it should be started and
/// the time promised to the customer (the slot, or the queue's time rounded up to 5 minutes).
pub(crate) async fn book_kitchen(
    conn: &mut MySqlConnection,
    pizzeria_id: u64,
    order_id: u64,
    fit: &pace::Fit,
    desired: Option<DateTime<Utc>>,
) -> Result<(), sqlx::Error> {
    let promised = desired.unwrap_or_else(|| pace::rounded(fit.at_door));
    pace::store::write(conn, pizzeria_id, order_id, fit, promised).await?;
    sqlx::query("UPDATE orders SET promised_at = ?, kitchen_at = ? WHERE id = ?")
        .bind(promised)
        .bind(fit.starts_at)
        .bind(order_id)
        .execute(conn)
        .await?;
    Ok(())
}

/// A line as sold: its product, the composition the catalog worked out, and what it costs.
#[derive(Debug)]
pub(crate) struct PricedLine {
    pizza_id: u64,
    name: String,
    category: vocab::Category,
    vat_rate: VatRate,
    quantity: u32,
    notes: String,
    composed: catalog::product::Composed,
}

/// The priced lines of an order for this shop: each product must be on its menu with the
/// choices it offers, and together they must fit the shop's stock now, counting `held` (what
/// the order already reserved, by ingredient) as available to it.
pub(crate) async fn price_lines(
    conn: &mut MySqlConnection,
    pizzeria_id: u64,
    lines: &[NewLine],
    held: &BTreeMap<u64, i64>,
) -> Result<(Vec<PricedLine>, Cents), OrderError> {
    let menu = catalog::product::menu(conn, pizzeria_id).await?;
    let mut priced = Vec::with_capacity(lines.len());
    let mut total = Cents(0);
    let mut needs: BTreeMap<u64, i64> = BTreeMap::new();
    for line in lines {
        let product = menu.iter().find(|m| m.id == line.pizza_id).ok_or_else(|| {
            invalid(format!(
                "le produit n°{} n'est pas à la carte de cette pizzeria",
                line.pizza_id
            ))
        })?;
        if product.sold_out {
            return Err(invalid(format!(
                "« {} » est épuisée pour le moment : retirez-la de la commande",
                product.name
            )));
        }
        let composed = product
            .compose(catalog::Selection {
                size: line.size.as_deref(),
                options: &line.options,
                remove: &line.remove,
            })
            .map_err(|e| invalid(e.to_string()))?;
        total = composed
            .unit_price
            .checked_mul(line.quantity)
            .and_then(|amount| total.checked_add(amount))
            .ok_or_else(|| invalid("montant trop élevé"))?;
        for (&ingredient, &q) in &composed.needs {
            *needs.entry(ingredient).or_default() += i64::from(q) * i64::from(line.quantity);
        }
        priced.push(PricedLine {
            pizza_id: product.id,
            name: product.name.clone(),
            category: product.category,
            vat_rate: product.vat_rate,
            quantity: line.quantity,
            notes: line.notes.trim().to_owned(),
            composed,
        });
    }
    for (ingredient, need) in needs.iter_mut() {
        *need -= held.get(ingredient).copied().unwrap_or(0);
    }
    needs.retain(|_, n| *n > 0);
    let short = stock::shortfall(conn, pizzeria_id, &needs).await?;
    if !short.is_empty() {
        let names: Vec<&str> = short.iter().map(|s| s.name.as_str()).collect();
        return Err(invalid(format!(
            "il ne reste plus assez de {} pour cette commande : retirez ou changez un article",
            names.join(", ")
        )));
    }
    Ok((priced, total))
}

/// Writes the lines with their choices and what each unit takes from the stock.
pub(crate) async fn write_lines(
    conn: &mut MySqlConnection,
    order_id: u64,
    priced: &[PricedLine],
) -> Result<(), sqlx::Error> {
    for line in priced {
        let size = line.composed.size.as_ref();
        let line_id = sqlx::query(
            "INSERT INTO order_lines (order_id, pizza_id, pizza_name, size_code, size_name, category,
                 unit_price_cents, vat_rate, quantity, notes)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(order_id)
        .bind(line.pizza_id)
        .bind(&line.name)
        .bind(size.map(|s| &s.code))
        .bind(size.map(|s| &s.name))
        .bind(line.category)
        .bind(line.composed.unit_price.0)
        .bind(line.vat_rate)
        .bind(line.quantity)
        .bind(&line.notes)
        .execute(&mut *conn)
        .await?
        .last_insert_id();
        for (position, chosen) in line.composed.choices.iter().enumerate() {
            let kind = chosen.kind.as_str();
            sqlx::query(
                "INSERT INTO order_line_choices (order_line_id, position, kind, code, name, group_name, price_cents)
                 VALUES (?, ?, ?, ?, ?, ?, ?)",
            )
            .bind(line_id)
            .bind(u16::try_from(position).unwrap_or(u16::MAX))
            .bind(kind)
            .bind(&chosen.code)
            .bind(&chosen.name)
            .bind(&chosen.group_name)
            .bind(chosen.price.0)
            .execute(&mut *conn)
            .await?;
        }
        for (ingredient, quantity) in &line.composed.needs {
            sqlx::query(
                "INSERT INTO order_line_ingredients (order_line_id, ingredient_id, quantity) VALUES (?, ?, ?)",
            )
            .bind(line_id)
            .bind(ingredient)
            .bind(quantity)
            .execute(&mut *conn)
            .await?;
        }
    }
    Ok(())
}

/// The customer's order placed with this idempotency key, if any.
pub async fn find_by_key(
    conn: &mut MySqlConnection,
    customer_id: u64,
    key: &str,
) -> Result<Option<u64>, sqlx::Error> {
    sqlx::query_scalar("SELECT id FROM orders WHERE customer_id = ? AND idempotency_key = ?")
        .bind(customer_id)
        .bind(key)
        .fetch_optional(conn)
        .await
}

/// The order a guest (no account) already placed with this key and address: their record may
/// be new each time (`account::user::walk_in`), so the key and the address find it.
pub async fn find_guest_by_key(
    conn: &mut MySqlConnection,
    email: &str,
    key: &str,
) -> Result<Option<u64>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT o.id FROM orders o JOIN users u ON u.id = o.customer_id
         WHERE o.idempotency_key = ? AND o.channel = 'web'
           AND (o.contact_email = ? OR (o.contact_email IS NULL AND u.email = ?)) LIMIT 1",
    )
    .bind(key)
    .bind(email)
    .bind(email)
    .fetch_optional(conn)
    .await
}

/// The order a staff member already placed with this key (counter and phone orders, whose
/// customer record may be new each time). Locks the staff member's row first, so their double
/// submits queue up and the second finds the first's order.
pub async fn find_by_staff_key(
    conn: &mut MySqlConnection,
    staff_id: u64,
    key: &str,
) -> Result<Option<u64>, sqlx::Error> {
    sqlx::query("SELECT id FROM users WHERE id = ? FOR UPDATE")
        .bind(staff_id)
        .execute(&mut *conn)
        .await?;
    sqlx::query_scalar(
        "SELECT o.id FROM orders o JOIN order_status_history h ON h.order_id = o.id AND h.from_status IS NULL
         WHERE o.idempotency_key = ? AND h.actor_kind = 'staff' AND h.actor_user_id = ? LIMIT 1",
    )
    .bind(key)
    .bind(staff_id)
    .fetch_optional(conn)
    .await
}

/// Places `new` in the caller's transaction. An order paid online starts `awaiting_payment`
/// (the payment step moves it to `placed`); any other starts `placed` and its message is queued.
pub async fn place(
    conn: &mut MySqlConnection,
    new: &NewOrder,
    by: Actor,
    now: DateTime<Utc>,
) -> Result<Placed, OrderError> {
    check_shape(new)?;
    if let Some(id) = find_by_key(conn, new.customer_id, &new.idempotency_key).await? {
        return Ok(Placed::AlreadyPlaced(Order::load(conn, id).await?));
    }
    let shop = Pizzeria::find(conn, new.pizzeria_id)
        .await?
        .filter(|p| p.active)
        .ok_or_else(|| invalid("cette pizzeria n'existe pas ou ne prend pas de commandes"))?;
    match new.fulfilment {
        Fulfilment::Delivery if !shop.offers_delivery => {
            return Err(invalid(format!(
                "{} ne livre pas : choisissez « à emporter »",
                shop.name
            )));
        }
        Fulfilment::Pickup if !shop.offers_pickup => {
            return Err(invalid(format!(
                "{} ne fait pas de vente à emporter",
                shop.name
            )));
        }
        _ => {}
    }
    check_time(&shop, new.desired_at, now)?;
    let (priced, subtotal) = price_lines(conn, shop.id, &new.lines, &BTreeMap::new()).await?;
    let delivery_fee = match (&new.fulfilment, &new.delivery) {
        (Fulfilment::Delivery, Some(address)) => {
            delivery_fee(conn, &shop, &address.postal_code, subtotal).await?
        }
        _ => Cents(0),
    };
    let total = subtotal
        .checked_add(delivery_fee)
        .ok_or_else(|| invalid("montant de la commande trop élevé"))?;
    let plan = match (new.payment_mode, new.on_site_plan) {
        (PaymentMode::OnSite, Some(plan)) => {
            plan.check(total).map_err(invalid)?;
            Some(plan)
        }
        _ => None,
    };

    let cooked: u32 = priced
        .iter()
        .filter(|l| l.category.is_cooked())
        .map(|l| l.quantity)
        .sum();
    let postal_code = new.delivery.as_ref().map(|a| a.postal_code.as_str());
    let fit = fit_kitchen(
        conn,
        &shop,
        new.fulfilment,
        postal_code,
        cooked,
        new.desired_at,
        now,
        None,
    )
    .await?;

    let status = match new.payment_mode {
        PaymentMode::Online => OrderStatus::AwaitingPayment,
        PaymentMode::OnSite => OrderStatus::Placed,
    };
    let address = new
        .delivery
        .as_ref()
        .filter(|_| new.fulfilment == Fulfilment::Delivery);
    let inserted = sqlx::query(
        "INSERT INTO orders (pizzeria_id, customer_id, channel, fulfilment, status, payment_mode,
             on_site_method, change_for_cents,
             customer_name, customer_phone, contact_email, delivery_street, delivery_complement,
             delivery_postal_code, delivery_city, delivery_instructions, desired_at, notes, total_cents,
             delivery_fee_cents, idempotency_key)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(shop.id)
    .bind(new.customer_id)
    .bind(new.channel)
    .bind(new.fulfilment)
    .bind(status)
    .bind(new.payment_mode)
    .bind(plan.map(|p| p.method))
    .bind(plan.and_then(|p| p.change_for).map(|c| c.0))
    .bind(new.customer_name.trim())
    .bind(new.customer_phone.trim())
    .bind(&new.contact_email)
    .bind(address.map(|a| a.street.trim()))
    .bind(address.map(|a| a.complement.trim()))
    .bind(address.map(|a| a.postal_code.trim()))
    .bind(address.map(|a| a.city.trim()))
    .bind(address.map(|a| a.instructions.trim()))
    .bind(new.desired_at)
    .bind(new.notes.trim())
    .bind(total.0)
    .bind(delivery_fee.0)
    .bind(&new.idempotency_key)
    .execute(&mut *conn)
    .await;
    let order_id = match inserted {
        Ok(done) => done.last_insert_id(),
        // A double submit racing this one committed first.
        Err(e) if db_unique(&e) => {
            let id = find_by_key(conn, new.customer_id, &new.idempotency_key)
                .await?
                .ok_or(OrderError::Db(e))?;
            return Ok(Placed::AlreadyPlaced(Order::load(conn, id).await?));
        }
        Err(e) => return Err(e.into()),
    };
    write_lines(conn, order_id, &priced).await?;
    book_kitchen(conn, shop.id, order_id, &fit, new.desired_at).await?;
    record_history(conn, order_id, None, status, by, "").await?;
    let order = Order::load(conn, order_id).await?;
    if status == OrderStatus::Placed {
        let event = announcement(&order, status, by);
        outbox::enqueue(conn, &Envelope::new(event)).await?;
    }
    Ok(Placed::Created(order))
}

fn db_unique(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(db) if db.kind() == sqlx::error::ErrorKind::UniqueViolation)
}
