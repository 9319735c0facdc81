// Campaign builder: add and remove step rows in the browser. Without JavaScript the form
// still works: the server always renders one spare row and "Add a step" asks it for another.
(function () {
  "use strict";
  var container = document.getElementById("steps");
  var addButton = document.getElementById("add-step");
  if (!container || !addButton) {
    return;
  }

  function rows() {
    return Array.prototype.slice.call(container.querySelectorAll("fieldset.step"));
  }

  function renumber(row, index) {
    row.dataset.index = String(index);
    var pattern = /steps-\d+-/g;
    var replacement = "steps-" + index + "-";
    row.querySelectorAll("[name], [id], [for], [aria-describedby]").forEach(function (el) {
      ["name", "id", "for", "aria-describedby"].forEach(function (attribute) {
        var value = el.getAttribute(attribute);
        if (value) {
          el.setAttribute(attribute, value.replace(pattern, replacement));
        }
      });
    });
    var number = row.querySelector(".step-number");
    if (number) {
      number.textContent = String(index + 1);
    }
  }

  function refresh() {
    var all = rows();
    all.forEach(function (row, index) {
      renumber(row, index);
      var remove = row.querySelector(".remove-step");
      if (remove) {
        remove.hidden = all.length < 2;
      }
      // Gaps are measured from the previous step: the first step has none to set.
      var gaps = row.querySelector(".gaps");
      if (gaps) {
        gaps.hidden = index === 0 && !gaps.querySelector(".error");
      }
    });
  }

  function clear(row) {
    row.querySelectorAll(".error").forEach(function (el) { el.remove(); });
    row.querySelectorAll(".has-error").forEach(function (el) { el.classList.remove("has-error"); });
    row.querySelectorAll("[aria-invalid]").forEach(function (el) {
      el.removeAttribute("aria-invalid");
      el.removeAttribute("aria-describedby");
    });
    row.querySelectorAll("input, select, textarea").forEach(function (el) {
      if (el.type === "checkbox") {
        el.checked = el.name.slice(-9) === "-attended";
      } else if (el.tagName === "SELECT") {
        Array.prototype.forEach.call(el.options, function (option) { option.selected = false; });
        el.selectedIndex = el.multiple ? -1 : 0;
      } else if (el.name.slice(-14) === "-min_gap_hours") {
        el.value = "0";
      } else {
        el.value = "";
      }
    });
  }

  addButton.addEventListener("click", function (event) {
    event.preventDefault();
    var all = rows();
    var copy = all[all.length - 1].cloneNode(true);
    clear(copy);
    container.appendChild(copy);
    refresh();
    container.dispatchEvent(new Event("step-added", { bubbles: true }));
    var first = copy.querySelector("select, input");
    if (first) {
      first.focus();
    }
  });

  container.addEventListener("click", function (event) {
    var target = event.target;
    if (target instanceof HTMLElement && target.classList.contains("remove-step")) {
      event.preventDefault();
      if (rows().length > 1) {
        target.closest("fieldset.step").remove();
        refresh();
      }
    }
  });

  refresh();
})();
