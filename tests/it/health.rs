use ocpizza_tests::TestEnv;
use serde_json::Value;

#[tokio::test]
async fn healthz_answers_while_the_process_runs() {
    let env = TestEnv::new().await;
    let app = env.spawn_web().await;
    let resp = app.client.get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.json::<Value>().await.unwrap()["status"], "ok");
}

#[tokio::test]
async fn readyz_is_ok_when_database_and_broker_answer() {
    let env = TestEnv::new().await;
    let app = env.spawn_web().await;
    let resp = app.client.get(app.url("/readyz")).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["status"], "ready");
    assert_eq!(body["database"], "ok");
    assert_eq!(body["broker"], "ok");
}

#[tokio::test]
async fn readyz_is_503_naming_the_broker_when_it_is_unreachable() {
    let env = TestEnv::new().await;
    let settings = env.settings_with(&[("RABBITMQ_URL", "amqp://guest:guest@127.0.0.1:1/%2f")]);
    let app = env.spawn_web_with(settings, env.pool.clone()).await;
    let resp = app.client.get(app.url("/readyz")).send().await.unwrap();
    assert_eq!(resp.status(), 503);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["database"], "ok");
    assert!(
        body["broker"].as_str().unwrap().starts_with("unreachable"),
        "{body}"
    );
}

#[tokio::test]
async fn readyz_is_503_naming_the_database_when_it_is_unreachable() {
    let env = TestEnv::new().await;
    let dead_pool = sqlx::mysql::MySqlPoolOptions::new()
        .acquire_timeout(std::time::Duration::from_secs(1))
        .connect_lazy("mysql://nobody:nothing@127.0.0.1:1/none")
        .unwrap();
    let app = env.spawn_web_with(env.settings.clone(), dead_pool).await;
    let resp = app.client.get(app.url("/readyz")).send().await.unwrap();
    assert_eq!(resp.status(), 503);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["broker"], "ok");
    assert_ne!(body["database"], "ok", "{body}");
    assert!(
        !body.to_string().contains("nothing"),
        "the password must not leak: {body}"
    );
}
