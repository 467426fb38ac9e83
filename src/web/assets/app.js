// Enhancements only: every page works without this file.
// - [data-expires]: a live countdown to the hold's expiry (the page already
//   shows the expiry time).
// - form[data-tokens-url]: posts the card to the card gateway and sends only
//   its token to this server (the card fields have no name, so they are
//   never submitted here).
// - [data-print]: prints the page.
// - .seats: no more than 4 seats can be ticked.
(function () {
  "use strict";
  function tick(el) {
    var end = Date.parse(el.getAttribute("data-expires"));
    var digits = el.getAttribute("data-digits") === "bn" ? "০১২৩৪৫৬৭৮৯" : null;
    function show() {
      var left = Math.max(0, Math.round((end - Date.now()) / 1000));
      var text = Math.floor(left / 60) + ":" + String(left % 60).padStart(2, "0");
      if (digits) text = text.replace(/[0-9]/g, function (d) { return digits[+d]; });
      el.textContent = text;
      if (left > 0) setTimeout(show, 1000);
    }
    show();
  }
  document.querySelectorAll("[data-expires]").forEach(tick);

  document.querySelectorAll("[data-print]").forEach(function (b) {
    b.hidden = false;
    b.addEventListener("click", function () { window.print(); });
  });

  document.querySelectorAll(".seats").forEach(function (box) {
    box.addEventListener("change", function () {
      var boxes = box.closest("form").querySelectorAll(".seats input:not(:disabled)");
      var n = 0;
      boxes.forEach(function (b) { if (b.checked) n++; });
      boxes.forEach(function (b) { if (!b.checked) b.disabled = n >= 4 && !b.dataset.taken; });
    });
  });

  document.querySelectorAll("form[data-tokens-url]").forEach(function (form) {
    var live = form.querySelector("[data-card-fields]");
    var noscript = form.querySelector("[data-needs-script]");
    if (live) live.hidden = false;
    if (noscript) noscript.hidden = true;
    var submitting = false;
    form.addEventListener("submit", function (ev) {
      if (submitting) return;
      ev.preventDefault();
      var out = form.querySelector("[data-card-error]");
      var expiry = (form.querySelector("#card-exp").value || "").split("/");
      var body = {
        number: form.querySelector("#card-number").value,
        exp_month: parseInt(expiry[0], 10),
        exp_year: 2000 + parseInt(expiry[1], 10),
        cvc: form.querySelector("#card-cvc").value
      };
      fetch(form.getAttribute("data-tokens-url"), {
        method: "POST",
        headers: {
          "content-type": "application/json",
          authorization: "Bearer " + form.getAttribute("data-key")
        },
        body: JSON.stringify(body)
      }).then(function (r) {
        return r.json().then(function (j) { return { ok: r.ok, body: j }; });
      }).then(function (res) {
        if (!res.ok || !res.body.token) {
          out.hidden = false;
          out.textContent = (res.body.error && res.body.error.message) || "card refused";
          return;
        }
        form.querySelector("[name=gateway_token]").value = res.body.token;
        submitting = true;
        form.submit();
      }).catch(function () {
        out.hidden = false;
        out.textContent = "the card gateway cannot be reached";
      });
    });
  });
})();
