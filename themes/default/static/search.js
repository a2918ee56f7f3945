/* digest: starts Pagefind's default UI on the search page. No inline script is needed, so the
   site can use a strict Content-Security-Policy. The bundle's path comes from data-bundle on
   #search (the site may live under a sub-path), and ?q= runs a search right away. */
(function () {
  "use strict";
  var element = document.getElementById("search");
  if (!element || typeof window.PagefindUI !== "function") {
    return;
  }
  var bundle = element.getAttribute("data-bundle") || "/pagefind/";
  var base = element.getAttribute("data-base") || "/";
  var ui = new window.PagefindUI({
    element: "#search",
    showSubResults: true,
    showImages: false,
    bundlePath: bundle,
    baseUrl: base,
    autofocus: true
  });
  // Pagefind's field has only a title; give it an accessible name from data-label.
  var label = element.getAttribute("data-label");
  function labelField() {
    var field = element.querySelector(".pagefind-ui__search-input");
    if (field && label) {
      field.setAttribute("aria-label", label);
    }
    return field;
  }
  if (!labelField() && window.MutationObserver) {
    var observer = new MutationObserver(function () {
      if (labelField()) {
        observer.disconnect();
      }
    });
    observer.observe(element, {childList: true, subtree: true});
  }
  var params = new URLSearchParams(window.location.search);
  var query = (params.get("q") || "").trim();
  if (query) {
    ui.triggerSearch(query);
  }
  // Keep ?q= in step with the field, so a search can be bookmarked, shared and returned to.
  var timer = null;
  element.addEventListener("input", function (event) {
    var target = event.target;
    if (!target || !target.classList || !target.classList.contains("pagefind-ui__search-input")) {
      return;
    }
    window.clearTimeout(timer);
    timer = window.setTimeout(function () {
      var url = new URL(window.location.href);
      var value = target.value.trim();
      if (value) {
        url.searchParams.set("q", value);
      } else {
        url.searchParams.delete("q");
      }
      window.history.replaceState(null, "", url);
    }, 300);
  });
}());
