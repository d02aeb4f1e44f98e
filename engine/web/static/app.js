/* Hindsight web app: small progressive enhancements (every page also works without them).
 * - times shown in the browser's time zone (<time datetime>, chart labels with data-time);
 * - the run form: the browser's zone sent along, the absolute range shown when chosen, a preview;
 * - confirmations (data-confirm), dialogs (data-open-dialog / data-close-dialog), result selection;
 * - the rule editor: "Show in editor" selects the character a problem is about; Tab indents.
 */
(function () {
  "use strict";

  var zone = (Intl.DateTimeFormat().resolvedOptions().timeZone) || "UTC";
  var PRESETS = { "1h": 3600e3, "24h": 86400e3, "7d": 7 * 86400e3 };

  function pad(n) { return (n < 10 ? "0" : "") + n; }
  function zoneAbbr(d) {
    var parts = new Intl.DateTimeFormat(undefined, { timeZoneName: "short" }).formatToParts(d);
    for (var i = 0; i < parts.length; i++) if (parts[i].type === "timeZoneName") return parts[i].value;
    return "";
  }
  function localText(d, kind) {
    var day = d.getFullYear() + "-" + pad(d.getMonth() + 1) + "-" + pad(d.getDate());
    var clock = pad(d.getHours()) + ":" + pad(d.getMinutes());
    var month = d.toLocaleString(undefined, { month: "short" });
    switch (kind) {
      case "date": return month + " " + pad(d.getDate());
      case "time": return clock;
      case "datetime": return month + " " + pad(d.getDate()) + " " + clock;
      case "day": return day;
      default: return day + " " + clock + ":" + pad(d.getSeconds()) + " " + zoneAbbr(d);
    }
  }
  function inputValue(d) {
    return d.getFullYear() + "-" + pad(d.getMonth() + 1) + "-" + pad(d.getDate()) + "T" +
      pad(d.getHours()) + ":" + pad(d.getMinutes());
  }

  function localizeTimes(root) {
    root.querySelectorAll("time[datetime]").forEach(function (el) {
      var d = new Date(el.getAttribute("datetime"));
      if (isNaN(d)) return;
      if (!el.title) el.title = el.textContent.trim();
      el.textContent = localText(d, el.dataset.format === "date" ? "day" : "full");
    });
    root.querySelectorAll("[data-time]").forEach(function (el) {
      var d = new Date(el.getAttribute("data-time"));
      if (!isNaN(d)) el.textContent = localText(d, el.getAttribute("data-format") || "datetime");
    });
    root.querySelectorAll(".tz-name").forEach(function (el) { el.textContent = zone; });
  }

  /* --- the run form ------------------------------------------------------------------------ */
  function setupRunForm(form) {
    if (!form || form.dataset.ready) return;
    form.dataset.ready = "1";
    var tzField = form.querySelector(".tz-field");
    var start = form.querySelector("input[name=start]");
    var end = form.querySelector("input[name=end]");
    if (tzField && tzField.value === "UTC" && zone !== "UTC") {
      [start, end].forEach(function (input) {  /* values the server wrote in UTC, shown locally */
        if (!input || !input.value) return;
        var d = new Date(input.value + ":00Z");
        if (!isNaN(d)) input.value = inputValue(d);
      });
    }
    if (tzField) tzField.value = zone;
    var absolute = form.querySelector("#absolute-range");
    var preview = form.querySelector("#range-preview");
    var index = form.querySelector("select[name=index]");
    function choice() {
      var checked = form.querySelector("input[name=range]:checked");
      return checked ? checked.value : "span";
    }
    function update() {
      var chosen = choice();
      if (absolute) absolute.hidden = chosen !== "custom";
      var from = null, to = null;
      if (PRESETS[chosen]) { to = new Date(); from = new Date(to.getTime() - PRESETS[chosen]); }
      else if (chosen === "span" && index) {
        var option = index.options[index.selectedIndex];
        if (option && option.dataset.from) {
          from = new Date(Number(option.dataset.from)); to = new Date(Number(option.dataset.to));
        }
      } else if (chosen === "custom" && start && end && start.value && end.value) {
        from = new Date(start.value); to = new Date(end.value);
      }
      if (!preview) return;
      preview.textContent = from && to && !isNaN(from) && !isNaN(to)
        ? "From " + localText(from) + " to " + localText(to) + "."
        : "";
    }
    form.addEventListener("change", update);
    form.addEventListener("input", update);
    update();
  }

  /* --- result selection and dialogs ---------------------------------------------------------- */
  function selectionOf(form) {
    return Array.prototype.filter.call(
      form.querySelectorAll("input[name=result]:not(:disabled)"), function (box) { return box.checked; });
  }
  function refreshSelection(form) {
    var chosen = selectionOf(form);
    var button = form.querySelector("[data-open-dialog]");
    if (button) button.disabled = chosen.length === 0;
    var count = form.querySelector(".selection-count");
    if (count) count.textContent = chosen.length ? chosen.length + " selected" : "";
  }
  function openDialog(trigger) {
    var dialog = document.getElementById(trigger.getAttribute("data-open-dialog"));
    if (!dialog || typeof dialog.showModal !== "function") return false;
    var source = trigger.getAttribute("data-selection");
    if (source) {
      var form = document.querySelector(source);
      var ids = selectionOf(form).map(function (box) { return box.value; });
      if (!ids.length) return true;
      var holder = dialog.querySelector(".selected-ids");
      holder.textContent = "";
      ids.forEach(function (id) {
        var input = document.createElement("input");
        input.type = "hidden"; input.name = "result"; input.value = id;
        holder.appendChild(input);
      });
      var count = dialog.querySelector(".convert-count");
      if (count) count.textContent = ids.length + (ids.length === 1 ? " result" : " results");
    }
    dialog.showModal();
    var first = dialog.querySelector("select, input:not([type=hidden]), textarea");
    if (first) first.focus();
    return true;
  }

  /* --- the rule editor ----------------------------------------------------------------------- */
  function showInEditor(button) {
    var editor = document.getElementById("rule-json");
    if (!editor) return;
    var start = Number(button.dataset.start), end = Number(button.dataset.end);
    editor.focus();
    editor.setSelectionRange(start, end);
    var before = editor.value.slice(0, start).split("\n").length - 1;
    var lineHeight = parseFloat(getComputedStyle(editor).lineHeight) || 18;
    editor.scrollTop = Math.max(0, before * lineHeight - editor.clientHeight / 3);
  }

  document.addEventListener("click", function (event) {
    var target = event.target.closest("[data-open-dialog], [data-close-dialog], .show-in-editor, [data-back]");
    if (!target) return;
    if (target.matches("[data-open-dialog]")) {
      if (openDialog(target)) event.preventDefault();
    } else if (target.matches("[data-close-dialog]")) {
      target.closest("dialog").close();
    } else if (target.matches(".show-in-editor")) {
      showInEditor(target);
    } else if (target.matches("[data-back]") && history.length > 1) {
      event.preventDefault();
      history.back();
    }
  });

  document.addEventListener("change", function (event) {
    var box = event.target;
    var form = box.closest && box.closest("#select-results");
    if (!form) return;
    if (box.classList.contains("select-all")) {
      form.querySelectorAll("input[name=result]:not(:disabled)").forEach(function (item) {
        item.checked = box.checked;
      });
    }
    refreshSelection(form);
  });

  document.addEventListener("submit", function (event) {
    var form = event.target;
    var question = form.getAttribute("data-confirm");
    if (question && !window.confirm(question)) event.preventDefault();
  });

  document.addEventListener("keydown", function (event) {
    var editor = event.target;
    if (editor.id !== "rule-json" || event.key !== "Tab" || event.shiftKey) return;
    event.preventDefault();
    var at = editor.selectionStart;
    editor.setRangeText("  ", at, editor.selectionEnd, "end");
    editor.dispatchEvent(new Event("input", { bubbles: true }));
  });

  function init(root) {
    localizeTimes(root);
    setupRunForm(document.getElementById("run-form"));
    var selection = document.getElementById("select-results");
    if (selection) refreshSelection(selection);
  }

  document.addEventListener("DOMContentLoaded", function () { init(document); });
  document.addEventListener("htmx:load", function (event) { init(event.detail.elt); });
})();
