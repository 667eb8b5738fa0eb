use catalog::feed::{self, FeedError};
use ocpizza_tests::{TestEnv, project_root};

fn demo_seed() -> Vec<u8> {
    std::fs::read(project_root().join("deploy/demo/db_seed.csv"))
        .expect("the demo seed file ships with the project")
}

const TABLES: [&str; 11] = [
    "pizzerias",
    "ingredients",
    "pizzas",
    "recipe_lines",
    "recipe_steps",
    "stock",
    "stock_ledger",
    "pizzeria_pizzas",
    "printers",
    "users",
    "addresses",
];

async fn counts(env: &TestEnv) -> Vec<i64> {
    let mut v = Vec::new();
    for t in TABLES {
        v.push(env.count(t).await);
    }
    v
}

#[tokio::test]
async fn the_demo_data_set_is_complete() {
    let env = TestEnv::new().await;
    let summary = feed::feed(&env.pool, &demo_seed()[..], &env.settings.printer_ports)
        .await
        .unwrap();
    assert_eq!(summary.pizzerias, 5);
    assert!(summary.pizzas >= 15, "{summary}");
    assert!(summary.ingredients >= 25, "{summary}");

    let roles: Vec<String> =
        sqlx::query_scalar("SELECT DISTINCT CAST(role AS CHAR) FROM users ORDER BY 1")
            .fetch_all(&env.pool)
            .await
            .unwrap();
    assert_eq!(
        roles,
        [
            "admin",
            "counter",
            "customer",
            "delivery",
            "manager",
            "pizzaiolo"
        ]
    );

    let without_recipe: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM pizzas p WHERE NOT EXISTS (SELECT 1 FROM recipe_lines r WHERE r.pizza_id = p.id)")
            .fetch_one(&env.pool)
            .await
            .unwrap();
    assert_eq!(without_recipe, 0, "every pizza has a recipe");
    let shops_without_printer: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM pizzerias p WHERE NOT EXISTS (SELECT 1 FROM printers r WHERE r.pizzeria_id = p.id AND r.role = 'main')")
            .fetch_one(&env.pool)
            .await
            .unwrap();
    assert_eq!(shops_without_printer, 0);

    // Sizes, extras, a base to choose, drinks and desserts, allergens: the whole menu shows.
    let mut conn = env.pool.acquire().await.unwrap();
    let shop: u64 = sqlx::query_scalar("SELECT id FROM pizzerias WHERE code = 'paris-11'")
        .fetch_one(&mut *conn)
        .await
        .unwrap();
    let menu = catalog::product::menu(&mut conn, shop).await.unwrap();
    let stock = stock::quantities(&mut conn, shop).await.unwrap();
    let pizzas: Vec<_> = menu
        .iter()
        .filter(|p| p.category == vocab::Category::Pizza)
        .collect();
    // Every pizza in three sizes but the calzone, a folded pizza made in one.
    let sizes = |p: &&catalog::Product| p.sizes.len() == if p.code == "calzone" { 0 } else { 3 };
    assert!(pizzas.iter().all(sizes));
    assert!(pizzas.iter().all(|p| !p.groups.is_empty()));
    assert!(
        pizzas.iter().all(|p| p.plain().is_some()),
        "each pizza orders as it comes"
    );
    assert!(
        pizzas.iter().all(|p| !p.facts().allergens.is_empty()),
        "dough has gluten"
    );
    assert!(
        pizzas
            .iter()
            .any(|p| p.facts().diet == vocab::Diet::Vegetarian)
    );
    assert!(pizzas.iter().any(|p| p.facts().spicy));
    for category in [vocab::Category::Drink, vocab::Category::Dessert] {
        assert!(
            menu.iter()
                .any(|p| p.category == category && p.availability(&stock).available)
        );
    }
    let removable_dough = menu
        .iter()
        .flat_map(|p| &p.recipe)
        .any(|i| i.code == "pate" && i.removable);
    assert!(!removable_dough, "the dough cannot be left out");
    let notes: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM recipe_lines WHERE note IN ('yes', 'no')")
            .fetch_one(&mut *conn)
            .await
            .unwrap();
    assert_eq!(notes, 0, "no column shifted into the notes");

    let (hash,): (String,) =
        sqlx::query_as("SELECT password_hash FROM users WHERE email = 'admin@ocpizza.fr'")
            .fetch_one(&env.pool)
            .await
            .unwrap();
    assert!(account::password::verify("ocpizza-demo", &hash));
}

#[tokio::test]
async fn feeding_the_same_file_twice_duplicates_nothing() {
    let env = TestEnv::new().await;
    feed::feed(&env.pool, &demo_seed()[..], &env.settings.printer_ports)
        .await
        .unwrap();
    let first = counts(&env).await;
    feed::feed(&env.pool, &demo_seed()[..], &env.settings.printer_ports)
        .await
        .unwrap();
    assert_eq!(counts(&env).await, first);
}

#[tokio::test]
async fn a_changed_stock_quantity_is_recorded_in_the_ledger() {
    let env = TestEnv::new().await;
    let base = "pizzeria,p1,P1,1 rue,75001,Paris,01,p@ocpizza.fr,11:00-14:00,,pickup\ningredient,jambon,Jambon,g\n";
    feed::feed(
        &env.pool,
        format!("{base}stock,p1,jambon,1000,100\n").as_bytes(),
        &env.settings.printer_ports,
    )
    .await
    .unwrap();
    feed::feed(
        &env.pool,
        format!("{base}stock,p1,jambon,1500,100\n").as_bytes(),
        &env.settings.printer_ports,
    )
    .await
    .unwrap();
    let deltas: Vec<i64> = sqlx::query_scalar("SELECT delta FROM stock_ledger ORDER BY id")
        .fetch_all(&env.pool)
        .await
        .unwrap();
    assert_eq!(deltas, [1000, 500]);
    let (q,): (i64,) = sqlx::query_as("SELECT quantity FROM stock")
        .fetch_one(&env.pool)
        .await
        .unwrap();
    assert_eq!(q, 1500);
}

#[tokio::test]
async fn an_unknown_code_loads_nothing_even_after_good_rows() {
    let env = TestEnv::new().await;
    let csv = "pizzeria,p1,P1,1 rue,75001,Paris,01,p@ocpizza.fr,11:00-14:00,,pickup\n\
               ingredient,jambon,Jambon,g\n\
               pizza,reine,Reine,,11\n\
               recipe_line,reine,champignon,80\n\
               stock,p2,jambon,10,1\n";
    match feed::feed(&env.pool, csv.as_bytes(), &env.settings.printer_ports).await {
        Err(FeedError::Invalid(problems)) => {
            let text: Vec<String> = problems.iter().map(ToString::to_string).collect();
            assert_eq!(
                text,
                [
                    "ligne 4, colonne 3 (ingredient_code) : ingrédient de code \"champignon\" introuvable dans le fichier comme dans la base",
                    "ligne 5, colonne 2 (pizzeria_code) : pizzeria de code \"p2\" introuvable dans le fichier comme dans la base",
                ]
            );
        }
        other => panic!("expected problems, got {other:?}"),
    }
    assert_eq!(
        counts(&env).await,
        vec![0; TABLES.len()],
        "one transaction: nothing half-loaded"
    );
}

#[tokio::test]
async fn rows_may_refer_to_what_the_database_already_holds() {
    let env = TestEnv::new().await;
    feed::feed(
        &env.pool,
        "ingredient,jambon,Jambon,g\npizza,reine,Reine,,11\n".as_bytes(),
        &env.settings.printer_ports,
    )
    .await
    .unwrap();
    feed::feed(
        &env.pool,
        "recipe_line,reine,jambon,80,en lamelles\n".as_bytes(),
        &env.settings.printer_ports,
    )
    .await
    .unwrap();
    assert_eq!(env.count("recipe_lines").await, 1);
}
