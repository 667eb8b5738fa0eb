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
