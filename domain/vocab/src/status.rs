//! The order lifecycle:
//!
//! `awaiting_payment` (online only) → `placed` → `confirmed` (stock reserved) → `preparing` →
//! `ready` → `out_for_delivery` → `delivered`; pickup ends `ready` → `picked_up`.
//! `cancelled` from any state before `preparing`; `rejected` when stock or payment fails, also
//! before `preparing`.
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

    /// Lines, address and time may change, and the order may be cancelled, only before the
    /// kitchen starts it.
    pub fn is_modifiable(self) -> bool {
        use OrderStatus::*;
        matches!(self, AwaitingPayment | Placed | Confirmed)
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
            (from, Cancelled | Rejected) => from.is_modifiable(),
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

#[cfg(test)]
mod tests {
    use super::*;
    use OrderStatus::*;

    fn is_final(s: OrderStatus) -> bool {
        matches!(s, Delivered | PickedUp | Cancelled | Rejected)
    }

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
    fn cancel_is_allowed_before_preparing_and_refused_after() {
        for &status in OrderStatus::ALL {
            let expected = matches!(status, AwaitingPayment | Placed | Confirmed);
            assert_eq!(
                status.can_move_to(Cancelled, Fulfilment::Delivery),
                expected,
                "{status:?}"
            );
            assert_eq!(status.is_modifiable(), expected, "{status:?}");
        }
        assert_eq!(
            Preparing
                .check_move_to(Cancelled, Fulfilment::Pickup)
                .unwrap_err()
                .to_string(),
            "la commande est « En préparation » : elle ne peut plus passer à « Annulée »"
        );
    }

    #[test]
    fn no_skipping_no_going_back_nothing_out_of_a_final_state() {
        assert!(
            !Placed.can_move_to(Preparing, Fulfilment::Delivery),
            "stock must be reserved first"
        );
        assert!(!Ready.can_move_to(Preparing, Fulfilment::Delivery));
        for &from in OrderStatus::ALL.iter().filter(|s| is_final(**s)) {
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
