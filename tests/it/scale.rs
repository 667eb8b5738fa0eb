//! Several of each program on the same database and queues, as on several machines: two web
//! servers behind one nginx (deploy/nginx's configuration, an upstream of two) and two
//! instances of every worker competing on their queues. One web server is frozen while a
//! customer's order is on its way to it, then killed: nginx sends the order again to the other
//! (it carries its idempotency key), so the customer sees no error, and every order is
//! confirmed, printed and mailed exactly once.

use std::process::Stdio;
use std::time::Duration;

use ocpizza_tests::flow::{
    OrderStream, confirmations_received_once, reconcile, start_workers, stocked,
};
use ocpizza_tests::peers::{Emupos, Maildev, free_port};
use ocpizza_tests::stack::{Nginx, Supervised};
use ocpizza_tests::{wait_until, workspace_binary};

fn signal(pid: u32, which: &str) {
    let sent = std::process::Command::new("kill")
        .args([which, &pid.to_string()])
        .status()
        .expect("kill runs");
    assert!(sent.success(), "kill {which} {pid}");
}

#[tokio::test]
async fn a_web_server_killed_mid_order_behind_nginx_answers_no_customer_with_an_error() {
    let printers = Emupos::start(2).await;
    let maildev = Maildev::start().await;
    let (env, shop) = stocked((printers.ports[0], printers.ports[1])).await;
    let smtp = maildev.smtp_url();
    let stack = Supervised::start(&env, &[("SMTP_URL", &smtp)]).await;

    // The second machine's programs.
    let port = free_port();
    let port_text = port.to_string();
    let vars = env.vars_with(&[("SMTP_URL", &smtp), ("PORT", &port_text)]);
    let mut second_web = tokio::process::Command::new(workspace_binary("ocpizza"))
        .arg("serve")
        .envs(&vars)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("the second web server starts");
    wait_until(
        Duration::from_secs(30),
        "the second web server listening",
        || async {
            tokio::net::TcpStream::connect(("127.0.0.1", port))
                .await
                .is_ok()
        },
    )
    .await;
    let _second_workers = start_workers(
        &vars,
        &["relay", "stock", "payments", "kitchen", "notifications"],
    );
    let nginx = Nginx::in_front_of(&[stack.port, port]).await;

    let stream = OrderStream::start(&nginx.url(""), &shop, Duration::from_millis(50)).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    // Frozen first: the customer's next order reaches it and waits; then it dies under it.
    let pid = second_web.id().expect("the second web server's pid");
    signal(pid, "-STOP");
    tokio::time::sleep(Duration::from_secs(1)).await;
    signal(pid, "-KILL");
    let _ = second_web.wait().await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    let told = stream.stop().await;

    assert!(
        told.refused.is_empty() && told.unanswered.is_empty(),
        "no customer saw an error: {told:?}"
    );
    assert!(told.accepted.len() >= 20, "a steady stream: {told:?}");
    assert!(
        nginx.error_log().contains("upstream prematurely closed")
            || nginx.error_log().contains("Connection reset"),
        "an order was on its way to the killed server:\n{}",
        nginx.error_log()
    );
    reconcile(&env, &shop, &told.accepted, &env.amqp_url()).await;
    confirmations_received_once(&maildev, &told.accepted).await;
    assert_eq!(
        printers.receipts(0).await.len(),
        told.accepted.len(),
        "one ticket per order, whichever kitchen worker printed it"
    );
}
