// Live parts: every element with data-live="URL" (a list's rows, an event's record) is
// re-read from URL every few seconds (server-rendered, the same template as the page's
// first load) while the page is visible. Rows not seen before are marked for a moment.
"use strict";

const INTERVAL_MS = 2000;

function rowIds(body) {
  return new Set(Array.from(body.querySelectorAll("tr[data-id]"), (row) => row.dataset.id + "|" + row.dataset.status));
}

async function refresh(body, indicator) {
  try {
    const response = await fetch(body.dataset.live, { headers: { Accept: "text/html" }, cache: "no-store" });
    if (!response.ok) throw new Error("HTTP " + response.status);
    const html = await response.text();
    if (html !== body.dataset.lastHtml) {
      const before = rowIds(body);
      body.innerHTML = html;
      body.dataset.lastHtml = html;
      for (const row of body.querySelectorAll("tr[data-id]")) {
        if (!before.has(row.dataset.id + "|" + row.dataset.status)) row.classList.add("changed");
      }
    }
    if (indicator) {
      indicator.textContent = "live · " + new Date().toISOString().slice(11, 19) + "Z";
      indicator.classList.remove("stale");
    }
  } catch (error) {
    if (indicator) {
      indicator.textContent = "not updating: " + error.message;
      indicator.classList.add("stale");
    }
  }
}

function start() {
  const indicator = document.querySelector("[data-live-status]");
  for (const body of document.querySelectorAll("[data-live]")) {
    body.dataset.lastHtml = body.innerHTML;
    const tick = () => {
      if (document.visibilityState === "visible") refresh(body, indicator);
    };
    setInterval(tick, INTERVAL_MS);
    document.addEventListener("visibilitychange", tick);
  }
}

document.addEventListener("DOMContentLoaded", start);
