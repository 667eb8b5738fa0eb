-- How a customer paying on site says they will pay (shown to the rider and the counter): the
-- means, and for cash the note they will hand over (« rendu sur 50 € »).
ALTER TABLE orders
    ADD COLUMN on_site_method ENUM('cash', 'card', 'meal_voucher', 'cheque') NULL AFTER payment_mode,
    ADD COLUMN change_for_cents INT UNSIGNED NULL AFTER on_site_method;
