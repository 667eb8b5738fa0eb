//! Private instances of the SMTP sink (maildev) and the printer emulator (emupos) for one test:
//! isolated from other tests running in parallel, and stoppable, so tests can take the peer away
//! and bring it back. The programs are the ones `deploy/local/services.sh up` installs.

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crate::SERVICES_HINT;

const OPT: &str = "/opt/ocpizza";

/// Ports handed to private peers come from here: below Linux's ephemeral range (32768+), so the
/// kernel never gives them to another program's outgoing connection or port-0 listener.
const PORTS: std::ops::Range<u16> = 20000..30000;

/// A port nothing listens on, reserved for this test process: a peer stopped and started again
/// finds it still free. Tests run in parallel processes, so the reservation is a file created
/// exclusively in a shared directory; reservations older than two hours are reused.
pub fn free_port() -> u16 {
    let dir = std::env::temp_dir().join("ocpt-ports");
    std::fs::create_dir_all(&dir).expect("port reservations directory");
    let stale = |path: &std::path::Path| {
        std::fs::metadata(path)
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| t.elapsed().ok())
            .is_some_and(|age| age > Duration::from_secs(2 * 3600))
    };
    for _ in 0..10_000 {
        let span = PORTS.end - PORTS.start;
        let offset = uuid::Uuid::new_v4().as_u128() % u128::from(span);
        let port = PORTS.start + u16::try_from(offset).expect("below the span, a u16");
        let path = dir.join(port.to_string());
        if stale(&path) {
            let _ = std::fs::remove_file(&path);
        }
        let reserved = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)
            .is_ok();
        // A port something else holds stays reserved: nobody here can use it either.
        if reserved && TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
    panic!("no free port left in {PORTS:?}");
}

async fn wait_listening(port: u16, what: &str, child: &mut Child) {
    for _ in 0..300 {
        if tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_ok()
        {
            return;
        }
        if let Ok(Some(status)) = child.try_wait() {
            panic!("{what} exited at start-up ({status}); {SERVICES_HINT}");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("{what} did not listen on {port} within 15 s; {SERVICES_HINT}");
}

fn program(relative: &str) -> PathBuf {
    let path = PathBuf::from(OPT).join(relative);
    assert!(
        path.exists(),
        "{} is missing: {SERVICES_HINT}",
        path.display()
    );
    path
}

/// A maildev of this test's own.
pub struct Maildev {
    pub smtp_port: u16,
    pub web_port: u16,
    child: Option<Child>,
    http: reqwest::Client,
}

impl Maildev {
    pub async fn start() -> Maildev {
        let mut m = Maildev {
            smtp_port: free_port(),
            web_port: free_port(),
            child: None,
            http: reqwest::Client::new(),
        };
        m.resume().await;
        m
    }

    pub fn smtp_url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.smtp_port)
    }

    /// Starts it again on the same ports (its mailbox starts empty).
    pub async fn resume(&mut self) {
        let mut child = Command::new(program("node/node_modules/.bin/maildev"))
            .args(["--ip", "127.0.0.1", "--web-ip", "127.0.0.1"])
            .args([
                "--smtp",
                &self.smtp_port.to_string(),
                "--web",
                &self.web_port.to_string(),
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start maildev");
        wait_listening(self.smtp_port, "maildev SMTP", &mut child).await;
        wait_listening(self.web_port, "maildev API", &mut child).await;
        self.child = Some(child);
    }

    /// Takes the SMTP server away.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Every e-mail received, as maildev's API returns them.
    pub async fn emails(&self) -> Vec<serde_json::Value> {
        self.http
            .get(format!("http://127.0.0.1:{}/api/email", self.web_port))
            .send()
            .await
            .expect("maildev API answers")
            .json()
            .await
            .expect("maildev returns JSON")
    }
}

impl Drop for Maildev {
    fn drop(&mut self) {
        self.stop();
    }
}

/// An emupos of this test's own: printers on free ports, receipts in a private directory.
pub struct Emupos {
    pub api_port: u16,
    /// Printer ports, in the order asked for; device ids are `printer-<n>` (n = index).
    pub ports: Vec<u16>,
    dir: PathBuf,
    child: Option<Child>,
    http: reqwest::Client,
}

impl Emupos {
    /// Starts emupos with `printers` printers.
    pub async fn start(printers: usize) -> Emupos {
        let dir =
            std::env::temp_dir().join(format!("ocpt-emupos-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir).expect("emupos directory");
        let mut e = Emupos {
            api_port: free_port(),
            ports: (0..printers).map(|_| free_port()).collect(),
            dir,
            child: None,
            http: reqwest::Client::new(),
        };
        let mut yaml = format!(
            "schema: 1\napi: {{ host: 127.0.0.1, port: {} }}\ndevices:\n",
            e.api_port
        );
        for (i, port) in e.ports.iter().enumerate() {
            yaml.push_str(&format!(
                "  - id: printer-{i}\n    type: printer\n    profile: epson-tm-t20iii\n    connections:\n      - tcp: {{ host: 127.0.0.1, port: {port} }}\n    receipts_dir: {}\n",
                e.dir.join(format!("printer-{i}")).display()
            ));
        }
        std::fs::write(e.dir.join("emupos.yaml"), yaml).expect("emupos config");
        e.resume().await;
        e
    }

    /// Starts it again (receipts already printed stay).
    pub async fn resume(&mut self) {
        let mut child = Command::new(program("venvs/emupos/bin/emupos"))
            .arg("run")
            .arg("--config")
            .arg(self.dir.join("emupos.yaml"))
            .current_dir(&self.dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start emupos");
        wait_listening(self.api_port, "emupos API", &mut child).await;
        for port in self.ports.clone() {
            wait_listening(port, "emupos printer", &mut child).await;
        }
        self.child = Some(child);
    }

    /// Takes every printer away (connection refused).
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    fn api(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}/api/v1{path}", self.api_port)
    }

    /// The text of every receipt printer `i` printed, oldest first.
    pub async fn receipts(&self, i: usize) -> Vec<String> {
        let list: Vec<serde_json::Value> = self
            .http
            .get(self.api(&format!("/devices/printer-{i}/receipts")))
            .send()
            .await
            .expect("emupos API answers")
            .json()
            .await
            .expect("receipts as JSON");
        let mut texts = Vec::new();
        for r in list.iter().rev() {
            let id = r["id"].as_str().expect("receipt id");
            texts.push(
                self.http
                    .get(self.api(&format!("/devices/printer-{i}/receipts/{id}/text")))
                    .send()
                    .await
                    .expect("receipt text")
                    .text()
                    .await
                    .expect("text body"),
            );
        }
        texts
    }

    /// Puts printer `i` in a fault (`offline`, `paper-out`, `cover-open`) or clears it.
    pub async fn fault(&self, i: usize, fault: &str, on: bool) {
        let url = self.api(&format!("/devices/printer-{i}/faults/{fault}"));
        let request = if on {
            self.http.put(url)
        } else {
            self.http.delete(url)
        };
        let status = request.send().await.expect("emupos API answers").status();
        assert!(status.is_success(), "emupos fault {fault}: {status}");
    }
}

impl Drop for Emupos {
    fn drop(&mut self) {
        self.stop();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A RabbitMQ node of this test's own (the installed server, its own port, data directory and
/// Erlang node name), so a test can kill it with SIGKILL and start it again on the same data, as
/// a crash or a reboot of the broker does, without touching the shared broker.
pub struct PrivateRabbit {
    pub port: u16,
    dist_port: u16,
    dir: PathBuf,
    child: Option<Child>,
}

/// Declares every worker's queues on the broker at `urls`, as the programs do when they start.
pub async fn declare_topology(urls: &str) {
    let conn = messages::broker::connect(urls)
        .await
        .expect("the broker answers");
    let ch = conn.create_channel().await.expect("a channel");
    messages::topology::declare_all(&ch, &workers::consumers())
        .await
        .expect("the topology");
    conn.close(200, "setup".into()).await.expect("closed");
}

const RABBITMQ_SERVER: &str = "/usr/lib/rabbitmq/bin/rabbitmq-server";

impl PrivateRabbit {
    /// As on a server: started, the topology declared, and the node restarted once since
    /// (docs/messaging.md, the quorum-queue registration pitfall).
    pub async fn start_as_on_a_server() -> PrivateRabbit {
        let mut rabbit = PrivateRabbit::start().await;
        declare_topology(&rabbit.url()).await;
        rabbit.restart_cleanly().await;
        rabbit
    }

    pub async fn start() -> PrivateRabbit {
        PrivateRabbit::start_with_cookie(None).await
    }

    /// A node whose Erlang cookie is `cookie` (the nodes of a cluster share one), or its own.
    pub async fn start_with_cookie(cookie: Option<&str>) -> PrivateRabbit {
        assert!(
            std::path::Path::new(RABBITMQ_SERVER).exists(),
            "RabbitMQ is not installed; {SERVICES_HINT}"
        );
        let dir =
            std::env::temp_dir().join(format!("ocpt-rabbit-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir).expect("node directory");
        std::fs::write(dir.join("env.conf"), "").expect("empty env file");
        std::fs::write(dir.join("rabbitmq.conf"), "loopback_users = none\n").expect("config");
        std::fs::write(dir.join("enabled_plugins"), "[].\n").expect("no plugins");
        if let Some(cookie) = cookie {
            use std::os::unix::fs::PermissionsExt;
            let file = dir.join(".erlang.cookie");
            std::fs::write(&file, cookie).expect("the Erlang cookie");
            std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o400))
                .expect("the cookie private");
        }
        let mut node = PrivateRabbit {
            port: free_port(),
            dist_port: free_port(),
            dir,
            child: None,
        };
        node.resume().await;
        node
    }

    /// The AMQP URL of the node's default vhost.
    pub fn url(&self) -> String {
        format!("amqp://guest:guest@127.0.0.1:{}/%2f", self.port)
    }

    /// Waits until the node takes AMQP connections again (after `rabbitmqctl start_app`).
    pub async fn resume_listening(&self) {
        for _ in 0..600 {
            if tokio::net::TcpStream::connect(("127.0.0.1", self.port))
                .await
                .is_ok()
            {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("{} did not listen again within 30 s", self.node_name());
    }

    /// Started by us and taking connections.
    pub fn is_running(&self) -> bool {
        self.child.is_some() && std::net::TcpStream::connect(("127.0.0.1", self.port)).is_ok()
    }

    /// Its Erlang node name, as `rabbitmqctl` and the cluster know it.
    pub fn node_name(&self) -> String {
        format!("ocpt{}@localhost", self.port)
    }

    /// `rabbitmqctl -n <this node> args…`; its output, or a panic with it.
    pub fn ctl(&self, args: &[&str]) -> String {
        let out = Command::new("/usr/lib/rabbitmq/bin/rabbitmqctl")
            .arg("-n")
            .arg(self.node_name())
            .args(args)
            .env("HOME", &self.dir)
            .stdin(Stdio::null())
            .output()
            .unwrap_or_else(|e| panic!("rabbitmqctl runs ({e}); {SERVICES_HINT}"));
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(out.status.success(), "rabbitmqctl {args:?}: {text}");
        text
    }

    /// Starts the node on its data directory (durable queues and their messages come back).
    pub async fn resume(&mut self) {
        let d = |name: &str| self.dir.join(name);
        let mut child = Command::new(RABBITMQ_SERVER)
            .current_dir(&self.dir)
            .env("HOME", &self.dir)
            .env("RABBITMQ_CONF_ENV_FILE", d("env.conf"))
            .env("RABBITMQ_CONFIG_FILE", d("rabbitmq.conf"))
            .env("RABBITMQ_ENABLED_PLUGINS_FILE", d("enabled_plugins"))
            .env("RABBITMQ_NODENAME", self.node_name())
            .env("RABBITMQ_NODE_IP_ADDRESS", "127.0.0.1")
            .env("RABBITMQ_NODE_PORT", self.port.to_string())
            .env("RABBITMQ_DIST_PORT", self.dist_port.to_string())
            .env(
                "RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS",
                "-kernel inet_dist_use_interface {127,0,0,1}",
            )
            .env("RABBITMQ_MNESIA_BASE", d("mnesia"))
            .env("RABBITMQ_LOG_BASE", d("log"))
            .env("RABBITMQ_PID_FILE", d("pid"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start rabbitmq-server ({e}); {SERVICES_HINT}"));
        for _ in 0..600 {
            if tokio::net::TcpStream::connect(("127.0.0.1", self.port))
                .await
                .is_ok()
            {
                self.child = Some(child);
                return;
            }
            if let Ok(Some(status)) = child.try_wait() {
                panic!(
                    "the private RabbitMQ node exited at start-up ({status}); see {}",
                    self.dir.join("log").display()
                );
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("the private RabbitMQ node did not listen within 30 s");
    }

    /// A clean stop (SIGTERM, waiting for the node to exit) and a start. After declaring queues,
    /// this makes the node what a broker running for a while is: RabbitMQ 3.10 writes a new
    /// quorum queue's registration to disk lazily, and a node killed before that loses it.
    pub async fn restart_cleanly(&mut self) {
        self.stop_cleanly().await;
        self.resume().await;
    }

    /// SIGTERM, and waits for the node to exit (a clean stop: a cluster hands its queues'
    /// leadership to another node).
    pub async fn stop_cleanly(&mut self) {
        if let Ok(pid) = std::fs::read_to_string(self.dir.join("pid")) {
            let pid = pid.trim().to_owned();
            let _ = Command::new("kill").args(["-TERM", &pid]).status();
            for _ in 0..600 {
                let alive = Command::new("kill")
                    .args(["-0", &pid])
                    .stderr(Stdio::null())
                    .status()
                    .is_ok_and(|s| s.success());
                if !alive {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
        if let Some(mut child) = self.child.take() {
            let _ = child.wait();
        }
    }

    /// SIGKILL: the broker vanishes mid-flight, no clean shutdown.
    pub fn kill(&mut self) {
        if let Ok(pid) = std::fs::read_to_string(self.dir.join("pid")) {
            let _ = Command::new("kill").args(["-9", pid.trim()]).status();
        }
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        for _ in 0..200 {
            if std::net::TcpStream::connect(("127.0.0.1", self.port)).is_err() {
                return;
            }
            std::thread::sleep(Duration::from_millis(25));
        }
    }
}

impl Drop for PrivateRabbit {
    fn drop(&mut self) {
        self.kill();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Creates the programs' account (`PRIVATE_DB_USER`) as root on a fresh server on `port`.
pub(crate) async fn create_private_account(port: u16) {
    let root = db::connect_url(&format!("mysql://root@127.0.0.1:{port}/"), 1)
        .await
        .expect("root on the private server");
    for sql in [
        format!(
            "CREATE USER '{PRIVATE_DB_USER}'@'127.0.0.1' IDENTIFIED BY '{PRIVATE_DB_PASSWORD}'"
        ),
        format!("GRANT ALL ON *.* TO '{PRIVATE_DB_USER}'@'127.0.0.1'"),
    ] {
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .execute(&root)
            .await
            .expect("account on the private server");
    }
    root.close().await;
}

/// A MariaDB server of this test's own (its own data directory and port), so a test can restart
/// the database under a running system without disturbing the tests beside it.
pub struct PrivateMariadb {
    pub port: u16,
    dir: PathBuf,
    child: Option<Child>,
}

const MARIADBD: &str = "/usr/sbin/mariadbd";
/// The account the programs use on the private server.
pub const PRIVATE_DB_USER: &str = "ocpt";
pub const PRIVATE_DB_PASSWORD: &str = "ocpt-private-password";

impl PrivateMariadb {
    pub async fn start() -> PrivateMariadb {
        assert!(
            std::path::Path::new(MARIADBD).exists(),
            "MariaDB is not installed; {SERVICES_HINT}"
        );
        let dir =
            std::env::temp_dir().join(format!("ocpt-mariadb-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir).expect("server directory");
        let installed = Command::new("mariadb-install-db")
            .args([
                "--no-defaults",
                "--auth-root-authentication-method=normal",
                "--skip-test-db",
                "--user=root",
            ])
            .arg(format!("--datadir={}", dir.join("data").display()))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .expect("mariadb-install-db runs");
        assert!(installed.success(), "a fresh data directory");
        let mut server = PrivateMariadb {
            port: free_port(),
            dir,
            child: None,
        };
        server.resume().await;
        create_private_account(server.port).await;
        server
    }

    /// The account's URL for `database`.
    pub fn url(&self, database: &str) -> String {
        format!(
            "mysql://{PRIVATE_DB_USER}:{PRIVATE_DB_PASSWORD}@127.0.0.1:{}/{database}",
            self.port
        )
    }

    /// Starts the server on its data directory and waits until it takes connections.
    pub async fn resume(&mut self) {
        let mut child = Command::new(MARIADBD)
            .arg("--no-defaults")
            .arg(format!("--datadir={}", self.dir.join("data").display()))
            .arg(format!("--port={}", self.port))
            .arg("--bind-address=127.0.0.1")
            .arg(format!("--socket={}", self.dir.join("sock").display()))
            .arg(format!("--pid-file={}", self.dir.join("pid").display()))
            .arg(format!(
                "--log-error={}",
                self.dir.join("error.log").display()
            ))
            .args([
                "--user=root",
                "--innodb-buffer-pool-size=32M",
                "--skip-name-resolve",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("mariadbd starts");
        wait_listening(self.port, "the private MariaDB", &mut child).await;
        self.child = Some(child);
    }

    /// A clean shutdown (SIGTERM, waiting for the server to exit) and a start on the same data.
    pub async fn restart(&mut self) {
        self.stop();
        self.resume().await;
    }

    fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = Command::new("kill")
                .args(["-TERM", &child.id().to_string()])
                .status();
            let _ = child.wait();
        }
    }
}

impl Drop for PrivateMariadb {
    fn drop(&mut self) {
        self.stop();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A scripted SMTP server of this test's own: it greets, accepts `EHLO`, and answers `MAIL FROM`
/// with `answer` (a whole reply line such as `535 5.7.8 Authentication credentials invalid`),
/// so a test sees what the mailer does with a reply no real sink gives on demand.
pub struct ScriptedSmtp {
    pub port: u16,
    task: tokio::task::JoinHandle<()>,
}

impl ScriptedSmtp {
    pub async fn start(answer: &'static str) -> ScriptedSmtp {
        use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a free port for the scripted SMTP server");
        let port = listener.local_addr().expect("its address").port();
        let task = tokio::spawn(async move {
            while let Ok((socket, _)) = listener.accept().await {
                tokio::spawn(async move {
                    let (read, mut write) = socket.into_split();
                    let mut lines = BufReader::new(read).lines();
                    if write.write_all(b"220 scripted ESMTP\r\n").await.is_err() {
                        return;
                    }
                    while let Ok(Some(line)) = lines.next_line().await {
                        let verb = line.split_whitespace().next().unwrap_or("").to_uppercase();
                        let reply = match verb.as_str() {
                            "EHLO" | "HELO" => "250 scripted".to_owned(),
                            "MAIL" => answer.to_owned(),
                            "QUIT" => {
                                let _ = write.write_all(b"221 bye\r\n").await;
                                return;
                            }
                            _ => "250 ok".to_owned(),
                        };
                        if write
                            .write_all(format!("{reply}\r\n").as_bytes())
                            .await
                            .is_err()
                        {
                            return;
                        }
                    }
                });
            }
        });
        ScriptedSmtp { port, task }
    }

    pub fn smtp_url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }
}

impl Drop for ScriptedSmtp {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// A scripted SMTP server that fails its first mail transactions the ways real servers do —
/// `451` at `MAIL`, `421` and a closed connection, the connection dropped after the message's
/// data and before any answer — and then accepts every message, keeping the Message-ID of each
/// it accepted (a server that gave no `250` has not accepted it).
pub struct FlakySmtp {
    pub port: u16,
    accepted: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
    task: tokio::task::JoinHandle<()>,
}

impl FlakySmtp {
    pub async fn start() -> FlakySmtp {
        use std::sync::atomic::{AtomicUsize, Ordering};
        use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a free port for the flaky SMTP server");
        let port = listener.local_addr().expect("its address").port();
        let accepted = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let transactions = std::sync::Arc::new(AtomicUsize::new(0));
        let kept = accepted.clone();
        let task = tokio::spawn(async move {
            while let Ok((socket, _)) = listener.accept().await {
                let (accepted, transactions) = (kept.clone(), transactions.clone());
                tokio::spawn(async move {
                    let (read, mut write) = socket.into_split();
                    let mut lines = BufReader::new(read).lines();
                    let say = async |w: &mut tokio::net::tcp::OwnedWriteHalf, s: &str| {
                        w.write_all(format!("{s}\r\n").as_bytes()).await.is_ok()
                    };
                    if !say(&mut write, "220 flaky ESMTP").await {
                        return;
                    }
                    let mut this = 0;
                    while let Ok(Some(line)) = lines.next_line().await {
                        let verb = line.split_whitespace().next().unwrap_or("").to_uppercase();
                        let reply = match verb.as_str() {
                            "EHLO" | "HELO" => "250 flaky",
                            "MAIL" => {
                                this = transactions.fetch_add(1, Ordering::SeqCst);
                                match this {
                                    0 => "451 4.3.0 try again later",
                                    1 => {
                                        let _ = say(&mut write, "421 4.7.0 closing").await;
                                        return;
                                    }
                                    _ => "250 sender ok",
                                }
                            }
                            "DATA" => {
                                if !say(&mut write, "354 go ahead").await {
                                    return;
                                }
                                let mut message_id = String::new();
                                while let Ok(Some(data)) = lines.next_line().await {
                                    if data == "." {
                                        break;
                                    }
                                    if let Some(id) = data.strip_prefix("Message-ID: ") {
                                        message_id = id.trim().to_owned();
                                    }
                                }
                                if this == 2 {
                                    // The data came, the answer never does.
                                    return;
                                }
                                accepted.lock().expect("not poisoned").push(message_id);
                                "250 queued"
                            }
                            "QUIT" => {
                                let _ = say(&mut write, "221 bye").await;
                                return;
                            }
                            _ => "250 ok",
                        };
                        if !say(&mut write, reply).await {
                            return;
                        }
                    }
                });
            }
        });
        FlakySmtp {
            port,
            accepted,
            task,
        }
    }

    pub fn smtp_url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    /// The Message-IDs of the messages accepted, in order.
    pub fn accepted(&self) -> Vec<String> {
        self.accepted.lock().expect("not poisoned").clone()
    }
}

impl Drop for FlakySmtp {
    fn drop(&mut self) {
        self.task.abort();
    }
}
