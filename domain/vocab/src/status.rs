//! The order lifecycle:
//!
//! `awaiting_payment` (online only) → `placed` → `confirmed` (stock reserved) → `preparing` →
//! `ready` → `out_for_delivery` → `delivered`; pickup ends `ready` → `picked_up`.
//! Customers may cancel before `preparing`; stock and payment reject before it too. Staff
//! (counter, manager) may end any order that is not finished, cancelled or rejected, with one
//! of the [`EndReason`]s.
//!
//! Adding a status is done here (its name, its French label, its moves); the order crate
//! stores and announces whatever this allows.

use crate::Fulfilment;

crate::named_enum! {
    /// Order states as customers and staff see them.
    pub enum OrderStatus {
        AwaitingPayment = "awaiting_payment",
        Placed = "placed",
        Confirmed = "confirmed",
        Preparing = "preparing",
        Ready = "ready",
        OutForDelivery = "out_for_delivery",
        Delivered = "delivered",
        PickedUp = "picked_up",
        Cancelled = "cancelled",
        Rejected = "rejected",
    }
}

/// A move the lifecycle does not allow.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum TransitionError {
    /// Shown to the customer or the staff member as is.
    #[error("la commande est « {} » : elle ne peut plus passer à « {} »", .from, .to)]
    NotAllowed {
        from: &'static str,
        to: &'static str,
    },
}

impl OrderStatus {
    /// What the interface shows (the group's own wording where it has one).
    pub fn label_fr(self, fulfilment: Fulfilment) -> &'static str {
        use OrderStatus::*;
        match (self, fulfilment) {
            (AwaitingPayment, _) => "En attente de paiement",
            (Placed, _) => "En attente confirmation restaurant",
            (Confirmed, _) => "Confirmée",
            (Preparing, _) => "En préparation",
            (Ready, Fulfilment::Delivery) => "En attente de livraison",
            (Ready, Fulfilment::Pickup) => "En attente de retrait",
            (OutForDelivery, _) => "Livraison en cours",
            (Delivered, _) => "Commande livrée",
            (PickedUp, _) => "Commande retirée",
            (Cancelled, _) => "Annulée",
            (Rejected, _) => "Refusée",
        }
    }

    /// Lines, address and time may change, and the customer may cancel, only before the
    /// kitchen starts it; ingredients are given back only when it ends before that.
    pub fn is_modifiable(self) -> bool {
        use OrderStatus::*;
        matches!(self, AwaitingPayment | Placed | Confirmed)
    }

    /// Nothing happens to the order any more.
    pub fn is_final(self) -> bool {
        use OrderStatus::*;
        matches!(self, Delivered | PickedUp | Cancelled | Rejected)
    }

    /// Handed to the customer.
    pub fn is_handed_over(self) -> bool {
        matches!(self, OrderStatus::Delivered | OrderStatus::PickedUp)
    }

    /// Whether `self → next` is a move of the lifecycle for an order fulfilled this way.
    pub fn can_move_to(self, next: OrderStatus, fulfilment: Fulfilment) -> bool {
        use OrderStatus::*;
        match (self, next) {
            (AwaitingPayment, Placed) => true,
            (Placed, Confirmed) => true,
            (Confirmed, Preparing) => true,
            (Preparing, Ready) => true,
            (Ready, OutForDelivery) => fulfilment == Fulfilment::Delivery,
            (OutForDelivery, Delivered) => fulfilment == Fulfilment::Delivery,
            (Ready, PickedUp) => fulfilment == Fulfilment::Pickup,
            (from, Cancelled | Rejected) => !from.is_final(),
            _ => false,
        }
    }

    /// [`OrderStatus::can_move_to`] as a result carrying the message to show.
    pub fn check_move_to(
        self,
        next: OrderStatus,
        fulfilment: Fulfilment,
    ) -> Result<(), TransitionError> {
        if self.can_move_to(next, fulfilment) {
            Ok(())
        } else {
            Err(TransitionError::NotAllowed {
                from: self.label_fr(fulfilment),
                to: next.label_fr(fulfilment),
            })
        }
    }
}

crate::named_enum! {
    /// Why staff end an order: the short list of the cancel form (with free text besides).
    pub enum EndReason {
        CustomerRequest = "customer_request",
        OutOfStock = "out_of_stock",
        Prank = "prank",
        Undeliverable = "undeliverable",
        KitchenIncident = "kitchen_incident",
        Other = "other",
    }
}

/// The most free text staff may add to an [`EndReason`].
pub const END_DETAIL_MAX: usize = 400;

impl EndReason {
    pub fn label_fr(self) -> &'static str {
        match self {
            EndReason::CustomerRequest => "À la demande du client",
            EndReason::OutOfStock => "Ingrédient épuisé",
            EndReason::Prank => "Commande fantaisiste",
            EndReason::Undeliverable => "Adresse hors zone ou client injoignable",
            EndReason::KitchenIncident => "Incident en cuisine",
            EndReason::Other => "Autre",
        }
    }

    /// The customer asked: the order is cancelled; otherwise the pizzeria refuses it.
    pub fn status(self) -> OrderStatus {
        match self {
            EndReason::CustomerRequest | EndReason::Other => OrderStatus::Cancelled,
            _ => OrderStatus::Rejected,
        }
    }

    /// The reason as recorded and shown to the customer: the label, then the staff's words.
    /// « Autre » needs words.
    pub fn describe(self, detail: &str) -> Result<String, &'static str> {
        let detail = detail.trim();
        if detail.chars().count() > END_DETAIL_MAX {
            return Err("La précision est trop longue (400 caractères au plus).");
        }
        match (self, detail.is_empty()) {
            (EndReason::Other, true) => Err("Précisez la raison."),
            (EndReason::Other, false) => Ok(detail.to_owned()),
            (_, true) => Ok(self.label_fr().to_owned()),
            (_, false) => Ok(format!("{} : {detail}", self.label_fr())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use OrderStatus::*;

    #[test]
    fn the_delivery_path_is_allowed_step_by_step() {
        let path = [
            AwaitingPayment,
            Placed,
            Confirmed,
            Preparing,
            Ready,
            OutForDelivery,
            Delivered,
        ];
        for pair in path.windows(2) {
            assert!(
                pair[0].can_move_to(pair[1], Fulfilment::Delivery),
                "{pair:?}"
            );
        }
    }

    #[test]
    fn pickup_ends_picked_up_and_never_goes_out_for_delivery() {
        assert!(Ready.can_move_to(PickedUp, Fulfilment::Pickup));
        assert!(!Ready.can_move_to(OutForDelivery, Fulfilment::Pickup));
        assert!(!Ready.can_move_to(PickedUp, Fulfilment::Delivery));
    }

    #[test]
    fn an_order_ends_from_anywhere_but_a_final_state_and_changes_only_before_preparing() {
        for &status in OrderStatus::ALL {
            let open = !matches!(status, Delivered | PickedUp | Cancelled | Rejected);
            for end in [Cancelled, Rejected] {
                assert_eq!(
                    status.can_move_to(end, Fulfilment::Delivery),
                    open,
                    "{status:?}"
                );
            }
            assert_eq!(status.is_final(), !open, "{status:?}");
            assert_eq!(
                status.is_modifiable(),
                matches!(status, AwaitingPayment | Placed | Confirmed),
                "{status:?}"
            );
        }
        assert_eq!(
            Delivered
                .check_move_to(Cancelled, Fulfilment::Delivery)
                .unwrap_err()
                .to_string(),
            "la commande est « Commande livrée » : elle ne peut plus passer à « Annulée »"
        );
    }

    #[test]
    fn each_end_reason_ends_the_order_one_way_and_other_needs_words() {
        for &r in EndReason::ALL {
            assert_eq!(EndReason::parse(r.as_str()), Some(r));
            assert!(matches!(r.status(), Cancelled | Rejected));
            assert!(!r.label_fr().is_empty());
        }
        assert_eq!(EndReason::CustomerRequest.status(), Cancelled);
        assert_eq!(EndReason::OutOfStock.status(), Rejected);
        assert_eq!(
            EndReason::Other.describe("").unwrap_err(),
            "Précisez la raison."
        );
        assert_eq!(
            EndReason::OutOfStock
                .describe("  plus de mozzarella ")
                .unwrap(),
            "Ingrédient épuisé : plus de mozzarella"
        );
        assert_eq!(
            EndReason::Prank.describe("").unwrap(),
            "Commande fantaisiste"
        );
        assert!(EndReason::Prank.describe(&"x".repeat(401)).is_err());
    }

    #[test]
    fn no_skipping_no_going_back_nothing_out_of_a_final_state() {
        assert!(
            !Placed.can_move_to(Preparing, Fulfilment::Delivery),
            "stock must be reserved first"
        );
        assert!(!Ready.can_move_to(Preparing, Fulfilment::Delivery));
        for &from in OrderStatus::ALL.iter().filter(|s| s.is_final()) {
            for &to in OrderStatus::ALL {
                assert!(
                    !from.can_move_to(to, Fulfilment::Delivery)
                        && !from.can_move_to(to, Fulfilment::Pickup),
                    "{from:?} → {to:?}"
                );
            }
        }
    }

    #[test]
    fn names_round_trip_through_text_and_json_and_ready_is_worded_by_fulfilment() {
        for &s in OrderStatus::ALL {
            assert_eq!(OrderStatus::parse(s.as_str()), Some(s));
            assert_eq!(serde_json::to_value(s).unwrap(), s.as_str());
            assert_eq!(
                serde_json::from_value::<OrderStatus>(s.as_str().into()).unwrap(),
                s
            );
        }
        assert_eq!(OrderStatus::parse("eaten"), None);
        assert_eq!(
            Ready.label_fr(Fulfilment::Delivery),
            "En attente de livraison"
        );
        assert_eq!(Ready.label_fr(Fulfilment::Pickup), "En attente de retrait");
    }
}
