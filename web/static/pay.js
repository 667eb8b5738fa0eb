// The card form of the payment page (Stripe.js), without inline script.
(function () {
  "use strict";
  var form = document.getElementById("payment-form");
  var button = document.getElementById("pay");
  var stripe = Stripe(form.dataset.key);
  var card = stripe.elements().create("card");
  card.mount("#card-element");
  form.addEventListener("submit", function (event) {
    event.preventDefault();
    button.disabled = true;
    document.getElementById("payment-error").textContent = "";
    stripe.confirmCardPayment(form.dataset.clientSecret, {payment_method: {card: card}}).then(function (result) {
      if (result.error && result.error.type !== "card_error") {
        // Incomplete or mistyped card: stay here so the customer can correct it.
        document.getElementById("payment-error").textContent = result.error.message || "Vérifiez les informations de la carte.";
        button.disabled = false;
        return;
      }
      // Accepted or declined, the server reads the payment's state and shows the order.
      window.location = form.dataset.returnUrl;
    });
  });
})();
