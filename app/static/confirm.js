// Forms marked data-confirm ("Publish 22 bookings for ...?") ask in a dialog before they are
// sent, and send the explicit confirmation the server wants for wide changes. Without this
// script the server asks on a page of its own instead.
(function () {
  "use strict";
  var dialog = null;
  var pending = null;

  function build() {
    dialog = document.createElement("dialog");
    dialog.id = "confirm-dialog";
    dialog.className = "confirm-dialog";
    dialog.setAttribute("aria-labelledby", "confirm-dialog-message");
    var message = document.createElement("p");
    message.id = "confirm-dialog-message";
    var buttons = document.createElement("form");
    buttons.method = "dialog";
    buttons.className = "actions";
    var no = document.createElement("button");
    no.value = "no";
    no.id = "confirm-dialog-no";
    var yes = document.createElement("button");
    yes.value = "yes";
    yes.id = "confirm-dialog-yes";
    buttons.append(no, yes);
    dialog.append(message, buttons);
    document.body.appendChild(dialog);
    dialog.addEventListener("close", function () {
      var asked = pending;
      pending = null;
      if (!asked || dialog.returnValue !== "yes") {
        return;
      }
      var field = asked.form.querySelector("input[name=confirmed]");
      if (!field) {
        field = document.createElement("input");
        field.type = "hidden";
        field.name = "confirmed";
        asked.form.appendChild(field);
      }
      field.value = "yes";
      asked.form.dataset.confirmedOnce = "yes";
      asked.form.requestSubmit(asked.submitter);
    });
  }

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!(form instanceof HTMLFormElement) || !form.dataset.confirm) {
      return;
    }
    if (form.dataset.confirmedOnce === "yes") {
      delete form.dataset.confirmedOnce;
      return;
    }
    event.preventDefault();
    if (!dialog) {
      build();
    }
    var submitter = event.submitter || form.querySelector("button[type=submit], button:not([type])");
    pending = { form: form, submitter: submitter };
    dialog.querySelector("#confirm-dialog-message").textContent = form.dataset.confirm;
    dialog.querySelector("#confirm-dialog-no").textContent = form.dataset.confirmNo || "×";
    var yes = dialog.querySelector("#confirm-dialog-yes");
    yes.textContent = form.dataset.confirmYes || (submitter ? submitter.textContent.trim() : "OK");
    // Publishing is the page's main action; anything else asked about takes something away.
    yes.className = submitter && submitter.classList.contains("primary") ? "primary" : "danger";
    dialog.returnValue = "";
    dialog.showModal();
    dialog.querySelector("#confirm-dialog-no").focus();
  });
})();
