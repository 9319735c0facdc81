// Request forms: once a facility is chosen, offer only its units and the capabilities found
// there; once a step names a capability, offer only the units that have it. The server renders
// every choice and judges what is sent, so without this script the form works the same.
(function () {
  "use strict";
  var facility = document.getElementById("facility_id");
  var form = document.getElementById("request-form");
  if (!facility || !form) {
    return;
  }

  function chosenFacility() {
    return facility.value && facility.value !== "0" ? facility.value : null;
  }

  function show(option, visible) {
    option.hidden = !visible;
    if (!visible) {
      option.selected = false;
    }
  }

  function filterStep(step) {
    var where = chosenFacility();
    var capability = step.querySelector("select[name$='-capability']");
    if (capability) {
      Array.prototype.forEach.call(capability.options, function (option) {
        var places = (option.dataset.facilities || "").split(" ");
        show(option, !option.value || where === null || places.indexOf(where) !== -1);
      });
      if (capability.selectedIndex < 0) {
        capability.selectedIndex = 0;
      }
    }
    var wanted = capability ? capability.value : "";
    step.querySelectorAll("select[multiple] optgroup").forEach(function (group) {
      var shown = 0;
      Array.prototype.forEach.call(group.children, function (option) {
        var offers = (option.dataset.capabilities || "").split(" ");
        var visible = (where === null || option.dataset.facility === where) &&
          (!wanted || offers.indexOf(wanted) !== -1);
        show(option, visible);
        shown += visible ? 1 : 0;
      });
      group.hidden = shown === 0;
    });
  }

  function filterAll() {
    form.querySelectorAll("fieldset.step").forEach(filterStep);
  }

  form.addEventListener("change", function (event) {
    var target = event.target;
    if (target === facility) {
      filterAll();
    } else if (target instanceof HTMLSelectElement && /-capability$/.test(target.name)) {
      filterStep(target.closest("fieldset.step"));
    }
  });
  // Rows added by the campaign builder are clones of filtered rows; filter them again anyway.
  form.addEventListener("step-added", filterAll);
  filterAll();
})();
