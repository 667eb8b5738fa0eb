//! The route table of the pages: every customer and staff URL and its handler, in one place
//! (the JSON API registers its own routes with their documentation, in [`crate::api`]).

use axum::Router;
use axum::http::header;
use axum::routing::{get, post};

use crate::state::AppState;
use crate::{accounts, orders, password, shops, webhook};

/// The site's static files, embedded in the binary: (path, content type, body).
const STATIC: [(&str, &str, &str); 3] = [
    (
        "/static/site.css",
        "text/css; charset=utf-8",
        include_str!("../static/site.css"),
    ),
    (
        "/static/live.js",
        "text/javascript; charset=utf-8",
        include_str!("../static/live.js"),
    ),
    (
        "/static/pay.js",
        "text/javascript; charset=utf-8",
        include_str!("../static/pay.js"),
    ),
];

fn static_files(mut router: Router<AppState>) -> Router<AppState> {
    for (path, content_type, body) in STATIC {
        router = router.route(
            path,
            get(move || async move {
                (
                    [
                        (header::CONTENT_TYPE, content_type),
                        (header::CACHE_CONTROL, "public, max-age=3600"),
                    ],
                    body,
                )
            }),
        );
    }
    router
}

/// The customer's pages (the JSON API lives in [`api`]).
pub fn pages() -> Router<AppState> {
    static_files(Router::new())
        .route("/", get(shops::index))
        .route("/pizzerias/{code}", get(shops::show))
        .route("/pizzerias/{code}/carte", get(shops::menu_fragment))
        .route(
            "/inscription",
            get(accounts::signup_page).post(accounts::signup),
        )
        .route(
            "/connexion",
            get(accounts::login_page).post(accounts::login),
        )
        .route("/deconnexion", post(accounts::logout))
        .route(
            "/mot-de-passe-oublie",
            get(password::forgot_page).post(password::forgot),
        )
        .route(
            "/mot-de-passe/{token}",
            get(password::reset_page).post(password::reset),
        )
        .route("/compte", get(accounts::profile))
        .route("/compte/profil", post(accounts::update_profile))
        .route("/compte/mot-de-passe", post(accounts::change_password))
        .route("/compte/adresses", post(accounts::add_address))
        .route("/compte/adresses/{id}", post(accounts::update_address))
        .route(
            "/compte/adresses/{id}/supprimer",
            post(accounts::delete_address),
        )
        .route("/panier", get(orders::cart_page))
        .route("/panier/ajouter", post(orders::add_to_cart))
        .route("/panier/modifier", post(orders::update_cart))
        .route("/commander", post(orders::checkout))
        .route("/commandes", get(orders::list))
        .route("/commandes/{id}", get(orders::show))
        .route("/commandes/{id}/flux", get(orders::stream))
        .route("/commandes/{id}/annuler", post(orders::cancel))
        .route("/commandes/{id}/modifier", post(orders::modify))
        .route("/commandes/{id}/recommander", post(orders::reorder))
        .route("/commandes/{id}/paiement", get(orders::pay_page))
        .route("/commandes/{id}/paiement/retour", get(orders::pay_return))
        .route("/stripe/webhook", post(webhook::stripe))
        .merge(staff())
}

/// The staff screens (see [`staff`]).
fn staff() -> Router<AppState> {
    use crate::staff::{self, admin, carte, counter, delivery, kitchen, manage, orders, report};
    Router::new()
        .route("/equipe", get(staff::home))
        .route("/equipe/{code}/flux", get(staff::stream))
        .route("/equipe/{code}/commandes", get(orders::search))
        .route("/equipe/{code}/commandes/{id}", get(orders::page))
        .route(
            "/equipe/{code}/commandes/{id}/statut",
            post(staff::move_order),
        )
        .route("/equipe/{code}/commandes/{id}/fin", post(orders::end))
        .route(
            "/equipe/{code}/commandes/{id}/remboursement",
            post(orders::give_back),
        )
        .route("/equipe/{code}/cuisine", get(kitchen::page))
        .route("/equipe/{code}/cuisine/tableau", get(kitchen::fragment))
        .route(
            "/equipe/{code}/commandes/{id}/reimprimer",
            post(kitchen::reprint),
        )
        .route("/equipe/{code}/recettes/{pizza_id}", get(kitchen::recipe))
        .route(
            "/equipe/{code}/comptoir",
            get(counter::page).post(counter::place),
        )
        .route("/equipe/{code}/comptoir/tableau", get(counter::fragment))
        .route("/equipe/{code}/livraisons", get(delivery::page))
        .route("/equipe/{code}/livraisons/tableau", get(delivery::fragment))
        .route(
            "/equipe/{code}/commandes/{id}/prendre",
            post(delivery::take),
        )
        .route("/equipe/{code}/gestion", get(manage::page))
        .route("/equipe/{code}/cuisine/capacite", post(manage::capacity))
        .route(
            "/equipe/{code}/stock/{ingredient_id}",
            get(manage::history).post(manage::adjust),
        )
        .route(
            "/equipe/{code}/stock/{ingredient_id}/seuil",
            post(manage::threshold),
        )
        .route("/equipe/{code}/carte/{pizza_id}", post(manage::sold_out))
        .route("/equipe/{code}/rapport", get(report::page))
        .route("/equipe/{code}/rapport.csv", get(report::csv))
        .route("/admin", get(admin::page))
        .route("/admin/pizzerias", post(admin::create_pizzeria))
        .route("/admin/pizzerias/{id}", post(admin::set_pizzeria))
        .route("/admin/pizzas", post(admin::create_pizza))
        .route("/admin/pizzas/{id}", post(admin::set_pizza))
        .route(
            "/admin/pizzas/{id}/recette",
            get(admin::recipe).post(admin::set_recipe),
        )
        .route("/admin/imprimantes", post(admin::create_printer))
        .route("/admin/personnel/{id}/role", post(admin::set_staff_role))
        .route("/admin/personnel/{id}/lien", post(admin::send_staff_link))
        .route(
            "/admin/carte/{pizzeria_id}/{pizza_id}",
            post(admin::set_served),
        )
        .route("/admin/imprimantes/{id}", post(admin::set_printer))
        .route("/admin/imprimantes/{id}/test", post(admin::test_printer))
        .route("/admin/personnel", post(admin::create_staff))
        .route("/admin/personnel/{id}", post(admin::set_staff_active))
        .route("/admin/import", post(admin::import))
        .route("/admin/menu", get(carte::page))
        .route("/admin/menu/tailles", post(carte::create_size))
        .route("/admin/menu/tailles/{id}", post(carte::set_size))
        .route("/admin/menu/groupes", post(carte::create_group))
        .route("/admin/menu/groupes/{id}", post(carte::set_group))
        .route("/admin/menu/options", post(carte::create_option))
        .route("/admin/menu/options/{id}", post(carte::set_option))
        .route("/admin/menu/ingredients/{id}", post(carte::set_ingredient))
        .route("/admin/menu/produits", post(carte::create_product))
        .route(
            "/admin/menu/produits/{id}",
            get(carte::product).post(carte::set_product),
        )
}
