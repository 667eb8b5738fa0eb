//! Private instances of the SMTP sink (maildev) and the printer emulator (emupos) for one test:
//! isolated from other tests running in parallel, and stoppable, so tests can take the peer away
//! and bring it back. The programs are the ones `deploy/local/services.sh up` installs.

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crate::SERVICES_HINT;

const OPT: &str = "/opt/ocpizza";

/// A port nothing listens on right now.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free loopback port")
        .port()
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
