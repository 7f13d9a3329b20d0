// The assistants' pages. Forms that run an assistant say so while the server works (brainstorming
// with the model takes seconds). The writing editor keeps its draft in localStorage, asks
// /api/assist/complete for the next words when typing pauses at the end of the draft, and shows
// them as ghost text after the caret: Tab takes them, Esc or any other key drops them. Model text
// is untrusted: it reaches the page only through textContent.
"use strict";
(() => {
  // -- forms that take a while ----------------------------------------------------------------
  const busy = document.querySelector('[data-assist="busy"]');
  for (const form of document.querySelectorAll("form[data-assist-busy]")) {
    form.addEventListener("submit", () => {
      if (busy) {
        busy.textContent = form.dataset.assistBusy;
        busy.hidden = false;
      }
      // After the submission has taken the form's data, so the buttons still count.
      setTimeout(() => form.querySelectorAll("button").forEach((b) => { b.disabled = true; }), 0);
    });
  }
  // Back from the result (the page may come from the back-forward cache): usable again.
  window.addEventListener("pageshow", () => {
    document.querySelectorAll("form[data-assist-busy] button").forEach((b) => { b.disabled = false; });
    if (busy) busy.hidden = true;
  });

  // -- the writing editor ----------------------------------------------------------------------
  const editor = document.querySelector("[data-assist-write]");
  if (!editor) return;
  const part = (name) => editor.querySelector(`[data-assist="${name}"]`);
  const draft = part("draft");
  const mirror = part("mirror");
  const status = part("status");
  const STORE = "autoalign.assist.draft";
  const PAUSE_MS = 600; // quiet time after the last key before a suggestion is asked for

  let suggestion = "";
  let timer = 0;
  let inflight = null; // the AbortController of the request in flight

  function say(text, error = false) {
    status.textContent = text;
    status.classList.toggle("error-message", error);
  }

  function save() {
    try {
      localStorage.setItem(STORE, draft.value);
    } catch {
      say("This browser does not keep the draft (storage is off or full).", true);
    }
  }

  const caretAtEnd = () => draft.selectionStart === draft.value.length && draft.selectionEnd === draft.value.length;

  // The mirror lies under the (transparent) textarea with the same box and font: the draft in it is
  // invisible, so only the ghost text after it shows, exactly where the caret is.
  function render() {
    if (!suggestion) {
      mirror.replaceChildren();
      return;
    }
    const ghost = document.createElement("span");
    ghost.className = "assist-ghost";
    ghost.dataset.assist = "ghost";
    ghost.textContent = suggestion;
    mirror.replaceChildren(document.createTextNode(draft.value), ghost);
    mirror.scrollTop = draft.scrollTop;
  }

  function drop() {
    clearTimeout(timer);
    inflight?.abort();
    inflight = null;
    if (suggestion) {
      suggestion = "";
      render();
      say("");
    }
  }

  function accept() {
    const end = draft.value.length;
    draft.setRangeText(suggestion, end, end, "end");
    suggestion = "";
    render();
    save();
    say("Suggestion taken.");
    schedule();
  }

  function schedule() {
    clearTimeout(timer);
    if (!draft.value.trim() || !caretAtEnd()) return;
    timer = setTimeout(suggest, PAUSE_MS);
  }

  async function suggest() {
    const text = draft.value;
    const controller = new AbortController();
    inflight = controller;
    say("Thinking…");
    try {
      const response = await fetch(editor.dataset.completeUrl, {
        method: "POST",
        headers: { "Content-Type": "application/json", Accept: "application/json" },
        body: JSON.stringify({ draft: text }),
        signal: controller.signal,
      });
      const data = await response.json();
      if (inflight !== controller) return; // typing went on meanwhile
      inflight = null;
      if (!response.ok) return say(data.error || `The suggestion failed (${response.status}).`, true);
      if (draft.value !== text || !caretAtEnd() || document.activeElement !== draft) return say("");
      suggestion = data.completion.trim() ? data.completion : "";
      render();
      say(suggestion ? "Suggestion: Tab takes it, Esc drops it." : "No suggestion here.");
    } catch (error) {
      if (error.name !== "AbortError") say("The suggestion failed: the server did not answer.", true);
    }
  }

  draft.addEventListener("keydown", (event) => {
    if (!suggestion) return;
    const plain = !(event.shiftKey || event.ctrlKey || event.altKey || event.metaKey);
    if (event.key === "Tab" && plain) {
      event.preventDefault();
      accept();
    } else if (!["Shift", "Control", "Alt", "Meta"].includes(event.key)) {
      drop();
    }
  });
  draft.addEventListener("input", () => {
    drop();
    save();
    schedule();
  });
  draft.addEventListener("scroll", () => { mirror.scrollTop = draft.scrollTop; });
  draft.addEventListener("blur", drop);
  draft.addEventListener("click", () => { if (!caretAtEnd()) drop(); });

  part("clear").addEventListener("click", () => {
    drop();
    draft.value = "";
    save();
    draft.focus();
  });

  try {
    draft.value = localStorage.getItem(STORE) || "";
  } catch {
    say("This browser does not keep the draft (storage is off).", true);
  }
  draft.focus();
  draft.setSelectionRange(draft.value.length, draft.value.length);
})();
