//! Which event gets which e-mail, to whom, saying what. The wording is French; amounts in euros;
//! times in Europe/Paris.
//!
//! Customers hear about their order at confirmation, at each later status, on cancellation,
//! rejection and refund. Managers of the pizzeria hear about low stock, a printer offline,
//! payment failures and dead-lettered messages (the group admins too for the last).

use catalog::Pizzeria;
use chrono::{DateTime, Utc};
use chrono_tz::Europe::Paris;
use messages::{Envelope, Event};
use order::Order;
use serde::Serialize;
use sqlx::MySqlConnection;

use crate::MailError;
use vocab::{Cents, Fulfilment, OrderStatus, PaymentMode};

#[derive(Clone, Debug, Serialize)]
pub struct LineSummary {
    pub quantity: u32,
    pub name: String,
    /// « 40 cm · + Mozzarella · sans Oignons ».
    pub detail: String,
    pub notes: String,
    pub amount: String,
}

#[derive(Clone, Debug, Serialize)]
pub struct OrderSummary {
    pub lines: Vec<LineSummary>,
    /// The delivery fee, when there is one.
    pub delivery_fee: Option<String>,
    pub total: String,
    pub fulfilment: String,
    pub when: String,
    pub payment: String,
    pub address: Option<String>,
}

/// What the templates lay out.
#[derive(Clone, Debug, Serialize)]
pub struct Body {
    pub title: String,
    pub paragraphs: Vec<String>,
    pub order: Option<OrderSummary>,
    pub link: Option<String>,
    pub link_label: String,
    pub signature: String,
}

/// One e-mail to send.
#[derive(Clone, Debug)]
pub struct Outgoing {
    /// Stable identity (the Message-ID's left part): the same (order, template) or alert always
    /// gets the same one, so it is sent once.
    pub key: String,
    pub order_id: Option<u64>,
    pub template: String,
    pub to: Vec<String>,
    pub subject: String,
    pub body: Body,
}

/// Paris time as people read it: `mercredi 25/11 à 19:30`.
pub fn paris_time(at: DateTime<Utc>) -> String {
    const DAYS: [&str; 7] = [
        "lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche",
    ];
    let local = at.with_timezone(&Paris);
    use chrono::Datelike;
    format!(
        "{} {} à {}",
        DAYS[local.weekday().num_days_from_monday() as usize],
        local.format("%d/%m"),
        local.format("%H:%M")
    )
}

fn summary(order: &Order) -> OrderSummary {
    OrderSummary {
        lines: order
            .lines
            .iter()
            .map(|l| LineSummary {
                quantity: l.quantity,
                name: l.pizza_name.clone(),
                detail: l.detail_fr(),
                notes: l.notes.clone(),
                amount: l.unit_price.saturating_mul(l.quantity).to_string(),
            })
            .collect(),
        delivery_fee: (order.delivery_fee.0 > 0).then(|| order.delivery_fee.to_string()),
        total: order.total.to_string(),
        fulfilment: order.fulfilment.label_fr().into(),
        when: match (order.desired_at, order.promise_fr()) {
            (Some(at), Some(promise)) => format!(
                "pour {}, mais la cuisine a pris du retard : {promise}",
                paris_time(at)
            ),
            (Some(at), None) => format!("pour {}", paris_time(at)),
            (None, Some(promise)) => format!("dès que possible, {promise}"),
            (None, None) => "dès que possible".into(),
        },
        payment: match order.payment_mode {
            PaymentMode::Online => match order.status {
                OrderStatus::AwaitingPayment => "Paiement en ligne en attente".into(),
                OrderStatus::Rejected | OrderStatus::Cancelled => {
                    "Paiement en ligne annulé (ou remboursé s'il avait été encaissé)".into()
                }
                _ => "Payée en ligne".into(),
            },
            PaymentMode::OnSite => match order.fulfilment {
                Fulfilment::Delivery => format!("À régler au livreur : {}", order.total),
                Fulfilment::Pickup => format!("À régler au comptoir : {}", order.total),
            },
        },
        address: order.delivery.as_ref().map(|a| {
            let mut s = format!("{}, {} {}", a.street, a.postal_code, a.city);
            if !a.complement.is_empty() {
                s.push_str(&format!(" ({})", a.complement));
            }
            s
        }),
    }
}

/// Everything needed to write about an order.
struct Context {
    order: Order,
    shop: Pizzeria,
    customer_email: String,
    customer_first_name: String,
}

async fn context(conn: &mut MySqlConnection, order_id: u64) -> Result<Option<Context>, MailError> {
    let order = match Order::load(conn, order_id).await {
        Ok(o) => o,
        Err(order::OrderError::NotFound) => return Ok(None),
        Err(order::OrderError::Db(e)) => return Err(e.into()),
        Err(e) => return Err(MailError::Config(e.to_string())),
    };
    let Some(shop) = Pizzeria::find(conn, order.pizzeria_id).await? else {
        return Ok(None);
    };
    let customer_email: String = match &order.contact_email {
        Some(email) => email.clone(),
        None => {
            sqlx::query_scalar("SELECT email FROM users WHERE id = ?")
                .bind(order.customer_id)
                .fetch_one(&mut *conn)
                .await?
        }
    };
    let customer_first_name = order
        .customer_name
        .split_whitespace()
        .next()
        .unwrap_or("")
        .to_owned();
    Ok(Some(Context {
        order,
        shop,
        customer_email,
        customer_first_name,
    }))
}

/// Where the links in e-mails point: the site's public address, and the signer of the key
/// that lets an order's link open its page without an account.
#[derive(Clone, Debug)]
pub struct Links {
    pub public_url: String,
    pub signer: account::signing::Signer,
}

impl Links {
    pub fn new(public_url: &str, signer: account::signing::Signer) -> Links {
        Links {
            public_url: public_url.trim_end_matches('/').to_owned(),
            signer,
        }
    }

    /// The order's page with its key (a guest has no other way in; a customer with an
    /// account lands on the same page).
    pub fn order(&self, order_id: u64) -> String {
        format!(
            "{}/commandes/{order_id}?cle={}",
            self.public_url,
            self.signer.order_key(order_id)
        )
    }

    /// A page of the site.
    pub fn page(&self, path: &str) -> String {
        format!("{}{path}", self.public_url)
    }
}

fn to_customer(
    ctx: &Context,
    links: &Links,
    template: &str,
    subject: String,
    title: String,
    paragraphs: Vec<String>,
) -> Outgoing {
    let mut all = vec![format!("Bonjour {},", ctx.customer_first_name)];
    all.extend(paragraphs);
    Outgoing {
        key: format!("order-{}.{template}", ctx.order.id),
        order_id: Some(ctx.order.id),
        template: template.to_owned(),
        to: vec![ctx.customer_email.clone()],
        subject,
        body: Body {
            title,
            paragraphs: all,
            order: Some(summary(&ctx.order)),
            link: Some(links.order(ctx.order.id)),
            link_label: "Suivre ma commande".into(),
            signature: format!(
                "{} — {} — {}",
                ctx.shop.name,
                ctx.shop.address_line(),
                ctx.shop.phone
            ),
        },
    }
}

/// The staff to alert about a pizzeria: its active managers, or the shop's own address if it
/// has none; with `admins`, the group admins as well.
pub async fn alert_recipients(
    conn: &mut MySqlConnection,
    pizzeria_id: Option<u64>,
    admins: bool,
) -> Result<Vec<String>, MailError> {
    let mut to: Vec<String> = sqlx::query_scalar(
        "SELECT email FROM users WHERE active AND ((role = 'manager' AND pizzeria_id = ?) OR (role = 'admin' AND ?))
         ORDER BY id",
    )
    .bind(pizzeria_id)
    .bind(admins)
    .fetch_all(&mut *conn)
    .await?;
    if let (true, Some(id)) = (to.is_empty(), pizzeria_id)
        && let Some(shop) = Pizzeria::find(conn, id).await?
    {
        to.push(shop.email);
    }
    Ok(to)
}

fn alert(
    key: String,
    order_id: Option<u64>,
    template: &str,
    to: Vec<String>,
    subject: String,
    paragraphs: Vec<String>,
) -> Outgoing {
    Outgoing {
        key,
        order_id,
        template: template.to_owned(),
        to,
        subject: subject.clone(),
        body: Body {
            title: subject,
            paragraphs,
            order: None,
            link: None,
            link_label: String::new(),
            signature: "Message automatique de la plateforme de commandes OC Pizza.".into(),
        },
    }
}

/// The e-mails `message` calls for (often none), their links made by `links`.
pub async fn for_event(
    conn: &mut MySqlConnection,
    message: &Envelope,
    links: &Links,
) -> Result<Vec<Outgoing>, MailError> {
    let mut out = Vec::new();
    match &message.event {
        Event::OrderStatusChanged(e) => {
            let Some(ctx) = context(conn, e.order_id).await? else {
                return Ok(out);
            };
            let n = ctx.order.id;
            let label = e.to.label_fr(ctx.order.fulfilment);
            let (template, subject, title, paragraphs) = match e.to {
                OrderStatus::Confirmed => (
                    "confirmed".to_owned(),
                    format!("Commande n°{n} confirmée"),
                    "Votre commande est confirmée".to_owned(),
                    vec![format!("{} a bien reçu votre commande n°{n} et va la préparer.", ctx.shop.name),
                         "Vous pouvez encore la modifier ou l'annuler tant que la préparation n'a pas commencé.".to_owned()],
                ),
                OrderStatus::Rejected if e.from == OrderStatus::AwaitingPayment => (
                    "payment-expired".to_owned(),
                    format!("Commande n°{n} : paiement non abouti"),
                    "Votre commande n'a pas été payée".to_owned(),
                    vec![format!("Le paiement de votre commande n°{n} n'a pas abouti dans les 30 minutes : elle est annulée et vous n'êtes pas débité."),
                         format!("Vous pouvez la repasser quand vous voulez sur le site de {}.", ctx.shop.name)],
                ),
                OrderStatus::Rejected => {
                    let reason = ctx.order.rejection_reason.clone().unwrap_or_default();
                    let money = match ctx.order.payment_mode {
                        PaymentMode::Online => "Vous ne serez pas débité : l'autorisation de paiement est annulée (ou remboursée si elle avait été encaissée).",
                        PaymentMode::OnSite => "Vous n'avez rien à régler.",
                    };
                    (
                        "rejected".to_owned(),
                        format!("Commande n°{n} : nous ne pouvons pas la préparer"),
                        "Votre commande ne peut pas être préparée".to_owned(),
                        vec![format!("Nous sommes désolés : {} ne peut pas préparer votre commande n°{n}.", ctx.shop.name),
                             reason, money.to_owned()],
                    )
                }
                to => (
                    format!("status-{}", to.as_str()),
                    format!("Commande n°{n} : {}", label.to_lowercase()),
                    label.to_owned(),
                    vec![format!("Votre commande n°{n} est maintenant : {label}.")],
                ),
            };
            out.push(to_customer(
                &ctx, links, &template, subject, title, paragraphs,
            ));
        }
        Event::OrderCancelled(e) => {
            let Some(ctx) = context(conn, e.order_id).await? else {
                return Ok(out);
            };
            let n = ctx.order.id;
            let mut paragraphs = vec![format!("Votre commande n°{n} est annulée.")];
            if let (vocab::Actor::Staff(_), Some(reason)) = (e.by, &ctx.order.rejection_reason) {
                paragraphs.push(format!("Motif : {reason}."));
            }
            if ctx.order.payment_mode == PaymentMode::Online {
                let captured: bool = sqlx::query_scalar(
                    "SELECT EXISTS (SELECT 1 FROM payments WHERE order_id = ? AND captured_cents > 0)",
                )
                .bind(n)
                .fetch_one(&mut *conn)
                .await?;
                paragraphs.push(if captured {
                    "Le montant encaissé vous est remboursé : un e-mail vous confirmera le remboursement.".into()
                } else {
                    "L'autorisation de paiement est levée : vous ne serez pas débité.".into()
                });
            }
            out.push(to_customer(
                &ctx,
                links,
                "cancelled",
                format!("Commande n°{n} annulée"),
                "Commande annulée".into(),
                paragraphs,
            ));
        }
        Event::OrderPromiseMoved(e) => {
            let Some(ctx) = context(conn, e.order_id).await? else {
                return Ok(out);
            };
            // Moved again since, made or ended meanwhile: this news is stale.
            let current = ctx.order.promised_at == Some(e.to)
                && matches!(
                    ctx.order.status,
                    OrderStatus::Placed | OrderStatus::Confirmed | OrderStatus::Preparing
                );
            if !current {
                return Ok(out);
            }
            let n = ctx.order.id;
            let (done, title, subject) = match ctx.order.fulfilment {
                Fulfilment::Delivery => (
                    "livrée",
                    "Votre commande arrivera plus tard",
                    "livraison prévue vers",
                ),
                Fulfilment::Pickup => {
                    ("prête", "Votre commande sera prête plus tard", "prête vers")
                }
            };
            let clock = order::place::clock;
            let mut mail = to_customer(
                &ctx,
                links,
                "promise-moved",
                format!("Commande n°{n} : {subject} {}", clock(e.to)),
                title.into(),
                vec![
                    format!(
                        "{} a pris du retard en cuisine : votre commande n°{n} sera {done} vers {} au lieu de {}.",
                        ctx.shop.name,
                        clock(e.to),
                        clock(e.from)
                    ),
                    "Nous sommes désolés pour l'attente. Vous pouvez suivre votre commande en direct sur sa page.".into(),
                ],
            );
            // One e-mail per move: a redelivered message finds the same key.
            mail.key = format!("order-{n}.promise-{}", e.to.timestamp());
            out.push(mail);
        }
        Event::PaymentRefunded(e) => {
            let Some(ctx) = context(conn, e.order_id).await? else {
                return Ok(out);
            };
            let n = ctx.order.id;
            let mut mail = to_customer(
                &ctx,
                links,
                "refunded",
                format!("Commande n°{n} remboursée"),
                "Remboursement effectué".into(),
                vec![format!(
                    "Nous vous avons remboursé {} pour la commande n°{n}. Selon votre banque, le montant apparaît sous 5 à 10 jours.",
                    Cents(e.amount_cents)
                )],
            );
            // An order may be refunded more than once (a complaint after a partial refund):
            // one e-mail per refund, and a redelivered message still sends it once.
            mail.key = format!("order-{n}.refunded-{}", message.message_id);
            out.push(mail);
        }
        Event::StockLow(e) => {
            let to = alert_recipients(conn, Some(e.pizzeria_id), false).await?;
            out.push(alert(
                format!("alert-{}.stock-low", message.message_id),
                None,
                "stock-low",
                to,
                format!("Stock bas : {}", e.name),
                vec![format!(
                    "Il reste {} de « {} » (seuil : {}). Pensez à réapprovisionner.",
                    e.quantity, e.name, e.low_threshold
                )],
            ));
        }
        Event::PrinterOffline(e) => {
            let to = alert_recipients(conn, Some(e.pizzeria_id), false).await?;
            let shop = Pizzeria::find(conn, e.pizzeria_id)
                .await?
                .map(|s| s.name)
                .unwrap_or_else(|| format!("pizzeria n°{}", e.pizzeria_id));
            out.push(alert(
                format!("alert-{}.printer-offline", message.message_id),
                None,
                "printer-offline",
                to,
                format!("{shop} : imprimante « {} » hors service", e.printer_name),
                vec![
                    format!("{shop} : l'imprimante « {} » ne répond pas : {}.", e.printer_name, e.error),
                    "Les tickets partent sur l'imprimante de secours et restent visibles sur l'écran cuisine. Vérifiez le papier, le câble réseau et l'alimentation.".into(),
                ],
            ));
        }
        Event::PaymentFailed(e) => {
            let to = alert_recipients(conn, Some(e.pizzeria_id), false).await?;
            out.push(alert(
                format!("alert-{}.payment-failed", message.message_id),
                Some(e.order_id),
                "payment-failed",
                to,
                format!("Incident de paiement, commande n°{}", e.order_id),
                vec![format!(
                    "Le paiement de la commande n°{} a échoué : {}.",
                    e.order_id, e.reason
                )],
            ));
        }
        Event::MessageDeadLettered(e) => {
            let pizzeria = match e.order_id {
                Some(id) => {
                    sqlx::query_scalar::<_, u64>("SELECT pizzeria_id FROM orders WHERE id = ?")
                        .bind(id)
                        .fetch_optional(&mut *conn)
                        .await?
                }
                None => None,
            };
            let to = alert_recipients(conn, pizzeria, true).await?;
            let about = e
                .order_id
                .map(|id| format!(" (commande n°{id})"))
                .unwrap_or_default();
            out.push(alert(
                format!("alert-{}.dead-letter", message.message_id),
                e.order_id,
                "dead-letter",
                to,
                format!("Message en échec : {}{about}", e.message_type),
                vec![
                    format!("Le traitement « {} » a abandonné le message {} ({}){about} : {}.", e.consumer, e.message_id, e.message_type, e.reason),
                    format!("Il est conservé : « ocpizza dead-letters show {c} {m} » pour le lire, « ocpizza dead-letters replay {c} {m} » une fois la cause corrigée.", c = e.consumer, m = e.message_id),
                ],
            ));
        }
        Event::PasswordLinkRequested(e) => {
            if let Some(mail) = password_link(conn, message, e, links).await? {
                out.push(mail);
            }
        }
        _ => {}
    }
    // Customers taken by phone without an e-mail have a placeholder under the reserved
    // `.invalid` domain: nobody to write to.
    for o in &mut out {
        o.to.retain(|address| !is_placeholder(address));
    }
    out.retain(|o| !o.to.is_empty());
    Ok(out)
}

/// The e-mail with a single-use password link. The token is made here, in the worker's
/// transaction, so it never travels through the broker; a retried message makes a new one.
async fn password_link(
    conn: &mut MySqlConnection,
    message: &Envelope,
    e: &messages::event::PasswordLinkRequested,
    links: &Links,
) -> Result<Option<Outgoing>, MailError> {
    use messages::event::LinkPurpose;
    let user: Option<(String, String)> =
        sqlx::query_as("SELECT email, full_name FROM users WHERE id = ? AND active")
            .bind(e.user_id)
            .fetch_optional(&mut *conn)
            .await?;
    let Some((email, full_name)) = user else {
        return Ok(None);
    };
    let first_name = full_name.split_whitespace().next().unwrap_or("").to_owned();
    if e.purpose == LinkPurpose::Welcome {
        return Ok(Some(Outgoing {
            key: format!("account-{}.welcome", e.user_id),
            order_id: None,
            template: "welcome".to_owned(),
            to: vec![email],
            subject: "Bienvenue chez OC Pizza".to_owned(),
            body: Body {
                title: "Votre compte est ouvert".to_owned(),
                paragraphs: vec![
                    format!("Bonjour {first_name},"),
                    "Votre compte OC Pizza est créé : vous pouvez commander dans toutes nos pizzerias, suivre vos commandes en direct, les modifier tant que la préparation n'a pas commencé et retrouver vos adresses de livraison.".to_owned(),
                    "Si vous n'avez pas créé ce compte, quelqu'un a utilisé votre adresse : « Mot de passe oublié » sur la page de connexion vous en rend la main (le lien reçu ferme toutes les sessions ouvertes).".to_owned(),
                ],
                order: None,
                link: Some(links.page("/")),
                link_label: "Commander une pizza".to_owned(),
                signature: "OC Pizza".to_owned(),
            },
        }));
    }
    let token = account::password_link::issue(conn, e.user_id, Utc::now()).await?;
    let (template, subject, title, why) = match e.purpose {
        LinkPurpose::Reset => (
            "password-reset",
            "Choisir un nouveau mot de passe",
            "Mot de passe oublié",
            "Vous (ou quelqu'un qui connaît votre adresse) avez demandé à changer le mot de passe de votre compte OC Pizza.",
        ),
        LinkPurpose::Claim => (
            "account-claim",
            "Activer votre compte OC Pizza",
            "Votre compte OC Pizza",
            "Vous avez déjà commandé chez nous sans compte (en ligne, au comptoir ou par téléphone) avec cette adresse : choisissez un mot de passe pour retrouver vos commandes en ligne.",
        ),
        LinkPurpose::Welcome => unreachable!("the welcome e-mail is written above"),
        LinkPurpose::Invite => (
            "staff-invite",
            "Votre compte équipe OC Pizza",
            "Bienvenue dans l'équipe",
            "L'administrateur du groupe OC Pizza vous a ouvert un compte sur la plateforme de commandes : choisissez votre mot de passe pour accéder à votre écran.",
        ),
    };
    Ok(Some(Outgoing {
        key: format!("account-{}.{template}-{}", e.user_id, message.message_id),
        order_id: None,
        template: template.to_owned(),
        to: vec![email],
        subject: subject.to_owned(),
        body: Body {
            title: title.to_owned(),
            paragraphs: vec![
                format!("Bonjour {first_name},"),
                why.to_owned(),
                "Le lien ci-dessous est valable une heure et ne sert qu'une fois ; toutes les sessions ouvertes sur votre compte seront fermées.".to_owned(),
                "Si vous n'êtes pas à l'origine de cette demande, ignorez ce message : rien ne change.".to_owned(),
            ],
            order: None,
            link: Some(links.page(&format!("/mot-de-passe/{token}"))),
            link_label: "Choisir mon mot de passe".to_owned(),
            signature: "OC Pizza".to_owned(),
        },
    }))
}

/// An address that stands for "no e-mail" (RFC 2606 reserves `.invalid`).
pub fn is_placeholder(address: &str) -> bool {
    address.to_ascii_lowercase().ends_with(".invalid")
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn times_are_written_in_paris_time() {
        let at = Utc.with_ymd_and_hms(2026, 11, 25, 18, 30, 0).unwrap();
        assert_eq!(paris_time(at), "mercredi 25/11 à 19:30");
    }
}
