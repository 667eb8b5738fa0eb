//! Settings read from the environment and the project's `.env` file.
//!
//! The operations manual names the variables `DB_NAME`, `DB_USER`, `DB_PASSWORD`, `HOST`, `PORT`,
//! `ENV` and `SECRET_KEY`; the rest are what the Rust stack needs (broker, Stripe, SMTP, Sentry).
//! Every value is parsed once, at start-up: a missing or malformed one stops the program with an
//! error naming the variable, so nothing runs half-configured. Secrets are [`SecretString`]s, whose
//! `Debug` output is redacted, so a settings dump in a log never leaks them.
//!
//! # Layout
//! - [`Settings::from_env`] reads the process environment (after loading `.env`);
//! - [`Settings::from_lookup`] does the parsing from any key → value function, which tests use;
//! - [`process`]: logging set-up and the stop signal, shared by every program.
#![forbid(unsafe_code)]

pub mod process;

use std::fmt;
use std::net::IpAddr;
use std::path::Path;
use std::str::FromStr;

pub use secrecy::{ExposeSecret, SecretString};
use url::Url;

/// A setting that is missing or cannot be parsed. The message always names the variable.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SettingsError {
    #[error("{name} is not set (see .env.example)")]
    Missing { name: &'static str },
    #[error("{name} is malformed: {reason}")]
    Malformed { name: &'static str, reason: String },
    #[error("cannot read {path}: {reason}")]
    DotEnv { path: String, reason: String },
}

/// Where the program runs; production turns on `Secure` cookies and JSON logs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Environment {
    Development,
    Test,
    Production,
}

impl FromStr for Environment {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "development" | "dev" => Ok(Self::Development),
            "test" => Ok(Self::Test),
            "production" | "prod" => Ok(Self::Production),
            other => Err(format!(
                "expected development, test or production, got {other:?}"
            )),
        }
    }
}

impl Environment {
    pub fn is_production(self) -> bool {
        self == Self::Production
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Development => "development",
            Self::Test => "test",
            Self::Production => "production",
        }
    }
}

/// Database connection: the manual's `DB_*` variables plus host and port.
#[derive(Clone, Debug)]
pub struct DatabaseSettings {
    /// The server, or a Galera cluster's nodes in order of preference: `DB_HOST` is a comma
    /// list of `host` or `host:port` (`DB_PORT` when the port is left out).
    pub nodes: Vec<DbNode>,
    pub name: String,
    pub user: String,
    pub password: SecretString,
    /// Connections per process; small because several processes share one MariaDB.
    pub max_connections: u32,
}

/// One database server.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DbNode {
    pub host: String,
    pub port: u16,
}

impl fmt::Display for DbNode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.host, self.port)
    }
}

impl DatabaseSettings {
    /// `mysql://` URL for sqlx, on the first node. Keep it out of logs: it holds the password.
    pub fn url(&self) -> SecretString {
        self.url_of(&self.nodes[0])
    }

    /// Every node's URL, in order of preference.
    pub fn node_urls(&self) -> Vec<SecretString> {
        self.nodes.iter().map(|n| self.url_of(n)).collect()
    }

    fn url_of(&self, node: &DbNode) -> SecretString {
        let mut url = Url::parse("mysql://localhost").expect("static URL parses");
        url.set_host(Some(&node.host)).expect("host was validated");
        url.set_port(Some(node.port))
            .expect("mysql URLs take a port");
        url.set_username(&self.user)
            .expect("mysql URLs take a user");
        let password = self.password.expose_secret();
        if !password.is_empty() {
            url.set_password(Some(password))
                .expect("mysql URLs take a password");
        }
        url.set_path(&self.name);
        SecretString::from(url.to_string())
    }
}

/// Stripe API access. `api_base` points at Stripe or, in development and tests, localstripe.
#[derive(Clone, Debug)]
pub struct StripeSettings {
    pub secret_key: SecretString,
    pub publishable_key: String,
    pub webhook_secret: SecretString,
    pub api_base: Url,
}

/// Outgoing mail.
#[derive(Clone, Debug)]
pub struct SmtpSettings {
    /// `smtp://host:port` (plain, local sink), `smtps://user:pass@host` or
    /// `smtp://user:pass@host:587?tls=required` as lettre understands them.
    pub url: SecretString,
    /// The `From:` of every e-mail, e.g. `OC Pizza <commandes@ocpizza.fr>`.
    pub from: String,
}

/// Everything the web server and the workers need, parsed.
#[derive(Clone, Debug)]
pub struct Settings {
    pub env: Environment,
    /// Address the web server binds (`HOST`, `PORT`).
    pub host: IpAddr,
    pub port: u16,
    /// Signs session and CSRF tokens; at least 32 characters.
    pub secret_key: SecretString,
    /// Public base URL used in e-mails and Stripe return URLs.
    pub public_url: Url,
    pub database: DatabaseSettings,
    /// `amqp://user:pass@host:port/vhost`.
    pub rabbitmq_url: SecretString,
    pub stripe: StripeSettings,
    pub smtp: SmtpSettings,
    /// Sentry is on only when a DSN is set.
    pub sentry_dsn: Option<SecretString>,
    /// A `tracing` filter such as `info` or `info,sqlx=warn`.
    pub log_level: String,
    /// Peers whose `X-Forwarded-For` names the client (`TRUSTED_PROXIES`; nginx's address in
    /// production). Empty: the header is ignored and the socket's peer is the client.
    pub trusted_proxies: Vec<IpAddr>,
    /// Addresses besides loopback that may read `/metrics` (`METRICS_ALLOW`).
    pub metrics_allow: Vec<IpAddr>,
    /// TCP ports a kitchen printer may listen on (`PRINTER_PORTS`, default 9100-9109).
    pub printer_ports: std::ops::RangeInclusive<u16>,
}

/// Where the address list settings (`TRUSTED_PROXIES`, `METRICS_ALLOW`) come from: IPs separated
/// by commas or spaces.
fn ip_list(name: &'static str, raw: Option<String>) -> Result<Vec<IpAddr>, SettingsError> {
    raw.unwrap_or_default()
        .split([',', ' '])
        .filter(|s| !s.is_empty())
        .map(|s| {
            s.parse()
                .map_err(|_| malformed(name, &format!("{s:?} is not an IP address")))
        })
        .collect()
}

/// `9100-9109` or a single port.
fn port_range(raw: &str) -> Result<std::ops::RangeInclusive<u16>, SettingsError> {
    let bad = || {
        malformed(
            "PRINTER_PORTS",
            "expected a port or a range such as 9100-9109",
        )
    };
    let (lo, hi) = raw.split_once('-').unwrap_or((raw, raw));
    let lo: u16 = lo.trim().parse().map_err(|_| bad())?;
    let hi: u16 = hi.trim().parse().map_err(|_| bad())?;
    if lo == 0 || lo > hi {
        return Err(bad());
    }
    Ok(lo..=hi)
}

/// A secret key anyone could guess or repeat: too few different characters.
fn weak_secret(key: &str) -> bool {
    let mut distinct: Vec<char> = key.chars().collect();
    distinct.sort_unstable();
    distinct.dedup();
    distinct.len() < 12
}

/// What production refuses although development and tests accept it; the error names the
/// variable.
fn check_production(s: &Settings) -> Result<(), SettingsError> {
    if weak_secret(s.secret_key.expose_secret()) {
        return Err(malformed(
            "SECRET_KEY",
            "too easy to guess (too few different characters); generate one with openssl rand -hex 32",
        ));
    }
    if s.public_url.scheme() != "https" {
        return Err(malformed(
            "PUBLIC_URL",
            "production is served over https://",
        ));
    }
    if s.stripe.secret_key.expose_secret().starts_with("sk_test_") {
        return Err(malformed(
            "STRIPE_SECRET_KEY",
            "a test key (sk_test_) in production",
        ));
    }
    if s.stripe.publishable_key.starts_with("pk_test_") {
        return Err(malformed(
            "STRIPE_PUBLISHABLE_KEY",
            "a test key (pk_test_) in production",
        ));
    }
    if s.stripe.api_base.as_str().trim_end_matches('/') != "https://api.stripe.com" {
        return Err(malformed(
            "STRIPE_API_BASE",
            "production talks to https://api.stripe.com",
        ));
    }
    Ok(())
}

impl Settings {
    /// Loads `.env` from the working directory if present (variables already in the environment
    /// win), then parses the environment.
    pub fn from_env() -> Result<Self, SettingsError> {
        load_dotenv(Path::new(".env"))?;
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Parses settings from any lookup function; empty values count as missing.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, SettingsError> {
        let v = Vars(&lookup);
        let env: Environment = v.parse("ENV")?;
        let secret_key = v.required("SECRET_KEY")?;
        if secret_key.chars().count() < 32 {
            return Err(malformed(
                "SECRET_KEY",
                "must be at least 32 characters long",
            ));
        }
        if env.is_production() && secret_key.contains("change-me") {
            return Err(malformed("SECRET_KEY", "still holds the example value"));
        }
        let host: IpAddr = v.parse("HOST")?;
        let port: u16 = v.parse("PORT")?;
        let public_url = match v.optional("PUBLIC_URL") {
            Some(raw) => parse_url("PUBLIC_URL", &raw, &["http", "https"])?,
            None => parse_url("PUBLIC_URL", &format!("http://{host}:{port}/"), &["http"])?,
        };

        let database = DatabaseSettings {
            nodes: db_nodes(
                &v.optional("DB_HOST")
                    .unwrap_or_else(|| "127.0.0.1".to_owned()),
                v.parse_or("DB_PORT", 3306)?,
            )?,
            name: v.required("DB_NAME")?,
            user: v.required("DB_USER")?,
            password: SecretString::from(v.required("DB_PASSWORD")?),
            max_connections: v.parse_or("DB_MAX_CONNECTIONS", 10)?,
        };
        if !database
            .name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_')
        {
            return Err(malformed("DB_NAME", "use letters, digits and _ only"));
        }
        if database.max_connections == 0 {
            return Err(malformed("DB_MAX_CONNECTIONS", "must be at least 1"));
        }

        let rabbitmq_url = v.required("RABBITMQ_URL")?;
        // One node, or a cluster's nodes separated by commas.
        for node in rabbitmq_url.split(',') {
            parse_url("RABBITMQ_URL", node.trim(), &["amqp", "amqps"])?;
        }

        let stripe = StripeSettings {
            secret_key: SecretString::from(v.required("STRIPE_SECRET_KEY")?),
            publishable_key: v.required("STRIPE_PUBLISHABLE_KEY")?,
            webhook_secret: SecretString::from(v.required("STRIPE_WEBHOOK_SECRET")?),
            api_base: parse_url(
                "STRIPE_API_BASE",
                &v.optional("STRIPE_API_BASE")
                    .unwrap_or_else(|| "https://api.stripe.com".to_owned()),
                &["http", "https"],
            )?,
        };
        if !stripe.secret_key.expose_secret().starts_with("sk_") {
            return Err(malformed(
                "STRIPE_SECRET_KEY",
                "a Stripe secret key starts with sk_",
            ));
        }
        if !stripe.publishable_key.starts_with("pk_") {
            return Err(malformed(
                "STRIPE_PUBLISHABLE_KEY",
                "a Stripe publishable key starts with pk_",
            ));
        }
        if !stripe.webhook_secret.expose_secret().starts_with("whsec_") {
            return Err(malformed(
                "STRIPE_WEBHOOK_SECRET",
                "a Stripe webhook secret starts with whsec_",
            ));
        }

        let smtp_url = v.required("SMTP_URL")?;
        parse_url("SMTP_URL", &smtp_url, &["smtp", "smtps"])?;
        let from = v.required("SMTP_FROM")?;
        if !from.contains('@') {
            return Err(malformed(
                "SMTP_FROM",
                "expected an address such as OC Pizza <commandes@ocpizza.fr>",
            ));
        }

        let sentry_dsn = match v.optional("SENTRY_DSN") {
            Some(dsn) => {
                parse_url("SENTRY_DSN", &dsn, &["http", "https"])?;
                Some(SecretString::from(dsn))
            }
            None => None,
        };

        let log_level = v.optional("LOG_LEVEL").unwrap_or_else(|| "info".to_owned());
        if tracing_subscriber::EnvFilter::try_new(&log_level).is_err() {
            return Err(malformed(
                "LOG_LEVEL",
                "not a tracing filter such as info or info,sqlx=warn",
            ));
        }
        let settings = Settings {
            env,
            host,
            port,
            secret_key: SecretString::from(secret_key),
            public_url,
            database,
            rabbitmq_url: SecretString::from(rabbitmq_url),
            stripe,
            smtp: SmtpSettings {
                url: SecretString::from(smtp_url),
                from,
            },
            sentry_dsn,
            log_level,
            trusted_proxies: ip_list("TRUSTED_PROXIES", v.optional("TRUSTED_PROXIES"))?,
            metrics_allow: ip_list("METRICS_ALLOW", v.optional("METRICS_ALLOW"))?,
            printer_ports: port_range(
                &v.optional("PRINTER_PORTS")
                    .unwrap_or_else(|| "9100-9109".to_owned()),
            )?,
        };
        if env.is_production() {
            check_production(&settings)?;
        }
        Ok(settings)
    }
}

/// Loads a dotenv file into the process environment without overriding what is set already.
/// A missing file is fine (production may set everything in Supervisor); a malformed one is not.
pub fn load_dotenv(path: &Path) -> Result<(), SettingsError> {
    match dotenvy::from_path(path) {
        Ok(()) => Ok(()),
        Err(dotenvy::Error::Io(e)) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(SettingsError::DotEnv {
            path: path.display().to_string(),
            reason: e.to_string(),
        }),
    }
}

struct Vars<'a>(&'a dyn Fn(&str) -> Option<String>);

impl Vars<'_> {
    fn optional(&self, name: &'static str) -> Option<String> {
        (self.0)(name)
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())
    }

    fn required(&self, name: &'static str) -> Result<String, SettingsError> {
        self.optional(name).ok_or(SettingsError::Missing { name })
    }

    fn parse<T: FromStr>(&self, name: &'static str) -> Result<T, SettingsError>
    where
        T::Err: fmt::Display,
    {
        let raw = self.required(name)?;
        raw.parse()
            .map_err(|e: T::Err| malformed(name, &format!("{e} (got {raw:?})")))
    }

    fn parse_or<T: FromStr>(&self, name: &'static str, default: T) -> Result<T, SettingsError>
    where
        T::Err: fmt::Display,
    {
        match self.optional(name) {
            Some(_) => self.parse(name),
            None => Ok(default),
        }
    }
}

fn malformed(name: &'static str, reason: &str) -> SettingsError {
    SettingsError::Malformed {
        name,
        reason: reason.to_owned(),
    }
}

/// `DB_HOST`: one server, or a Galera cluster's nodes separated by commas, each `host` or
/// `host:port`; the same node twice is a mistake worth refusing (it would hide a missing one).
fn db_nodes(raw: &str, default_port: u16) -> Result<Vec<DbNode>, SettingsError> {
    let mut nodes: Vec<DbNode> = Vec::new();
    for item in raw.split(',').map(str::trim) {
        let url = Url::parse(&format!("mysql://{item}/"))
            .ok()
            .filter(|u| u.host_str().is_some_and(|h| !h.is_empty()) && u.username().is_empty())
            .ok_or_else(|| {
                malformed(
                    "DB_HOST",
                    &format!("{item:?} is not a host name or address (with an optional :port)"),
                )
            })?;
        let node = DbNode {
            host: url.host_str().expect("checked above").to_owned(),
            port: url.port().unwrap_or(default_port),
        };
        if nodes.contains(&node) {
            return Err(malformed("DB_HOST", &format!("{node} is listed twice")));
        }
        nodes.push(node);
    }
    Ok(nodes)
}

/// Parses a URL and checks its scheme; the error never repeats the value, which may hold a password.
fn parse_url(name: &'static str, raw: &str, schemes: &[&str]) -> Result<Url, SettingsError> {
    let url = Url::parse(raw).map_err(|e| malformed(name, &format!("not a URL ({e})")))?;
    if !schemes.contains(&url.scheme()) {
        return Err(malformed(
            name,
            &format!("scheme must be one of {}", schemes.join(", ")),
        ));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(malformed(name, "has no host"));
    }
    Ok(url)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn valid() -> HashMap<&'static str, String> {
        [
            ("ENV", "development"),
            ("HOST", "127.0.0.1"),
            ("PORT", "8000"),
            ("SECRET_KEY", "0123456789abcdef0123456789abcdef-dev"),
            ("DB_NAME", "ocpizza_db"),
            ("DB_USER", "admin_ocp"),
            ("DB_PASSWORD", "s3cret-db-password"),
            ("RABBITMQ_URL", "amqp://guest:guest@127.0.0.1:5672/%2f"),
            ("STRIPE_SECRET_KEY", "sk_test_12345"),
            ("STRIPE_PUBLISHABLE_KEY", "pk_test_12345"),
            ("STRIPE_WEBHOOK_SECRET", "whsec_test"),
            ("STRIPE_API_BASE", "http://127.0.0.1:8420"),
            ("SMTP_URL", "smtp://127.0.0.1:1025"),
            ("SMTP_FROM", "OC Pizza <commandes@ocpizza.fr>"),
        ]
        .into_iter()
        .map(|(k, v)| (k, v.to_owned()))
        .collect()
    }

    fn parse(vars: &HashMap<&'static str, String>) -> Result<Settings, SettingsError> {
        Settings::from_lookup(|k| vars.get(k).cloned())
    }

    #[test]
    fn a_complete_environment_parses() {
        let s = parse(&valid()).unwrap();
        assert_eq!(s.port, 8000);
        assert_eq!(
            s.database.nodes,
            [DbNode {
                host: "127.0.0.1".into(),
                port: 3306
            }]
        );
        assert_eq!(s.public_url.as_str(), "http://127.0.0.1:8000/");
        assert!(s.sentry_dsn.is_none());
        assert_eq!(
            s.database.url().expose_secret(),
            "mysql://admin_ocp:s3cret-db-password@127.0.0.1:3306/ocpizza_db"
        );
    }

    #[test]
    fn a_clusters_nodes_are_one_rabbitmq_url_separated_by_commas() {
        let mut vars = valid();
        let nodes = "amqp://u:p@10.0.0.1:5672/ocpizza, amqp://u:p@10.0.0.2:5672/ocpizza";
        vars.insert("RABBITMQ_URL", nodes.to_owned());
        let s = parse(&vars).unwrap();
        assert_eq!(s.rabbitmq_url.expose_secret(), nodes);
    }

    #[test]
    fn a_galera_clusters_nodes_are_listed_in_db_host_in_order_of_preference() {
        let mut vars = valid();
        vars.insert("DB_HOST", "db1.lan, 10.0.0.2:3307,db3.lan".to_owned());
        vars.insert("DB_PORT", "3310".to_owned());
        let s = parse(&vars).unwrap();
        let nodes: Vec<String> = s.database.nodes.iter().map(|n| n.to_string()).collect();
        assert_eq!(nodes, ["db1.lan:3310", "10.0.0.2:3307", "db3.lan:3310"]);
        let urls: Vec<String> = s
            .database
            .node_urls()
            .iter()
            .map(|u| u.expose_secret().to_owned())
            .collect();
        assert_eq!(
            urls[1],
            "mysql://admin_ocp:s3cret-db-password@10.0.0.2:3307/ocpizza_db"
        );
        assert_eq!(s.database.url().expose_secret(), urls[0]);
    }

    #[test]
    fn each_required_variable_is_named_when_missing() {
        for name in [
            "ENV",
            "HOST",
            "PORT",
            "SECRET_KEY",
            "DB_NAME",
            "DB_USER",
            "DB_PASSWORD",
            "RABBITMQ_URL",
            "STRIPE_SECRET_KEY",
            "STRIPE_PUBLISHABLE_KEY",
            "STRIPE_WEBHOOK_SECRET",
            "SMTP_URL",
            "SMTP_FROM",
        ] {
            let mut vars = valid();
            vars.insert(name, "  ".to_owned());
            let err = parse(&vars).unwrap_err();
            assert_eq!(err, SettingsError::Missing { name }, "{name}");
            assert!(err.to_string().starts_with(name));
        }
    }

    #[test]
    fn malformed_values_are_named() {
        let cases = [
            ("ENV", "staging"),
            ("HOST", "localhost:80"),
            ("PORT", "eighty"),
            ("PORT", "70000"),
            ("SECRET_KEY", "short"),
            ("DB_PORT", "-1"),
            ("DB_HOST", "db 1"),
            ("DB_HOST", "10.0.0.1,,10.0.0.2"),
            ("DB_HOST", "10.0.0.1:3306,10.0.0.1"),
            ("DB_HOST", "10.0.0.1:port"),
            ("DB_HOST", "root@10.0.0.1"),
            ("DB_NAME", "ocpizza; drop"),
            ("DB_MAX_CONNECTIONS", "0"),
            ("RABBITMQ_URL", "http://127.0.0.1:5672"),
            (
                "RABBITMQ_URL",
                "amqp://u:p@10.0.0.1:5672/ocpizza,amqp://u:p@/ocpizza",
            ),
            ("STRIPE_SECRET_KEY", "pk_test_wrong"),
            ("STRIPE_PUBLISHABLE_KEY", "sk_test_wrong"),
            ("STRIPE_WEBHOOK_SECRET", "secret"),
            ("STRIPE_API_BASE", "not a url"),
            ("SMTP_URL", "mailto:x@y"),
            ("SMTP_FROM", "nobody"),
            ("SENTRY_DSN", "ftp://key@sentry.io/1"),
            ("PUBLIC_URL", "ocpizza.fr"),
            ("LOG_LEVEL", "info,[[garbage"),
            ("TRUSTED_PROXIES", "127.0.0.1, nginx"),
            ("METRICS_ALLOW", "10.0.0.300"),
            ("PRINTER_PORTS", "9109-9100"),
            ("PRINTER_PORTS", "imprimante"),
        ];
        for (name, value) in cases {
            let mut vars = valid();
            vars.insert(name, value.to_owned());
            match parse(&vars) {
                Err(SettingsError::Malformed { name: got, .. }) => {
                    assert_eq!(got, name, "{name}={value}")
                }
                other => panic!("{name}={value}: expected Malformed, got {other:?}"),
            }
        }
    }

    #[test]
    fn production_refuses_the_example_secret_key() {
        let mut vars = valid();
        vars.insert("ENV", "production".to_owned());
        vars.insert(
            "SECRET_KEY",
            "change-me-change-me-change-me-change-me".to_owned(),
        );
        assert!(matches!(
            parse(&vars),
            Err(SettingsError::Malformed {
                name: "SECRET_KEY",
                ..
            })
        ));
    }

    fn production() -> HashMap<&'static str, String> {
        let mut vars = valid();
        for (k, v) in [
            ("ENV", "production"),
            (
                "SECRET_KEY",
                "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
            ),
            ("PUBLIC_URL", "https://commande.ocpizza.fr/"),
            ("STRIPE_SECRET_KEY", "sk_live_12345"),
            ("STRIPE_PUBLISHABLE_KEY", "pk_live_12345"),
            ("STRIPE_API_BASE", "https://api.stripe.com"),
        ] {
            vars.insert(k, v.to_owned());
        }
        vars
    }

    #[test]
    fn production_refuses_weak_settings_and_names_each() {
        parse(&production()).expect("a sound production environment parses");
        for (name, value) in [
            ("SECRET_KEY", "a".repeat(40)),
            (
                "SECRET_KEY",
                "abababababababababababababababababababab".to_owned(),
            ),
            ("PUBLIC_URL", "http://commande.ocpizza.fr/".to_owned()),
            ("STRIPE_SECRET_KEY", "sk_test_12345".to_owned()),
            ("STRIPE_PUBLISHABLE_KEY", "pk_test_12345".to_owned()),
            ("STRIPE_API_BASE", "http://127.0.0.1:8420".to_owned()),
            ("LOG_LEVEL", "n'importe quoi [".to_owned()),
        ] {
            let mut vars = production();
            vars.insert(name, value.clone());
            match parse(&vars) {
                Err(SettingsError::Malformed { name: got, .. }) => {
                    assert_eq!(got, name, "{name}={value}")
                }
                other => panic!("{name}={value}: expected Malformed, got {other:?}"),
            }
        }
        let mut dev = valid();
        dev.insert("SECRET_KEY", "a".repeat(40));
        assert!(parse(&dev).is_ok(), "development accepts what it is given");
    }

    #[test]
    fn address_lists_and_printer_ports_parse() {
        let mut vars = valid();
        vars.insert("TRUSTED_PROXIES", "127.0.0.1, ::1".to_owned());
        vars.insert("PRINTER_PORTS", "9100".to_owned());
        let s = parse(&vars).unwrap();
        assert_eq!(s.trusted_proxies.len(), 2);
        assert_eq!(s.printer_ports, 9100..=9100);
        let s = parse(&valid()).unwrap();
        assert!(s.trusted_proxies.is_empty() && s.metrics_allow.is_empty());
        assert_eq!(s.printer_ports, 9100..=9109);
    }

    #[test]
    fn secrets_are_redacted_in_debug_output() {
        let mut vars = valid();
        vars.insert(
            "SENTRY_DSN",
            "https://publickey@sentry.example/42".to_owned(),
        );
        vars.insert(
            "RABBITMQ_URL",
            "amqp://guest:rabbit-pass@127.0.0.1:5672/%2f".to_owned(),
        );
        let dump = format!("{:?}", parse(&vars).unwrap());
        for secret in [
            "s3cret-db-password",
            "0123456789abcdef0123456789abcdef-dev",
            "sk_test_12345",
            "whsec_test",
            "publickey",
            "rabbit-pass",
        ] {
            assert!(!dump.contains(secret), "{secret} leaked in {dump}");
        }
    }

    #[test]
    fn url_errors_do_not_echo_the_value() {
        let mut vars = valid();
        vars.insert("RABBITMQ_URL", "http://user:topsecret@host".to_owned());
        let err = parse(&vars).unwrap_err().to_string();
        assert!(
            err.contains("RABBITMQ_URL") && !err.contains("topsecret"),
            "{err}"
        );
    }
}
