// Request forms: once a facility is chosen, offer only its units in every step's unit list.
(function () {
  "use strict";
  var facility = document.getElementById("facility_id");
  var form = document.getElementById("request-form");
  if (!facility || !form) {
    return;
  }

  function chosenName() {
    var option = facility.options[facility.selectedIndex];
    return option && option.value !== "0" ? option.textContent.trim() : null;
  }

  function filter() {
    var name = chosenName();
    form.querySelectorAll("select[multiple] optgroup").forEach(function (group) {
      var visible = name === null || group.label === name;
      group.hidden = !visible;
      if (!visible) {
        Array.prototype.forEach.call(group.children, function (option) { option.selected = false; });
      }
    });
  }

  facility.addEventListener("change", filter);
  // Rows added by the campaign builder are clones, so they arrive already filtered.
  filter();
})();
