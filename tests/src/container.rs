//! A fresh Debian 12 server for the install test: a copy of a cached root file system
//! (tests/container/image.sh) booted with systemd as PID 1 by `systemd-nspawn`, with a private
//! network (its own loopback, so its MariaDB, RabbitMQ and nginx do not meet the host's).
//! Commands run inside with `nsenter` into the container's namespaces, as root on that server.
//! Nothing here skips: a machine that cannot boot the container fails the test, saying why.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use crate::project_root;

/// Where built images are kept between runs (a few hundred MB each).
const CACHE: &str = "/var/cache/ocpizza-tests";

pub struct Machine {
    root: PathBuf,
    leader: u32,
    nspawn: std::process::Child,
}

/// The cached image for the current tests/container/image.sh, built first if missing (once
/// per machine; concurrent builds wait on a lock).
pub fn image() -> PathBuf {
    let script = project_root().join("tests/container/image.sh");
    let text = std::fs::read(&script).expect("tests/container/image.sh");
    // FNV-1a: a cache key that is stable across Rust versions.
    let hash = text.iter().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
    });
    let dir = PathBuf::from(format!("{CACHE}/bookworm-{hash:016x}"));
    if dir.join(".complete").exists() {
        return dir;
    }
    std::fs::create_dir_all(CACHE).expect("the image cache directory");
    let built = std::process::Command::new("flock")
        .arg(format!("{CACHE}/image.lock"))
        .arg("bash")
        .arg("-c")
        .arg(r#"[ -f "$1/.complete" ] || bash "$2" "$1""#)
        .arg("build-image")
        .arg(&dir)
        .arg(&script)
        .output()
        .expect("flock and bash run");
    assert!(
        built.status.success() && dir.join(".complete").exists(),
        "the container image could not be built (tests/container/image.sh needs root, \
         debootstrap and systemd-nspawn, and the Debian archive):\n{}\n{}",
        String::from_utf8_lossy(&built.stdout),
        String::from_utf8_lossy(&built.stderr)
    );
    // Images of earlier versions of the script are not needed any more.
    if let Ok(entries) = std::fs::read_dir(CACHE) {
        for entry in entries.flatten() {
            let path = entry.path();
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.starts_with("bookworm-") && path != dir {
                let _ = std::fs::remove_dir_all(&path);
            }
        }
    }
    dir
}

impl Machine {
    /// A new machine from the cached image, booted and settled (`systemctl is-system-running`),
    /// with host directories mounted read-only inside: (host path, path inside).
    pub async fn boot(binds: &[(PathBuf, String)]) -> Machine {
        let image = image();
        let id = uuid::Uuid::new_v4().simple().to_string();
        let root = PathBuf::from(format!("/var/tmp/ocpt-machine-{}", &id[..12]));
        let copied = std::process::Command::new("cp")
            .args(["-a", "--reflink=auto"])
            .arg(&image)
            .arg(&root)
            .status()
            .expect("cp runs");
        assert!(copied.success(), "copy the image to {}", root.display());
        let log = std::fs::File::create(root.with_extension("log")).expect("the machine's log");
        let nspawn = std::process::Command::new("systemd-nspawn")
            .arg("-q")
            .arg("-D")
            .arg(&root)
            .arg(format!("--machine=ocpt-{}", &id[..12]))
            // Needed on these machines: no machined to register with, no unit of our own.
            .args([
                "--register=no",
                "--keep-unit",
                "--boot",
                "--private-network",
            ])
            .args(
                binds
                    .iter()
                    .map(|(from, to)| format!("--bind-ro={}:{to}", from.display())),
            )
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log"))
            .stderr(log)
            .spawn()
            .expect("systemd-nspawn starts (apt-get install systemd-container)");
        let mut machine = Machine {
            root,
            leader: 0,
            nspawn,
        };
        machine.leader = machine.find_leader().await;
        // The bus appears a moment after PID 1 does.
        let (settled, state) = machine
            .sh(r#"for _ in $(seq 1 600); do
                       s=$(systemctl is-system-running 2>/dev/null)
                       case "$s" in running | degraded) echo "$s"; exit 0 ;; esac
                       sleep 0.2
                   done
                   echo "$s"; exit 1"#)
            .await;
        let state = state.trim().to_owned();
        if !settled {
            panic!(
                "the container did not finish booting ({state}):\n{}",
                machine.sh("systemctl --failed --no-pager").await.1
            );
        }
        machine
    }

    async fn find_leader(&mut self) -> u32 {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        let nspawn = self.nspawn.id();
        loop {
            if let Ok(Some(status)) = self.nspawn.try_wait() {
                panic!(
                    "systemd-nspawn exited ({status}) before booting:\n{}",
                    std::fs::read_to_string(self.root.with_extension("log")).unwrap_or_default()
                );
            }
            let children = std::fs::read_dir(format!("/proc/{nspawn}/task"))
                .into_iter()
                .flatten()
                .flatten()
                .filter_map(|task| std::fs::read_to_string(task.path().join("children")).ok())
                .flat_map(|list| {
                    list.split_whitespace()
                        .filter_map(|p| p.parse::<u32>().ok())
                        .collect::<Vec<_>>()
                })
                .find(|pid| {
                    std::fs::read_to_string(format!("/proc/{pid}/comm"))
                        .is_ok_and(|c| c.trim() == "systemd")
                });
            if let Some(pid) = children {
                return pid;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "no systemd inside the container after 30 s"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// The host's path of `path` inside the machine.
    pub fn path(&self, path: &str) -> PathBuf {
        self.root.join(path.trim_start_matches('/'))
    }

    /// Runs a bash script as root inside, with a clean environment; whether it succeeded and
    /// its output (stdout then stderr).
    pub async fn sh(&self, script: &str) -> (bool, String) {
        let out = tokio::process::Command::new("nsenter")
            .arg("-t")
            .arg(self.leader.to_string())
            .args(["-a", "--", "env", "-i"])
            .args([
                "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                "HOME=/root",
                "LANG=C.UTF-8",
                "TERM=dumb",
            ])
            .args(["bash", "-c", script])
            .current_dir("/")
            .stdin(Stdio::null())
            .kill_on_drop(true)
            .output()
            .await
            .expect("nsenter runs");
        let mut text = String::from_utf8_lossy(&out.stdout).into_owned();
        text.push_str(&String::from_utf8_lossy(&out.stderr));
        (out.status.success(), text)
    }

    /// [`Machine::sh`] that must succeed; its output.
    pub async fn ok(&self, what: &str, script: &str) -> String {
        let (done, out) = self.sh(script).await;
        assert!(done, "{what} failed:\n{out}");
        out
    }

    /// Copies a host file or directory to `to` inside.
    pub fn copy_in(&self, from: &Path, to: &str) {
        let target = self.path(to);
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent).expect("the target's directory");
        }
        let copied = std::process::Command::new("cp")
            .arg("-a")
            .arg(from)
            .arg(&target)
            .status()
            .expect("cp runs");
        assert!(copied.success(), "copy {} into the machine", from.display());
    }
}

impl Drop for Machine {
    fn drop(&mut self) {
        // Killing the container's PID 1 ends everything in its PID namespace at once.
        if self.leader != 0 {
            let _ = std::process::Command::new("kill")
                .args(["-KILL", &self.leader.to_string()])
                .status();
        }
        let _ = self.nspawn.kill();
        let _ = self.nspawn.wait();
        let _ = std::fs::remove_dir_all(&self.root);
        let _ = std::fs::remove_file(self.root.with_extension("log"));
    }
}
