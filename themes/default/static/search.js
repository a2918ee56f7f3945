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
  // A large site's index comes in parts: the others are searched together with the first.
  var more = (element.getAttribute("data-more-bundles") || "").split(" ").filter(Boolean);
  var base = element.getAttribute("data-base") || "/";
  var language = (element.closest("[lang]") || document.documentElement).lang.replace(/_/g, "-");

  // The count of results. Pagefind says "[COUNT] results" for any count but one: wrong in
  // languages with more plural forms ("4 результатов"). The build writes the message in each
  // CLDR plural category that whole numbers of the site's language fall in (data-results-one,
  // -few, -many..., from the theme's catalogue). Pagefind is told to write the bare count, an
  // invisible mark and the words searched for; each such message is rewritten as soon as
  // Pagefind writes it (before the browser paints it), in the form Intl.PluralRules picks.
  var MARK = "\u2063";  // INVISIBLE SEPARATOR: in no formatted number
  var forms = {};
  var fallback = null;  // for a category no whole number below 1000 is in: other, else any
  for (var a = 0; a < element.attributes.length; a += 1) {
    var attribute = element.attributes[a];
    if (attribute.name.indexOf("data-results-") === 0) {
      var category = attribute.name.slice("data-results-".length);
      forms[category] = attribute.value;
      fallback = category === "other" || fallback === null ? attribute.value : fallback;
    }
  }
  var rules = null;
  try {
    rules = fallback !== null && window.MutationObserver ? new Intl.PluralRules(language) : null;
  } catch (error) {
    rules = null;  // a language the browser does not know: Pagefind's own words stay
  }
  function countMessage(text) {
    var at = text.indexOf(MARK);
    var count = parseInt(text.slice(0, at).replace(/[^0-9]/g, ""), 10);
    var form = forms[rules.select(count)] || fallback;
    var words = text.slice(at + MARK.length);
    return form.replace(/\[(COUNT|SEARCH_TERM)\]/g, function (field, name) {
      return name === "COUNT" ? new Intl.NumberFormat(language).format(count) : words;
    });
  }
  function rewriteCounts() {
    var messages = element.querySelectorAll(".pagefind-ui__message");
    for (var i = 0; i < messages.length; i += 1) {
      for (var node = messages[i].firstChild; node; node = node.nextSibling) {
        // The text node itself changes (Pagefind keeps it and writes into it again).
        if (node.nodeType === 3 && node.data.indexOf(MARK) > 0) {
          node.data = countMessage(node.data);
        }
      }
    }
  }

  // A result's source and date (meta of the item pages), under labels in the site's language.
  // Pagefind shows each meta as "Key: value", the value as HTML it escaped when indexing.
  var labels = {
    source: element.getAttribute("data-meta-source") || "Source",
    date: element.getAttribute("data-meta-date") || "Published"
  };
  function escapeHtml(text) {
    return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
  }
  function labelMeta(result) {
    var given = result.meta || {};
    var meta = {};
    Object.keys(given).forEach(function (key) {
      if (!labels.hasOwnProperty(key)) {
        meta[key] = given[key];
      }
    });
    ["source", "date"].forEach(function (key) {  // in this order, whatever the index's
      if (given.hasOwnProperty(key)) {
        meta[escapeHtml(labels[key])] = given[key];
      }
    });
    result.meta = meta;
    return result;
  }

  var options = {
    element: "#search",
    showSubResults: true,
    showImages: false,
    bundlePath: bundle,
    baseUrl: base,
    // The field is focused below, once Pagefind listens: its UI starts loading the index when
    // the field gets focus, and its own autofocus comes before it listens.
    autofocus: false,
    processResult: labelMeta
  };
  if (rules) {
    // "en": Pagefind formats the count in plain digits, for countMessage to read back.
    options.translations = {
      language: "en",
      one_result: "[COUNT]" + MARK + "[SEARCH_TERM]",
      many_results: "[COUNT]" + MARK + "[SEARCH_TERM]"
    };
  }
  var params = new URLSearchParams(window.location.search);
  var query = (params.get("q") || "").trim();
  function start(parts) {
    if (parts.length) {
      options.mergeIndex = parts.map(function (path) { return {bundlePath: path}; });
    }
    var ui = new window.PagefindUI(options);
    if (query) {
      ui.triggerSearch(query);
    }
    // The index (Pagefind's code, and each part's metadata) loads while the reader types,
    // not after the first letter: on a slow phone that is most of a first search's wait.
    // (Unless the reader has put the focus somewhere meanwhile.)
    var field = element.querySelector(".pagefind-ui__search-input");
    var active = document.activeElement;
    if (field && (!active || active === document.body)) {
      field.focus({preventScroll: true});
    }
  }
  // A part that cannot be loaded (still being made by `digest serve`, or gone) would stop
  // Pagefind's UI altogether: only the parts whose entry file answers are searched.
  if (more.length && window.fetch) {
    Promise.all(more.map(function (path) {
      return window.fetch(path + "pagefind-entry.json", {method: "HEAD"}).then(
        function (response) { return response.ok ? path : null; },
        function () { return null; });
    })).then(function (found) { start(found.filter(Boolean)); });
  } else {
    start(more);
  }
  if (rules) {
    new MutationObserver(rewriteCounts).observe(element,
      {childList: true, subtree: true, characterData: true});
  }
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
