//! At closing time each pizzeria's managers receive the day's report (« Z ») by e-mail, once:
//! the e-mail's stable key (`z-<shop>-<day>`) makes a second round, another replica or a
//! restart send nothing more. Runs next to the notifications worker.

use chrono::{DateTime, Duration, Utc};
use mail::{Body, Delivery, MailError, Mailer, Outgoing};
use messages::broker::Shutdown;
use sqlx::MySqlPool;

/// How long after closing a missed report is still sent (a worker down at closing time sends
/// it when it is back, but a first deployment does not send a year of old reports).
const CATCH_UP: Duration = Duration::hours(20);

fn key(code: &str, day: chrono::NaiveDate) -> String {
    format!("z-{code}-{}", day.format("%Y-%m-%d"))
}

/// The report as an e-mail: the figures as lines, and a link to the report on the site.
pub fn compose(
    shop: &catalog::Pizzeria,
    z: &report::ZReport,
    to: Vec<String>,
    public_url: &str,
) -> Outgoing {
    let day = z.day.format("%d/%m/%Y").to_string();
    let list = |rows: &[report::z::ByMethod]| {
        if rows.is_empty() {
            "aucun".to_owned()
        } else {
            rows.iter()
                .map(|r| format!("{} {} ({})", r.method.label_fr(), r.amount, r.count))
                .collect::<Vec<_>>()
                .join(", ")
        }
    };
    let mut paragraphs = vec![
        format!(
            "Commandes : {} passées, {} remises au client.",
            z.orders_count, z.handed_over
        ),
        format!("Ventes : {} TTC, dont TVA {}.", z.sales_gross, z.sales_vat),
    ];
    for l in &z.sales {
        paragraphs.push(format!(
            "TVA {} : {} TTC, {} de TVA, {} HT.",
            l.rate.label_fr(),
            l.gross,
            l.vat,
            l.net
        ));
    }
    paragraphs.push(format!(
        "Encaissements : {} — total {}.",
        list(&z.takings),
        z.takings_total
    ));
    paragraphs.push(format!(
        "Remboursements : {} — total {}.",
        list(&z.refunds),
        z.refunds_total
    ));
    let net = z.net_takings();
    paragraphs.push(format!(
        "Solde : {}{}.",
        if net < 0 { "−" } else { "" },
        vocab::Cents(u32::try_from(net.unsigned_abs()).unwrap_or(u32::MAX))
    ));
    let base = public_url.trim_end_matches('/');
    Outgoing {
        key: key(&shop.code, z.day),
        order_id: None,
        template: "z-report".into(),
        to,
        subject: format!("Rapport de fin de journée du {day} — {}", shop.name),
        body: Body {
            title: format!("Rapport Z du {day}"),
            paragraphs,
            order: None,
            link: Some(format!(
                "{base}/equipe/{}/rapport?jour={}",
                shop.code,
                z.day.format("%Y-%m-%d")
            )),
            link_label: "Voir le rapport (et le CSV)".into(),
            signature: "Message automatique de la plateforme de commandes OC Pizza.".into(),
        },
    }
}

/// Sends the reports whose closing time has passed and that were not sent; returns how many
/// went out.
pub async fn send_due(
    pool: &MySqlPool,
    mailer: &Mailer,
    public_url: &str,
    now: DateTime<Utc>,
) -> Result<usize, MailError> {
    let mut conn = pool.acquire().await?;
    let shops = catalog::Pizzeria::list_active(&mut conn).await?;
    drop(conn);
    let today = now.with_timezone(&chrono_tz::Europe::Paris).date_naive();
    let mut sent = 0;
    for shop in &shops {
        for day in [today.pred_opt().unwrap_or(today), today] {
            let Some(closing) = shop.closing_of(day) else {
                continue;
            };
            if closing > now || now - closing > CATCH_UP {
                continue;
            }
            let mut tx = pool.begin().await?;
            let z = report::z::for_day(&mut tx, shop.id, day)
                .await
                .map_err(|e| MailError::Transient(e.to_string()))?;
            let to = mail::compose::alert_recipients(&mut tx, Some(shop.id), false).await?;
            let mail = compose(shop, &z, to, public_url);
            match mailer.deliver(&mut tx, &mail).await? {
                Delivery::Sent => {
                    tracing::info!(shop = %shop.code, %day, "end-of-day report sent");
                    sent += 1;
                }
                Delivery::AlreadyHandled => {}
                Delivery::Refused(reason) => {
                    tracing::warn!(shop = %shop.code, %day, %reason, "end-of-day report refused")
                }
            }
            tx.commit().await?;
        }
    }
    Ok(sent)
}

/// Checks every `every` until shutdown.
pub async fn closing_loop(
    pool: MySqlPool,
    mailer: Mailer,
    public_url: String,
    every: std::time::Duration,
    mut shutdown: Shutdown,
) {
    while shutdown.sleep(every).await {
        if let Err(e) = send_due(&pool, &mailer, &public_url, Utc::now()).await {
            tracing::warn!(error = %e, "end-of-day reports round failed");
        }
    }
}
