// Progressive enhancement only: every page works without this file.
// 1. Search as you type: suggestions from the JSON search API under the search box.
// 2. A copy button for the `docker pull` line.
(() => {
  "use strict";
  const input = document.getElementById("search-input");
  const list = document.getElementById("search-suggestions");
  if (input && list) {
    let timer = null;
    let controller = null;
    let selected = -1;

    const hide = () => { list.hidden = true; list.replaceChildren(); selected = -1; };
    const items = () => Array.from(list.querySelectorAll("a"));
    const mark = () => items().forEach((a, i) => a.setAttribute("aria-selected", String(i === selected)));

    const show = (results) => {
      list.replaceChildren();
      for (const c of results) {
        const li = document.createElement("li");
        const a = document.createElement("a");
        a.href = "/r/" + c.id;
        a.textContent = c.id; // textContent: names and descriptions are never parsed as HTML
        const small = document.createElement("small");
        small.textContent = (c.description || "").split("\n").find((l) => l.trim()) || "";
        a.appendChild(small);
        li.appendChild(a);
        list.appendChild(li);
      }
      list.hidden = results.length === 0;
      selected = -1;
    };

    const suggest = async () => {
      const q = input.value.trim();
      if (q.length < 2) { hide(); return; }
      if (controller) controller.abort();
      controller = new AbortController();
      try {
        const url = "/container/search?per_page=6&q=" + encodeURIComponent(q);
        const response = await fetch(url, { signal: controller.signal, headers: { Accept: "application/json" } });
        if (!response.ok) { hide(); return; }
        const body = await response.json();
        show(body.results || []);
      } catch (e) {
        if (e.name !== "AbortError") hide();
      }
    };

    input.addEventListener("input", () => { clearTimeout(timer); timer = setTimeout(suggest, 150); });
    input.addEventListener("keydown", (e) => {
      const links = items();
      if (list.hidden || links.length === 0) return;
      if (e.key === "ArrowDown") { selected = (selected + 1) % links.length; mark(); e.preventDefault(); }
      else if (e.key === "ArrowUp") { selected = (selected - 1 + links.length) % links.length; mark(); e.preventDefault(); }
      else if (e.key === "Enter" && selected >= 0) { window.location.href = links[selected].href; e.preventDefault(); }
      else if (e.key === "Escape") { hide(); }
    });
    document.addEventListener("click", (e) => { if (!list.contains(e.target) && e.target !== input) hide(); });
  }

  for (const button of document.querySelectorAll("[data-copy]")) {
    const source = document.querySelector(button.dataset.copy);
    if (!source || !navigator.clipboard) continue;
    button.hidden = false;
    button.addEventListener("click", async () => {
      await navigator.clipboard.writeText(source.textContent.trim());
      button.textContent = "Copied";
      setTimeout(() => { button.textContent = "Copy"; }, 1500);
    });
  }
})();
