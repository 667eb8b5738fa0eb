//! How an order is fulfilled, where it came from, and who changed it.

crate::named_enum! {
    /// Delivery or pickup (*à livrer* / *à emporter*).
    #[derive(utoipa::ToSchema)]
    pub enum Fulfilment {
        Delivery = "delivery",
        Pickup = "pickup",
    }
}

impl Fulfilment {
    /// As the interface, tickets and e-mails show it (the group's wording).
    pub fn label_fr(self) -> &'static str {
        match self {
            Fulfilment::Delivery => "À livrer",
            Fulfilment::Pickup => "À emporter",
        }
    }
}

crate::named_enum! {
    /// Where the order came from.
    pub enum Channel {
        Web = "web",
        Counter = "counter",
        Phone = "phone",
    }
}

/// Who caused a change.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "kind", content = "user_id", rename_all = "snake_case")]
pub enum Actor {
    Customer(u64),
    Staff(u64),
    System,
}

impl Actor {
    /// `(actor_kind, actor_user_id)` as the history table stores them.
    pub fn columns(self) -> (&'static str, Option<u64>) {
        match self {
            Actor::Customer(id) => ("customer", Some(id)),
            Actor::Staff(id) => ("staff", Some(id)),
            Actor::System => ("system", None),
        }
    }
}
