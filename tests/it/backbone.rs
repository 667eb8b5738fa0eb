//! The message backbone against the real broker and database: outbox, relay, consumer runtime,
//! dead letters.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use lapin::BasicProperties;
use lapin::options::{BasicGetOptions, BasicPublishOptions};
use messages::broker::{self, Shutdown};
use messages::consumer::{self, Consumer, ConsumerConfig, Handler, HandlerError, Outcome};
use messages::event::{Event, StockReserved};
use messages::relay::{Relay, RelayConfig};
use messages::topology::{self, ConsumerSpec};
use messages::{Envelope, dead_letter, outbox};
use ocpizza_tests::peers::PrivateRabbit;
use ocpizza_tests::{TestEnv, wait_until};
use sqlx::MySqlConnection;
use uuid::Uuid;

const PATIENCE: Duration = Duration::from_secs(60);

/// A consumer whose effect is a row in `effects`, and whose failures the test chooses.
#[derive(Clone, Default)]
struct Probe {
    permanent: Arc<Mutex<HashSet<Uuid>>>,
    transient: Arc<Mutex<HashSet<Uuid>>>,
    /// Messages whose first handling hangs forever (a worker stuck, then killed).
    hang_once: Arc<Mutex<HashSet<Uuid>>>,
    entered: Arc<tokio::sync::Notify>,
}

impl Handler for Probe {
    async fn handle(
        &self,
        conn: &mut MySqlConnection,
        message: &Envelope,
    ) -> Result<(), HandlerError> {
        let id = message.message_id;
        sqlx::query("INSERT INTO effects (message_id) VALUES (?)")
            .bind(id.to_string())
            .execute(&mut *conn)
            .await?;
        if self.permanent.lock().unwrap().contains(&id) {
            return Err(HandlerError::Permanent("the probe refuses this one".into()));
        }
        if self.transient.lock().unwrap().contains(&id) {
            return Err(HandlerError::Transient("the probe's peer is down".into()));
        }
        if self.hang_once.lock().unwrap().remove(&id) {
            self.entered.notify_one();
            std::future::pending::<()>().await;
        }
        Ok(())
    }
}

fn probe_spec() -> ConsumerSpec {
    ConsumerSpec::new("probe", &["#"])
}

fn fast_config_at(url: &str) -> ConsumerConfig {
    ConsumerConfig {
        prefetch: 4,
        attempts: 2,
        min_retry_delay: Duration::from_millis(10),
        max_retry_delay: Duration::from_millis(50),
        shutdown_grace: Duration::from_secs(2),
        ..ConsumerConfig::new(url)
    }
}

async fn setup() -> TestEnv {
    let env = TestEnv::new().await;
    sqlx::query(
        "CREATE TABLE effects (id BIGINT AUTO_INCREMENT PRIMARY KEY, message_id CHAR(36) NOT NULL)",
    )
    .execute(&env.pool)
    .await
    .unwrap();
    declare_probe(&env.amqp_url()).await;
    env
}

/// The probe's queue exists before anything is published, like the workers' queues.
async fn declare_probe(url: &str) {
    let conn = broker::connect(url).await.unwrap();
    let ch = conn.create_channel().await.unwrap();
    topology::declare_exchanges(&ch).await.unwrap();
    topology::declare_consumer(&ch, &probe_spec())
        .await
        .unwrap();
    conn.close(200, "setup".into()).await.unwrap();
}

fn message(order_id: u64) -> Envelope {
    Envelope::new(Event::StockReserved(StockReserved {
        order_id,
        pizzeria_id: 1,
    }))
}

async fn enqueue(env: &TestEnv, messages: &[Envelope]) {
    let mut tx = env.pool.begin().await.unwrap();
    for m in messages {
        outbox::enqueue(&mut tx, m).await.unwrap();
    }
    tx.commit().await.unwrap();
}

async fn effects_of(env: &TestEnv, id: Uuid) -> i64 {
    sqlx::query_scalar("SELECT COUNT(*) FROM effects WHERE message_id = ?")
        .bind(id.to_string())
        .fetch_one(&env.pool)
        .await
        .unwrap()
}

async fn distinct_effects(env: &TestEnv) -> (i64, i64) {
    sqlx::query_as("SELECT COUNT(*), COUNT(DISTINCT message_id) FROM effects")
        .fetch_one(&env.pool)
        .await
        .unwrap()
}

type Running = (broker::ShutdownTrigger, tokio::task::JoinHandle<()>);

fn start_consumer(env: &TestEnv, probe: Probe) -> Running {
    start_consumer_at(env, &env.amqp_url(), probe)
}

fn start_consumer_at(env: &TestEnv, url: &str, probe: Probe) -> Running {
    let (trigger, shutdown) = Shutdown::new();
    let consumer = Consumer::new(probe_spec(), fast_config_at(url), env.pool.clone(), probe);
    (trigger, tokio::spawn(consumer.run(shutdown)))
}

fn start_relay(env: &TestEnv) -> Running {
    start_relay_at(env, &env.amqp_url())
}

fn start_relay_at(env: &TestEnv, url: &str) -> Running {
    let (trigger, shutdown) = Shutdown::new();
    let relay = Relay::new(
        env.pool.clone(),
        RelayConfig::new(url, workers::consumers()),
    );
    (trigger, tokio::spawn(relay.run(shutdown)))
}

#[tokio::test]
async fn an_outbox_row_exists_only_if_its_transaction_commits() {
    let env = setup().await;
    let mut tx = env.pool.begin().await.unwrap();
    outbox::enqueue(&mut tx, &message(1)).await.unwrap();
    tx.rollback().await.unwrap();
    assert_eq!(env.count("outbox").await, 0);

    enqueue(&env, &[message(2)]).await;
    assert_eq!(outbox::backlog(&env.pool).await.unwrap(), 1);
}

#[tokio::test]
async fn the_relay_publishes_in_order_and_marks_rows_only_after_the_confirm() {
    let env = setup().await;
    let sent: Vec<Envelope> = (1..=5).map(message).collect();
    enqueue(&env, &sent).await;

    let relay = Relay::new(
        env.pool.clone(),
        RelayConfig::new(&env.amqp_url(), workers::consumers()),
    );
    let conn = broker::connect(&env.amqp_url()).await.unwrap();
    let channel = relay.open_channel(&conn).await.unwrap();
    assert_eq!(relay.publish_round(&channel).await.unwrap(), 5);
    assert_eq!(outbox::backlog(&env.pool).await.unwrap(), 0);
    assert_eq!(
        relay.publish_round(&channel).await.unwrap(),
        0,
        "nothing is published twice by one relay"
    );

    let mut received = Vec::new();
    while let Some(m) = channel
        .basic_get("ocpizza.probe".into(), BasicGetOptions { no_ack: true })
        .await
        .unwrap()
    {
        received.push(Envelope::decode(&m.delivery.data).unwrap());
    }
    assert_eq!(received, sent);
}

#[tokio::test]
async fn a_relay_killed_between_publish_and_mark_causes_a_duplicate_that_is_absorbed() {
    let env = setup().await;
    let m = message(7);
    enqueue(&env, std::slice::from_ref(&m)).await;

    let conn = broker::connect(&env.amqp_url()).await.unwrap();
    let crashing = Relay::new(
        env.pool.clone(),
        RelayConfig::new(&env.amqp_url(), workers::consumers()),
    );
    let channel = crashing.open_channel(&conn).await.unwrap();
    assert_eq!(
        crashing.publish_round_then_crash(&channel).await.unwrap(),
        1
    );
    assert_eq!(
        outbox::backlog(&env.pool).await.unwrap(),
        1,
        "not marked: the relay died first"
    );

    let survivor = Relay::new(
        env.pool.clone(),
        RelayConfig::new(&env.amqp_url(), workers::consumers()),
    );
    assert_eq!(survivor.publish_round(&channel).await.unwrap(), 1);
    wait_until(PATIENCE, "both copies queued", || async {
        env.queue_depth("ocpizza.probe").await == Some(2)
    })
    .await;

    let (stop, task) = start_consumer(&env, Probe::default());
    wait_until(PATIENCE, "queue drained", || async {
        env.queue_depth("ocpizza.probe").await == Some(0)
    })
    .await;
    stop.trigger();
    task.await.unwrap();
    assert_eq!(
        effects_of(&env, m.message_id).await,
        1,
        "the duplicate was applied once"
    );
}

#[tokio::test]
async fn process_applies_a_message_once_per_consumer() {
    let env = setup().await;
    let m = message(3);
    let probe = Probe::default();
    assert_eq!(
        consumer::process(&env.pool, "probe", &probe, &m).await,
        Ok(Outcome::Applied)
    );
    assert_eq!(
        consumer::process(&env.pool, "probe", &probe, &m).await,
        Ok(Outcome::Duplicate)
    );
    assert_eq!(
        consumer::process(&env.pool, "other", &probe, &m).await,
        Ok(Outcome::Applied)
    );
    assert_eq!(effects_of(&env, m.message_id).await, 2);
}

#[tokio::test]
async fn a_failed_handler_leaves_no_effect_and_no_processed_record() {
    let env = setup().await;
    let m = message(4);
    let probe = Probe::default();
    probe.transient.lock().unwrap().insert(m.message_id);
    assert!(matches!(
        consumer::process(&env.pool, "probe", &probe, &m).await,
        Err(HandlerError::Transient(_))
    ));
    assert_eq!(effects_of(&env, m.message_id).await, 0);
    assert_eq!(env.count("processed_messages").await, 0);

    probe.transient.lock().unwrap().clear();
    assert_eq!(
        consumer::process(&env.pool, "probe", &probe, &m).await,
        Ok(Outcome::Applied)
    );
}

#[tokio::test]
async fn a_consumer_killed_mid_message_gets_it_again_and_applies_it_once() {
    let env = setup().await;
    let m = message(9);
    let probe = Probe::default();
    probe.hang_once.lock().unwrap().insert(m.message_id);
    enqueue(&env, std::slice::from_ref(&m)).await;
    let (relay_stop, relay) = start_relay(&env);

    let (_first_stop, first) = start_consumer(&env, probe.clone());
    probe.entered.notified().await;
    // Kill it: the task (and its open transaction) vanishes, and so does its broker connection.
    first.abort();
    let _ = first.await;
    env.drop_broker_connections().await;

    let (relay_stop2, relay2) = start_relay(&env);
    let (second_stop, second) = start_consumer(&env, probe.clone());
    wait_until(
        PATIENCE,
        "the message applied by the second consumer",
        || async { effects_of(&env, m.message_id).await == 1 },
    )
    .await;
    wait_until(PATIENCE, "queue drained", || async {
        env.queue_depth("ocpizza.probe").await == Some(0)
    })
    .await;
    for t in [second_stop, relay_stop, relay_stop2] {
        t.trigger();
    }
    second.await.unwrap();
    let _ = relay.await;
    relay2.await.unwrap();
    assert_eq!(effects_of(&env, m.message_id).await, 1);
}

#[tokio::test]
async fn nothing_is_lost_when_the_broker_drops_every_connection_mid_stream() {
    let env = setup().await;
    let (relay_stop, relay) = start_relay(&env);
    let (consumer_stop, consumer) = start_consumer(&env, Probe::default());

    let total = 300;
    for batch in 0..10u64 {
        let msgs: Vec<Envelope> = (0..30).map(|i| message(batch * 100 + i)).collect();
        enqueue(&env, &msgs).await;
        if batch % 3 == 1 {
            env.drop_broker_connections().await;
        }
        tokio::time::sleep(Duration::from_millis(30)).await;
    }
    wait_until(PATIENCE, "every message applied", || async {
        distinct_effects(&env).await.1 == total
    })
    .await;
    wait_until(PATIENCE, "outbox drained", || async {
        outbox::backlog(&env.pool).await.unwrap() == 0
    })
    .await;
    relay_stop.trigger();
    consumer_stop.trigger();
    relay.await.unwrap();
    consumer.await.unwrap();
    assert_eq!(
        distinct_effects(&env).await,
        (total, total),
        "each message applied exactly once"
    );
}

#[tokio::test]
async fn nothing_is_lost_when_rabbitmq_is_killed_and_restarted_mid_stream() {
    let env = setup().await;
    let mut rabbit = PrivateRabbit::start().await;
    // Every queue the relay declares exists, and the node has been restarted since, as a broker
    // running in production has (see PrivateRabbit::restart_cleanly).
    declare_probe(&rabbit.url()).await;
    let conn = broker::connect(&rabbit.url()).await.unwrap();
    let ch = conn.create_channel().await.unwrap();
    topology::declare_all(&ch, &workers::consumers())
        .await
        .unwrap();
    conn.close(200, "setup".into()).await.unwrap();
    rabbit.restart_cleanly().await;
    let (relay_stop, relay) = start_relay_at(&env, &rabbit.url());
    let (consumer_stop, consumer) = start_consumer_at(&env, &rabbit.url(), Probe::default());

    // A steady stream of messages; the broker is killed (SIGKILL) in the middle of it, stays
    // down while more are written to the outbox, and comes back on the same data directory.
    let total = 240;
    for batch in 0..12u64 {
        let msgs: Vec<Envelope> = (0..20).map(|i| message(batch * 100 + i)).collect();
        enqueue(&env, &msgs).await;
        match batch {
            4 => rabbit.kill(),
            8 => rabbit.resume().await,
            _ => {}
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // Generous: under a full parallel suite on two cores the node takes a while to come back
    // and the first publishes after it may wait for its queues' recovery.
    let deadline = std::time::Instant::now() + Duration::from_secs(180);
    loop {
        let applied = distinct_effects(&env).await.1;
        if applied == total {
            break;
        }
        if std::time::Instant::now() > deadline {
            let backlog = outbox::backlog(&env.pool).await.unwrap();
            let conn = broker::connect(&rabbit.url()).await.unwrap();
            let parked = dead_letter::list(&conn, "probe").await.unwrap();
            panic!(
                "{applied} of {total} messages applied after 180 s; outbox backlog {backlog}; dead letters {parked:?}"
            );
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    wait_until(PATIENCE, "outbox drained", || async {
        outbox::backlog(&env.pool).await.unwrap() == 0
    })
    .await;
    relay_stop.trigger();
    consumer_stop.trigger();
    relay.await.unwrap();
    consumer.await.unwrap();
    assert_eq!(
        distinct_effects(&env).await,
        (total, total),
        "each message applied exactly once"
    );
}

async fn publish_raw(env: &TestEnv, id: &str, body: &[u8]) {
    let conn = broker::connect(&env.amqp_url()).await.unwrap();
    let ch = conn.create_channel().await.unwrap();
    ch.basic_publish(
        topology::EXCHANGE.into(),
        "order.placed".into(),
        BasicPublishOptions::default(),
        body,
        BasicProperties::default()
            .with_message_id(id.into())
            .with_delivery_mode(2),
    )
    .await
    .unwrap()
    .await
    .unwrap();
    conn.close(200, "done".into()).await.unwrap();
}

#[tokio::test]
async fn poison_messages_are_dead_lettered_with_a_reason_and_the_rest_keep_flowing() {
    let env = setup().await;
    let probe = Probe::default();
    let refused = message(11);
    let stubborn = message(12);
    probe.permanent.lock().unwrap().insert(refused.message_id);
    probe.transient.lock().unwrap().insert(stubborn.message_id);
    let good: Vec<Envelope> = (20..30).map(message).collect();

    publish_raw(&env, "garbage-1", b"{not json").await;
    enqueue(&env, &[refused.clone(), stubborn.clone()]).await;
    enqueue(&env, &good).await;
    let (relay_stop, relay) = start_relay(&env);
    let (consumer_stop, consumer) = start_consumer(&env, probe.clone());

    for m in &good {
        wait_until(PATIENCE, "good messages applied", || async {
            effects_of(&env, m.message_id).await == 1
        })
        .await;
    }
    // The stubborn one is retried, returned to the queue and redelivered until its last delivery
    // before the queue's limit, when the runtime dead-letters it with the reason and an alert.
    wait_until(PATIENCE, "three dead letters", || async {
        env.queue_depth("ocpizza.probe.dead").await == Some(3)
    })
    .await;

    let conn = broker::connect(&env.amqp_url()).await.unwrap();
    let letters = dead_letter::list(&conn, "probe").await.unwrap();
    let reason_of = |id: &str| {
        letters
            .iter()
            .find(|l| l.message_id == id)
            .map(|l| l.reason.clone())
            .unwrap_or_default()
    };
    assert!(
        reason_of("garbage-1").contains("not a message envelope"),
        "{letters:?}"
    );
    assert!(
        reason_of(&refused.message_id.to_string()).contains("the probe refuses this one"),
        "{letters:?}"
    );
    let gave_up = reason_of(&stubborn.message_id.to_string());
    assert!(
        gave_up.contains("still failing after 6 deliveries")
            && gave_up.contains("the probe's peer is down"),
        "{letters:?}"
    );
    let alerts = env.outbox("message.dead_lettered").await;
    assert!(
        alerts
            .iter()
            .any(|a| a.causation_id == Some(stubborn.message_id)),
        "the operators hear about the message given up on: {alerts:?}"
    );
    assert_eq!(
        dead_letter::list(&conn, "probe").await.unwrap().len(),
        3,
        "listing leaves the queue as it was"
    );

    // The operator fixes the cause and replays one message: it is applied, the others stay.
    probe.permanent.lock().unwrap().clear();
    assert_eq!(
        dead_letter::replay(&conn, "probe", Some(&refused.message_id.to_string()))
            .await
            .unwrap(),
        1
    );
    wait_until(PATIENCE, "replayed message applied", || async {
        sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM processed_messages WHERE message_id = ?")
            .bind(refused.message_id.to_string())
            .fetch_one(&env.pool)
            .await
            .unwrap()
            == 1
    })
    .await;
    assert_eq!(dead_letter::list(&conn, "probe").await.unwrap().len(), 2);
    assert!(
        dead_letter::replay(&conn, "probe", Some("no-such-message"))
            .await
            .is_err()
    );

    relay_stop.trigger();
    consumer_stop.trigger();
    relay.await.unwrap();
    consumer.await.unwrap();
}
