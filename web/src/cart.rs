//! The cart, kept in the session until checkout: one pizzeria, pizza ids and quantities. Prices
//! and availability are looked up again every time it is shown and when the order is placed.

use serde::{Deserialize, Serialize};
use tower_sessions::Session;
use vocab::Quantity;
use vocab::input::MAX_QUANTITY_PER_LINE;

use crate::error::WebError;

const KEY: &str = "cart";

#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct Cart {
    pub pizzeria_id: Option<u64>,
    pub lines: Vec<(u64, u32)>,
}

impl Cart {
    pub async fn load(session: &Session) -> Result<Cart, WebError> {
        Ok(session.get::<Cart>(KEY).await?.unwrap_or_default())
    }

    pub async fn save(&self, session: &Session) -> Result<(), WebError> {
        session.insert(KEY, self).await?;
        Ok(())
    }

    pub async fn clear(session: &Session) -> Result<(), WebError> {
        session.remove::<Cart>(KEY).await?;
        Ok(())
    }

    pub fn count(&self) -> u32 {
        self.lines.iter().map(|(_, q)| q).sum()
    }

    /// Whether adding from `pizzeria_id` would empty a cart of another pizzeria.
    pub fn holds_another(&self, pizzeria_id: u64) -> bool {
        self.pizzeria_id.is_some_and(|p| p != pizzeria_id) && !self.lines.is_empty()
    }

    /// Adds pizzas (a line holds at most [`MAX_QUANTITY_PER_LINE`]); a cart from another
    /// pizzeria is replaced (returns true then) — the caller asks the customer first.
    pub fn add(&mut self, pizzeria_id: u64, pizza_id: u64, quantity: Quantity) -> bool {
        let replaced = self.holds_another(pizzeria_id);
        if self.pizzeria_id != Some(pizzeria_id) {
            self.lines.clear();
            self.pizzeria_id = Some(pizzeria_id);
        }
        match self.lines.iter_mut().find(|(p, _)| *p == pizza_id) {
            Some((_, q)) => *q = Quantity::clamped(*q + quantity.get()).get(),
            None => self.lines.push((pizza_id, quantity.get())),
        }
        replaced
    }

    /// Sets a line's quantity; 0 removes it.
    pub fn set(&mut self, pizza_id: u64, quantity: u32) {
        if quantity == 0 {
            self.lines.retain(|(p, _)| *p != pizza_id);
        } else if let Some((_, q)) = self.lines.iter_mut().find(|(p, _)| *p == pizza_id) {
            *q = quantity.min(MAX_QUANTITY_PER_LINE);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(n: u32) -> Quantity {
        Quantity::new(n).unwrap()
    }

    #[test]
    fn a_cart_holds_one_pizzeria_and_merges_lines() {
        let mut cart = Cart::default();
        assert!(!cart.add(1, 10, q(2)));
        assert!(!cart.add(1, 10, q(1)));
        assert!(!cart.add(1, 11, q(1)));
        assert_eq!(cart.lines, [(10, 3), (11, 1)]);
        assert_eq!(cart.count(), 4);
        cart.set(10, 0);
        assert_eq!(cart.lines, [(11, 1)]);
        assert!(cart.add(2, 20, q(1)), "another pizzeria replaces the cart");
        assert_eq!(
            (cart.pizzeria_id, cart.lines.clone()),
            (Some(2), vec![(20, 1)])
        );
        cart.add(2, 20, q(15));
        cart.add(2, 20, q(15));
        assert_eq!(
            cart.lines,
            [(20, MAX_QUANTITY_PER_LINE)],
            "a full line stays full"
        );
    }
}
