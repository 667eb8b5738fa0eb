//! The cart page, checkout, online payment, and the customer's orders: status with live
//! updates, history, modification and cancellation until the kitchen starts. A customer only
//! ever sees their own orders; anyone else's id answers 404.

use std::convert::Infallible;
use std::time::Duration;

use crate::extract::Form;
use crate::extract::{Path, Query};
use axum::extract::State;
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use axum::response::{Html, IntoResponse, Redirect, Response};
use catalog::Pizzeria;
use chrono::{DateTime, Utc};
use chrono_tz::Europe::Paris;
use futures_util::Stream;
use minijinja::context;
use order::{NewLine, NewOrder, Order, Placed};
use serde::{Deserialize, Serialize};

use crate::cart::Cart;
use crate::error::WebError;
use crate::lookup::{Viewer, viewed_order};
use crate::page::{Page, flash};
use crate::session::{CurrentUser, MaybeUser};
use crate::state::AppState;
use crate::views::{ShopView, menu};
use crate::views::{order_view, paris, parse_local};
use vocab::{
    Actor, Cents, Channel, DeliveryAddress, Fulfilment, OrderStatus, PaymentMode, PersonName,
    Phone, Quantity,
};

#[derive(Serialize)]
struct CartLineView {
    index: usize,
    name: String,
    /// « 40 cm · + Mozzarella · sans Oignons ».
    detail: String,
    notes: String,
    quantity: u32,
    amount: String,
    available: bool,
    /// Why it cannot be ordered as it is (an option no longer offered…).
    problem: Option<String>,
}

pub async fn cart_page(State(state): State<AppState>, page: Page) -> Result<Response, WebError> {
    render_cart(&state, &page, None).await
}

/// Why checkout sent the customer back: the message, the field it belongs next to (if one),
/// and everything they had typed and chosen, which the form shows again.
struct Refusal<'a> {
    message: String,
    field: Option<&'static str>,
    form: &'a CheckoutForm,
}

async fn render_cart(
    state: &AppState,
    page: &Page,
    refusal: Option<Refusal<'_>>,
) -> Result<Response, WebError> {
    let cart = Cart::load(&page.session).await?;
    let mut conn = state.pool.acquire().await?;
    let shop = match cart.pizzeria_id {
        Some(id) => Pizzeria::find(&mut conn, id).await?,
        None => None,
    };
    let Some(shop) = shop.filter(|_| !cart.lines.is_empty()) else {
        return Ok(page
            .render("cart.html", context! { lines => Vec::<u8>::new() })?
            .into_response());
    };
    let products = catalog::product::menu(&mut conn, shop.id).await?;
    let stock = stock::quantities(&mut conn, shop.id).await?;
    let mut total = Cents(0);
    let mut lines = Vec::new();
    let mut cooked = 0;
    for (index, line) in cart.lines.iter().enumerate() {
        let Some(product) = products.iter().find(|p| p.id == line.pizza_id) else {
            continue;
        };
        if product.category.is_cooked() {
            cooked += line.quantity;
        }
        let (amount, detail, available, problem) = match product.compose(selection(line)) {
            Ok(c) => {
                let amount = c.unit_price.saturating_mul(line.quantity);
                total = total.saturating_add(amount);
                let choices: Vec<order::record::LineChoice> =
                    c.choices.iter().map(Into::into).collect();
                let fits = c.needs.iter().all(|(id, q)| {
                    stock.get(id).copied().unwrap_or(0) >= i64::from(*q) * i64::from(line.quantity)
                });
                let detail =
                    order::record::detail_fr(c.size.as_ref().map(|s| s.name.as_str()), &choices);
                (amount.to_string(), detail, fits && !product.sold_out, None)
            }
            Err(e) => (String::new(), String::new(), false, Some(e.to_string())),
        };
        lines.push(CartLineView {
            index,
            name: product.name.clone(),
            detail,
            notes: line.notes.clone(),
            quantity: line.quantity,
            amount,
            available,
            problem,
        });
    }
    let addresses = match &page.user {
        Some(u) => account::address::list(&mut conn, u.id).await?,
        None => Vec::new(),
    };
    // Each saved address says what delivering there costs for this cart, before checkout.
    let mut address_views = Vec::new();
    for a in &addresses {
        let note = match catalog::zone::terms_for(&mut conn, shop.id, &a.postal_code).await? {
            None => "hors zone de livraison".to_owned(),
            Some(t) if t.check(total, &a.postal_code).is_err() => {
                format!("minimum {} pour cette adresse", t.minimum)
            }
            Some(t) if t.fee_for(total) == Cents(0) => "livraison offerte".to_owned(),
            Some(t) => format!("livraison {}", t.fee_for(total)),
        };
        address_views.push(context! { note => note, ..minijinja::Value::from_serialize(a) });
    }
    let zones: Vec<String> = catalog::zone::zones(&mut conn, shop.id)
        .await?
        .iter()
        .map(catalog::zone::Zone::describe)
        .collect();
    let status = if refusal.is_some() {
        axum::http::StatusCode::UNPROCESSABLE_ENTITY
    } else {
        axum::http::StatusCode::OK
    };
    // Nothing was placed with the refused form's key: the corrected form may use it again.
    let idempotency_key = refusal
        .as_ref()
        .map(|r| r.form.idempotency_key.clone())
        .unwrap_or_else(|| uuid::Uuid::new_v4().simple().to_string());
    // What the kitchen can promise this cart, said before checkout (the payment page and the
    // order then say the exact time, with the address's ride).
    let offer = crate::views::kitchen_offer(
        &mut conn,
        &shop,
        cooked,
        chrono::Duration::zero(),
        Utc::now(),
    )
    .await?;
    let ride = chrono::Duration::minutes(20);
    let asap = offer.asap.as_ref().map(|p| {
        let ready = pace::rounded(p.fit.ready_at);
        context! {
            ready => crate::views::clock(ready),
            door => crate::views::clock(pace::rounded(p.fit.ready_at + ride)),
            beyond => p.beyond,
        }
    });
    let slots = offer.days;
    let html = page.render(
        "cart.html",
        context! {
            shop => ShopView::from(&shop),
            lines => lines,
            total => total.to_string(),
            addresses => address_views,
            zones => zones,
            idempotency_key => idempotency_key,
            error => refusal.as_ref().map(|r| r.message.clone()),
            error_field => refusal.as_ref().and_then(|r| r.field),
            form => refusal.as_ref().map(|r| r.form),
            tenders => crate::staff::tenders(),
            slot_values => slots.iter().flat_map(|d| d["slots"].as_array().cloned().unwrap_or_default()).filter_map(|s| s["value"].as_str().map(str::to_owned)).collect::<Vec<_>>(),
            slots => slots,
            asap => asap,
        },
    )?;
    Ok((status, html).into_response())
}

fn selection(line: &NewLine) -> catalog::Selection<'_> {
    catalog::Selection {
        size: line.size.as_deref(),
        options: &line.options,
        remove: &line.remove,
    }
}

/// The menu card's form, read from its fields: `size`, `option` (repeated checkboxes),
/// `group_{code}` (a choice among alternatives), `remove` (repeated), `notes`, `quantity`.
struct Added {
    pizzeria: String,
    line: NewLine,
    /// « Vider le panier et ajouter »: the customer agreed to drop another pizzeria's cart.
    replace: bool,
}

fn read_added(fields: &[(String, String)]) -> Result<Added, WebError> {
    let refused =
        || WebError::Invalid("formulaire invalide : rechargez la page et recommencez".into());
    let one = |name: &str| {
        fields
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.trim())
    };
    let pizza_id = one("pizza_id")
        .and_then(|v| v.parse::<u64>().ok())
        .ok_or_else(refused)?;
    let quantity = match one("quantity") {
        None | Some("") => 1,
        Some(raw) => raw
            .parse::<u32>()
            .map_err(|_| WebError::Invalid("quantité invalide : un nombre de 1 à 20".into()))?,
    };
    let many = |pick: &dyn Fn(&str) -> bool| -> Vec<String> {
        fields
            .iter()
            .filter(|(k, v)| pick(k) && !v.trim().is_empty())
            .map(|(_, v)| v.trim().to_owned())
            .collect()
    };
    let line = NewLine {
        pizza_id,
        quantity,
        size: one("size").filter(|s| !s.is_empty()).map(str::to_owned),
        options: many(&|k| k == "option" || k.starts_with("group_")),
        remove: many(&|k| k == "remove"),
        notes: one("notes").unwrap_or("").to_owned(),
    };
    Ok(Added {
        pizzeria: one("pizzeria").ok_or_else(refused)?.to_owned(),
        line,
        replace: one("replace") == Some("1"),
    })
}

/// The shop page's query that brings a line back into its card (`pizza`, `quantite`,
/// `taille`, `options`, `sans` as comma-separated codes, `note`): after a refusal, and for the
/// question « vider le panier ? ».
pub fn line_query(line: &NewLine) -> String {
    let mut q = url::form_urlencoded::Serializer::new(String::new());
    q.append_pair("pizza", &line.pizza_id.to_string());
    q.append_pair("quantite", &line.quantity.to_string());
    if let Some(size) = &line.size {
        q.append_pair("taille", size);
    }
    if !line.options.is_empty() {
        q.append_pair("options", &line.options.join(","));
    }
    if !line.remove.is_empty() {
        q.append_pair("sans", &line.remove.join(","));
    }
    if !line.notes.is_empty() {
        q.append_pair("note", &line.notes);
    }
    q.finish()
}

pub async fn add_to_cart(
    State(state): State<AppState>,
    page: Page,
    Form(fields): Form<Vec<(String, String)>>,
) -> Result<Redirect, WebError> {
    let added = read_added(&fields)?;
    let mut conn = state.pool.acquire().await?;
    let shop = crate::lookup::active_shop(&mut conn, &added.pizzeria).await?;
    let products = catalog::product::menu(&mut conn, shop.id).await?;
    let product = products
        .iter()
        .find(|m| m.id == added.line.pizza_id)
        .ok_or_else(|| {
            WebError::Invalid("ce produit n'est pas à la carte de cette pizzeria".into())
        })?;
    let back = format!("/pizzerias/{}?{}", shop.code, line_query(&added.line));
    // Refused choices come back in the card, with why, for the customer to fix.
    let quantity = match Quantity::new(added.line.quantity) {
        Ok(q) => q,
        Err(e) => {
            flash(&page.session, e.to_string()).await?;
            return Ok(Redirect::to(&back));
        }
    };
    if added.line.notes.chars().count() > vocab::input::LINE_NOTES_MAX {
        let message = format!(
            "la remarque dépasse {} caractères",
            vocab::input::LINE_NOTES_MAX
        );
        flash(&page.session, message).await?;
        return Ok(Redirect::to(&back));
    }
    if let Err(e) = product.compose(selection(&added.line)) {
        flash(&page.session, format!("{} : {e}.", product.name)).await?;
        return Ok(Redirect::to(&back));
    }
    let mut cart = Cart::load(&page.session).await?;
    if cart.holds_another(shop.id) && !added.replace {
        // Never empty a cart behind the customer's back: the page asks first.
        return Ok(Redirect::to(&format!("{back}&remplacer=1")));
    }
    let replaced = cart.add(shop.id, added.line, quantity);
    cart.save(&page.session).await?;
    let message = if replaced {
        "Votre panier d'une autre pizzeria a été remplacé."
    } else {
        "Ajouté au panier."
    };
    flash(&page.session, message).await?;
    Ok(Redirect::to(&format!("/pizzerias/{}", shop.code)))
}

#[derive(Deserialize)]
pub struct SetForm {
    line: usize,
    quantity: u32,
}

pub async fn update_cart(page: Page, Form(form): Form<SetForm>) -> Result<Redirect, WebError> {
    let mut cart = Cart::load(&page.session).await?;
    cart.set(form.line, form.quantity);
    cart.save(&page.session).await?;
    Ok(Redirect::to("/panier"))
}

#[derive(Debug, Deserialize, Serialize)]
pub struct CheckoutForm {
    idempotency_key: String,
    /// Ordering without an account: who, and where the confirmation goes.
    #[serde(default)]
    full_name: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    phone: String,
    #[serde(default)]
    fulfilment: Option<Fulfilment>,
    #[serde(default)]
    address_id: String,
    #[serde(default)]
    street: String,
    #[serde(default)]
    complement: String,
    #[serde(default)]
    postal_code: String,
    #[serde(default)]
    city: String,
    #[serde(default)]
    instructions: String,
    #[serde(default)]
    when: String,
    #[serde(default)]
    slot: String,
    #[serde(default)]
    payment: Option<PaymentMode>,
    /// Paid on site: how (`cash`, `card`, `meal_voucher`, `cheque`), and for cash what the
    /// customer will hand over.
    #[serde(default)]
    on_site_method: String,
    #[serde(default)]
    change_for: String,
    #[serde(default)]
    notes: String,
}

pub async fn checkout(
    State(state): State<AppState>,
    MaybeUser(user): MaybeUser,
    page: Page,
    Form(form): Form<CheckoutForm>,
) -> Result<Response, WebError> {
    match crate::error::retried(|| place_from_cart(&state, user.as_ref(), &page, &form)).await {
        Ok(order) => {
            Cart::clear(&page.session).await?;
            // A guest follows their order by its key, as the confirmation e-mail's link does.
            let key = match user {
                Some(_) => String::new(),
                None => format!("?cle={}", state.signer.order_key(order.id)),
            };
            let next = if order.status == OrderStatus::AwaitingPayment {
                format!("/commandes/{}/paiement{key}", order.id)
            } else {
                format!("/commandes/{}{key}", order.id)
            };
            Ok(Redirect::to(&next).into_response())
        }
        Err(Refused::Field(field, message)) => {
            let refusal = Refusal {
                message,
                field: Some(field),
                form: &form,
            };
            render_cart(&state, &page, Some(refusal)).await
        }
        Err(Refused::Web(WebError::Invalid(message))) => {
            let refusal = Refusal {
                message,
                field: None,
                form: &form,
            };
            render_cart(&state, &page, Some(refusal)).await
        }
        Err(Refused::Web(e)) => Err(e),
    }
}

/// A checkout refused: for a field (its name and the message shown beside it), or anything
/// else.
enum Refused {
    Field(&'static str, String),
    Web(WebError),
}

impl crate::error::Transient for Refused {
    fn transient(&self) -> bool {
        matches!(self, Refused::Web(e) if crate::error::Transient::transient(e))
    }
}

impl<E: Into<WebError>> From<E> for Refused {
    fn from(e: E) -> Self {
        Refused::Web(e.into())
    }
}

fn beside(e: vocab::InputError) -> Refused {
    Refused::Field(e.field(), e.to_string())
}

/// Who a checkout's order is for: the logged-in customer, or a guest filed by
/// `account::user::walk_in` (never under an account that has not proved the address).
struct Buyer {
    customer_id: u64,
    contact_email: Option<String>,
    name: String,
    phone: String,
}

async fn place_from_cart(
    state: &AppState,
    user: Option<&account::user::User>,
    page: &Page,
    form: &CheckoutForm,
) -> Result<Order, Refused> {
    // Checked before anything is written: a guest's name, address and phone.
    let guest = match user {
        Some(_) => None,
        None => {
            let name = PersonName::parse(&form.full_name).map_err(beside)?;
            let email = account::Email::parse(&form.email)
                .map_err(|e| Refused::Field("email", e.to_string()))?;
            let phone = Phone::parse(&form.phone).map_err(beside)?.ok_or_else(|| {
                Refused::Field(
                    "phone",
                    "indiquez un numéro de téléphone : la pizzeria ou le livreur peut avoir à vous appeler".into(),
                )
            })?;
            Some((name, email, phone))
        }
    };
    // A second submit of the same form finds the order the first one placed (and emptied the
    // cart for): the customer lands on that order instead of an error.
    {
        let mut conn = state.pool.acquire().await?;
        let placed = match (user, &guest) {
            (Some(u), _) => {
                order::place::find_by_key(&mut conn, u.id, &form.idempotency_key).await?
            }
            (None, Some((_, email, _))) => {
                order::place::find_guest_by_key(&mut conn, email.as_str(), &form.idempotency_key)
                    .await?
            }
            (None, None) => None,
        };
        if let Some(id) = placed {
            return Ok(Order::load(&mut conn, id).await?);
        }
    }
    let cart = Cart::load(&page.session).await?;
    let pizzeria_id = cart
        .pizzeria_id
        .filter(|_| !cart.lines.is_empty())
        .ok_or_else(|| WebError::Invalid("le panier est vide".into()))?;
    let fulfilment = form
        .fulfilment
        .ok_or_else(|| WebError::Invalid("choisissez la livraison ou le retrait".into()))?;
    let payment_mode = form
        .payment
        .ok_or_else(|| WebError::Invalid("choisissez un mode de paiement".into()))?;
    let desired_at = match form.when.as_str() {
        "slot" => Some(parse_local(&form.slot)?),
        _ => None,
    };
    // Saying how is optional (« je verrai »): the rider then brings change for any note.
    let on_site_plan = match (payment_mode, form.on_site_method.as_str()) {
        (PaymentMode::Online, _) | (PaymentMode::OnSite, "") => None,
        (PaymentMode::OnSite, raw) => Some(vocab::OnSitePlan {
            method: vocab::PaymentMethod::parse(raw)
                .filter(|m| vocab::PaymentMethod::ON_SITE.contains(m))
                .ok_or_else(|| WebError::Invalid("moyen de paiement sur place inconnu".into()))?,
            change_for: match form.change_for.trim() {
                "" => None,
                raw => Some(Cents::parse_eur(raw).ok_or_else(|| {
                    WebError::Invalid("montant du rendu invalide : par exemple 50".into())
                })?),
            },
        }),
    };
    let mut tx = state.pool.begin().await?;
    let buyer = match (user, guest) {
        (Some(u), _) => Buyer {
            customer_id: u.id,
            contact_email: None,
            name: u.full_name.clone(),
            phone: u.phone.clone().unwrap_or_default(),
        },
        (None, Some((name, email, phone))) => {
            let filed =
                account::user::walk_in(&mut tx, Some(&email), name.as_str(), phone.as_str())
                    .await?;
            Buyer {
                customer_id: filed.customer_id,
                contact_email: filed.contact_email,
                name: name.as_str().to_owned(),
                phone: phone.as_str().to_owned(),
            }
        }
        (None, None) => return Err(WebError::LoginRequired.into()),
    };
    let saved_address = form
        .address_id
        .parse::<u64>()
        .ok()
        .filter(|_| user.is_some());
    let delivery = match (fulfilment, saved_address) {
        (Fulfilment::Pickup, _) => None,
        (Fulfilment::Delivery, Some(id)) => Some(
            account::address::find(&mut tx, buyer.customer_id, id)
                .await?
                .ok_or(WebError::NotFound)?
                .delivery(),
        ),
        (Fulfilment::Delivery, None) => Some(
            DeliveryAddress::parse(&DeliveryAddress {
                street: form.street.clone(),
                complement: form.complement.clone(),
                postal_code: form.postal_code.clone(),
                city: form.city.clone(),
                instructions: form.instructions.clone(),
            })
            .map_err(beside)?,
        ),
    };
    let new = NewOrder {
        pizzeria_id,
        customer_id: buyer.customer_id,
        channel: Channel::Web,
        fulfilment,
        payment_mode,
        on_site_plan,
        customer_name: buyer.name,
        customer_phone: buyer.phone,
        contact_email: buyer.contact_email,
        delivery,
        desired_at,
        notes: form.notes.clone(),
        lines: cart.lines.clone(),
        idempotency_key: form.idempotency_key.clone(),
    };
    let by = Actor::Customer(buyer.customer_id);
    let placed = order::place::place(&mut tx, &new, by, Utc::now()).await?;
    tx.commit().await?;
    Ok(match placed {
        Placed::Created(o) | Placed::AlreadyPlaced(o) => o,
    })
}

pub async fn list(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    page: Page,
) -> Result<Html<String>, WebError> {
    let mut conn = state.pool.acquire().await?;
    let orders = Order::list_for_customer(&mut conn, user.id, 50).await?;
    let mut shops = std::collections::HashMap::new();
    let mut views = Vec::new();
    for o in &orders {
        if let std::collections::hash_map::Entry::Vacant(slot) = shops.entry(o.pizzeria_id) {
            let name = Pizzeria::find(&mut conn, o.pizzeria_id)
                .await?
                .map(|p| p.name)
                .unwrap_or_default();
            slot.insert(name);
        }
        views.push(context! { shop => shops[&o.pizzeria_id], ..minijinja::Value::from_serialize(order_view(o)) });
    }
    page.render("orders.html", context! { orders => views })
}

/// « Commander à nouveau »: the cart is refilled with the order's pizzas the pizzeria still
/// sells and can make now (at today's prices), and the customer is told which are missing.
pub async fn reorder(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<u64>,
    page: Page,
) -> Result<Redirect, WebError> {
    let viewed = viewed_order(&state, &viewer, id).await?;
    let o = &viewed.order;
    let mut conn = state.pool.acquire().await?;
    let shop = Pizzeria::find(&mut conn, o.pizzeria_id)
        .await?
        .filter(|s| s.active)
        .ok_or_else(|| WebError::Invalid("Cette pizzeria ne prend plus de commandes.".into()))?;
    let products = catalog::product::menu(&mut conn, shop.id).await?;
    let stock = stock::quantities(&mut conn, shop.id).await?;
    let mut cart = Cart::default();
    let mut missing = Vec::new();
    for l in &o.lines {
        let again = l.to_new();
        // Today's menu decides: the product, its size and options still offered and in stock.
        let fits = products
            .iter()
            .find(|p| p.id == l.pizza_id && !p.sold_out)
            .and_then(|p| p.compose(selection(&again)).ok())
            .is_some_and(|c| {
                c.needs
                    .iter()
                    .all(|(id, q)| stock.get(id).copied().unwrap_or(0) >= i64::from(*q))
            });
        if fits {
            cart.add(shop.id, again, Quantity::clamped(l.quantity));
        } else {
            missing.push(match l.detail_fr().as_str() {
                "" => l.pizza_name.clone(),
                detail => format!("{} ({detail})", l.pizza_name),
            });
        }
    }
    if cart.lines.is_empty() {
        flash(
            &page.session,
            format!(
                "Aucune pizza de la commande n°{id} n'est disponible en ce moment : {}.",
                missing.join(", ")
            ),
        )
        .await?;
        return Ok(Redirect::to(&format!("/commandes/{id}{}", viewed.query())));
    }
    cart.save(&page.session).await?;
    let message = if missing.is_empty() {
        format!("Le panier reprend la commande n°{id}, aux prix d'aujourd'hui.")
    } else {
        format!(
            "Le panier reprend la commande n°{id}, aux prix d'aujourd'hui, sauf ce qui n'est pas disponible en ce moment : {}.",
            missing.join(", ")
        )
    };
    flash(&page.session, message).await?;
    Ok(Redirect::to("/panier"))
}

pub async fn show(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<u64>,
    page: Page,
) -> Result<Html<String>, WebError> {
    let viewed = viewed_order(&state, &viewer, id).await?;
    let o = &viewed.order;
    let mut conn = state.pool.acquire().await?;
    let shop = Pizzeria::find(&mut conn, o.pizzeria_id)
        .await?
        .ok_or(WebError::NotFound)?;
    let steps: Vec<_> = order::history::steps(&mut conn, o.id)
        .await?
        .into_iter()
        .map(|h| {
            let label = if h.is_modification() {
                "Commande modifiée"
            } else {
                h.to_status.label_fr(o.fulfilment)
            };
            context! { at => paris(h.created_at), label => label }
        })
        .collect();
    let slot = o
        .desired_at
        .map(|t| t.with_timezone(&Paris).format("%Y-%m-%dT%H:%M").to_string());
    // Until the kitchen starts, products can be added (as they come), not only changed.
    let more: Vec<_> = if o.status.is_modifiable() {
        menu(&mut conn, shop.id)
            .await?
            .into_iter()
            .filter(|m| m.available)
            .collect()
    } else {
        Vec::new()
    };
    // A guest (no account on this browser) is offered one, with the order's address.
    let guest_email = match (&page.user, &o.contact_email) {
        (Some(_), _) => None,
        (None, Some(email)) => Some(email.clone()),
        (None, None) => account::user::find(&mut conn, o.customer_id)
            .await?
            .map(|u| u.email)
            .filter(|e| !e.ends_with(".invalid")),
    };
    page.render(
        "order.html",
        context! {
            order => order_view(o),
            kq => viewed.query(),
            guest_email => guest_email,
            // Placed under the address of an account that has not proved it yet.
            guest_has_account => page.user.is_none() && o.contact_email.is_some(),
            shop => ShopView::from(&shop),
            history => steps,
            delivery => o.delivery,
            slot => slot,
            more => more,
        },
    )
}

/// Server-sent events: one `order` event with the status, version and promised time now, and
/// one each time they change (the kitchen moving a promise changes no version: a change the
/// customer is making still applies). Polling the row keeps every web instance able to serve
/// any customer.
pub async fn stream(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<u64>,
) -> Result<Sse<impl Stream<Item = Result<SseEvent, Infallible>>>, WebError> {
    viewed_order(&state, &viewer, id).await?;
    let pool = state.pool.clone();
    let events = futures_util::stream::unfold((pool, None), move |(pool, last)| async move {
        loop {
            if last.is_some() {
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
            let mut conn = pool.acquire().await.ok()?;
            let (status, version, promised) =
                order::history::order_stamp(&mut conn, id).await.ok()??;
            drop(conn);
            let stamp = stamp(version, promised);
            if last.as_ref() != Some(&stamp) {
                let data =
                    serde_json::json!({ "status": status, "version": version, "stamp": stamp })
                        .to_string();
                return Some((
                    Ok(SseEvent::default().event("order").data(data)),
                    (pool, Some(stamp)),
                ));
            }
        }
    });
    Ok(Sse::new(state.until_stopping(events)).keep_alive(KeepAlive::default()))
}

/// What the order page compares to know it is out of date.
pub(crate) fn stamp(version: u32, promised: Option<DateTime<Utc>>) -> String {
    format!("{version}-{}", promised.map_or(0, |p| p.timestamp()))
}

pub async fn cancel(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<u64>,
    page: Page,
) -> Result<Redirect, WebError> {
    let viewed = viewed_order(&state, &viewer, id).await?;
    let customer_id = viewed.order.customer_id;
    let mut tx = state.pool.begin().await?;
    match order::transition::cancel_by_customer(&mut tx, id, customer_id).await {
        Ok(_) => {
            tx.commit().await?;
            flash(&page.session, "Votre commande est annulée.").await?;
        }
        Err(order::OrderError::Transition(_)) => {
            // Say why from where the order stands, not by guessing.
            let now = Order::load(&mut tx, id).await?;
            let message = match now.status {
                OrderStatus::Cancelled => "Cette commande est déjà annulée.".to_owned(),
                OrderStatus::Rejected => {
                    "Cette commande a été refusée par la pizzeria : il n'y a rien à annuler."
                        .to_owned()
                }
                OrderStatus::Delivered | OrderStatus::PickedUp => {
                    "Cette commande est déjà remise : appelez la pizzeria en cas de problème."
                        .to_owned()
                }
                _ => format!(
                    "La commande est « {} » : la préparation a commencé, elle ne peut plus être annulée. Appelez la pizzeria si besoin.",
                    now.status_label()
                ),
            };
            flash(&page.session, message).await?;
        }
        Err(e) => return Err(e.into()),
    }
    Ok(Redirect::to(&format!("/commandes/{id}{}", viewed.query())))
}

pub async fn modify(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<u64>,
    page: Page,
    Form(form): Form<std::collections::HashMap<String, String>>,
) -> Result<Redirect, WebError> {
    let viewed = viewed_order(&state, &viewer, id).await?;
    let back = format!("/commandes/{id}{}", viewed.query());
    let o = &viewed.order;
    let quantity = |key: String| form.get(&key).and_then(|v| v.trim().parse::<u32>().ok());
    // The order's lines as changed (by position, each keeps its size and choices; the version
    // check refuses a form from before another change), then the
    // products added as they come (checked against the menu and the stock by the same rules as
    // checkout).
    let mut lines: Vec<NewLine> = o
        .lines
        .iter()
        .enumerate()
        .filter_map(|(n, l)| {
            let q = quantity(format!("qty_line_{n}")).unwrap_or(l.quantity);
            (q > 0).then(|| NewLine {
                quantity: q,
                ..l.to_new()
            })
        })
        .collect();
    let mut added: Vec<(u64, u32)> = form
        .keys()
        .filter_map(|k| k.strip_prefix("qty_")?.parse::<u64>().ok())
        .filter_map(|pizza_id| Some((pizza_id, quantity(format!("qty_{pizza_id}"))?)))
        .filter(|(_, q)| *q > 0)
        .collect();
    added.sort();
    lines.extend(
        added
            .into_iter()
            .map(|(pizza_id, q)| NewLine::plain(pizza_id, q)),
    );
    let field = |name: &str| form.get(name).map(|v| v.trim().to_owned());
    // The address and the time are part of the same form; absent fields keep what the order has.
    let delivery = match (o.fulfilment, field("street")) {
        (Fulfilment::Delivery, Some(street)) => Some(DeliveryAddress {
            street,
            complement: field("complement").unwrap_or_default(),
            postal_code: field("postal_code").unwrap_or_default(),
            city: field("city").unwrap_or_default(),
            instructions: field("instructions").unwrap_or_default(),
        }),
        _ => None,
    };
    let desired_at = match field("when").as_deref() {
        Some("asap") => Some(None),
        Some("slot") => match parse_local(&field("slot").unwrap_or_default()) {
            Ok(at) => Some(Some(at)),
            Err(e) => {
                flash(&page.session, e.to_string()).await?;
                return Ok(Redirect::to(&back));
            }
        },
        _ => None,
    };
    let changes = order::modify::Changes {
        lines: Some(lines),
        delivery,
        desired_at,
        expected_version: form.get("version").and_then(|v| v.parse().ok()),
    };
    let mut tx = state.pool.begin().await?;
    let by = Actor::Customer(o.customer_id);
    match order::modify::modify(&mut tx, id, &changes, by, Utc::now()).await {
        Ok(_) => {
            tx.commit().await?;
            flash(&page.session, "Commande modifiée.").await?;
        }
        Err(order::OrderError::Invalid(m) | order::OrderError::Locked(m)) => {
            flash(&page.session, m).await?
        }
        Err(order::OrderError::Conflict) => {
            flash(&page.session, order::OrderError::Conflict.to_string()).await?
        }
        Err(e) => return Err(e.into()),
    }
    Ok(Redirect::to(&back))
}

/// The payment page: opens (or reopens) the order's PaymentIntent and shows Stripe's card form.
pub async fn pay_page(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<u64>,
    page: Page,
) -> Result<Response, WebError> {
    let viewed = viewed_order(&state, &viewer, id).await?;
    let o = &viewed.order;
    if o.status != OrderStatus::AwaitingPayment {
        return Ok(Redirect::to(&format!("/commandes/{id}{}", viewed.query())).into_response());
    }
    let mut conn = state.pool.acquire().await?;
    // The card refused last time, if it was: said above the form for another try.
    let refused = payment::Payment::for_order(&mut conn, id)
        .await?
        .pop()
        .filter(|p| p.status == vocab::PaymentStatus::Failed)
        .and_then(|p| p.failure_reason);
    drop(conn);
    let intent = payment::rules::retried(|| async {
        let mut tx = state.pool.begin().await?;
        let intent = payment::rules::open(&mut tx, &state.gateway, o, None).await?;
        tx.commit().await?;
        Ok(intent)
    })
    .await?;
    let deadline = paris(o.created_at + payment::rules::PAYMENT_WINDOW);
    let client_secret = intent
        .client_secret
        .ok_or_else(|| WebError::Internal("PaymentIntent without client secret".into()))?;
    let stripe = &state.settings.stripe;
    let stripe_js = if stripe.api_base.host_str() == Some("api.stripe.com") {
        "https://js.stripe.com/v3/".to_owned()
    } else {
        format!(
            "{}/js.stripe.com/v3/",
            stripe.api_base.as_str().trim_end_matches('/')
        )
    };
    let return_url = format!(
        "/commandes/{id}/paiement/retour?payment_intent={}{}",
        intent.id,
        viewed.and_query()
    );
    let policy = crate::headers::stripe_policy(&stripe.api_base);
    Ok((
        [
            (axum::http::header::CONTENT_SECURITY_POLICY, policy),
            // Stripe's card frames and 3-D Secure want to know which site they serve.
            (
                axum::http::header::REFERRER_POLICY,
                "strict-origin-when-cross-origin".to_owned(),
            ),
        ],
        page.render(
            "pay.html",
            context! {
                order => order_view(o),
                kq => viewed.query(),
                publishable_key => stripe.publishable_key,
                client_secret => client_secret,
                stripe_js => stripe_js,
                return_url => return_url,
                refused => refused,
                deadline => deadline,
            },
        )?,
    )
        .into_response())
}

#[derive(Deserialize)]
pub struct ReturnQuery {
    payment_intent: String,
}

/// Back from the card form: the same finalise step as the webhook, then the order page.
pub async fn pay_return(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<u64>,
    page: Page,
    Query(q): Query<ReturnQuery>,
) -> Result<Redirect, WebError> {
    let viewed = viewed_order(&state, &viewer, id).await?;
    let kq = viewed.query();
    let outcome = payment::rules::retried(|| async {
        let mut tx = state.pool.begin().await?;
        let payment = payment::Payment::lock_by_intent(&mut tx, &q.payment_intent).await?;
        if payment.is_none_or(|p| p.order_id != id) {
            return Ok(None);
        }
        let outcome = payment::rules::finalise(&mut tx, &state.gateway, &q.payment_intent).await?;
        tx.commit().await?;
        Ok(Some(outcome))
    })
    .await?
    .ok_or(WebError::NotFound)?;
    let (message, next) = match outcome {
        payment::Finalised::Authorised | payment::Finalised::AlreadyDone => (
            "Paiement accepté : votre commande est transmise à la pizzeria.".to_owned(),
            format!("/commandes/{id}{kq}"),
        ),
        // Straight back to the card form, which says why, for another try.
        payment::Finalised::Declined(_) => {
            return Ok(Redirect::to(&format!("/commandes/{id}/paiement{kq}")));
        }
        payment::Finalised::Pending => (
            "Paiement en attente de confirmation.".to_owned(),
            format!("/commandes/{id}{kq}"),
        ),
    };
    flash(&page.session, message).await?;
    Ok(Redirect::to(&next))
}
