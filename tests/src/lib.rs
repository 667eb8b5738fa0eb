//! Test harness: every test gets its own MariaDB database (migrated) and its own RabbitMQ vhost,
//! and both are removed when the test's [`TestEnv`] is dropped, so tests run in parallel and
//! leave nothing behind. Leftovers of a crashed run (older than two hours) are swept at start.
//!
//! The services come from `deploy/local/services.sh up` (the README's test command runs it
//! first). A missing service is a loud failure naming the script, never a skipped test.
//!
//! Where the peers are can be changed with `TEST_DATABASE_URL` (a `mysql://` URL of an account
//! allowed to create `ocpt_%` databases) and `RABBITMQ_MANAGEMENT_URL`.
#![forbid(unsafe_code)]

pub mod browser;
pub mod cluster;
pub mod container;
pub mod flow;
pub mod galera;
pub mod peers;
pub mod shop;
pub mod stack;
pub mod stripe_faults;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::OnceLock;
use std::time::{SystemTime, UNIX_EPOCH};

use settings::Settings;
use sqlx::MySqlPool;
use url::Url;

pub const SERVICES_HINT: &str = "start the local services with `bash deploy/local/services.sh up`";

/// Prefix of every test database and vhost, so sweeping never touches anything else.
const PREFIX: &str = "ocpt_";

fn admin_db_url() -> String {
    std::env::var("TEST_DATABASE_URL")
        .unwrap_or_else(|_| "mysql://ocpizza_test:ocpizza_test@127.0.0.1:3306".to_owned())
}

fn management_url() -> Url {
    let raw = std::env::var("RABBITMQ_MANAGEMENT_URL")
        .unwrap_or_else(|_| "http://guest:guest@127.0.0.1:15672".to_owned());
    Url::parse(&raw).expect("RABBITMQ_MANAGEMENT_URL is a URL")
}

fn unique_name() -> String {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock after 1970")
        .as_secs();
    format!(
        "{PREFIX}{secs}_{}",
        &uuid::Uuid::new_v4().simple().to_string()[..12]
    )
}

/// The default test settings as environment variables, pointing at the local services;
/// `overrides` replace single variables. What a test gives the real programs it starts.
pub fn test_vars(
    database: &str,
    vhost: &str,
    overrides: &HashMap<&str, String>,
) -> HashMap<String, String> {
    let admin = Url::parse(&admin_db_url()).expect("TEST_DATABASE_URL is a URL");
    let mgmt = management_url();
    let amqp = format!(
        "amqp://{}:{}@{}:5672/{}",
        mgmt.username(),
        mgmt.password().unwrap_or(""),
        mgmt.host_str().unwrap_or("127.0.0.1"),
        vhost
    );
    let mut vars: HashMap<String, String> = [
        ("ENV", "test".to_owned()),
        ("HOST", "127.0.0.1".to_owned()),
        ("PORT", "0".to_owned()),
        ("SECRET_KEY", SECRET_KEY.to_owned()),
        (
            "DB_HOST",
            admin.host_str().unwrap_or("127.0.0.1").to_owned(),
        ),
        ("DB_PORT", admin.port().unwrap_or(3306).to_string()),
        ("DB_NAME", database.to_owned()),
        ("DB_USER", admin.username().to_owned()),
        ("DB_PASSWORD", admin.password().unwrap_or("").to_owned()),
        ("DB_MAX_CONNECTIONS", "5".to_owned()),
        ("RABBITMQ_URL", amqp),
        // A Stripe account of its own per test database, as each installation has: localstripe
        // keeps idempotency keys per secret key, and order ids repeat across test databases.
        ("STRIPE_SECRET_KEY", format!("sk_test_{database}")),
        ("STRIPE_PUBLISHABLE_KEY", "pk_test_ocpizza".to_owned()),
        ("STRIPE_WEBHOOK_SECRET", "whsec_ocpizza_test".to_owned()),
        ("STRIPE_API_BASE", "http://127.0.0.1:8420".to_owned()),
        ("SMTP_URL", "smtp://127.0.0.1:1025".to_owned()),
        ("SMTP_FROM", "OC Pizza <commandes@ocpizza.fr>".to_owned()),
        ("SENTRY_DSN", String::new()),
        ("LOG_LEVEL", "warn".to_owned()),
        // Emulated printers listen on whatever loopback port a test reserved.
        ("PRINTER_PORTS", "1-65535".to_owned()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    vars.extend(overrides.iter().map(|(k, v)| ((*k).to_owned(), v.clone())));
    vars
}

/// The default test settings, pointing at the local services; `overrides` replace single
/// variables (e.g. to make one invalid).
pub fn test_settings(database: &str, vhost: &str, overrides: &HashMap<&str, String>) -> Settings {
    let vars = test_vars(database, vhost, overrides);
    Settings::from_lookup(|k| vars.get(k).cloned()).expect("test settings are valid")
}

/// A database and a vhost that belong to one test.
pub struct TestEnv {
    pub database: String,
    pub vhost: String,
    pub pool: MySqlPool,
    pub settings: Settings,
    /// Where the database was created (and is dropped), and the settings that lead there.
    admin_url: String,
    database_vars: HashMap<&'static str, String>,
}

impl TestEnv {
    /// A fresh, migrated database and an empty vhost.
    pub async fn new() -> TestEnv {
        let env = TestEnv::unmigrated().await;
        db::migrate(&env.pool)
            .await
            .expect("migrations apply to an empty database");
        env
    }

    /// A fresh, empty database (no tables) and an empty vhost.
    pub async fn unmigrated() -> TestEnv {
        TestEnv::unmigrated_on(admin_db_url(), HashMap::new()).await
    }

    /// A fresh, migrated database on another server (a Galera cluster): created through
    /// `admin_url`, reached by the programs with `database_vars` (`DB_HOST`, `DB_USER`, …).
    pub async fn on_server(admin_url: &str, database_vars: &[(&'static str, String)]) -> TestEnv {
        let env = TestEnv::unmigrated_on(
            admin_url.to_owned(),
            database_vars.iter().cloned().collect(),
        )
        .await;
        db::migrate(&env.pool)
            .await
            .expect("migrations apply to an empty database");
        env
    }

    async fn unmigrated_on(
        admin_url: String,
        database_vars: HashMap<&'static str, String>,
    ) -> TestEnv {
        log_once();
        sweep_once().await;
        let name = unique_name();
        let admin = admin_pool(&admin_url).await;
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"
        )))
        .execute(&admin)
        .await
        .expect("the test account may create ocpt_% databases");
        admin.close().await;
        create_vhost(&name).await;
        let settings = test_settings(&name, &name, &database_vars);
        let pool = db::connect(&settings.database)
            .await
            .expect("connect to the test database");
        TestEnv {
            database: name.clone(),
            vhost: name,
            pool,
            settings,
            admin_url,
            database_vars,
        }
    }

    /// A Stripe client on this environment's own localstripe account.
    pub fn gateway(&self) -> payment::Gateway {
        use settings::ExposeSecret;
        payment::Gateway::new(
            self.settings.stripe.secret_key.expose_secret(),
            self.settings.stripe.api_base.as_str(),
        )
        .expect("a Stripe client")
    }

    /// Settings for this environment with some variables replaced.
    /// This environment's settings as variables, for the real programs a test starts.
    pub fn vars_with(&self, overrides: &[(&'static str, &str)]) -> HashMap<String, String> {
        test_vars(&self.database, &self.vhost, &self.overridden(overrides))
    }

    pub fn settings_with(&self, overrides: &[(&'static str, &str)]) -> Settings {
        test_settings(&self.database, &self.vhost, &self.overridden(overrides))
    }

    fn overridden(&self, overrides: &[(&'static str, &str)]) -> HashMap<&'static str, String> {
        let mut map = self.database_vars.clone();
        map.extend(overrides.iter().map(|(k, v)| (*k, (*v).to_owned())));
        map
    }

    /// Starts the web server on a free port and returns its address.
    pub async fn spawn_web(&self) -> TestApp {
        self.spawn_web_with(self.settings.clone(), self.pool.clone())
            .await
    }

    pub async fn spawn_web_with(&self, settings: Settings, pool: MySqlPool) -> TestApp {
        let app = web::Application::build(settings, pool)
            .await
            .expect("bind a free port");
        let address = app.local_addr();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(app.run_until(async move {
            let _ = stopped.await;
        }));
        TestApp {
            address,
            client: reqwest::Client::builder()
                .cookie_store(true)
                .build()
                .expect("HTTP client"),
            _stop: stop,
        }
    }

    /// Rows in a table, for assertions.
    pub async fn count(&self, table: &str) -> i64 {
        let (n,): (i64,) = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT COUNT(*) FROM `{table}`"
        )))
        .fetch_one(&self.pool)
        .await
        .expect("count rows");
        n
    }
}

impl Drop for TestEnv {
    fn drop(&mut self) {
        let (database, vhost) = (self.database.clone(), self.vhost.clone());
        let admin_url = self.admin_url.clone();
        // Drop runs inside the test's runtime, which cannot be blocked on; a helper thread with
        // its own runtime does the clean-up and is waited for, so nothing outlives the test.
        // The test's pool stays out of that thread: its sockets belong to the blocked runtime.
        let cleanup = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("cleanup runtime");
            rt.block_on(async move {
                drop_database(&admin_url, &database).await;
                delete_vhost(&vhost).await;
            });
        });
        let _ = cleanup.join();
    }
}

/// A running web server.
pub struct TestApp {
    pub address: SocketAddr,
    pub client: reqwest::Client,
    _stop: tokio::sync::oneshot::Sender<()>,
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.address)
    }
}

/// The `SECRET_KEY` of every test configuration.
pub const SECRET_KEY: &str = "test-secret-key-0123456789abcdef0123456789";

/// How the test configuration's e-mails make their links (the same key as the test servers,
/// so an e-mailed order link opens the order on them).
pub fn mail_links(public_url: &str) -> mail::compose::Links {
    mail::compose::Links::new(public_url, account::signing::Signer::new(SECRET_KEY))
}

async fn admin_pool(url: &str) -> MySqlPool {
    match db::connect_url(url, 2).await {
        Ok(pool) => pool,
        Err(e) => panic!("cannot reach the test MariaDB account ({e}); {SERVICES_HINT}"),
    }
}

async fn drop_database(admin_url: &str, name: &str) {
    if let Ok(admin) = db::connect_url(admin_url, 1).await {
        // A test that panicked inside a transaction leaves its connection holding locks (the
        // rollback would run on the test's runtime, which is blocked in this drop): DROP
        // DATABASE would wait for them forever. End those connections first.
        let ids: Vec<u64> = sqlx::query_scalar(
            "SELECT CAST(id AS UNSIGNED) FROM information_schema.processlist WHERE db = ? AND id <> CONNECTION_ID()",
        )
        .bind(name)
        .fetch_all(&admin)
        .await
        .unwrap_or_default();
        for id in ids {
            let _ = sqlx::query(sqlx::AssertSqlSafe(format!("KILL {id}")))
                .execute(&admin)
                .await;
        }
        let _ = sqlx::query(sqlx::AssertSqlSafe(format!(
            "DROP DATABASE IF EXISTS `{name}`"
        )))
        .execute(&admin)
        .await;
        admin.close().await;
    }
}

fn management_client() -> reqwest::Client {
    reqwest::Client::new()
}

fn management_api(path: &str) -> (Url, String, String) {
    let base = management_url();
    let user = base.username().to_owned();
    let pass = base.password().unwrap_or("").to_owned();
    let mut url = base.clone();
    let _ = url.set_username("");
    let _ = url.set_password(None);
    (url.join(path).expect("management API path"), user, pass)
}

async fn create_vhost(name: &str) {
    let client = management_client();
    let (url, user, pass) = management_api(&format!("api/vhosts/{name}"));
    let created = client.put(url).basic_auth(&user, Some(&pass)).send().await;
    match created {
        Ok(r) if r.status().is_success() => {}
        Ok(r) => panic!(
            "RabbitMQ refused to create vhost {name}: {}; {SERVICES_HINT}",
            r.status()
        ),
        Err(e) => panic!("RabbitMQ management API unreachable ({e}); {SERVICES_HINT}"),
    }
    let (url, _, _) = management_api(&format!("api/permissions/{name}/{user}"));
    let granted = client
        .put(url)
        .basic_auth(&user, Some(&pass))
        .json(&serde_json::json!({"configure": ".*", "write": ".*", "read": ".*"}))
        .send()
        .await
        .expect("grant vhost permissions");
    assert!(
        granted.status().is_success(),
        "grant permissions on {name}: {}",
        granted.status()
    );
}

async fn delete_vhost(name: &str) {
    let (url, user, pass) = management_api(&format!("api/vhosts/{name}"));
    let _ = management_client()
        .delete(url)
        .basic_auth(&user, Some(&pass))
        .send()
        .await;
}

/// `TEST_LOG=debug` (any tracing filter) shows the code's logs in a failing test's output.
fn log_once() {
    static LOG: OnceLock<()> = OnceLock::new();
    if LOG.set(()).is_ok()
        && let Ok(filter) = std::env::var("TEST_LOG")
    {
        let _ = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
            .with_test_writer()
            .try_init();
    }
}

/// Removes test databases and vhosts left by runs that crashed more than two hours ago.
async fn sweep_once() {
    static SWEPT: OnceLock<()> = OnceLock::new();
    if SWEPT.set(()).is_err() {
        return;
    }
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock after 1970")
        .as_secs();
    let stale = |name: &str| {
        name.strip_prefix(PREFIX)
            .and_then(|rest| rest.split('_').next())
            .and_then(|secs| secs.parse::<u64>().ok())
            .is_some_and(|secs| secs + 2 * 3600 < now)
    };
    let admin = admin_pool(&admin_db_url()).await;
    let names: Vec<(String,)> = sqlx::query_as(
        "SELECT schema_name FROM information_schema.schemata WHERE schema_name LIKE 'ocpt\\_%'",
    )
    .fetch_all(&admin)
    .await
    .unwrap_or_default();
    admin.close().await;
    for (name,) in names.into_iter().filter(|(n,)| stale(n)) {
        drop_database(&admin_db_url(), &name).await;
    }
    let (url, user, pass) = management_api("api/vhosts");
    if let Ok(resp) = management_client()
        .get(url)
        .basic_auth(&user, Some(&pass))
        .send()
        .await
        && let Ok(vhosts) = resp.json::<Vec<serde_json::Value>>().await
    {
        for name in vhosts
            .iter()
            .filter_map(|v| v["name"].as_str())
            .filter(|n| stale(n))
        {
            delete_vhost(name).await;
        }
    }
}

/// Path of a workspace binary (`ocpizza`, `ocpizza-worker`), built by `cargo nextest run --workspace`.
pub fn workspace_binary(name: &str) -> std::path::PathBuf {
    let exe = std::env::current_exe().expect("test executable path");
    // target/<profile>/deps/it-<hash> → target/<profile>/<name>; the soak binary itself sits
    // in target/<profile>.
    let mut dir = exe.parent().expect("the executable's directory");
    if dir.ends_with("deps") {
        dir = dir.parent().expect("target/<profile>/deps layout");
    }
    let path = dir.join(name);
    assert!(
        path.exists(),
        "{} is not built: run the tests with `cargo nextest run --workspace`",
        path.display()
    );
    path
}

/// The project root, for fixtures such as the demo seed file.
pub fn project_root() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ sits in the project root")
        .to_path_buf()
}

impl TestEnv {
    /// The AMQP URL of this test's vhost.
    pub fn amqp_url(&self) -> String {
        use settings::ExposeSecret;
        self.settings.rabbitmq_url.expose_secret().to_owned()
    }

    /// Closes every client connection to this test's vhost from the broker side, as a broker
    /// restart or a network cut does. Returns how many were closed.
    pub async fn drop_broker_connections(&self) -> usize {
        let client = management_client();
        let (url, user, pass) = management_api(&format!("api/vhosts/{}/connections", self.vhost));
        let list: Vec<serde_json::Value> = client
            .get(url)
            .basic_auth(&user, Some(&pass))
            .send()
            .await
            .expect("list connections")
            .json()
            .await
            .expect("connections JSON");
        let mut closed = 0;
        for name in list.iter().filter_map(|c| c["name"].as_str()) {
            let encoded: String = url::form_urlencoded::byte_serialize(name.as_bytes())
                .collect::<String>()
                .replace('+', "%20");
            let (url, _, _) = management_api(&format!("api/connections/{encoded}"));
            let resp = client
                .delete(url)
                .basic_auth(&user, Some(&pass))
                .header("X-Reason", "test: broker went away")
                .send()
                .await
                .expect("close connection");
            if resp.status().is_success() {
                closed += 1;
            }
        }
        closed
    }

    /// Messages ready in a queue of this test's vhost (management API; refreshed every few seconds
    /// by the broker, so poll with [`wait_until`]).
    pub async fn queue_depth(&self, queue: &str) -> Option<i64> {
        let (url, user, pass) = management_api(&format!("api/queues/{}/{queue}", self.vhost));
        let resp = management_client()
            .get(url)
            .basic_auth(&user, Some(&pass))
            .send()
            .await
            .ok()?;
        let body: serde_json::Value = resp.json().await.ok()?;
        body["messages"].as_i64()
    }
}

/// Polls `check` every 50 ms until it returns true; panics with `what` after `timeout`.
/// A bound for "eventually", not a speed assertion.
pub async fn wait_until<F, Fut>(timeout: std::time::Duration, what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        if check().await {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out after {timeout:?} waiting for: {what}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}
