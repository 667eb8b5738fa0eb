//! The real programs as an operator runs them: the web server and every worker under a private
//! supervisord (the production program definitions, rendered by `deploy/local/supervise.sh`),
//! and nginx in front with the production proxy snippet. Each belongs to one test and stops
//! with it.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use tokio::process::{Child, Command};

use crate::peers::free_port;
use crate::{TestEnv, project_root, wait_until, workspace_binary};

/// supervisord running `ocpizza serve` and every `ocpizza-worker` for one test environment.
pub struct Supervised {
    pub dir: PathBuf,
    pub port: u16,
    child: Option<Child>,
}

/// The programs of supervisor/ocpizza.conf, as supervisorctl names them.
pub const PROGRAMS: [&str; 6] = [
    "ocpizza:ocpizza-web",
    "ocpizza:ocpizza-relay-0",
    "ocpizza:ocpizza-stock-0",
    "ocpizza:ocpizza-payments-0",
    "ocpizza:ocpizza-kitchen-0",
    "ocpizza:ocpizza-notifications-0",
];

impl Supervised {
    /// Starts supervisord with the programs' settings in its environment (they inherit it) and
    /// waits until every program is RUNNING.
    pub async fn start(env: &TestEnv, overrides: &[(&'static str, &str)]) -> Supervised {
        let dir =
            std::env::temp_dir().join(format!("ocpt-stack-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir).expect("stack directory");
        let port = free_port();
        let port_text = port.to_string();
        let mut all: Vec<(&'static str, &str)> = vec![("PORT", &port_text)];
        all.extend_from_slice(overrides);
        let vars = env.vars_with(&all);
        let bin = workspace_binary("ocpizza")
            .parent()
            .expect("binary directory")
            .to_path_buf();
        let child = Command::new("bash")
            .arg(project_root().join("deploy/local/supervise.sh"))
            .arg("foreground")
            .envs(&vars)
            .env("OCPIZZA_RUN", &dir)
            .env("OCPIZZA_BIN", &bin)
            .env("OCPIZZA_WORKDIR", &dir)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("supervisord starts (bash deploy/local/services.sh up installs it)");
        let stack = Supervised {
            dir,
            port,
            child: Some(child),
        };
        let started = stack.clone_handle();
        wait_until(Duration::from_secs(60), "every program RUNNING", || {
            let s = started.clone_handle();
            async move { s.all_running().await }
        })
        .await;
        stack
    }

    fn clone_handle(&self) -> Supervised {
        Supervised {
            dir: self.dir.clone(),
            port: self.port,
            child: None,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    /// supervisorctl against this supervisord; its output (status exits non-zero when a
    /// program is not running, which is an answer, not a failure).
    pub async fn ctl(&self, args: &[&str]) -> String {
        let out = Command::new("bash")
            .arg(project_root().join("deploy/local/supervise.sh"))
            .arg("ctl")
            .args(args)
            .env("OCPIZZA_RUN", &self.dir)
            .output()
            .await
            .expect("supervisorctl runs");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    pub async fn all_running(&self) -> bool {
        let status = self.ctl(&["status", "ocpizza:*"]).await;
        PROGRAMS.iter().all(|p| {
            status
                .lines()
                .any(|l| l.starts_with(p) && l.contains(" RUNNING "))
        })
    }

    /// The pid supervisord reports for a program (0 when not running).
    pub async fn pid(&self, program: &str) -> u32 {
        self.ctl(&["pid", program])
            .await
            .trim()
            .parse()
            .unwrap_or(0)
    }

    /// SIGKILL to one program, as a crash would; waits until supervisord runs it again (a new
    /// pid, RUNNING) and returns the new pid.
    pub async fn kill_9(&self, program: &str) -> u32 {
        let old = self.pid(program).await;
        assert!(old > 0, "{program} runs before being killed");
        let status = std::process::Command::new("kill")
            .args(["-KILL", &old.to_string()])
            .status()
            .expect("kill runs");
        assert!(status.success(), "kill -9 {old}");
        wait_until(
            Duration::from_secs(30),
            &format!("{program} restarted by supervisord"),
            || {
                let s = self.clone_handle();
                let program = program.to_owned();
                async move {
                    let status = s.ctl(&["status", &program]).await;
                    let pid = s.pid(&program).await;
                    pid != 0 && pid != old && status.contains(" RUNNING ")
                }
            },
        )
        .await;
        self.pid(program).await
    }

    pub fn log(&self, name: &str) -> String {
        std::fs::read_to_string(self.dir.join(format!("{name}.log"))).unwrap_or_default()
    }
}

impl Drop for Supervised {
    fn drop(&mut self) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        // supervisord stops its programs on SIGTERM (each gets its stopwaitsecs); then the
        // directory goes.
        if let Some(pid) = child.id() {
            let _ = std::process::Command::new("kill")
                .args(["-TERM", &pid.to_string()])
                .status();
            for _ in 0..150 {
                if matches!(child.try_wait(), Ok(Some(_))) {
                    break;
                }
                std::thread::sleep(Duration::from_millis(100));
            }
        }
        let _ = child.start_kill();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// nginx on loopback in front of the web server, with the production configuration files.
pub struct Nginx {
    /// The plain-HTTP port (the redirect to HTTPS for the production site).
    pub port: u16,
    /// The HTTPS port of the production site (0 for the plain snippet server).
    pub tls_port: u16,
    dir: PathBuf,
    child: Option<Child>,
}

impl Nginx {
    /// A plain-HTTP server that includes the production proxy snippet
    /// (deploy/nginx/ocpizza-locations.conf) in front of `upstream_port`.
    pub async fn start(upstream_port: u16) -> Nginx {
        Nginx::in_front_of(&[upstream_port]).await
    }

    /// The same in front of several web servers, as a multi-machine layout's nginx.
    pub async fn in_front_of(upstream_ports: &[u16]) -> Nginx {
        let dir = nginx_dir();
        let port = free_port();
        let servers: String = upstream_ports
            .iter()
            .map(|p| format!("server 127.0.0.1:{p}; "))
            .collect();
        let server = format!(
            "upstream ocpizza_web {{ {servers}keepalive 4; }}
    server {{
        listen 127.0.0.1:{port};
        server_name localhost;
        include {snippet};
    }}",
            snippet = snippet().display()
        );
        Nginx::launch(dir, port, 0, &server).await
    }

    /// The production site (deploy/nginx/ocpizza.conf) as install.sh renders it, with loopback
    /// ports, a self-signed certificate for `localhost` in place of certbot's, and the log and
    /// snippet paths moved into the test's directory.
    pub async fn production_site(upstream_port: u16) -> Nginx {
        let dir = nginx_dir();
        let (port, tls_port) = (free_port(), free_port());
        let cert = dir.join("live");
        std::fs::create_dir_all(&cert).expect("certificate directory");
        let made = std::process::Command::new("openssl")
            .args([
                "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
            ])
            .args(["-subj", "/CN=localhost"])
            .arg("-keyout")
            .arg(cert.join("privkey.pem"))
            .arg("-out")
            .arg(cert.join("fullchain.pem"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .expect("openssl runs");
        assert!(made.success(), "a self-signed certificate");
        let site = std::fs::read_to_string(project_root().join("deploy/nginx/ocpizza.conf"))
            .expect("the production site file");
        let site = site
            .replace("ocpizza.example.fr", "localhost")
            .replace(
                "/etc/letsencrypt/live/localhost",
                &cert.display().to_string(),
            )
            .replace(
                "server 127.0.0.1:8000;",
                &format!("server 127.0.0.1:{upstream_port};"),
            )
            .replace("listen 80;", &format!("listen 127.0.0.1:{port};"))
            .replace(
                "listen 443 ssl",
                &format!("listen 127.0.0.1:{tls_port} ssl"),
            )
            .replace("/var/log/nginx/", &format!("{}/logs/", dir.display()))
            .replace(
                "/etc/nginx/snippets/ocpizza-locations.conf",
                &snippet().display().to_string(),
            )
            .lines()
            .filter(|l| !l.contains("listen [::]") && !l.trim_start().starts_with('#'))
            .collect::<Vec<_>>()
            .join("\n");
        assert!(
            !site.contains("/etc/") && !site.contains("/var/log"),
            "every system path of the site was moved:\n{site}"
        );
        Nginx::launch(dir, port, tls_port, &site).await
    }

    async fn launch(dir: PathBuf, port: u16, tls_port: u16, servers: &str) -> Nginx {
        let conf = format!(
            "worker_processes 1;
error_log {dir}/logs/error.log warn;
pid {dir}/nginx.pid;
events {{ worker_connections 256; }}
http {{
    access_log {dir}/logs/access.log;
    client_body_temp_path {dir}/body;
    proxy_temp_path {dir}/proxy;
    fastcgi_temp_path {dir}/fastcgi;
    uwsgi_temp_path {dir}/uwsgi;
    scgi_temp_path {dir}/scgi;
    {servers}
}}
",
            dir = dir.display(),
        );
        std::fs::write(dir.join("nginx.conf"), conf).expect("nginx config");
        let child = Command::new(nginx_binary())
            .arg("-p")
            .arg(&dir)
            .arg("-c")
            .arg(dir.join("nginx.conf"))
            .args(["-g", "daemon off; user root;"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("nginx starts (bash deploy/local/services.sh up installs it)");
        let n = Nginx {
            port,
            tls_port,
            dir,
            child: Some(child),
        };
        let log = n.dir.join("logs/error.log");
        wait_until(Duration::from_secs(10), "nginx listening", || {
            let log = log.clone();
            async move {
                let up = tokio::net::TcpStream::connect(("127.0.0.1", port))
                    .await
                    .is_ok();
                if !up && std::fs::read_to_string(&log).is_ok_and(|l| l.contains("[emerg]")) {
                    panic!(
                        "nginx refused its configuration: {}",
                        std::fs::read_to_string(&log).unwrap()
                    );
                }
                up
            }
        })
        .await;
        n
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    pub fn error_log(&self) -> String {
        std::fs::read_to_string(self.dir.join("logs/error.log")).unwrap_or_default()
    }
}

fn nginx_dir() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("ocpt-nginx-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(dir.join("logs")).expect("nginx directory");
    dir
}

fn snippet() -> PathBuf {
    project_root().join("deploy/nginx/ocpizza-locations.conf")
}

impl Drop for Nginx {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.start_kill();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Debian installs nginx in /usr/sbin, which is not on every user's PATH.
pub fn nginx_binary() -> &'static Path {
    if Path::new("/usr/sbin/nginx").exists() {
        Path::new("/usr/sbin/nginx")
    } else {
        Path::new("nginx")
    }
}
