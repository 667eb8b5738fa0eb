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

/// nginx on loopback with the production proxy snippet (deploy/nginx/ocpizza-locations.conf)
/// in a plain-HTTP server, in front of `upstream_port`.
pub struct Nginx {
    pub port: u16,
    dir: PathBuf,
    child: Option<Child>,
}

impl Nginx {
    pub async fn start(upstream_port: u16) -> Nginx {
        let dir =
            std::env::temp_dir().join(format!("ocpt-nginx-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(dir.join("logs")).expect("nginx directory");
        let port = free_port();
        let snippet = project_root().join("deploy/nginx/ocpizza-locations.conf");
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
    upstream ocpizza_web {{ server 127.0.0.1:{upstream_port}; keepalive 4; }}
    server {{
        listen 127.0.0.1:{port};
        server_name localhost;
        include {snippet};
    }}
}}
",
            dir = dir.display(),
            snippet = snippet.display(),
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
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("nginx starts (bash deploy/local/services.sh up installs it)");
        let n = Nginx {
            port,
            dir,
            child: Some(child),
        };
        wait_until(Duration::from_secs(10), "nginx listening", || async move {
            tokio::net::TcpStream::connect(("127.0.0.1", port))
                .await
                .is_ok()
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
