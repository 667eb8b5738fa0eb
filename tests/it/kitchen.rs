//! The kitchen worker against a real printer emulator (a private emupos per test, each ticket
//! read back as text): what the ticket says, once; the backup printer and the offline alert;
//! all printers gone and back; reprints.

use std::time::Duration;

use messages::consumer::{self, Outcome};
use messages::event::TicketReprintRequested;
use messages::{Envelope, Event};
use ocpizza_tests::TestEnv;
use ocpizza_tests::peers::Emupos;
use ocpizza_tests::shop::Shop;
use ticket::Policy;
use ticket::printer::Timeouts;
use vocab::{Fulfilment, PaymentMode};
use workers::kitchen::{CONSUMER, KitchenWorker};
use workers::stock::StockWorker;

fn worker(env: &TestEnv) -> KitchenWorker {
    KitchenWorker {
        pool: env.pool.clone(),
        policy: Policy {
            attempts: 2,
            first_delay: Duration::from_millis(50),
            timeouts: Timeouts {
                connect: Duration::from_secs(2),
                write: Duration::from_secs(2),
                confirm: Duration::from_secs(3),
            },
        },
    }
}

/// A shop whose main printer is emupos printer 0 and backup printer 1.
async fn setup() -> (TestEnv, Shop, Emupos) {
    let env = TestEnv::new().await;
    let printers = Emupos::start(2).await;
    let shop = env.seed_shop(printers.ports[0], printers.ports[1]).await;
    sqlx::query("UPDATE stock SET quantity = 5000")
        .execute(&env.pool)
        .await
        .unwrap();
    (env, shop, printers)
}

/// Places and confirms an order; returns it with its `stock.reserved` message.
async fn confirmed(
    env: &TestEnv,
    shop: &Shop,
    payment: PaymentMode,
    fulfilment: Fulfilment,
) -> (u64, Envelope) {
    let order = env
        .place(
            shop,
            &[(shop.regina, 2), (shop.margherita, 1)],
            payment,
            fulfilment,
        )
        .await;
    if payment == PaymentMode::Online {
        // What the payment step does once Stripe authorised the amount.
        let mut tx = env.pool.begin().await.unwrap();
        order::transition::move_to(
            &mut tx,
            order.id,
            vocab::OrderStatus::Placed,
            vocab::Actor::System,
            "",
            None,
        )
        .await
        .unwrap();
        tx.commit().await.unwrap();
    }
    let placed = env.outbox_for("order.placed", order.id).await;
    consumer::process(&env.pool, "stock", &StockWorker, &placed)
        .await
        .unwrap();
    (order.id, env.outbox_for("stock.reserved", order.id).await)
}

async fn ticket_state(env: &TestEnv, order_id: u64) -> Vec<(String, String, bool)> {
    sqlx::query_as("SELECT kind, status, via_backup FROM tickets WHERE order_id = ? ORDER BY id")
        .bind(order_id)
        .fetch_all(&env.pool)
        .await
        .unwrap()
}

#[tokio::test]
async fn a_confirmed_order_prints_one_complete_ticket() {
    let (env, shop, printers) = setup().await;
    let (order_id, reserved) =
        confirmed(&env, &shop, PaymentMode::OnSite, Fulfilment::Delivery).await;

    assert_eq!(
        consumer::process(&env.pool, CONSUMER, &worker(&env), &reserved)
            .await
            .unwrap(),
        Outcome::Applied
    );
    let receipts = printers.receipts(0).await;
    assert_eq!(receipts.len(), 1);
    let text = &receipts[0];
    for expected in [
        "OC Pizza Test",
        &format!("Commande n°{order_id}"),
        "À LIVRER dès que possible",
        "2 x Regina",
        "1 x Margherita",
        "Client : Claire Cliente - +33 6 00 00 00 00",
        "3 rue des Clients, 75011 Paris",
        "Bâtiment B",
        "Instructions : Code 1234",
        "À ENCAISSER : 33,50\u{a0}€",
    ] {
        assert!(
            text.contains(expected),
            "{expected:?} missing from:\n{text}"
        );
    }
    assert!(!text.contains("BACKUP") && !text.contains("REPRINT"));
    assert_eq!(
        ticket_state(&env, order_id).await,
        [("original".into(), "printed".into(), false)]
    );
    let printed = env.outbox_for("ticket.printed", order_id).await;
    assert!(matches!(printed.event, Event::TicketPrinted(ref t) if !t.via_backup && !t.reprint));

    // The same confirmation again, even under a new message id: no second ticket.
    let mut again = reserved.clone();
    again.message_id = uuid::Uuid::now_v7();
    consumer::process(&env.pool, CONSUMER, &worker(&env), &reserved)
        .await
        .unwrap();
    consumer::process(&env.pool, CONSUMER, &worker(&env), &again)
        .await
        .unwrap();
    assert_eq!(printers.receipts(0).await.len(), 1);
    assert_eq!(printers.receipts(1).await.len(), 0);
}

#[tokio::test]
async fn an_offline_printer_sends_tickets_to_the_backup_and_alerts_once() {
    let (env, shop, printers) = setup().await;
    printers.fault(0, "offline", true).await;
    let (first, reserved) = confirmed(&env, &shop, PaymentMode::Online, Fulfilment::Pickup).await;
    consumer::process(&env.pool, CONSUMER, &worker(&env), &reserved)
        .await
        .unwrap();

    let backup = printers.receipts(1).await;
    assert_eq!(backup.len(), 1);
    assert!(
        backup[0].contains("BACKUP - IMPRIMANTE DE SECOURS"),
        "{}",
        backup[0]
    );
    assert!(backup[0].contains(&format!("Commande n°{first}")));
    assert!(backup[0].contains("À EMPORTER"));
    assert!(backup[0].contains("PAYÉE EN LIGNE"));
    assert_eq!(
        ticket_state(&env, first).await,
        [("original".into(), "printed".into(), true)]
    );
    let offline = env.outbox("printer.offline").await;
    assert_eq!(offline.len(), 1);
    let Event::PrinterOffline(alert) = &offline[0].event else {
        panic!()
    };
    assert_eq!(
        (alert.printer_name.as_str(), alert.error.as_str()),
        ("Cuisine", "hors ligne")
    );
    // The managers' e-mail says which shop's printer it is.
    let mut conn = env.pool.acquire().await.unwrap();
    let mails = mail::compose::for_event(
        &mut conn,
        &offline[0],
        &ocpizza_tests::mail_links("https://x.example"),
    )
    .await
    .unwrap();
    assert_eq!(
        mails[0].subject,
        "OC Pizza Test : imprimante « Cuisine » hors service"
    );
    drop(conn);

    // Still offline: the next ticket goes to the backup too, without a second alert.
    let (_, reserved) = confirmed(&env, &shop, PaymentMode::OnSite, Fulfilment::Pickup).await;
    consumer::process(&env.pool, CONSUMER, &worker(&env), &reserved)
        .await
        .unwrap();
    assert_eq!(printers.receipts(1).await.len(), 2);
    assert_eq!(env.outbox("printer.offline").await.len(), 1);

    // Back online: nothing the main printer refused prints late, and new tickets go there.
    printers.fault(0, "offline", false).await;
    let (_, reserved) = confirmed(&env, &shop, PaymentMode::OnSite, Fulfilment::Pickup).await;
    consumer::process(&env.pool, CONSUMER, &worker(&env), &reserved)
        .await
        .unwrap();
    assert_eq!(printers.receipts(0).await.len(), 1);
    let last_error: Option<String> =
        sqlx::query_scalar("SELECT last_error FROM printers WHERE name = 'Cuisine'")
            .fetch_one(&env.pool)
            .await
            .unwrap();
    assert_eq!(last_error, None);
}

#[tokio::test]
async fn with_every_printer_gone_the_ticket_waits_and_prints_when_they_are_back() {
    let (env, shop, mut printers) = setup().await;
    let (order_id, reserved) =
        confirmed(&env, &shop, PaymentMode::OnSite, Fulfilment::Pickup).await;
    printers.stop();
    consumer::process(&env.pool, CONSUMER, &worker(&env), &reserved)
        .await
        .unwrap();
    assert_eq!(
        ticket_state(&env, order_id).await,
        [("original".into(), "failed".into(), false)]
    );
    assert_eq!(
        env.outbox("printer.offline").await.len(),
        2,
        "main and backup each alert once"
    );

    // Still away: a retry round prints nothing and loses nothing.
    assert_eq!(
        ticket::print::retry_failed(&env.pool, &worker(&env).policy)
            .await
            .unwrap(),
        0
    );
    printers.resume().await;
    assert_eq!(
        ticket::print::retry_failed(&env.pool, &worker(&env).policy)
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        ticket_state(&env, order_id).await,
        [("original".into(), "printed".into(), false)]
    );
    let receipts = printers.receipts(0).await;
    assert_eq!(receipts.len(), 1);
    assert!(receipts[0].contains(&format!("Commande n°{order_id}")));
}

#[tokio::test]
async fn a_reprint_is_marked_and_each_request_prints_once() {
    let (env, shop, printers) = setup().await;
    let (order_id, reserved) =
        confirmed(&env, &shop, PaymentMode::OnSite, Fulfilment::Pickup).await;
    consumer::process(&env.pool, CONSUMER, &worker(&env), &reserved)
        .await
        .unwrap();
    let request = Envelope::new(Event::TicketReprintRequested(TicketReprintRequested {
        order_id,
        pizzeria_id: shop.pizzeria_id,
        requested_by: shop.manager_id,
    }));
    consumer::process(&env.pool, CONSUMER, &worker(&env), &request)
        .await
        .unwrap();
    consumer::process(&env.pool, CONSUMER, &worker(&env), &request)
        .await
        .unwrap();
    let receipts = printers.receipts(0).await;
    assert_eq!(receipts.len(), 2, "the original and one copy");
    assert!(receipts[1].contains("REPRINT - DUPLICATA"));
    assert!(!receipts[0].contains("REPRINT"));
    assert_eq!(
        ticket_state(&env, order_id).await,
        [
            ("original".into(), "printed".into(), false),
            ("reprint".into(), "printed".into(), false)
        ]
    );
}

/// A slot order's ticket prints when the kitchen should start it, not when it is confirmed
/// hours before, and once.
#[tokio::test]
async fn a_slot_orders_ticket_prints_at_its_kitchen_start_once() {
    let (env, shop, printers) = setup().await;
    let mut new = TestEnv::new_order(
        &shop,
        vec![order::NewLine::plain(shop.regina, 2)],
        PaymentMode::OnSite,
        Fulfilment::Pickup,
    );
    new.desired_at = Some(pace::quarter_of(
        chrono::Utc::now() + chrono::Duration::hours(3),
    ));
    let mut tx = env.pool.begin().await.unwrap();
    let placed = order::place::place(
        &mut tx,
        &new,
        vocab::Actor::Customer(shop.customer_id),
        chrono::Utc::now(),
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    let order::Placed::Created(o) = placed else {
        panic!("a new order")
    };
    let start = o.kitchen_at.expect("a kitchen start");
    assert!(start > chrono::Utc::now() + chrono::Duration::hours(2));
    let placed = env.outbox_for("order.placed", o.id).await;
    consumer::process(&env.pool, "stock", &StockWorker, &placed)
        .await
        .unwrap();
    let reserved = env.outbox_for("stock.reserved", o.id).await;
    consumer::process(&env.pool, CONSUMER, &worker(&env), &reserved)
        .await
        .unwrap();
    let policy = worker(&env).policy;
    assert_eq!(
        ticket::print::print_due(&env.pool, &policy, chrono::Utc::now())
            .await
            .unwrap(),
        0
    );
    assert!(printers.receipts(0).await.is_empty(), "not hours early");
    assert!(ticket_state(&env, o.id).await.is_empty());

    // Its start comes: the worker's round prints it, once.
    let at_start = start + chrono::Duration::seconds(1);
    assert_eq!(
        ticket::print::print_due(&env.pool, &policy, at_start)
            .await
            .unwrap(),
        1
    );
    ticket::print::print_due(&env.pool, &policy, at_start)
        .await
        .unwrap();
    let receipts = printers.receipts(0).await;
    assert_eq!(receipts.len(), 1);
    assert!(receipts[0].contains("À EMPORTER pour"), "{}", receipts[0]);
}

/// The printer took the ticket, then the transaction recording it was lost (the database cut
/// it, the worker was killed): the confirmation comes again and the ticket with it, marked
/// « DOUBLON POSSIBLE » on paper and on the kitchen card. A ticket refused by every printer
/// before taking anything comes out unmarked on retry.
#[tokio::test]
async fn a_ticket_printed_but_not_recorded_comes_out_again_marked_as_a_possible_duplicate() {
    let (env, shop, printers) = setup().await;
    let (order_id, reserved) =
        confirmed(&env, &shop, PaymentMode::OnSite, Fulfilment::Pickup).await;
    let order = env.order(order_id).await;
    let policy = worker(&env).policy;
    let mut cut = env.pool.begin().await.unwrap();
    let first = ticket::print::print_order(
        &mut cut,
        &env.pool,
        &order,
        ticket::print::Kind::Original,
        &policy,
        None,
    )
    .await
    .unwrap();
    assert!(matches!(first, ticket::print::Outcome::Printed { .. }));
    drop(cut);
    assert!(
        ticket_state(&env, order_id).await.is_empty(),
        "nothing recorded"
    );

    assert_eq!(
        consumer::process(&env.pool, CONSUMER, &worker(&env), &reserved)
            .await
            .unwrap(),
        Outcome::Applied
    );
    let receipts = printers.receipts(0).await;
    assert_eq!(receipts.len(), 2);
    assert!(!receipts[0].contains("DOUBLON"), "{}", receipts[0]);
    assert!(
        receipts[1].contains("DOUBLON POSSIBLE")
            && receipts[1].contains("Vérifiez avant de préparer."),
        "{}",
        receipts[1]
    );
    let marked: bool =
        sqlx::query_scalar("SELECT possible_duplicate FROM tickets WHERE order_id = ?")
            .bind(order_id)
            .fetch_one(&env.pool)
            .await
            .unwrap();
    assert!(marked);
    let app = env.spawn_web().await;
    let cook = ocpizza_tests::browser::Visitor::new(&app);
    cook.log_in(ocpizza_tests::shop::MANAGER, ocpizza_tests::shop::PASSWORD)
        .await;
    let board = cook.page("/equipe/test/cuisine/tableau").await;
    assert!(
        board.contains("Ticket peut-être imprimé deux fois : à préparer une seule fois"),
        "{board}"
    );

    // Both printers refuse (nothing listens): no copy can be out, so the retry is unmarked.
    let (other, reserved) = confirmed(&env, &shop, PaymentMode::OnSite, Fulfilment::Pickup).await;
    sqlx::query("UPDATE printers SET port = 1")
        .execute(&env.pool)
        .await
        .unwrap();
    consumer::process(&env.pool, CONSUMER, &worker(&env), &reserved)
        .await
        .unwrap();
    assert_eq!(
        ticket_state(&env, other).await,
        [("original".into(), "failed".into(), false)]
    );
    sqlx::query("UPDATE printers SET port = ? WHERE role = 'main'")
        .bind(printers.ports[0])
        .execute(&env.pool)
        .await
        .unwrap();
    ticket::print::retry_failed(&env.pool, &policy)
        .await
        .unwrap();
    let receipts = printers.receipts(0).await;
    assert_eq!(receipts.len(), 3);
    assert!(
        receipts[2].contains(&format!("Commande n°{other}")) && !receipts[2].contains("DOUBLON"),
        "{}",
        receipts[2]
    );
}
