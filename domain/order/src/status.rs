//! The order lifecycle:
//!
//! `awaiting_payment` (online only) → `placed` → `confirmed` (stock reserved) → `preparing` →
//! `ready` → `out_for_delivery` → `delivered`; pickup ends `ready` → `picked_up`.
//! `cancelled` from any state before `preparing`; `rejected` when stock or payment fails, also
//! before `preparing`.

use serde::{Deserialize, Serialize};

use crate::OrderStatus;

/// Delivery or pickup (*à livrer* / *à emporter*).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Fulfilment {
    Delivery,
    Pickup,
}

impl Fulfilment {
    pub fn label_fr(self) -> &'static str {
        match self {
            Fulfilment::Delivery => "à livrer",
            Fulfilment::Pickup => "à emporter",
        }
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum TransitionError {
    /// Shown to the customer or the staff member as is.
    #[error("la commande est « {} » : elle ne peut plus passer à « {} »", .from, .to)]
    NotAllowed {
        from: &'static str,
        to: &'static str,
    },
}

/// Every status, for iteration in tests and screens.
pub const ALL: [OrderStatus; 10] = [
    OrderStatus::AwaitingPayment,
    OrderStatus::Placed,
    OrderStatus::Confirmed,
    OrderStatus::Preparing,
    OrderStatus::Ready,
    OrderStatus::OutForDelivery,
    OrderStatus::Delivered,
    OrderStatus::PickedUp,
    OrderStatus::Cancelled,
    OrderStatus::Rejected,
];

/// The machine name stored in the database and used in URLs and JSON.
pub fn as_str(status: OrderStatus) -> &'static str {
    match status {
        OrderStatus::AwaitingPayment => "awaiting_payment",
        OrderStatus::Placed => "placed",
        OrderStatus::Confirmed => "confirmed",
        OrderStatus::Preparing => "preparing",
        OrderStatus::Ready => "ready",
        OrderStatus::OutForDelivery => "out_for_delivery",
        OrderStatus::Delivered => "delivered",
        OrderStatus::PickedUp => "picked_up",
        OrderStatus::Cancelled => "cancelled",
        OrderStatus::Rejected => "rejected",
    }
}

pub fn parse(raw: &str) -> Option<OrderStatus> {
    ALL.into_iter().find(|s| as_str(*s) == raw)
}

/// What the interface shows (the group's own wording where it has one).
pub fn label_fr(status: OrderStatus, fulfilment: Fulfilment) -> &'static str {
    match (status, fulfilment) {
        (OrderStatus::AwaitingPayment, _) => "En attente de paiement",
        (OrderStatus::Placed, _) => "En attente confirmation restaurant",
        (OrderStatus::Confirmed, _) => "Confirmée",
        (OrderStatus::Preparing, _) => "En préparation",
        (OrderStatus::Ready, Fulfilment::Delivery) => "En attente de livraison",
        (OrderStatus::Ready, Fulfilment::Pickup) => "En attente de retrait",
        (OrderStatus::OutForDelivery, _) => "Livraison en cours",
        (OrderStatus::Delivered, _) => "Commande livrée",
        (OrderStatus::PickedUp, _) => "Commande retirée",
        (OrderStatus::Cancelled, _) => "Annulée",
        (OrderStatus::Rejected, _) => "Refusée",
    }
}

/// Lines, address and time may change, and the order may be cancelled, only before the kitchen
/// starts it.
pub fn is_modifiable(status: OrderStatus) -> bool {
    matches!(
        status,
        OrderStatus::AwaitingPayment | OrderStatus::Placed | OrderStatus::Confirmed
    )
}

pub fn is_final(status: OrderStatus) -> bool {
    matches!(
        status,
        OrderStatus::Delivered
            | OrderStatus::PickedUp
            | OrderStatus::Cancelled
            | OrderStatus::Rejected
    )
}

/// Whether `from → to` is a move of the lifecycle for an order fulfilled this way.
pub fn can_move(from: OrderStatus, to: OrderStatus, fulfilment: Fulfilment) -> bool {
    use OrderStatus::*;
    match (from, to) {
        (AwaitingPayment, Placed) => true,
        (Placed, Confirmed) => true,
        (Confirmed, Preparing) => true,
        (Preparing, Ready) => true,
        (Ready, OutForDelivery) => fulfilment == Fulfilment::Delivery,
        (OutForDelivery, Delivered) => fulfilment == Fulfilment::Delivery,
        (Ready, PickedUp) => fulfilment == Fulfilment::Pickup,
        (from, Cancelled | Rejected) => is_modifiable(from),
        _ => false,
    }
}

/// [`can_move`] as a result carrying the message to show.
pub fn check_move(
    from: OrderStatus,
    to: OrderStatus,
    fulfilment: Fulfilment,
) -> Result<(), TransitionError> {
    if can_move(from, to, fulfilment) {
        Ok(())
    } else {
        Err(TransitionError::NotAllowed {
            from: label_fr(from, fulfilment),
            to: label_fr(to, fulfilment),
        })
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
            assert!(can_move(pair[0], pair[1], Fulfilment::Delivery), "{pair:?}");
        }
    }

    #[test]
    fn pickup_ends_picked_up_and_never_goes_out_for_delivery() {
        assert!(can_move(Ready, PickedUp, Fulfilment::Pickup));
        assert!(!can_move(Ready, OutForDelivery, Fulfilment::Pickup));
        assert!(!can_move(Ready, PickedUp, Fulfilment::Delivery));
    }

    #[test]
    fn cancel_is_allowed_before_preparing_and_refused_after() {
        for status in ALL {
            let expected = matches!(status, AwaitingPayment | Placed | Confirmed);
            assert_eq!(
                can_move(status, Cancelled, Fulfilment::Delivery),
                expected,
                "{status:?}"
            );
            assert_eq!(is_modifiable(status), expected, "{status:?}");
        }
        assert_eq!(
            check_move(Preparing, Cancelled, Fulfilment::Pickup)
                .unwrap_err()
                .to_string(),
            "la commande est « En préparation » : elle ne peut plus passer à « Annulée »"
        );
    }

    #[test]
    fn no_skipping_no_going_back_nothing_out_of_a_final_state() {
        assert!(
            !can_move(Placed, Preparing, Fulfilment::Delivery),
            "stock must be reserved first"
        );
        assert!(!can_move(Ready, Preparing, Fulfilment::Delivery));
        for from in ALL.into_iter().filter(|s| is_final(*s)) {
            for to in ALL {
                assert!(
                    !can_move(from, to, Fulfilment::Delivery)
                        && !can_move(from, to, Fulfilment::Pickup),
                    "{from:?} → {to:?}"
                );
            }
        }
    }

    #[test]
    fn names_round_trip_and_ready_is_worded_by_fulfilment() {
        for s in ALL {
            assert_eq!(parse(as_str(s)), Some(s));
        }
        assert_eq!(parse("eaten"), None);
        assert_eq!(
            label_fr(Ready, Fulfilment::Delivery),
            "En attente de livraison"
        );
        assert_eq!(label_fr(Ready, Fulfilment::Pickup), "En attente de retrait");
    }
}
