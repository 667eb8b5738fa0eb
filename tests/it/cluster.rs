//! The programs on a three-node RabbitMQ cluster (`ocpizza_tests::cluster`), given every
//! node's address: under a steady stream of orders over HTTP, one node is killed with SIGKILL
//! and started again, then the node leading the queues is stopped and started again. Each time
//! the programs move to a live node; afterwards every accepted order is confirmed, reserved,
//! printed and mailed exactly once, the outbox is empty and no message was dead-lettered.

use std::time::Duration;

use ocpizza_tests::cluster::RabbitCluster;
use ocpizza_tests::flow::{
    OrderStream, confirmed_while_down, every_order_handled_once, outbox_drained, stocked,
};
use ocpizza_tests::peers::{Emupos, Maildev};
use ocpizza_tests::stack::Supervised;

#[tokio::test]
async fn rabbitmq_nodes_killed_and_stopped_under_a_stream_of_orders_lose_nothing() {
    let printers = Emupos::start(2).await;
    let maildev = Maildev::start().await;
    let (env, shop) = stocked((printers.ports[0], printers.ports[1])).await;
    let mut cluster = RabbitCluster::start().await;
    let urls = cluster.urls();
    let stack = Supervised::start(
        &env,
        &[("RABBITMQ_URL", &urls), ("SMTP_URL", &maildev.smtp_url())],
    )
    .await;
    let stream = OrderStream::start(&stack.url(""), &shop, Duration::from_millis(150)).await;
    tokio::time::sleep(Duration::from_secs(3)).await;

    // The node most programs talk to vanishes (power cut); they carry on with the others
    // while it is away, then it comes back on its data.
    let victim = cluster.busiest();
    assert!(cluster.connections(victim) > 0, "programs connected to it");
    cluster.nodes[victim].kill();
    confirmed_while_down(&env, "a node killed").await;
    cluster.nodes[victim].resume().await;
    tokio::time::sleep(Duration::from_secs(3)).await;

    // The node leading the queues is taken down for maintenance, then brought back.
    let leader = cluster.leader_of("ocpizza.stock");
    cluster.nodes[leader].stop_cleanly().await;
    confirmed_while_down(&env, "the queues' leader stopped").await;
    assert_ne!(
        cluster.leader_of("ocpizza.stock"),
        leader,
        "another node leads the queue"
    );
    cluster.nodes[leader].resume().await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    let told = stream.stop().await;

    assert!(told.accepted.len() >= 30, "a steady stream: {told:?}");
    // Orders never wait on the broker: they go to the outbox with the order.
    assert!(told.refused.is_empty(), "{told:?}");
    every_order_handled_once(&env, &shop, &told, &urls, &maildev, &printers, 0).await;
    outbox_drained(&env).await;
    assert!(stack.all_running().await);
}
