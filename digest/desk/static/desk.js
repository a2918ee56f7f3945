// The editor's desk, enhanced: actions without a reload, keyboard shortcuts, filters in
// place and a live preview of the introduction. Every form also works without this file.
(() => {
  "use strict";
  const token = document.querySelector('meta[name="digest-desk-token"]')?.content ?? "";
  const list = document.getElementById("rows");
  const status = document.getElementById("status");
  const summary = document.getElementById("summary");
  const undoForm = document.getElementById("undo");
  const filters = document.getElementById("filters");
  const conflict = document.getElementById("conflict");
  if (!list || !status) return;
  document.documentElement.classList.add("js");
  let current = null;  // the row the shortcuts act on

  // --- messages -------------------------------------------------------------------------
  function announce(text, kind) {
    status.dataset.kind = kind || "ok";
    status.textContent = "";
    // A new text node, a moment later: screen readers announce a repeated message too.
    window.setTimeout(() => { status.textContent = text; }, 30);
  }

  function showConflict(message, diff) {
    conflict.hidden = false;
    document.getElementById("conflict-message").textContent = message;
    document.getElementById("conflict-diff").textContent = diff || "";
    conflict.focus();
  }

  // --- rows and the cursor ----------------------------------------------------------------
  const rows = () => [...list.querySelectorAll(".row:not([hidden])")];

  function setCurrent(row, focus) {
    if (!row) return;
    if (current && current !== row) current.classList.remove("current");
    current = row;
    row.classList.add("current");
    if (focus) {
      row.focus();
      row.scrollIntoView({block: "nearest"});
    }
  }

  function move(step) {
    const visible = rows();
    if (!visible.length) return;
    const at = visible.indexOf(current);
    const next = at === -1 ? (step > 0 ? 0 : visible.length - 1)
      : Math.min(visible.length - 1, Math.max(0, at + step));
    setCurrent(visible[next], true);
  }

  list.addEventListener("focusin", (event) => {
    const row = event.target.closest(".row");
    if (row) setCurrent(row, false);
  });

  // --- filters ----------------------------------------------------------------------------
  function applyFilters() {
    if (!filters) return;
    const data = new FormData(filters);
    const show = data.get("show") || "all";
    const topic = data.get("topic") || "";
    const source = data.get("source") || "";
    for (const row of list.querySelectorAll(".row")) {
      const state = row.dataset.state;
      const shown = show === "all" || (show === "selected" && state === "selected")
        || (show === "out" && state !== "selected") || (show === "duplicates" && state === "duplicate");
      row.hidden = !(shown && (!topic || row.dataset.topics.split(" ").includes(topic))
        && (!source || row.dataset.sources.split(" ").includes(source)));
    }
    const query = new URLSearchParams(data);
    for (const [name, value] of [...query]) {
      if (!value || (name === "show" && value === "all")) query.delete(name);
    }
    history.replaceState(null, "", "?" + query.toString() + location.hash);
    // The filters of a plain form go along with every action: keep them in step.
    for (const form of document.querySelectorAll("form[method=post]")) {
      for (const name of ["show", "topic", "source"]) {
        let field = form.querySelector(`input[type=hidden][name=${name}]`);
        const value = query.get(name) || "";
        if (!field && value) {
          field = document.createElement("input");
          field.type = "hidden";
          field.name = name;
          form.append(field);
        }
        if (field) field.value = value;
      }
    }
  }

  if (filters) {
    filters.addEventListener("change", applyFilters);
    filters.addEventListener("submit", (event) => { event.preventDefault(); applyFilters(); });
    const apply = filters.querySelector(".apply");
    if (apply) apply.hidden = true;
  }

  // --- actions ----------------------------------------------------------------------------
  async function post(form, submitter) {
    const body = new URLSearchParams(new FormData(form, submitter));
    const response = await fetch(form.action, {
      method: "POST", body, credentials: "same-origin",
      headers: {"Accept": "application/json", "X-Digest-Token": token},
    });
    let result;
    try {
      result = await response.json();
    } catch (error) {
      result = {ok: false, message: await response.text().catch(() => String(error))};
    }
    result.status = response.status;
    return result;
  }

  function replaceRows(entries) {
    const fresh = new Map(entries);
    const hadFocus = current && current.contains(document.activeElement);
    const currentId = current?.dataset.id;
    for (const row of [...list.querySelectorAll(".row")]) {
      if (!fresh.has(row.dataset.id)) {
        if (row === current) current = null;
        row.remove();  // moved to another week
      }
    }
    for (const [id, html] of fresh) {
      const template = document.createElement("template");
      template.innerHTML = html.trim();
      const row = template.content.firstElementChild;
      const old = [...list.querySelectorAll(".row")].find((r) => r.dataset.id === id);
      if (old) {
        const open = old.querySelector("details.more")?.open;
        old.replaceWith(row);
        if (open) row.querySelector("details.more").open = true;
      } else {
        list.append(row);
      }
      if (id === currentId) {
        current = null;
        setCurrent(row, hadFocus);
      }
    }
    applyFilters();
  }

  function apply(result) {
    if (result.rows) replaceRows(result.rows);
    if (summary && result.summary) summary.textContent = result.summary.trim();
    if (undoForm && "undo" in result) {
      undoForm.querySelector("button").disabled = !result.undo;
      undoForm.querySelector(".undo-what").textContent = result.undo;
    }
    const introSha = document.querySelector("#intro-form input[name=sha]");
    if (introSha && result.intro_sha) introSha.value = result.intro_sha;
    if (result.ok) {
      conflict.hidden = true;
      announce(result.message, "ok");
    } else if (result.status === 409 && result.diff) {
      announce(result.message, "error");
      showConflict(result.message, result.diff);
    } else {
      announce(result.message || "Error " + result.status, "error");
    }
  }

  let busy = false;
  document.addEventListener("submit", async (event) => {
    const form = event.target;
    if (form.method !== "post" || busy) return;
    const submitter = event.submitter;
    if (submitter && submitter.value === "preview") return;  // the plain preview: a new page
    event.preventDefault();
    busy = true;
    try {
      apply(await post(form, submitter));
    } catch (error) {
      announce(String(error), "error");
    } finally {
      busy = false;
    }
  });

  function click(selector) {
    const button = current?.querySelector(selector);
    if (button) button.form.requestSubmit(button);
  }

  function openNote() {
    if (!current) move(1);
    const details = current?.querySelector("details.more");
    if (!details) return;
    details.open = true;
    details.querySelector("textarea")?.focus();
  }

  document.addEventListener("keydown", (event) => {
    if (event.altKey || event.metaKey) return;
    // Keys go to the fields that take text; radios, checkboxes and buttons let them through.
    const field = event.target.closest?.(
      "textarea, select, [contenteditable], input:not([type=radio], [type=checkbox], " +
      "[type=submit], [type=button], [type=hidden])");
    if (field) {
      if (event.key === "Escape" && field.closest(".row")) {
        event.preventDefault();
        setCurrent(field.closest(".row"), true);
      } else if (event.key === "Enter" && event.ctrlKey && field.localName === "textarea") {
        event.preventDefault();
        const button = field.form.querySelector("button[type=submit]:not([value=preview])");
        field.form.requestSubmit(button);
      }
      return;
    }
    if (event.ctrlKey) return;
    const actions = {
      j: () => move(1), k: () => move(-1), s: () => click(".act-select"),
      r: () => click(".act-reject"), p: () => click(".act-pin"), n: openNote,
      u: () => undoForm?.requestSubmit(),
    };
    const action = actions[event.key];
    if (action) {
      event.preventDefault();
      action();
    }
  });

  // --- the introduction's live preview ----------------------------------------------------
  const intro = document.getElementById("intro-body");
  const preview = document.getElementById("intro-preview");
  const introForm = document.getElementById("intro-form");
  if (intro && preview && introForm) {
    const plain = introForm.querySelector("button[value=preview]");
    if (plain) plain.hidden = true;
    let timer = 0;
    let asked = 0;
    intro.addEventListener("input", () => {
      window.clearTimeout(timer);
      timer = window.setTimeout(async () => {
        const mine = ++asked;
        const body = new URLSearchParams({token, body: intro.value});
        const response = await fetch(introForm.action.replace(/intro$/, "preview"), {
          method: "POST", body, credentials: "same-origin",
          headers: {"Accept": "application/json", "X-Digest-Token": token},
        });
        if (!response.ok || mine !== asked) return;
        const result = await response.json();
        preview.innerHTML = result.html;  // sanitized by digest, as the site's own pages are
      }, 250);
    });
  }

  applyFilters();
  const target = location.hash ? document.getElementById(location.hash.slice(1)) : null;
  const landed = target !== null && target.classList.contains("row");
  setCurrent(landed ? target : rows()[0], landed);
})();
