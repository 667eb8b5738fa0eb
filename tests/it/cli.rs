//! The `ocpizza` command as an operator runs it.

use std::process::Command;

use ocpizza_tests::{TestEnv, project_root, workspace_binary};

fn ocpizza(env: &[(&str, &str)], args: &[&str]) -> (i32, String, String) {
    let dir = tempdir();
    let out = Command::new(workspace_binary("ocpizza"))
        .args(args)
        .env_clear()
        .envs(env.iter().copied())
        .current_dir(&dir) // no .env file here
        .output()
        .unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn tempdir() -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("ocpizza-cli-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn base_env(env: &TestEnv) -> Vec<(&'static str, String)> {
    let s = &env.settings;
    use settings::ExposeSecret;
    vec![
        ("ENV", "test".into()),
        ("HOST", "127.0.0.1".into()),
        ("PORT", "0".into()),
        (
            "SECRET_KEY",
            "cli-test-secret-key-0123456789abcdef0123".into(),
        ),
        ("DB_HOST", s.database.nodes[0].host.clone()),
        ("DB_PORT", s.database.nodes[0].port.to_string()),
        ("DB_NAME", s.database.name.clone()),
        ("DB_USER", s.database.user.clone()),
        (
            "DB_PASSWORD",
            s.database.password.expose_secret().to_owned(),
        ),
        ("RABBITMQ_URL", s.rabbitmq_url.expose_secret().to_owned()),
        ("STRIPE_SECRET_KEY", "sk_test_cli".into()),
        ("STRIPE_PUBLISHABLE_KEY", "pk_test_cli".into()),
        ("STRIPE_WEBHOOK_SECRET", "whsec_cli".into()),
        ("SMTP_URL", "smtp://127.0.0.1:1025".into()),
        ("SMTP_FROM", "OC Pizza <commandes@ocpizza.fr>".into()),
    ]
}

fn as_refs<'a>(v: &'a [(&'static str, String)]) -> Vec<(&'static str, &'a str)> {
    v.iter().map(|(k, v)| (*k, v.as_str())).collect()
}

#[tokio::test]
async fn a_missing_variable_stops_start_up_naming_it() {
    let env = TestEnv::unmigrated().await;
    let vars: Vec<_> = base_env(&env)
        .into_iter()
        .filter(|(k, _)| *k != "DB_PASSWORD")
        .collect();
    let (code, _, stderr) = ocpizza(&as_refs(&vars), &["serve"]);
    assert_eq!(code, 78);
    assert!(stderr.contains("DB_PASSWORD is not set"), "{stderr}");
}

#[tokio::test]
async fn a_malformed_variable_stops_start_up_naming_it_without_echoing_secrets() {
    let env = TestEnv::unmigrated().await;
    let mut vars = base_env(&env);
    vars.retain(|(k, _)| *k != "RABBITMQ_URL");
    vars.push((
        "RABBITMQ_URL",
        "http://guest:hunter2-secret@127.0.0.1".into(),
    ));
    let (code, _, stderr) = ocpizza(&as_refs(&vars), &["check-config"]);
    assert_eq!(code, 78);
    assert!(stderr.contains("RABBITMQ_URL is malformed"), "{stderr}");
    assert!(!stderr.contains("hunter2"), "{stderr}");
}

#[tokio::test]
async fn migrate_then_feed_db_loads_the_demo_data_once() {
    let env = TestEnv::unmigrated().await;
    let vars = base_env(&env);
    let (code, stdout, stderr) = ocpizza(&as_refs(&vars), &["migrate"]);
    assert_eq!(code, 0, "{stdout}{stderr}");

    let seed = project_root().join("deploy/demo/db_seed.csv");
    let seed = seed.to_str().unwrap();
    let (code, stdout, stderr) = ocpizza(&as_refs(&vars), &["feed-db", "-d", seed]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(stdout.contains("chargé : 5 pizzerias"), "{stdout}");

    let (code, _, stderr) = ocpizza(&as_refs(&vars), &["feed-db", "-d", "/nonexistent.csv"]);
    assert_ne!(code, 0);
    assert!(stderr.contains("cannot open /nonexistent.csv"), "{stderr}");
}

#[tokio::test]
async fn feed_db_reports_a_bad_file_by_line_and_exits_2() {
    let env = TestEnv::new().await;
    let dir = tempdir();
    let file = dir.join("bad.csv");
    std::fs::write(
        &file,
        "ingredient,jambon,Jambon,g\ningredient,basilic,Basilic,kilo\n",
    )
    .unwrap();
    let vars = base_env(&env);
    let (code, _, stderr) = ocpizza(&as_refs(&vars), &["feed-db", "-d", file.to_str().unwrap()]);
    std::fs::remove_dir_all(&dir).unwrap();
    assert_eq!(code, 2);
    assert!(stderr.contains("ligne 2, colonne 4 (unit)"), "{stderr}");
    assert_eq!(
        env.count("ingredients").await,
        0,
        "nothing may be loaded from a bad file"
    );
}
