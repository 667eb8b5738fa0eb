//! The cart, kept in the session until checkout: one pizzeria, its lines as the customer chose
//! them (product, size, options, removals, quantity). Prices and availability are worked out
//! again every time it is shown and when the order is placed.

use order::NewLine;
use serde::{Deserialize, Serialize};
use tower_sessions::Session;
use vocab::Quantity;
use vocab::input::MAX_QUANTITY_PER_LINE;

use crate::error::WebError;

const KEY: &str = "cart";

#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct Cart {
    pub pizzeria_id: Option<u64>,
    pub lines: Vec<NewLine>,
}

impl Cart {
    /// The session's cart; one saved in an older shape is dropped rather than refused.
    pub async fn load(session: &Session) -> Result<Cart, WebError> {
        match session.get::<Cart>(KEY).await {
            Ok(cart) => Ok(cart.unwrap_or_default()),
            Err(tower_sessions::session::Error::SerdeJson(e)) => {
                tracing::info!(error = %e, "cart in an older shape dropped");
                Ok(Cart::default())
            }
            Err(e) => Err(e.into()),
        }
    }

    pub async fn save(&self, session: &Session) -> Result<(), WebError> {
        session.insert(KEY, self).await?;
        Ok(())
    }

    pub async fn clear(session: &Session) -> Result<(), WebError> {
        session.remove_value(KEY).await?;
        Ok(())
    }

    pub fn count(&self) -> u32 {
        self.lines.iter().map(|l| l.quantity).sum()
    }

    /// Whether adding from `pizzeria_id` would empty a cart of another pizzeria.
    pub fn holds_another(&self, pizzeria_id: u64) -> bool {
        self.pizzeria_id.is_some_and(|p| p != pizzeria_id) && !self.lines.is_empty()
    }

    /// Adds a line (merged with the same product and choices; a line holds at most
    /// [`MAX_QUANTITY_PER_LINE`]); a cart from another pizzeria is replaced (returns true
    /// then) — the caller asks the customer first.
    pub fn add(&mut self, pizzeria_id: u64, line: NewLine, quantity: Quantity) -> bool {
        let replaced = self.holds_another(pizzeria_id);
        if self.pizzeria_id != Some(pizzeria_id) {
            self.lines.clear();
            self.pizzeria_id = Some(pizzeria_id);
        }
        match self.lines.iter_mut().find(|l| l.same_choice(&line)) {
            Some(l) => l.quantity = Quantity::clamped(l.quantity + quantity.get()).get(),
            None => self.lines.push(NewLine {
                quantity: quantity.get(),
                ..line
            }),
        }
        replaced
    }

    /// Sets the quantity of the line at `index`; 0 removes it.
    pub fn set(&mut self, index: usize, quantity: u32) {
        if quantity == 0 {
            if index < self.lines.len() {
                self.lines.remove(index);
            }
        } else if let Some(l) = self.lines.get_mut(index) {
            l.quantity = quantity.min(MAX_QUANTITY_PER_LINE);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(n: u32) -> Quantity {
        Quantity::new(n).unwrap()
    }

    fn line(pizza_id: u64) -> NewLine {
        NewLine::plain(pizza_id, 1)
    }

    fn quantities(cart: &Cart) -> Vec<(u64, u32)> {
        cart.lines
            .iter()
            .map(|l| (l.pizza_id, l.quantity))
            .collect()
    }

    #[test]
    fn a_cart_holds_one_pizzeria_and_merges_lines() {
        let mut cart = Cart::default();
        assert!(!cart.add(1, line(10), q(2)));
        assert!(!cart.add(1, line(10), q(1)));
        assert!(!cart.add(1, line(11), q(1)));
        assert_eq!(quantities(&cart), [(10, 3), (11, 1)]);
        assert_eq!(cart.count(), 4);
        cart.set(0, 0);
        assert_eq!(quantities(&cart), [(11, 1)]);
        assert!(
            cart.add(2, line(20), q(1)),
            "another pizzeria replaces the cart"
        );
        assert_eq!(
            (cart.pizzeria_id, quantities(&cart)),
            (Some(2), vec![(20, 1)])
        );
        cart.add(2, line(20), q(15));
        cart.add(2, line(20), q(15));
        assert_eq!(
            quantities(&cart),
            [(20, MAX_QUANTITY_PER_LINE)],
            "a full line stays full"
        );
    }

    #[test]
    fn the_same_pizza_with_other_choices_is_another_line() {
        let mut cart = Cart::default();
        let large = NewLine {
            size: Some("40".into()),
            options: vec!["extra-mozzarella".into()],
            remove: vec!["oignons".into()],
            ..line(10)
        };
        cart.add(1, line(10), q(1));
        cart.add(1, large.clone(), q(1));
        let same = NewLine {
            options: vec!["extra-mozzarella".into(), "extra-mozzarella".into()],
            ..large.clone()
        };
        cart.add(1, same, q(2));
        assert_eq!(quantities(&cart), [(10, 1), (10, 3)]);
        assert_eq!(cart.lines[1].size.as_deref(), Some("40"));
    }
}
