//! How an order is paid, and where each payment stands.

crate::named_enum! {
    /// How an order is paid.
    #[derive(utoipa::ToSchema)]
    pub enum PaymentMode {
        /// Stripe, authorised at checkout and captured when the kitchen starts.
        Online = "online",
        /// Cash, card, meal voucher or cheque to the rider or at the counter.
        OnSite = "on_site",
    }
}

crate::named_enum! {
    /// A `payments` row's state. Online: `pending` (PaymentIntent opened) → `authorised` →
    /// `captured` → `refunded`, or `voided` / `failed`; on site: `collected`.
    pub enum PaymentStatus {
        Pending = "pending",
        Authorised = "authorised",
        Captured = "captured",
        Voided = "voided",
        Refunded = "refunded",
        Failed = "failed",
        Collected = "collected",
    }
}

impl PaymentStatus {
    /// Money was taken (and may since have been partly or wholly given back).
    pub fn took_money(self) -> bool {
        matches!(
            self,
            PaymentStatus::Captured | PaymentStatus::Refunded | PaymentStatus::Collected
        )
    }
}

crate::named_enum! {
    /// A `refunds` row's state: `requested` (the payments worker will carry it out at Stripe),
    /// then `done`, or `failed` with the reason.
    pub enum RefundStatus {
        Requested = "requested",
        Done = "done",
        Failed = "failed",
    }
}

impl RefundStatus {
    pub fn label_fr(self) -> &'static str {
        match self {
            RefundStatus::Requested => "En cours",
            RefundStatus::Done => "Remboursé",
            RefundStatus::Failed => "Échec",
        }
    }
}

crate::named_enum! {
    /// The means of a payment: Stripe online, or what staff collected on site (the manual's
    /// accepted means).
    #[derive(utoipa::ToSchema)]
    pub enum PaymentMethod {
        Stripe = "stripe",
        Cash = "cash",
        Card = "card",
        MealVoucher = "meal_voucher",
        Cheque = "cheque",
    }
}

impl PaymentMethod {
    /// The means staff may record at the door or the counter.
    pub const ON_SITE: [PaymentMethod; 4] = [
        PaymentMethod::Cash,
        PaymentMethod::Card,
        PaymentMethod::MealVoucher,
        PaymentMethod::Cheque,
    ];

    pub fn label_fr(self) -> &'static str {
        match self {
            PaymentMethod::Stripe => "Carte en ligne",
            PaymentMethod::Cash => "Espèces",
            PaymentMethod::Card => "Carte bancaire",
            PaymentMethod::MealVoucher => "Titre-restaurant",
            PaymentMethod::Cheque => "Chèque",
        }
    }
}

/// How a customer paying on delivery or at pickup says they will pay: the means, and for cash
/// the amount they will hand over (« rendu sur 50 € ») so the rider brings the change.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct OnSitePlan {
    pub method: PaymentMethod,
    pub change_for: Option<crate::Cents>,
}

impl OnSitePlan {
    /// Checks the plan against the order's total; the French message says what to change.
    pub fn check(&self, total: crate::Cents) -> Result<(), String> {
        if !PaymentMethod::ON_SITE.contains(&self.method) {
            return Err("ce moyen de paiement ne se règle pas sur place".into());
        }
        match self.change_for {
            Some(_) if self.method != PaymentMethod::Cash => {
                Err("le rendu de monnaie ne concerne que les espèces".into())
            }
            Some(given) if given < total => Err(format!(
                "le billet annoncé ({given}) ne couvre pas le total ({total})"
            )),
            Some(given) if given.0 > total.0.saturating_add(20_000) => Err(
                "la somme annoncée dépasse le total de plus de 200 € : le livreur n'aura pas la monnaie".into(),
            ),
            _ => Ok(()),
        }
    }

    /// « Espèces, rendu sur 50,00 € (rendre 28,50 €) », « Titre-restaurant ».
    pub fn describe(&self, total: crate::Cents) -> String {
        match self.change_for {
            Some(given) if given > total => format!(
                "{}, rendu sur {given} (rendre {})",
                self.method.label_fr(),
                crate::Cents(given.0 - total.0)
            ),
            Some(_) => format!("{}, appoint", self.method.label_fr()),
            None => self.method.label_fr().to_owned(),
        }
    }
}

#[cfg(test)]
mod plan_tests {
    use super::*;
    use crate::Cents;

    #[test]
    fn change_is_for_cash_and_covers_the_total() {
        let cash = |c| OnSitePlan {
            method: PaymentMethod::Cash,
            change_for: c,
        };
        assert_eq!(
            cash(Some(Cents(5000))).describe(Cents(2150)),
            "Espèces, rendu sur 50,00\u{a0}€ (rendre 28,50\u{a0}€)"
        );
        assert!(cash(Some(Cents(5000))).check(Cents(2150)).is_ok());
        assert_eq!(
            cash(Some(Cents(2000))).check(Cents(2150)).unwrap_err(),
            "le billet annoncé (20,00\u{a0}€) ne couvre pas le total (21,50\u{a0}€)"
        );
        let voucher = OnSitePlan {
            method: PaymentMethod::MealVoucher,
            change_for: Some(Cents(5000)),
        };
        assert!(voucher.check(Cents(2150)).is_err());
        assert!(cash(Some(Cents(50_000))).check(Cents(2150)).is_err());
        let online = OnSitePlan {
            method: PaymentMethod::Stripe,
            change_for: None,
        };
        assert!(online.check(Cents(2150)).is_err());
    }
}
