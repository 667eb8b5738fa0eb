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
