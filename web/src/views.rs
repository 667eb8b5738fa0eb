//! What the customer's pages, the staff screens and the JSON API all show: an order, a shop,
//! a menu, a time in Paris. One view per thing, so a page and the API never disagree.

use catalog::Pizzeria;
use chrono::{DateTime, NaiveDateTime, TimeZone, Utc};
use chrono_tz::Europe::Paris;
use order::Order;
use serde::Serialize;
use sqlx::MySqlConnection;
use vocab::{DeliveryAddress, OrderStatus, PaymentMode};

use crate::error::WebError;

#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct ShopView {
    pub code: String,
    pub name: String,
    pub address: String,
    pub phone: String,
    pub hours: String,
    pub closed_days: String,
    pub offers_delivery: bool,
    pub offers_pickup: bool,
    pub open_now: bool,
    /// When closed: when it next takes orders (« aujourd'hui à 18:00 », « demain à 11:30 »).
    pub next_open: Option<String>,
}

const DAYS_FR: [(&str, &str); 7] = [
    ("mon", "lundi"),
    ("tue", "mardi"),
    ("wed", "mercredi"),
    ("thu", "jeudi"),
    ("fri", "vendredi"),
    ("sat", "samedi"),
    ("sun", "dimanche"),
];

impl From<&Pizzeria> for ShopView {
    fn from(p: &Pizzeria) -> ShopView {
        let closed: Vec<&str> = p
            .closed_days
            .split_whitespace()
            .filter_map(|d| DAYS_FR.iter().find(|(en, _)| *en == d).map(|(_, fr)| *fr))
            .collect();
        ShopView {
            code: p.code.clone(),
            name: p.name.clone(),
            address: p.address_line(),
            phone: p.phone.clone(),
            hours: p.opening_hours.replace(' ', ", ").replace('-', "–"),
            closed_days: closed.join(", "),
            offers_delivery: p.offers_delivery,
            offers_pickup: p.offers_pickup,
            open_now: p.is_open_at(Utc::now()),
            next_open: p.next_opening(Utc::now()).map(|t| day_fr(t, Utc::now())),
        }
    }
}

#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct MenuItemView {
    pub pizza_id: u64,
    pub code: String,
    pub name: String,
    pub description: String,
    /// `pizza`, `starter`, `drink` or `dessert`.
    pub category: &'static str,
    pub category_label: &'static str,
    /// The price as a customer who chooses nothing pays it (the default size's).
    pub price: String,
    pub price_cents: u32,
    /// Whether the shop can sell one more right now (its stock covers it and it is not « 86 »).
    pub available: bool,
    /// Stopped for now by the shop (« 86 »), as opposed to short of an ingredient.
    pub sold_out: bool,
    /// Empty for a product sold in one size.
    pub sizes: Vec<SizeView>,
    pub groups: Vec<GroupView>,
    /// Ingredients the customer may ask to leave out.
    pub removable: Vec<RemovableView>,
    /// Allergen codes of the dish as it comes (`gluten`, `milk`…, EU regulation 1169/2011).
    pub allergens: Vec<&'static str>,
    /// « gluten, lait ».
    pub allergens_label: String,
    pub vegetarian: bool,
    pub vegan: bool,
    pub spicy: bool,
}

#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct SizeView {
    pub code: String,
    pub name: String,
    pub price: String,
    pub price_cents: u32,
    pub default: bool,
    pub available: bool,
}

#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct GroupView {
    pub code: String,
    pub name: String,
    pub min: u8,
    pub max: u8,
    /// « 2 au plus », « 1 au choix ».
    pub rule: String,
    pub options: Vec<OptionView>,
}

#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct OptionView {
    pub code: String,
    pub name: String,
    /// At the default size; `prices` gives each size's.
    pub price_cents: u32,
    /// « +1,50 € » (« +1,50 € · 40 cm : +2,50 € » when a size costs more); empty when free.
    pub price_label: String,
    /// Price by size code.
    pub prices: std::collections::BTreeMap<String, u32>,
    pub default: bool,
    /// Its ingredient is in stock for one more (on the default size).
    pub available: bool,
    pub allergens: Vec<&'static str>,
}

#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct RemovableView {
    pub code: String,
    pub name: String,
}

fn plus(c: vocab::Cents) -> String {
    format!("+{c}")
}

impl MenuItemView {
    pub fn new(p: &catalog::Product, stock: &std::collections::BTreeMap<u64, i64>) -> MenuItemView {
        let availability = p.availability(stock);
        let facts = p.facts();
        let default = p.default_size();
        let groups = p
            .groups
            .iter()
            .map(|g| GroupView {
                code: g.code.clone(),
                name: g.name.clone(),
                min: g.min,
                max: g.max,
                rule: match (g.min, g.max) {
                    (1, 1) => "1 au choix".to_owned(),
                    (0, max) => format!("{max} au plus"),
                    (min, max) if min == max => format!("{min} au choix"),
                    (min, max) => format!("de {min} à {max}"),
                },
                options: g
                    .options
                    .iter()
                    .map(|o| {
                        let base = o.price_for(default);
                        let others: Vec<String> = p
                            .sizes
                            .iter()
                            .filter(|s| o.price_for(Some(s)) != base)
                            .map(|s| format!("{} : {}", s.name, plus(o.price_for(Some(s)))))
                            .collect();
                        let price_label = match (base.0, others.is_empty()) {
                            (0, true) => String::new(),
                            (_, true) => plus(base),
                            (_, false) => format!("{} · {}", plus(base), others.join(" · ")),
                        };
                        OptionView {
                            code: o.code.clone(),
                            name: o.name.clone(),
                            price_cents: base.0,
                            price_label,
                            prices: p
                                .sizes
                                .iter()
                                .map(|s| (s.code.clone(), o.price_for(Some(s)).0))
                                .collect(),
                            default: o.is_default,
                            available: availability.options.get(&o.code).copied().unwrap_or(true),
                            allergens: o
                                .adds
                                .as_ref()
                                .map(|a| {
                                    a.facts
                                        .allergens
                                        .iter()
                                        .map(vocab::Allergen::as_str)
                                        .collect()
                                })
                                .unwrap_or_default(),
                        }
                    })
                    .collect(),
            })
            .collect();
        MenuItemView {
            pizza_id: p.id,
            code: p.code.clone(),
            name: p.name.clone(),
            description: p.description.clone(),
            category: p.category.as_str(),
            category_label: p.category.label_fr(),
            price: p.base_price().to_string(),
            price_cents: p.base_price().0,
            available: availability.available,
            sold_out: p.sold_out,
            sizes: p
                .sizes
                .iter()
                .map(|s| SizeView {
                    code: s.code.clone(),
                    name: s.name.clone(),
                    price: s.price.to_string(),
                    price_cents: s.price.0,
                    default: default.is_some_and(|d| d.id == s.id),
                    available: availability.sizes.get(&s.code).copied().unwrap_or(false),
                })
                .collect(),
            groups,
            removable: p
                .recipe
                .iter()
                .filter(|i| i.removable)
                .map(|i| RemovableView {
                    code: i.code.clone(),
                    name: i.name.clone(),
                })
                .collect(),
            allergens: facts
                .allergens
                .iter()
                .map(vocab::Allergen::as_str)
                .collect(),
            allergens_label: facts.allergens.label_fr(),
            vegetarian: facts.diet != vocab::Diet::Animal,
            vegan: facts.diet == vocab::Diet::Vegan,
            spicy: facts.spicy,
        }
    }
}

/// The shop's menu with what can be sold now from its stock (unavailable products, sizes and
/// options are listed as such).
pub async fn menu(
    conn: &mut MySqlConnection,
    pizzeria_id: u64,
) -> Result<Vec<MenuItemView>, WebError> {
    let products = catalog::product::menu(conn, pizzeria_id).await?;
    let stock = stock::quantities(conn, pizzeria_id).await?;
    Ok(products
        .iter()
        .map(|p| MenuItemView::new(p, &stock))
        .collect())
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct LineView {
    /// The line's number, for changing it.
    id: u64,
    pizza_id: u64,
    name: String,
    /// The size's name (« 40 cm »), if the product has sizes.
    size: Option<String>,
    /// Options as sold (« + Mozzarella », « Base crème »).
    options: Vec<String>,
    /// Ingredients left out (« sans Oignons »).
    removed: Vec<String>,
    /// All of it in one line: « 40 cm · + Mozzarella · sans Oignons ».
    detail: String,
    /// The remark speaks of an allergy: shown so that it cannot be missed.
    allergy: bool,
    quantity: u32,
    notes: String,
    amount: String,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct OrderView {
    id: u64,
    version: u32,
    status: &'static str,
    status_label: &'static str,
    rejection_reason: Option<String>,
    fulfilment_label: &'static str,
    when: String,
    /// When it was promised ready (pickup) or at the door (delivery).
    promised_at: Option<DateTime<Utc>>,
    /// What the live page compares with the stream's (`orders::stamp`).
    stamp: String,
    total: String,
    /// « 2,50 € » when the order pays a delivery fee.
    delivery_fee: Option<String>,
    payment_label: String,
    address: Option<String>,
    /// What the customer typed for the rider and the pizzeria.
    complement: String,
    instructions: String,
    notes: String,
    lines: Vec<LineView>,
    modifiable: bool,
    awaiting_payment: bool,
    created: String,
}

impl OrderView {
    pub fn address(&self) -> Option<&str> {
        self.address.as_deref()
    }
}

/// A day and time in Paris as a customer reads it: « aujourd'hui à 18:00 », « demain à
/// 11:30 », « vendredi 04/12 à 11:30 ».
pub fn day_fr(at: DateTime<Utc>, now: DateTime<Utc>) -> String {
    let local = at.with_timezone(&Paris);
    format!("{} à {}", day_name_fr(at, now), local.format("%H:%M"))
}

/// « aujourd'hui », « demain », « vendredi 04/12 ».
pub fn day_name_fr(at: DateTime<Utc>, now: DateTime<Utc>) -> String {
    use chrono::Datelike;
    let (day, today) = (
        at.with_timezone(&Paris).date_naive(),
        now.with_timezone(&Paris).date_naive(),
    );
    if day == today {
        "aujourd'hui".into()
    } else if today.succ_opt() == Some(day) {
        "demain".into()
    } else {
        let name = catalog::hours::DAYS_FR[day.weekday().num_days_from_monday() as usize];
        format!("{name} {}", day.format("%d/%m"))
    }
}

/// What the kitchen can promise an order of `pizzas` (cooked items) from `shop` now: its time
/// for « dès que possible », and the slots it can still make (the shop open, at least the
/// minimum lead from now, the next three days), grouped by day as the form's values
/// (`2026-12-02T19:30`), each with the pizzas its kitchen quarter has left. A full slot is not
/// offered; checkout decides for real under the kitchen's lock.
pub struct Offer {
    pub asap: Option<pace::Promise>,
    pub days: Vec<serde_json::Value>,
}

pub async fn kitchen_offer(
    conn: &mut MySqlConnection,
    shop: &Pizzeria,
    pizzas: u32,
    travel: chrono::Duration,
    now: DateTime<Utc>,
) -> Result<Offer, WebError> {
    let kitchen = pace::store::kitchen(conn, shop.id, now, None, false).await?;
    let asap = shop
        .is_open_at(now)
        .then(|| kitchen.promise(pizzas, travel, now))
        .flatten();
    let mut days: Vec<serde_json::Value> = Vec::new();
    for at in shop.slots(now + order::place::MIN_LEAD, 3) {
        let Some(fit) = kitchen.takes(pizzas, travel, at, now) else {
            continue;
        };
        let left = fit
            .bookings
            .first()
            .map_or(kitchen.capacity.per_quarter, |(q, _)| kitchen.left(*q, now));
        let local = at.with_timezone(&Paris);
        let day = day_name_fr(at, now);
        let slot = serde_json::json!({
            "value": local.format("%Y-%m-%dT%H:%M").to_string(),
            "label": local.format("%H:%M").to_string(),
            "at": at,
            "left": left,
        });
        match days.last_mut() {
            Some(d) if d["day"] == day => d["slots"].as_array_mut().expect("a list").push(slot),
            _ => days.push(serde_json::json!({ "day": day, "slots": [slot] })),
        }
    }
    Ok(Offer { asap, days })
}

/// « 19:40 », Paris time.
pub fn clock(at: DateTime<Utc>) -> String {
    at.with_timezone(&Paris).format("%H:%M").to_string()
}

pub fn paris(at: DateTime<Utc>) -> String {
    at.with_timezone(&Paris)
        .format("%d/%m/%Y %H:%M")
        .to_string()
}

pub fn order_view(o: &Order) -> OrderView {
    OrderView {
        id: o.id,
        version: o.version,
        status: o.status.as_str(),
        status_label: o.status_label(),
        rejection_reason: o.rejection_reason.clone(),
        fulfilment_label: o.fulfilment.label_fr(),
        when: match (o.desired_at, o.promise_fr()) {
            (Some(t), Some(promise)) => format!(
                "pour le {}, mais la cuisine a pris du retard : {promise}",
                paris(t)
            ),
            (Some(t), None) => format!("pour le {}", paris(t)),
            (None, Some(promise)) => format!("dès que possible, {promise}"),
            (None, None) => "dès que possible".into(),
        },
        promised_at: o.promised_at,
        stamp: crate::orders::stamp(o.version, o.promised_at),
        total: o.total.to_string(),
        delivery_fee: (o.delivery_fee.0 > 0).then(|| o.delivery_fee.to_string()),
        payment_label: match o.payment_mode {
            PaymentMode::Online => "Paiement en ligne".into(),
            PaymentMode::OnSite => match o.on_site_plan {
                Some(plan) => format!(
                    "À régler sur place : {} — {}",
                    o.total,
                    plan.describe(o.total)
                ),
                None => format!("À régler sur place : {}", o.total),
            },
        },
        address: o.delivery.as_ref().map(DeliveryAddress::one_line),
        complement: o
            .delivery
            .as_ref()
            .map(|d| d.complement.clone())
            .unwrap_or_default(),
        instructions: o
            .delivery
            .as_ref()
            .map(|d| d.instructions.clone())
            .unwrap_or_default(),
        notes: o.notes.clone(),
        lines: o
            .lines
            .iter()
            .map(|l| LineView {
                id: l.id,
                pizza_id: l.pizza_id,
                name: l.pizza_name.clone(),
                size: l.size_name.clone(),
                options: l
                    .options()
                    .map(order::record::LineChoice::label_fr)
                    .collect(),
                removed: l
                    .removals()
                    .map(order::record::LineChoice::label_fr)
                    .collect(),
                detail: l.detail_fr(),
                allergy: vocab::dish::mentions_allergy(&l.notes),
                quantity: l.quantity,
                notes: l.notes.clone(),
                amount: l.unit_price.saturating_mul(l.quantity).to_string(),
            })
            .collect(),
        modifiable: o.status.is_modifiable(),
        awaiting_payment: o.status == OrderStatus::AwaitingPayment,
        created: paris(o.created_at),
    }
}

/// A local (Paris) date and time from a form, in UTC.
pub fn parse_local(raw: &str) -> Result<DateTime<Utc>, WebError> {
    let naive = NaiveDateTime::parse_from_str(raw.trim(), "%Y-%m-%dT%H:%M").map_err(|_| {
        WebError::Invalid("créneau invalide : choisissez une date et une heure".into())
    })?;
    Paris
        .from_local_datetime(&naive)
        .earliest()
        .map(|t| t.with_timezone(&Utc))
        .ok_or_else(|| WebError::Invalid("cette heure n'existe pas (changement d'heure)".into()))
}
