//! The production install, run for real on a fresh Debian 12 server (a systemd-nspawn
//! container with systemd as PID 1 and its own loopback network, `ocpizza_tests::container`):
//! `deploy/install.sh` exactly as docs/operations.md §3 says (a clone, the script, .env filled
//! in after the first run stops at the configuration check, the script again), every program
//! RUNNING under the system's Supervisor, orders placed through nginx over TLS, the certificate
//! renewal hook reloading nginx, the backup timer and its dump, `deploy/update.sh` to a newer
//! version (one more migration) while a customer keeps ordering, `update.sh rollback`, and
//! update.sh putting the running version's binaries back when the next migration fails.
//!
//! Stand-ins: a local certificate authority for Let's Encrypt (certbot cannot reach its server
//! here; the certificate is where certbot puts it, so install.sh takes the renewal path), a
//! local bare repository for the git remote, Python's SMTP debugging server for the mail
//! provider, emupos for the kitchen printers. The binaries are the suite's own build and two
//! later versions of it (tests/container/variants.sh); install.sh and update.sh take them with
//! `BINARIES=`, as from a build machine.

use std::path::{Path, PathBuf};
use std::time::Duration;

use ocpizza_tests::container::Machine;
use ocpizza_tests::shop::{CUSTOMER, PASSWORD, shop_csv};
use ocpizza_tests::stack::PROGRAMS;
use ocpizza_tests::{SERVICES_HINT, project_root, wait_until, workspace_binary};

const DOMAIN: &str = "ocpizza.test";
const APP: &str = "/opt/ocpizza/app";

fn host(program: &str, args: &[&str], dir: &Path) {
    let out = std::process::Command::new(program)
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap_or_else(|e| panic!("{program} runs: {e}"));
    assert!(
        out.status.success(),
        "{program} {args:?}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The remote the operator clones from, at /srv/ocpizza.git: `main` and tag v1 hold this
/// working tree; v2 adds the next version's migration, v3 the failing one.
fn remote(m: &Machine) {
    let work = m.path("/srv/ocpizza-work");
    let root = project_root();
    host(
        "git",
        &[
            "clone",
            "-q",
            &root.to_string_lossy(),
            &work.to_string_lossy(),
        ],
        &root,
    );
    host(
        "rsync",
        &[
            "-a",
            "--delete",
            "--exclude=/.git",
            "--exclude=/target",
            "--exclude=node_modules",
            "--exclude=/.run",
            "--exclude=/.env",
            &format!("{}/", root.display()),
            &format!("{}/", work.display()),
        ],
        &root,
    );
    let git = |args: &[&str]| {
        let mut all = vec![
            "-c",
            "user.name=OC Pizza",
            "-c",
            "user.email=dev@ocpizza.test",
        ];
        all.extend_from_slice(args);
        host("git", &all, &work);
    };
    git(&["add", "-A"]);
    git(&[
        "commit",
        "-q",
        "--allow-empty",
        "-m",
        "the version installed",
    ]);
    git(&["tag", "v1"]);
    for (tag, dir) in [("v2", "next"), ("v3", "failing")] {
        let from = root.join("tests/container/migrations").join(dir);
        for entry in std::fs::read_dir(&from).expect("the variant's migrations") {
            let entry = entry.expect("a migration");
            std::fs::copy(
                entry.path(),
                work.join("migrations").join(entry.file_name()),
            )
            .expect("copy the migration");
        }
        git(&["add", "-A"]);
        git(&["commit", "-q", "-m", &format!("{tag}: one more migration")]);
        git(&["tag", tag]);
    }
    git(&["checkout", "-q", "-B", "main", "v1"]);
    host(
        "git",
        &[
            "clone",
            "-q",
            "--bare",
            &work.to_string_lossy(),
            &m.path("/srv/ocpizza.git").to_string_lossy(),
        ],
        &root,
    );
    std::fs::remove_dir_all(&work).expect("remove the work tree");
}

/// The binaries of each version, as a build machine would hand them over.
fn releases(m: &Machine) {
    let built = workspace_binary("ocpizza")
        .parent()
        .expect("the binaries' directory")
        .to_path_buf();
    for (version, dir) in [
        ("v1", built.clone()),
        ("v2", built.join("variants/next")),
        ("v3", built.join("variants/failing")),
    ] {
        for b in ["ocpizza", "ocpizza-worker"] {
            let from = dir.join(b);
            assert!(
                from.exists(),
                "{} is missing: tests/run.sh builds it (bash tests/container/variants.sh)",
                from.display()
            );
            m.copy_in(&from, &format!("/srv/release/{version}/{b}"));
        }
    }
}

/// A local certificate authority and a certificate for DOMAIN where certbot keeps its own;
/// `serial` tells two issues apart. The CA goes to /srv/ca.pem for the clients.
fn certificate(m: &Machine, serial: &str) {
    let live = m.path(&format!("/etc/letsencrypt/live/{DOMAIN}"));
    std::fs::create_dir_all(&live).expect("the certificate's directory");
    let ca = m.path("/srv/ca");
    std::fs::create_dir_all(&ca).expect("the CA's directory");
    let here = |name: &str| ca.join(name).to_string_lossy().into_owned();
    if !ca.join("ca.pem").exists() {
        host(
            "openssl",
            &[
                "req",
                "-x509",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-days",
                "2",
                "-subj",
                "/CN=OC Pizza test CA",
                "-keyout",
                &here("ca.key"),
                "-out",
                &here("ca.pem"),
            ],
            &ca,
        );
        std::fs::copy(ca.join("ca.pem"), m.path("/srv/ca.pem")).expect("publish the CA");
    }
    std::fs::write(
        ca.join("leaf.ext"),
        format!("subjectAltName=DNS:{DOMAIN}\nbasicConstraints=CA:FALSE\n"),
    )
    .expect("extensions");
    host(
        "openssl",
        &[
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-subj",
            &format!("/CN={DOMAIN}"),
            "-keyout",
            &here("privkey.pem"),
            "-out",
            &here("leaf.csr"),
        ],
        &ca,
    );
    host(
        "openssl",
        &[
            "x509",
            "-req",
            "-in",
            &here("leaf.csr"),
            "-CA",
            &here("ca.pem"),
            "-CAkey",
            &here("ca.key"),
            "-set_serial",
            serial,
            "-days",
            "2",
            "-extfile",
            &here("leaf.ext"),
            "-out",
            &here("cert.pem"),
        ],
        &ca,
    );
    let mut chain = std::fs::read(ca.join("cert.pem")).expect("the certificate");
    chain.extend(std::fs::read(ca.join("ca.pem")).expect("the CA"));
    std::fs::write(live.join("fullchain.pem"), chain).expect("fullchain.pem");
    std::fs::copy(ca.join("privkey.pem"), live.join("privkey.pem")).expect("privkey.pem");
}

/// What else the server has around it: the name resolving to it, the mail provider and the
/// kitchen printers.
async fn surroundings(m: &Machine) {
    let hosts = m.path("/etc/hosts");
    let mut text = std::fs::read_to_string(&hosts).expect("/etc/hosts");
    text.push_str(&format!("127.0.0.1 {DOMAIN}\n"));
    std::fs::write(&hosts, text).expect("/etc/hosts");
    let yaml = "schema: 1\napi: { host: 127.0.0.1, port: 9300 }\ndevices:\n\
        - id: kitchen\n    type: printer\n    profile: epson-tm-t20iii\n    connections:\n      - tcp: { host: 127.0.0.1, port: 9100 }\n    receipts_dir: /srv/printed/kitchen\n\
        - id: backup\n    type: printer\n    profile: epson-tm-t20iii\n    connections:\n      - tcp: { host: 127.0.0.1, port: 9109 }\n    receipts_dir: /srv/printed/backup\n"
        .replace("\n- ", "\n  - ");
    std::fs::write(m.path("/srv/emupos.yaml"), yaml).expect("emupos.yaml");
    m.copy_in(
        &project_root().join("tests/container/orders.py"),
        "/srv/orders.py",
    );
    m.ok(
        "the SMTP and printer stand-ins",
        "git config --system --add safe.directory /srv/ocpizza.git
         systemd-run -q --unit=smtp-sink python3 -W ignore -m smtpd -n -c DebuggingServer 127.0.0.1:1025
         systemd-run -q --unit=emupos --working-directory=/srv /srv/emupos/bin/python3 /srv/emupos/bin/emupos run --config /srv/emupos.yaml
         for port in 1025 9100 9109; do
             for _ in $(seq 1 100); do (echo > /dev/tcp/127.0.0.1/$port) 2>/dev/null && break; sleep 0.1; done
             (echo > /dev/tcp/127.0.0.1/$port) 2>/dev/null || { journalctl -u smtp-sink -u emupos --no-pager | tail -20; exit 1; }
         done",
    )
    .await;
}

async fn sql(m: &Machine, query: &str) -> String {
    m.ok(
        query,
        &format!("mariadb -uroot -N -B ocpizza_db -e \"{query}\""),
    )
    .await
    .trim()
    .to_owned()
}

async fn count(m: &Machine, query: &str) -> usize {
    sql(m, query).await.parse().expect("a count")
}

/// Lines the customer's app wrote so far: (key, order id or "lost").
fn placed(m: &Machine) -> Vec<(String, String)> {
    std::fs::read_to_string(m.path("/srv/orders.log"))
        .unwrap_or_default()
        .lines()
        .filter_map(|l| {
            let mut parts = l.split_whitespace();
            Some((parts.next()?.to_owned(), parts.next()?.to_owned()))
        })
        .collect()
}

async fn more_orders(m: &Machine, what: &str, beyond: usize) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    while placed(m).len() < beyond + 3 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "{what}: the customer's orders stopped at {} ({})",
            placed(m).len(),
            m.sh("journalctl -u orders --no-pager | tail -20").await.1
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

async fn all_running(m: &Machine) -> String {
    let status = m
        .ok("supervisorctl status", "supervisorctl status 'ocpizza:*'")
        .await;
    for program in PROGRAMS {
        let line = status
            .lines()
            .find(|l| l.starts_with(&format!("{program} ")))
            .unwrap_or_else(|| panic!("{program} is not under Supervisor:\n{status}"));
        assert!(line.contains("RUNNING"), "{program}:\n{status}");
    }
    status
}

/// Whether `bin/<program><suffix>` are both this version's binaries.
fn installed(m: &Machine, suffix: &str, version: &str) -> bool {
    ["ocpizza", "ocpizza-worker"].iter().all(|b| {
        let here = std::fs::read(m.path(&format!("{APP}/bin/{b}{suffix}"))).ok();
        here.is_some() && here == std::fs::read(m.path(&format!("/srv/release/{version}/{b}"))).ok()
    })
}

fn pid_column(status: &str) -> Vec<String> {
    status
        .lines()
        .filter_map(|l| l.split("pid ").nth(1))
        .map(|p| p.split(',').next().unwrap_or_default().to_owned())
        .collect()
}

/// The host's emupos (deploy/local/services.sh installs it) at /srv/emupos, with the Python it
/// was made with when that is not the system's (bookworm's own is the container's).
fn emupos_mounts() -> Vec<(PathBuf, String)> {
    let venv = PathBuf::from("/opt/ocpizza/venvs/emupos");
    let config = std::fs::read_to_string(venv.join("pyvenv.cfg"))
        .unwrap_or_else(|e| panic!("emupos is not installed ({e}); {SERVICES_HINT}"));
    let mut binds = vec![(venv, "/srv/emupos".to_owned())];
    if let Some(home) = config
        .lines()
        .find_map(|l| l.strip_prefix("home = "))
        .map(|h| {
            Path::new(h.trim())
                .parent()
                .unwrap_or(Path::new("/"))
                .to_path_buf()
        })
        && !home.starts_with("/usr")
    {
        let inside = home.to_string_lossy().into_owned();
        binds.push((home, inside));
    }
    binds
}

#[tokio::test]
async fn installed_renewed_backed_up_updated_and_rolled_back_on_a_fresh_server() {
    let m = Machine::boot(&emupos_mounts()).await;
    remote(&m);
    releases(&m);
    certificate(&m, "1001");
    surroundings(&m).await;
    m.ok("git clone", "git clone -q /srv/ocpizza.git /root/ocpizza")
        .await;

    // docs/operations.md §3: the first run creates .env and stops at the configuration check,
    // naming what to fill in.
    let install = format!(
        "cd /root/ocpizza && DOMAIN={DOMAIN} ADMIN_EMAIL=ops@{DOMAIN} BINARIES=/srv/release/v1 bash deploy/install.sh"
    );
    let (done, first) = m.sh(&install).await;
    assert!(!done, "the first run stops for the settings:\n{first}");
    assert!(
        first.contains("STRIPE_SECRET_KEY") && first.contains("run this script again"),
        "{first}"
    );
    m.ok(
        "fill in .env",
        &format!(
            "cd {APP} && sed -i \
             -e 's/^STRIPE_SECRET_KEY=.*/STRIPE_SECRET_KEY=sk_live_ocpizzainstalltest/' \
             -e 's/^STRIPE_PUBLISHABLE_KEY=.*/STRIPE_PUBLISHABLE_KEY=pk_live_ocpizzainstalltest/' \
             -e 's/^STRIPE_WEBHOOK_SECRET=.*/STRIPE_WEBHOOK_SECRET=whsec_ocpizzainstalltest/' .env"
        ),
    )
    .await;
    let second = m.ok("install.sh, run again", &install).await;
    assert!(
        second.contains(&format!("OC Pizza runs at https://{DOMAIN}/")),
        "{second}"
    );
    all_running(&m).await;
    m.ok(
        "the system services",
        "systemctl is-active mariadb rabbitmq-server nginx supervisor certbot.timer ocpizza-backup.timer",
    )
    .await;
    // The topology was settled by the one clean broker restart of a first install.
    assert!(m.path("/opt/ocpizza/.topology-settled").exists());

    // The shop's data, as the manual loads it, then a customer ordering through nginx (TLS,
    // checked against the local CA) for the rest of the test.
    let csv = shop_csv(9100, 9109)
        .replace("stock,test,pate,20,2", "stock,test,pate,100000,2")
        .replace(
            "stock,test,tomate,5000,500",
            "stock,test,tomate,10000000,500",
        )
        .replace("stock,test,mozza,1000,300", "stock,test,mozza,10000000,300");
    std::fs::write(m.path("/srv/shop.csv"), csv).expect("the shop's CSV");
    m.ok(
        "feed-db",
        &format!("cd {APP} && sudo -u ocpizza bin/ocpizza feed-db -d /srv/shop.csv"),
    )
    .await;
    let pizza = sql(&m, "SELECT id FROM pizzas WHERE code = 'margherita'").await;
    m.ok(
        "the customer's app",
        &format!(
            "systemd-run -q --unit=orders python3 /srv/orders.py https://{DOMAIN} /srv/ca.pem \
             {CUSTOMER} {PASSWORD} {pizza} /srv/orders.log /srv/stop-orders"
        ),
    )
    .await;
    more_orders(&m, "after the install", 0).await;

    // Renewal: certbot writes the new certificate and runs the deploy hooks; nginx then serves
    // it without a restart.
    let serial = "openssl s_client -connect 127.0.0.1:443 -servername ocpizza.test </dev/null 2>/dev/null | openssl x509 -noout -serial";
    assert_eq!(
        m.ok("the served certificate", serial).await.trim(),
        "serial=03E9"
    );
    certificate(&m, "1002");
    assert_eq!(
        m.ok("before the hook", serial).await.trim(),
        "serial=03E9",
        "nginx keeps the loaded certificate until it reloads"
    );
    m.ok(
        "the renewal hook",
        &format!(
            "RENEWED_LINEAGE=/etc/letsencrypt/live/{DOMAIN} /etc/letsencrypt/renewal-hooks/deploy/reload-nginx.sh"
        ),
    )
    .await;
    wait_until(
        Duration::from_secs(20),
        "nginx serving the renewed certificate",
        || async { m.ok("after the hook", serial).await.trim() == "serial=03EA" },
    )
    .await;

    // The nightly backup: its timer listed, its service run now, a dump that verifies.
    let timers = m
        .ok(
            "list-timers",
            "systemctl list-timers ocpizza-backup.timer --all --no-pager",
        )
        .await;
    assert!(timers.contains("ocpizza-backup.timer"), "{timers}");
    m.ok(
        "the backup service",
        "systemctl start ocpizza-backup.service && systemctl is-failed ocpizza-backup.service | grep -qx inactive",
    )
    .await;
    let dump = m
        .ok(
            "the dump",
            "f=$(ls /var/backups/ocpizza/ocpizza-ocpizza_db-*.sql.gz | tail -n1) && gzip -t \"$f\" \
             && zcat \"$f\" | grep -c 'CREATE TABLE `orders`' && stat -c %U:%a \"$f\"",
        )
        .await;
    assert!(
        dump.contains("ocpizza:600") || dump.contains("ocpizza:640"),
        "{dump}"
    );

    // update.sh to v2 while the customer keeps ordering.
    let before = placed(&m).len();
    let update = m
        .ok(
            "update.sh to v2",
            &format!("REF=v2 BINARIES=/srv/release/v2 bash {APP}/deploy/update.sh"),
        )
        .await;
    assert!(update.contains("updated to"), "{update}");
    assert!(installed(&m, "", "v2") && installed(&m, ".previous", "v1"));
    assert_eq!(
        sql(&m, "SELECT note FROM update_probe").await,
        "applied by the newer version"
    );
    all_running(&m).await;
    more_orders(&m, "after the update", placed(&m).len().max(before)).await;

    // `update.sh rollback`: the binaries the update replaced come back and restart; the schema
    // stays migrated, which the previous version works with.
    let back = m
        .ok(
            "update.sh rollback",
            &format!("bash {APP}/deploy/update.sh rollback"),
        )
        .await;
    assert!(
        back.contains("rolled back to the previous binaries"),
        "{back}"
    );
    assert!(installed(&m, "", "v1"), "v1's binaries are back");
    let running = all_running(&m).await;
    more_orders(&m, "after the rollback", placed(&m).len()).await;

    // v3's migration fails: the previous binaries go back, the running programs are left alone.
    let (done, failed) = m
        .sh(&format!(
            "REF=v3 BINARIES=/srv/release/v3 bash {APP}/deploy/update.sh"
        ))
        .await;
    assert!(!done, "{failed}");
    assert!(
        failed.contains("migration failed: the previous binaries are back in bin/"),
        "{failed}"
    );
    assert!(
        installed(&m, "", "v1"),
        "the running version's binaries are back"
    );
    assert_eq!(
        pid_column(&all_running(&m).await),
        pid_column(&running),
        "the programs were not restarted"
    );
    assert_eq!(count(&m, "SELECT COUNT(*) FROM failing_probe").await, 0);
    more_orders(&m, "after the failed update", placed(&m).len()).await;

    // The customer stops; every order went through once: one order per key, each confirmed,
    // its ticket printed, its confirmation sent; no message given up on.
    std::fs::write(m.path("/srv/stop-orders"), "").expect("stop the orders");
    m.ok(
        "the app stops",
        "for _ in $(seq 1 100); do systemctl is-active -q orders || exit 0; sleep 0.2; done; exit 1",
    )
    .await;
    let lines = placed(&m);
    assert!(lines.len() >= 9, "{lines:?}");
    let attempts = std::fs::read_to_string(m.path("/srv/orders.log")).unwrap_or_default();
    let retried = attempts
        .lines()
        .filter(|l| l.split_whitespace().nth(2).is_some_and(|n| n != "1"))
        .count();
    println!(
        "{} orders placed through nginx, {retried} of them sent again after an error reply",
        lines.len()
    );
    assert!(
        lines.iter().all(|(_, id)| id != "lost"),
        "orders the customer could not place: {lines:?}"
    );
    let keys: Vec<&str> = lines.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(
        count(&m, "SELECT COUNT(*) FROM orders").await,
        keys.len(),
        "one order per key"
    );
    wait_until(
        Duration::from_secs(90),
        "every order confirmed, printed and mailed",
        || async {
            count(
                &m,
                "SELECT COUNT(*) FROM orders o WHERE o.status <> 'confirmed' \
                 OR NOT EXISTS (SELECT 1 FROM tickets t WHERE t.order_id = o.id AND t.status = 'printed') \
                 OR NOT EXISTS (SELECT 1 FROM email_log e WHERE e.order_id = o.id AND e.template = 'confirmed' AND e.status = 'sent')",
            )
            .await
                == 0
        },
    )
    .await;
    let dead = m
        .ok(
            "dead letters",
            "rabbitmqctl -q list_queues -p ocpizza --no-table-headers name messages | awk '$1 ~ /dead$/ { n += $2 } END { print n + 0 }'",
        )
        .await;
    assert_eq!(dead.trim(), "0", "no worker gave up on a message");
    let receipts = m
        .ok(
            "the printers' receipts",
            "for p in kitchen backup; do curl -fsS http://127.0.0.1:9300/api/v1/devices/$p/receipts; echo; done \
             | python3 -c 'import json, sys; print(sum(len(json.loads(l)) for l in sys.stdin if l.strip()))'",
        )
        .await;
    let printed: usize = receipts
        .trim()
        .parse()
        .unwrap_or_else(|_| panic!("a count of receipts: {receipts}"));
    assert!(
        printed >= keys.len(),
        "{printed} tickets for {} orders",
        keys.len()
    );
}
