// Live pages, without inline script (the Content-Security-Policy allows scripts from the site
// only). Each behaviour is switched on by a data attribute the template sets.
//
// Rule for every live update: never throw away what a person is typing or has chosen. A page
// whose forms were touched is not reloaded; it says that news is waiting instead.
(function () {
  "use strict";

  var dirty = false;
  document.addEventListener("input", function (e) {
    if (e.target.closest("form")) { dirty = true; }
  });
  document.addEventListener("submit", function (e) {
    // A form that cannot be undone (cancelling an order) asks first.
    var question = e.target.getAttribute("data-confirm");
    if (question && !window.confirm(question)) { e.preventDefault(); return; }
    dirty = false;
  });

  // Reloads, or when the person has started filling a form, offers to.
  function reloadOrOffer() {
    if (!dirty) { window.location.reload(); return; }
    if (document.getElementById("live-news")) { return; }
    var news = document.createElement("p");
    news.id = "live-news";
    news.className = "flash";
    news.setAttribute("role", "status");
    news.textContent = "Du nouveau sur cette page. ";
    var link = document.createElement("a");
    link.href = window.location.href;
    link.textContent = "Recharger";
    news.appendChild(link);
    var main = document.querySelector("main");
    main.insertBefore(news, main.firstChild);
  }

  // Identifies a field across refreshes: the card or ticket it sits in, its name (and value,
  // for a radio button).
  function keyOf(input) {
    var holder = input.closest("[data-pizza], [data-order]");
    var where = holder ? (holder.getAttribute("data-pizza") || holder.getAttribute("data-order")) : "";
    var valued = input.type === "radio" || input.type === "checkbox";
    return where + "|" + input.name + (valued ? "=" + input.value : "");
  }

  function detailsKey(details) {
    var holder = details.closest("[data-pizza], [data-order]");
    var where = holder ? (holder.getAttribute("data-pizza") || holder.getAttribute("data-order")) : "";
    return where + "|" + details.className;
  }

  // A fragment fetched again into its element. What the person typed or chose in it is carried
  // over into the new content; while they are in one of its fields, it waits.
  function refreshInto(element, url) {
    if (element.contains(document.activeElement) && document.activeElement.matches("input, select, textarea")) { return; }
    fetch(url, {headers: {"Accept": "text/html"}})
      .then(function (r) { return r.ok ? r.text() : null; })
      .then(function (html) {
        if (html === null) { return; }
        if (element.contains(document.activeElement) && document.activeElement.matches("input, select, textarea")) { return; }
        var kept = {};
        element.querySelectorAll("[data-touched]").forEach(function (i) {
          kept[keyOf(i)] = (i.type === "checkbox" || i.type === "radio") ? i.checked : i.value;
        });
        // A section the person opened (« Personnaliser ») stays open.
        var opened = {};
        element.querySelectorAll("details[open]").forEach(function (d) { opened[detailsKey(d)] = true; });
        element.innerHTML = html;
        element.querySelectorAll("details").forEach(function (d) { if (opened[detailsKey(d)]) { d.open = true; } });
        element.querySelectorAll("input, select, textarea").forEach(function (i) {
          var k = keyOf(i);
          if (!(k in kept)) { return; }
          if (i.type === "checkbox" || i.type === "radio") { i.checked = kept[k]; } else { i.value = kept[k]; }
          i.setAttribute("data-touched", "");
        });
        element.dispatchEvent(new CustomEvent("refreshed"));
      })
      .catch(function () {});
  }
  document.addEventListener("input", function (e) {
    if (e.target.closest("[data-refresh]")) {
      e.target.setAttribute("data-touched", "");
      // A radio button's group changes as a whole.
      if (e.target.type === "radio" && e.target.form) {
        e.target.form.querySelectorAll('input[type=radio][name="' + e.target.name + '"]').forEach(function (r) { r.setAttribute("data-touched", ""); });
      }
    }
  });

  // Option groups (`data-max`): once the most choices are ticked, the others wait (the server
  // checks the bounds too).
  function bound(fieldset) {
    var max = Number(fieldset.getAttribute("data-max"));
    var boxes = fieldset.querySelectorAll("input[type=checkbox]");
    var ticked = 0;
    boxes.forEach(function (b) { if (b.checked) { ticked += 1; } });
    boxes.forEach(function (b) {
      if (b.hasAttribute("data-sold-out")) { return; }
      b.disabled = !b.checked && ticked >= max;
    });
  }
  function boundAll(root) { root.querySelectorAll("fieldset[data-max]").forEach(bound); }
  document.addEventListener("change", function (e) {
    var fieldset = e.target.closest && e.target.closest("fieldset[data-max]");
    if (fieldset) { bound(fieldset); }
  });
  boundAll(document);
  document.addEventListener("refreshed", function (e) { boundAll(e.target); }, true);

  // Staff boards: `data-board-stream` is the pizzeria's event stream; `data-refresh` (a URL)
  // on the same element refreshes it in place, otherwise the page reloads.
  document.querySelectorAll("[data-board-stream]").forEach(function (element) {
    var last = null;
    new EventSource(element.dataset.boardStream).addEventListener("board", function (e) {
      var changed = last !== null && last !== e.data;
      last = e.data;
      if (element.dataset.refresh) {
        refreshInto(element, element.dataset.refresh);
      } else if (changed) {
        reloadOrOffer();
      }
    });
  });

  // Kitchen: a sound and a flash for each new order to make. Browsers play sound only after a
  // tap on the page, so the shift starts with one tap on the button; the board then refreshes in
  // place and the page stays armed. `data-chime` selects the cards that count.
  var audio = null;
  function chime() {
    if (!audio) { return; }
    var t = audio.currentTime;
    [880, 1320, 880].forEach(function (frequency, i) {
      var start = t + i * 0.22;
      var tone = audio.createOscillator();
      var gain = audio.createGain();
      tone.frequency.value = frequency;
      tone.connect(gain);
      gain.connect(audio.destination);
      gain.gain.setValueAtTime(0.0001, start);
      gain.gain.exponentialRampToValueAtTime(0.6, start + 0.02);
      gain.gain.exponentialRampToValueAtTime(0.0001, start + 0.2);
      tone.start(start);
      tone.stop(start + 0.21);
    });
    document.body.dataset.chimes = String(Number(document.body.dataset.chimes || 0) + 1);
  }
  var arm = document.getElementById("arm-sound");
  if (arm) {
    arm.addEventListener("click", function () {
      var Context = window.AudioContext || window.webkitAudioContext;
      if (!Context) { return; }
      audio = audio || new Context();
      audio.resume();
      arm.classList.add("armed");
      arm.textContent = arm.dataset.armedLabel;
      chime();
    });
  }
  document.querySelectorAll("[data-chime]").forEach(function (element) {
    function ids() {
      var found = {};
      element.querySelectorAll(element.dataset.chime).forEach(function (card) {
        found[card.getAttribute("data-order")] = card;
      });
      return found;
    }
    var seen = ids();
    element.addEventListener("refreshed", function () {
      var now = ids();
      var fresh = Object.keys(now).filter(function (id) { return !(id in seen); });
      fresh.forEach(function (id) { now[id].classList.add("new"); });
      Object.keys(now).forEach(function (id) { seen[id] = true; });
      if (fresh.length) { chime(); }
    });
  });

  // The counter's order form: the total, what is left to split between the means of payment,
  // and the change to give back, as staff type (the server checks the same on submit).
  var counter = document.getElementById("counter-order");
  var changeDue = document.getElementById("change-due");
  if (counter && changeDue) {
    var cents = function (raw) {
      var m = String(raw || "").trim().replace(",", ".").match(/^\d+(\.\d{1,2})?$/);
      return m ? Math.round(Number(m[0]) * 100) : 0;
    };
    var euros = function (c) { return (c / 100).toFixed(2).replace(".", ",") + "\u00a0€"; };
    var update = function () {
      var total = 0;
      counter.querySelectorAll("input.qty[data-price]").forEach(function (q) {
        total += (Number(q.value) || 0) * Number(q.dataset.price);
      });
      var paid = 0;
      counter.querySelectorAll("input[data-tender]").forEach(function (i) { paid += cents(i.value); });
      var cash = cents((counter.querySelector('input[data-tender="cash"]') || {}).value);
      var given = cents(counter.querySelector('input[name="cash_given"]').value);
      var text = "Total : " + euros(total);
      if (paid !== total) { text += " · reste à répartir : " + euros(total - paid); }
      if (given > 0 && given >= cash) { text += " · à rendre : " + euros(given - cash); }
      changeDue.textContent = text;
    };
    counter.addEventListener("input", update);
    update();
  }

  // The customer's order page: reload when the order's version or promised time moves.
  document.querySelectorAll("[data-order-stream]").forEach(function (element) {
    var stamp = element.dataset.stamp;
    new EventSource(element.dataset.orderStream).addEventListener("order", function (e) {
      if (JSON.parse(e.data).stamp !== stamp) { reloadOrOffer(); }
    });
  });

  // A fragment refreshed on a timer (the menu's availability), `data-every` seconds.
  document.querySelectorAll("[data-refresh][data-every]").forEach(function (element) {
    setInterval(function () { refreshInto(element, element.dataset.refresh); },
      Number(element.dataset.every) * 1000);
  });
})();
