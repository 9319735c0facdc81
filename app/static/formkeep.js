// Switching the language reloads the page; keep what was typed in its forms meanwhile. The
// values wait in this tab's sessionStorage only until the page in the other language shows
// them again (passwords and hidden fields are never kept).
(function () {
  "use strict";
  var KEY = "pilotslot.form-values";
  var SKIPPED = ["hidden", "password", "file", "submit", "button", "reset", "image"];

  function pageForms() {
    return Array.prototype.slice.call(document.querySelectorAll("main form"));
  }

  function kept(field) {
    return field.name && SKIPPED.indexOf(field.type) === -1 && !field.disabled;
  }

  function save() {
    var forms = pageForms().map(function (form) {
      var values = [];
      Array.prototype.forEach.call(form.elements, function (field) {
        if (!kept(field)) {
          return;
        }
        if (field.type === "checkbox" || field.type === "radio") {
          values.push([field.name, field.value, field.checked]);
        } else if (field.multiple) {
          values.push([field.name, Array.prototype.filter.call(field.options, function (o) {
            return o.selected;
          }).map(function (o) { return o.value; })]);
        } else {
          values.push([field.name, field.value]);
        }
      });
      return values;
    });
    try {
      sessionStorage.setItem(KEY, JSON.stringify({ path: location.pathname, forms: forms }));
    } catch (error) {
      // Storage full or refused: the language still switches, the typing is lost as before.
    }
  }

  function addRowsFor(form, values) {
    // The campaign builder's rows added in the browser are not in the page the server sends.
    var add = form.querySelector("#add-step");
    var highest = -1;
    values.forEach(function (entry) {
      var match = /^steps-(\d+)-/.exec(entry[0]);
      if (match) {
        highest = Math.max(highest, Number(match[1]));
      }
    });
    while (add && form.querySelectorAll("fieldset.step").length <= highest) {
      add.click();
    }
  }

  // A field the visitor already changed on this page keeps what they typed: on a slow machine
  // this deferred script can run after the first keystrokes.
  function untouched(field) {
    if (field.type === "checkbox" || field.type === "radio") {
      return field.checked === field.defaultChecked;
    }
    if (field.tagName === "SELECT" && field.multiple) {
      return Array.prototype.every.call(field.options, function (o) {
        return o.selected === o.defaultSelected;
      });
    }
    if (field.tagName === "SELECT") {
      var initial = field.options.length ? 0 : -1;
      Array.prototype.forEach.call(field.options, function (o, index) {
        if (o.defaultSelected) {
          initial = index;
        }
      });
      return field.selectedIndex === initial;
    }
    return field.value === field.defaultValue;
  }

  function restoreForm(form, values) {
    addRowsFor(form, values);
    var changed = [];
    values.forEach(function (entry) {
      var name = entry[0];
      var fields = Array.prototype.filter.call(form.elements, function (f) {
        return f.name === name && kept(f) && untouched(f);
      });
      fields.forEach(function (field) {
        if (field.type === "checkbox" || field.type === "radio") {
          if (field.value === entry[1]) {
            field.checked = entry[2];
          }
        } else if (field.multiple) {
          Array.prototype.forEach.call(field.options, function (o) {
            o.selected = entry[1].indexOf(o.value) !== -1;
          });
        } else {
          field.value = entry[1];
        }
        if (field.tagName === "SELECT") {
          changed.push(field);
        }
      });
    });
    // Let the page's own scripts react (the request form narrows its choices).
    changed.forEach(function (field) {
      field.dispatchEvent(new Event("change", { bubbles: true }));
    });
  }

  function restore() {
    var raw = null;
    try {
      raw = sessionStorage.getItem(KEY);
      sessionStorage.removeItem(KEY);
    } catch (error) {
      return;
    }
    if (!raw) {
      return;
    }
    var saved = JSON.parse(raw);
    if (saved.path !== location.pathname) {
      return;
    }
    var forms = pageForms();
    saved.forms.forEach(function (values, index) {
      if (forms[index]) {
        restoreForm(forms[index], values);
      }
    });
  }

  var switcher = document.querySelector("form.lang");
  if (switcher) {
    switcher.addEventListener("submit", save);
  }
  // This script is deferred: DOMContentLoaded comes after every deferred script of the page
  // has run, so the page's own handlers (the campaign builder's) are in place by then.
  document.addEventListener("DOMContentLoaded", restore);
})();
