//! A small shop for worker and web tests: one pizzeria open round the clock, four ingredients,
//! two pizzas, stock sized so that tests can run it out, free delivery to four Paris postal
//! codes and a paid zone (75020: 2,50 €, minimum 15 €, free from 30 €), printers on the ports the test gives,
//! a manager and a customer. Loaded through the real `feed-db` loader.

use chrono::Utc;
use messages::Envelope;
use order::{NewLine, NewOrder, Order, Placed};

use crate::TestEnv;
use vocab::{Actor, Channel, DeliveryAddress, Fulfilment, PaymentMode};

pub const PASSWORD: &str = "motdepasse-test";
pub const MANAGER: &str = "gerant@test.example";
pub const CUSTOMER: &str = "client@test.example";

/// The seed rows; printers point at `main_port` and `backup_port` on loopback.
pub fn shop_csv(main_port: u16, backup_port: u16) -> String {
    format!(
        "pizzeria,test,OC Pizza Test,1 rue du Test,75011,Paris,+33 1 00 00 00 00,test@ocpizza.example,00:00-12:00 12:00-00:00,,delivery pickup
ingredient,pate,Pâton,piece
ingredient,tomate,Sauce tomate,ml
ingredient,mozza,Mozzarella,g
ingredient,jambon,Jambon blanc,g
pizza,margherita,Margherita,\"Tomate, mozzarella\",9.50
pizza,regina,Regina,\"Tomate, mozzarella, jambon\",12
recipe_line,margherita,pate,1,
recipe_line,margherita,tomate,80,
recipe_line,margherita,mozza,100,
recipe_line,regina,pate,1,
recipe_line,regina,tomate,80,
recipe_line,regina,mozza,100,
recipe_line,regina,jambon,60,après cuisson
recipe_step,margherita,1,Étaler le pâton
recipe_step,margherita,2,Garnir et cuire 90 s
stock,test,pate,20,2
stock,test,tomate,5000,500
stock,test,mozza,1000,300
stock,test,jambon,60,30
delivery_zone,test,75001 75011 75012 75015,0,0
delivery_zone,test,75020,2.50,15,30,35
printer,test,Cuisine,127.0.0.1,{main_port},main
printer,,Secours,127.0.0.1,{backup_port},backup
staff,{MANAGER},Gérard Gérant,manager,test,{PASSWORD}
customer,{CUSTOMER},Claire Cliente,+33 6 00 00 00 00,{PASSWORD},3 rue des Clients,75011,Paris
"
    )
}

/// The menu beyond one size: sizes for the Regina (with onions added to its recipe), extras on
/// every pizza (two at most, the 40 cm priced apart), a base to choose on the Regina, a drink;
/// allergens and diets for the shop's ingredients. Loaded after [`shop_csv`], in the extended
/// `feed-db` format.
pub const MENU_CSV: &str = "ingredient,pate,Pâton,piece,gluten,vegan,no
ingredient,tomate,Sauce tomate,ml,,vegan,no
ingredient,mozza,Mozzarella,g,milk,vegetarian,no
ingredient,jambon,Jambon blanc,g,,animal,no
ingredient,oignons,Oignons,g,,vegan,no
ingredient,creme,Crème,ml,milk,vegetarian,no
ingredient,piment,Huile pimentée,ml,,vegan,yes
recipe_line,regina,pate,1,,no
recipe_line,regina,tomate,80,
recipe_line,regina,mozza,100,
recipe_line,regina,jambon,60,après cuisson
recipe_line,regina,oignons,30,
recipe_size,regina,pate,40,1
size,26,26 cm,60
size,33,33 cm,100
size,40,40 cm,150
pizza_size,regina,26,9
pizza_size,regina,33,12
pizza_size,regina,40,16
option_group,supplements,Suppléments,0,2
option,supplements,extra-mozza,Mozzarella,mozza,50,1.50
option,supplements,extra-jambon,Jambon,jambon,30,2
option,supplements,extra-piment,Piment,piment,5,0.50
option_price,extra-mozza,40,2.20
pizza_option_group,*,supplements
option_group,base,Base,1,1
option,base,base-tomate,Tomate,,,0,yes
option,base,base-creme,Crème,creme,60,0.50
pizza_option_group,regina,base
product,coca,Coca-Cola 33 cl,Canette,2.50,drink,5.5,,vegan
stock,test,oignons,1000,0
stock,test,creme,1000,0
stock,test,piment,100,0
stock,test,coca,10,2
";

/// Ids of the shop's rows, looked up by code.
#[derive(Clone, Debug)]
pub struct Shop {
    pub pizzeria_id: u64,
    pub margherita: u64,
    pub regina: u64,
    pub customer_id: u64,
    pub manager_id: u64,
}

impl TestEnv {
    /// A fresh environment with the test shop (printers on unused ports) and 5 000 of every
    /// ingredient, for tests about something other than stock.
    pub async fn with_stocked_shop() -> (TestEnv, Shop) {
        let env = TestEnv::new().await;
        let shop = env.seed_shop(9, 9).await;
        sqlx::query("UPDATE stock SET quantity = 5000")
            .execute(&env.pool)
            .await
            .expect("stock raised");
        (env, shop)
    }

    /// Loads [`shop_csv`] and returns its ids.
    pub async fn seed_shop(&self, main_port: u16, backup_port: u16) -> Shop {
        catalog::feed::feed(
            &self.pool,
            shop_csv(main_port, backup_port).as_bytes(),
            &self.settings.printer_ports,
        )
        .await
        .expect("the test shop loads");
        let id = |sql: &'static str, key: &'static str| {
            let pool = self.pool.clone();
            async move {
                sqlx::query_scalar::<_, u64>(sql)
                    .bind(key)
                    .fetch_one(&pool)
                    .await
                    .expect("seeded row")
            }
        };
        Shop {
            pizzeria_id: id("SELECT id FROM pizzerias WHERE code = ?", "test").await,
            margherita: id("SELECT id FROM pizzas WHERE code = ?", "margherita").await,
            regina: id("SELECT id FROM pizzas WHERE code = ?", "regina").await,
            customer_id: id("SELECT id FROM users WHERE email = ?", CUSTOMER).await,
            manager_id: id("SELECT id FROM users WHERE email = ?", MANAGER).await,
        }
    }

    /// Loads [`MENU_CSV`] over the test shop; the drink's id.
    pub async fn seed_menu(&self) -> u64 {
        catalog::feed::feed(
            &self.pool,
            MENU_CSV.as_bytes(),
            &self.settings.printer_ports,
        )
        .await
        .expect("the test menu loads");
        sqlx::query_scalar("SELECT id FROM pizzas WHERE code = 'coca'")
            .fetch_one(&self.pool)
            .await
            .expect("the drink")
    }

    /// One `pizza` for pickup, paid as `payment`, for the shop's customer.
    pub async fn place_pickup(&self, shop: &Shop, pizza: u64, payment: PaymentMode) -> Order {
        self.place(shop, &[(pizza, 1)], payment, Fulfilment::Pickup)
            .await
    }

    /// Places an order for the shop's customer and commits it.
    pub async fn place(
        &self,
        shop: &Shop,
        lines: &[(u64, u32)],
        payment: PaymentMode,
        fulfilment: Fulfilment,
    ) -> Order {
        let lines = lines
            .iter()
            .map(|&(pizza_id, quantity)| NewLine::plain(pizza_id, quantity))
            .collect();
        self.place_lines(shop, lines, payment, fulfilment).await
    }

    /// Places an order of these lines (sizes, options, removals) and commits it.
    pub async fn place_lines(
        &self,
        shop: &Shop,
        lines: Vec<NewLine>,
        payment: PaymentMode,
        fulfilment: Fulfilment,
    ) -> Order {
        let new = Self::new_order(shop, lines, payment, fulfilment);
        let mut tx = self.pool.begin().await.expect("begin");
        let placed =
            order::place::place(&mut tx, &new, Actor::Customer(shop.customer_id), Utc::now())
                .await
                .expect("the test order is valid");
        tx.commit().await.expect("commit");
        match placed {
            Placed::Created(o) => o,
            Placed::AlreadyPlaced(_) => panic!("a fresh key made a new order"),
        }
    }

    /// The shop's customer's order of `lines`, as soon as possible, with a fresh key.
    pub fn new_order(
        shop: &Shop,
        lines: Vec<NewLine>,
        payment: PaymentMode,
        fulfilment: Fulfilment,
    ) -> NewOrder {
        NewOrder {
            pizzeria_id: shop.pizzeria_id,
            customer_id: shop.customer_id,
            channel: Channel::Web,
            fulfilment,
            payment_mode: payment,
            on_site_plan: None,
            customer_name: "Claire Cliente".into(),
            customer_phone: "+33 6 00 00 00 00".into(),
            contact_email: None,
            delivery: (fulfilment == Fulfilment::Delivery).then(|| DeliveryAddress {
                street: "3 rue des Clients".into(),
                complement: "Bâtiment B".into(),
                postal_code: "75011".into(),
                city: "Paris".into(),
                instructions: "Code 1234".into(),
            }),
            desired_at: None,
            notes: String::new(),
            lines,
            idempotency_key: uuid::Uuid::new_v4().simple().to_string(),
        }
    }

    /// Messages waiting in the outbox with this type, oldest first.
    pub async fn outbox(&self, message_type: &str) -> Vec<Envelope> {
        let rows: Vec<String> =
            sqlx::query_scalar("SELECT payload FROM outbox WHERE routing_key = ? ORDER BY id")
                .bind(message_type)
                .fetch_all(&self.pool)
                .await
                .expect("read outbox");
        rows.iter()
            .map(|p| Envelope::decode(p.as_bytes()).expect("outbox rows decode"))
            .collect()
    }

    /// The outbox message of this type about this order (exactly one expected).
    pub async fn outbox_for(&self, message_type: &str, order_id: u64) -> Envelope {
        let found: Vec<Envelope> = self
            .outbox(message_type)
            .await
            .into_iter()
            .filter(|e| e.correlation_id == Some(order_id))
            .collect();
        assert_eq!(found.len(), 1, "one {message_type} for order {order_id}");
        found.into_iter().next().unwrap()
    }

    pub async fn order(&self, id: u64) -> Order {
        let mut conn = self.pool.acquire().await.expect("connection");
        Order::load(&mut conn, id).await.expect("order exists")
    }

    pub async fn stock_of(&self, shop: &Shop, ingredient_code: &str) -> i64 {
        sqlx::query_scalar(
            "SELECT s.quantity FROM stock s JOIN ingredients i ON i.id = s.ingredient_id
             WHERE s.pizzeria_id = ? AND i.code = ?",
        )
        .bind(shop.pizzeria_id)
        .bind(ingredient_code)
        .fetch_one(&self.pool)
        .await
        .expect("stock row")
    }
}
