/* The unit picker (units/widgets.py). A pick from the type-ahead or the tree adds its code
   to the form's own text field of codes; the server renders that field's chips (htmx), so
   the form posts exactly what it posted before the picker existed. */
(function () {
  "use strict";
  function split(text) { return text.split(/[\s,;]+/).filter(Boolean); }
  function inputOf(box) { return box.querySelector("[data-typed] input"); }
  function refresh(box) {
    htmx.ajax("GET", box.dataset.chipsUrl, {target: box.querySelector("[data-chips]"),
      swap: "innerHTML", values: {codes: inputOf(box).value, kind: box.dataset.kind}});
  }
  function write(box, code, add) {
    var input = inputOf(box), codes = split(input.value).filter(function (c) { return c !== code; });
    if (add) { codes = box.hasAttribute("data-single") ? [code] : codes.concat([code]); }
    input.value = codes.join(" ");
    refresh(box);
    if (!add) {
      box.querySelectorAll('[data-pick="' + CSS.escape(code) + '"]').forEach(function (b) { b.removeAttribute("aria-pressed"); });
    }
  }
  document.addEventListener("click", function (event) {
    var pick = event.target.closest("[data-pick]"), unpick = event.target.closest("[data-unpick]");
    if (pick) {
      var box = pick.closest("[data-unit-codes]"), sets = pick.closest("[data-unit-picker]").dataset.setsField;
      if (pick.dataset.pickKind === "set") { box = box.closest("form").elements[sets].closest("[data-unit-codes]"); }
      write(box, pick.dataset.pick, true);
      pick.setAttribute("aria-pressed", "true");
    } else if (unpick) {
      write(unpick.closest("[data-unit-codes]"), unpick.dataset.unpick, false);
    }
  });
  document.addEventListener("keydown", function (event) {
    if (!event.target.matches(".unit-search")) { return; }
    var first = event.target.parentNode.querySelector(".unit-results [data-pick]");
    if (event.key === "ArrowDown" && first) { event.preventDefault(); first.focus(); }
    if (event.key === "Enter" && first) { event.preventDefault(); first.click(); }
  });
  document.addEventListener("change", function (event) {
    var box = event.target.closest("[data-unit-codes]");
    if (box && event.target === inputOf(box)) { refresh(box); }
  });
  document.querySelectorAll("[data-unit-codes]").forEach(function (box) {
    box.classList.add("js-on");
    var picker = box.querySelector("[data-unit-picker]");
    if (picker) { picker.hidden = false; }
  });
})();
