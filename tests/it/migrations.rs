use ocpizza_tests::TestEnv;

const TABLES: [&str; 37] = [
    "addresses",
    "delivery_zones",
    "email_log",
    "ingredients",
    "kitchen_capacity",
    "kitchen_periods",
    "option_groups",
    "option_prices",
    "options",
    "order_line_choices",
    "order_line_ingredients",
    "order_lines",
    "order_status_history",
    "orders",
    "outbox",
    "password_links",
    "payments",
    "pizza_option_groups",
    "pizza_sizes",
    "pizzas",
    "pizzeria_pizzas",
    "pizzerias",
    "printers",
    "processed_messages",
    "recipe_lines",
    "recipe_size_quantities",
    "recipe_steps",
    "refunds",
    "sessions",
    "sizes",
    "sold_out",
    "stock",
    "stock_ledger",
    "stripe_events",
    "ticket_sends",
    "tickets",
    "users",
];

async fn tables(env: &TestEnv) -> Vec<String> {
    let mut names: Vec<String> =
        sqlx::query_scalar("SELECT table_name FROM information_schema.tables WHERE table_schema = ? AND table_name <> '_sqlx_migrations'")
            .bind(&env.database)
            .fetch_all(&env.pool)
            .await
            .unwrap();
    names.sort();
    names
}

#[tokio::test]
async fn migrations_build_the_schema_on_an_empty_database_and_rerun_as_a_no_op() {
    let env = TestEnv::unmigrated().await;
    assert!(tables(&env).await.is_empty());

    db::migrate(&env.pool).await.unwrap();
    assert_eq!(tables(&env).await, TABLES);

    db::migrate(&env.pool).await.unwrap();
    assert_eq!(tables(&env).await, TABLES);
}

#[tokio::test]
async fn the_schema_refuses_negative_stock_and_staff_without_a_pizzeria() {
    let env = TestEnv::new().await;
    sqlx::query("INSERT INTO pizzerias (code, name, street, postal_code, city, phone, email, opening_hours) VALUES ('p1', 'P', 'r', '75001', 'Paris', '01', 'p@x.fr', '11:00-14:00')")
        .execute(&env.pool)
        .await
        .unwrap();
    sqlx::query("INSERT INTO ingredients (code, name, unit) VALUES ('jambon', 'Jambon', 'g')")
        .execute(&env.pool)
        .await
        .unwrap();
    let negative = sqlx::query("INSERT INTO stock (pizzeria_id, ingredient_id, quantity) SELECT p.id, i.id, -1 FROM pizzerias p, ingredients i")
        .execute(&env.pool)
        .await;
    assert!(
        negative.is_err(),
        "stock below zero must be refused by the database itself"
    );

    let staff = sqlx::query(
        "INSERT INTO users (email, full_name, role) VALUES ('a@b.fr', 'A', 'pizzaiolo')",
    )
    .execute(&env.pool)
    .await;
    assert!(
        staff.is_err(),
        "a pizzaiolo without a pizzeria must be refused"
    );
    sqlx::query("INSERT INTO users (email, full_name, role) VALUES ('c@b.fr', 'C', 'customer')")
        .execute(&env.pool)
        .await
        .unwrap();
}

#[tokio::test]
async fn times_are_stored_in_utc() {
    let env = TestEnv::new().await;
    let (tz,): (String,) = sqlx::query_as("SELECT @@session.time_zone")
        .fetch_one(&env.pool)
        .await
        .unwrap();
    assert_eq!(tz, "+00:00");
}
