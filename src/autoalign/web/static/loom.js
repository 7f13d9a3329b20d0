// The Loom page: a tree of continuations, read, navigated, edited and grown from the keyboard.
// The tree lives on the server: every action is one call to /api/loom, after which the page reads
// the state back and renders it. Model and corpus text is untrusted: it reaches the page only
// through textContent. Actions run one after another (a queue), so a burst of key presses moves
// step by step from wherever the previous press arrived.
"use strict";
(() => {
  const root = document.querySelector("[data-loom-tree]");
  if (!root) return;

  const API = `/api/loom/trees/${root.dataset.loomTree}`;
  const PAGE = 200; // children asked for at once
  const PATH_ROWS = 40; // levels of the path shown above the current node before the rest fold
  const MAX_INDENT = 12; // deeper rows indent no further, so their text keeps room in the panel
  const part = (name) => root.querySelector(`[data-loom="${name}"]`);

  let state = null; // {tree, path, hoisted, chapters, bookmarks}, as the API answers
  const kids = new Map(); // node id -> {nodes, total}: the pages of children loaded so far
  const lastChild = new Map(); // node id -> the child last visited, where → goes back to
  const opened = new Set(); // nodes opened by hand in the tree view
  const closed = new Set(); // path nodes closed by hand in the tree view
  let allLevels = false; // whether the folded top of a deep path is shown
  let queue = Promise.resolve();
  let generation = null; // {id} while a generation streams
  let hideTimer = 0;
  let toastTimer = 0;

  const current = () => state.path[state.path.length - 1];
  const parent = () => state.path[state.path.length - 2];

  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function button(label, className, data) {
    const node = el("button", className, label);
    node.type = "button";
    Object.assign(node.dataset, data);
    return node;
  }

  function preview(text, length = 80) {
    const flat = text.replace(/\s+/g, " ").trim();
    if (!flat) return "(empty)";
    return flat.length > length ? `${flat.slice(0, length)}…` : flat;
  }

  // Whitespace made visible, for tokens shown on their own.
  const visible = (text) => text.replace(/ /g, "␣").replace(/\n/g, "↵");

  function percent(logprob) {
    if (logprob === null || logprob === undefined) return "";
    const p = 100 * Math.exp(logprob);
    return p >= 10 ? `${p.toFixed(0)}%` : p >= 0.1 ? `${p.toFixed(1)}%` : "<0.1%";
  }

  const plural = (n, noun) => `${n.toLocaleString("en-US")} ${noun}${n === 1 ? "" : "s"}`;

  function say(message, isError = false) {
    const status = part("status");
    status.textContent = message;
    status.classList.toggle("error-message", isError);
  }

  // -- talking to the server ---------------------------------------------------------------------
  async function request(url, method = "GET", body = undefined) {
    const init = { method, headers: { Accept: "application/json" } };
    if (body !== undefined) {
      init.headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    const response = await fetch(url, init);
    const data = await response.json().catch(() => ({}));
    if (!response.ok) throw new Error(data.error || `the server answered ${response.status}`);
    return data;
  }

  const call = (path, method, body) => request(API + path, method, body);

  // A change to the tree: the loaded children may no longer be what the server has.
  async function change(path, method = "POST", body = undefined) {
    const result = await call(path, method, body);
    kids.clear();
    return result;
  }

  function run(task) {
    queue = queue.then(task).catch((error) => say(error.message, true));
    return queue;
  }

  async function loadChildren(id) {
    const have = kids.get(id);
    const offset = have ? have.nodes.length : 0;
    const page = await call(`/nodes/${id}/children?offset=${offset}&limit=${PAGE}`);
    kids.set(id, { nodes: (have ? have.nodes : []).concat(page.children), total: page.total });
  }

  async function refresh() {
    state = await call("");
    const path = state.path;
    // A hoisted node off the path is the top of the tree view: open it like a node opened by hand.
    if (state.hoisted && !path.some((node) => node.id === state.hoisted.id)) opened.add(state.hoisted.id);
    for (let i = 1; i < path.length; i++) lastChild.set(path[i - 1].id, path[i].id);
    const wanted = [current().id, parent()?.id, ...opened].filter((id) => id !== undefined && !kids.has(id));
    const loads = await Promise.allSettled(wanted.map(loadChildren));
    loads.forEach((load, i) => load.status === "rejected" && opened.delete(wanted[i]));
    render();
  }

  // Moving on leaves the popup and any error behind: they were about where the reader was.
  async function go(id) {
    hidePopup();
    await call(`/nodes/${id}/go`, "POST");
    await refresh();
    if (part("status").classList.contains("error-message")) say("");
  }

  // -- navigation --------------------------------------------------------------------------------
  async function toParent() {
    if (parent()) await go(parent().id);
  }

  async function toChild() {
    const list = kids.get(current().id);
    if (!list || !list.nodes.length) return say("No continuations here yet: press g to generate some.");
    const remembered = list.nodes.find((child) => child.id === lastChild.get(current().id));
    await go((remembered || list.nodes[0]).id);
  }

  // Asks the server, so stepping works among thousands of siblings however few are loaded.
  async function toSibling(step) {
    const target = await call(`/nodes/${current().id}/sibling?step=${step}`);
    if (target) await go(target.id);
  }

  async function walk() {
    await call("/walk", "POST", {});
    await refresh();
  }

  async function hoist() {
    const hoisted = state.tree.hoisted_id === null ? current().id : null;
    await call("/hoist", "POST", { node_id: hoisted });
    allLevels = false;
    await refresh();
  }

  // -- changes to nodes --------------------------------------------------------------------------
  async function setTag(tag, on = !current().tags.includes(tag)) {
    const id = current().id;
    if (on) await change(`/nodes/${id}/tags`, "POST", { tag });
    else await change(`/nodes/${id}/tags/${encodeURIComponent(tag)}`, "DELETE");
    await refresh();
  }

  async function deleteCurrent() {
    const deletion = await change(`/nodes/${current().id}`, "DELETE");
    await refresh();
    toast(`Deleted ${plural(deletion.nodes, "node")}.`);
  }

  async function undo() {
    const restored = await change("/undo-delete", "POST", {});
    part("toast").hidden = true;
    say(`Restored ${plural(restored.nodes, "node")}.`);
    await go(restored.node_id);
  }

  function toast(message) {
    part("toast-text").textContent = message;
    part("toast").hidden = false;
    clearTimeout(toastTimer);
    toastTimer = setTimeout(() => (part("toast").hidden = true), 20000);
  }

  async function merge(which) {
    await change(`/nodes/${current().id}/merge-${which}`);
    await refresh();
  }

  async function branch(nodeId, index, alternative) {
    const { nodes } = await change(`/nodes/${nodeId}/branch`, "POST", { token_index: index });
    await go((nodes.find((node) => node.text === alternative) || nodes[0]).id);
  }

  // -- the editor --------------------------------------------------------------------------------
  async function openEditor() {
    const node = current();
    const { history } = await call(`/nodes/${node.id}`);
    const text = part("editor-text");
    text.value = node.text;
    text.dataset.node = node.id;
    part("history-summary").textContent = history.length ? `Earlier versions (${history.length})` : "No earlier versions";
    part("history").replaceChildren(...history.map((old) => el("li", "loom-old", old.text)));
    part("editor").hidden = false;
    text.focus();
  }

  function closeEditor() {
    part("editor-text").blur();
    part("editor").hidden = true;
  }

  // Saves the editor's text if it changed; returns the node's id.
  async function saveEdit() {
    const text = part("editor-text");
    const id = Number(text.dataset.node);
    const node = state.path.find((n) => n.id === id);
    if (!node || text.value !== node.text) await change(`/nodes/${id}/edit`, "POST", { text: text.value });
    return id;
  }

  async function splitAtCursor() {
    const text = part("editor-text");
    // The server counts characters (code points); the textarea counts UTF-16 units.
    const offset = [...text.value.slice(0, text.selectionStart)].length;
    const id = await saveEdit();
    await change(`/nodes/${id}/split`, "POST", { offset });
    closeEditor();
    await refresh();
  }

  // -- generation --------------------------------------------------------------------------------
  // Reads a text/event-stream body (a POST, so not EventSource) and hands each event over.
  async function readEvents(response, handle) {
    const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = "";
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      buffer += value;
      let end;
      while ((end = buffer.indexOf("\n\n")) >= 0) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        let event = "message";
        let data = "";
        for (const line of block.split("\n")) {
          if (line.startsWith("event: ")) event = line.slice(7);
          else if (line.startsWith("data: ")) data += line.slice(6);
        }
        handle(event, JSON.parse(data));
      }
    }
  }

  function onGenerationEvent(event, data) {
    const live = part("live");
    if (event === "started") {
      generation.id = data.generation;
      part("cancel").hidden = false;
      say(`Generating ${plural(data.n, "continuation")} with ${data.model}…`);
      live.replaceChildren(...Array.from({ length: data.n }, () => el("li", "loom-live-item")));
    } else if (event === "token") {
      live.children[data.index]?.append(data.text);
    } else if (event === "node") {
      live.children[data.index]?.classList.add("stored");
      run(async () => {
        kids.delete(data.node?.parent_id);
        await refresh();
      });
    } else if (event === "error") {
      say(data.error, true);
    } else if (event === "done") {
      if (!part("status").classList.contains("error-message")) say(data.cancelled ? "Stopped." : "Done.");
    }
  }

  // Starts from the current node as it is once the actions before it have run; the stream itself
  // runs beside the queue, so that moving around while it streams stays possible.
  function generate() {
    if (generation) return;
    generation = { id: null };
    part("generate").disabled = true;
    run(() => {
      stream(current().id);
    });
  }

  async function stream(nodeId) {
    say("Starting the model…");
    try {
      const response = await fetch(`${API}/nodes/${nodeId}/generate`, {
        method: "POST",
        headers: { Accept: "text/event-stream", "Content-Type": "application/json" },
        body: "{}",
      });
      if (!response.ok) {
        const data = await response.json().catch(() => ({}));
        throw new Error(data.error || `the server answered ${response.status}`);
      }
      await readEvents(response, onGenerationEvent);
    } catch (error) {
      say(error.message, true);
    } finally {
      generation = null;
      part("generate").disabled = false;
      part("cancel").hidden = true;
      part("live").replaceChildren();
      run(async () => {
        kids.clear();
        await refresh();
      });
    }
  }

  async function cancelGeneration() {
    if (generation?.id) await request(`/api/loom/generations/${generation.id}/cancel`, "POST");
  }

  // -- rendering ---------------------------------------------------------------------------------
  function render() {
    renderText();
    renderTree();
    renderChildren();
    renderNode();
    renderLists();
  }

  function segment(node) {
    const span = el("span", "seg");
    span.dataset.id = node.id;
    span.dataset.source = node.source;
    if (node.id === current().id) span.classList.add("current");
    if (node.tags.includes("bookmark")) span.classList.add("bookmarked");
    if (node.tokens) {
      node.tokens.forEach(([text], index) => {
        const token = el("span", "tok", text);
        token.dataset.index = index;
        span.append(token);
      });
    } else {
      span.textContent = node.text;
    }
    if (!node.text) span.classList.add("empty");
    return span;
  }

  function renderText() {
    const box = part("text");
    box.replaceChildren(...state.path.map(segment));
    const here = box.querySelector(".seg.current");
    box.scrollTop = Math.max(0, here.offsetTop + here.offsetHeight - box.clientHeight + 24);
  }

  function row(node, depth, open) {
    const item = el("div", "tv-row");
    item.setAttribute("role", "treeitem");
    item.setAttribute("aria-level", depth + 1);
    item.dataset.id = node.id;
    item.style.setProperty("--depth", Math.min(depth, MAX_INDENT));
    const isCurrent = node.id === current().id;
    item.setAttribute("aria-selected", String(isCurrent));
    item.classList.toggle("current", isCurrent);
    item.classList.toggle("archived", node.tags.includes("archived"));
    if (node.child_count) {
      item.setAttribute("aria-expanded", String(open));
      item.append(button(open ? "▾" : "▸", "tv-toggle", { toggle: node.id }));
    } else {
      item.append(el("span", "tv-leaf", "·"));
    }
    item.append(button(preview(node.text), "tv-label", { go: node.id }));
    if (node.tags.includes("bookmark")) item.append(el("span", "tv-mark", "★"));
    if (node.child_count) item.append(el("span", "tv-count", String(node.child_count)));
    return item;
  }

  function moreRow(depth, label, action, onClick) {
    const item = el("div", "tv-row tv-more");
    item.style.setProperty("--depth", Math.min(depth, MAX_INDENT));
    const more = button(action, "link");
    more.addEventListener("click", () => run(onClick));
    item.append(el("span", "muted", label), " ", more);
    return item;
  }

  // The path from the hoisted node (or root) to the current node, each level's children paged in
  // only where they matter: the current node, its parent, and what was opened by hand. Higher
  // levels show the way down and how many other continuations they have.
  function renderTree() {
    const path = state.path;
    const levels = new Map(path.map((node, i) => [node.id, i]));
    const hoisted = state.hoisted;
    let start = hoisted ? (levels.get(hoisted.id) ?? -1) : 0;
    const rows = [];
    if (start >= 0 && !allLevels && path.length - 1 - start > PATH_ROWS) {
      const fold = path.length - 1 - PATH_ROWS;
      rows.push(
        moreRow(0, `${plural(fold - start, "level")} above`, "Show them", async () => {
          allLevels = true;
          renderTree();
        }),
      );
      start = fold;
    }
    const full = new Set([current().id, parent()?.id, ...opened]);

    const visit = (node, depth) => {
      const level = levels.get(node.id);
      const open = level !== undefined ? !closed.has(node.id) : opened.has(node.id);
      rows.push(row(node, depth, open));
      if (!open || !node.child_count) return;
      const down = level !== undefined ? path[level + 1] : undefined;
      const list = full.has(node.id) ? kids.get(node.id) : undefined;
      if (!list) {
        const others = node.child_count - (down ? 1 : 0);
        if (others > 0) {
          rows.push(
            moreRow(depth + 1, plural(others, down ? "other continuation" : "continuation"), "Show", async () => {
              opened.add(node.id);
              await loadChildren(node.id);
              renderTree();
            }),
          );
        }
        if (down) visit(down, depth + 1);
        return;
      }
      for (const child of list.nodes) visit(child.id === down?.id ? down : child, depth + 1);
      if (down && !list.nodes.some((child) => child.id === down.id)) visit(down, depth + 1);
      if (list.nodes.length < list.total) {
        rows.push(
          moreRow(depth + 1, `${list.nodes.length} of ${list.total} shown`, "Show more", async () => {
            await loadChildren(node.id);
            renderTree();
          }),
        );
      }
    };
    visit(start >= 0 ? path[start] : hoisted, 0);

    const note = part("hoist-note");
    note.hidden = !hoisted;
    note.textContent = !hoisted
      ? ""
      : start >= 0
        ? "Hoisted: the tree starts at a node below the root."
        : "Hoisted elsewhere: the current node is outside the hoisted subtree.";
    part("hoist").textContent = hoisted ? "Unhoist" : "Hoist here";
    const tree = part("tree");
    tree.replaceChildren(...rows);
    const here = tree.querySelector(".tv-row.current");
    if (here) keepInView(tree, here);
  }

  // Scrolls the panel, not the page (scrollIntoView would move the whole window on every step).
  function keepInView(box, item) {
    if (item.offsetTop < box.scrollTop) box.scrollTop = item.offsetTop - 8;
    else if (item.offsetTop + item.offsetHeight > box.scrollTop + box.clientHeight) {
      box.scrollTop = item.offsetTop + item.offsetHeight - box.clientHeight + 8;
    }
  }

  async function toggle(id) {
    const onPath = state.path.some((node) => node.id === id);
    const set = onPath ? closed : opened;
    if (set.has(id)) set.delete(id);
    else set.add(id);
    if (!onPath && opened.has(id) && !kids.has(id)) await loadChildren(id);
    renderTree();
  }

  function renderChildren() {
    const list = kids.get(current().id) || { nodes: [], total: 0 };
    const items = list.nodes.map((child) => {
      const item = el("li");
      const choice = button(preview(child.text, 400), "loom-child", { go: child.id });
      if (child.tags.includes("bookmark")) choice.classList.add("bookmarked");
      item.append(choice);
      return item;
    });
    if (!items.length) items.push(el("li", "muted", "No continuations yet: press g to generate some."));
    if (list.nodes.length < list.total) {
      const more = button(`Show more (${list.nodes.length} of ${list.total})`, "link");
      more.addEventListener("click", () => run(async () => {
        await loadChildren(current().id);
        render();
      }));
      items.push(more);
    }
    part("children").replaceChildren(...items);
  }

  function renderNode() {
    const node = current();
    const children = `${node.child_count.toLocaleString("en-US")} ${node.child_count === 1 ? "child" : "children"}`;
    const meta = [`#${node.id}`, node.source, node.model, children];
    part("node-meta").textContent = meta.filter(Boolean).join(" · ");
    for (const box of root.querySelectorAll("[data-tag]")) box.checked = node.tags.includes(box.dataset.tag);
    const builtin = new Set([...root.querySelectorAll("[data-tag]")].map((box) => box.dataset.tag));
    part("custom-tags").replaceChildren(
      ...node.tags
        .filter((tag) => !builtin.has(tag))
        .map((tag) => {
          const item = el("li", "loom-chip", tag);
          item.append(button("×", "link", { untag: tag }));
          return item;
        }),
    );
    part("notes").value = node.notes;
    part("overrides").value = node.overrides ? JSON.stringify(node.overrides) : "";
    part("merge-parent").disabled = !parent();
    part("merge-child").disabled = node.child_count !== 1;
    part("delete").disabled = !parent();
  }

  function goItem(id, label) {
    const item = el("li");
    item.append(button(label, "link", { go: id }));
    return item;
  }

  function renderLists() {
    const none = (text) => el("li", "muted", text);
    const bookmarks = state.bookmarks.map((node) => goItem(node.id, preview(node.text, 60)));
    part("bookmarks").replaceChildren(...(bookmarks.length ? bookmarks : [none("None yet: press b on a node.")]));
    const chapters = state.chapters.map((chapter) => {
      const item = goItem(chapter.node_id, chapter.title);
      item.append(" ", button("×", "link", { chapter: chapter.id }));
      return item;
    });
    part("chapters").replaceChildren(...(chapters.length ? chapters : [none("No chapters.")]));
    part("title").textContent = state.tree.title;
    document.title = `${state.tree.title} · Loom · autoalign`;
  }

  // -- the token popup ---------------------------------------------------------------------------
  function showPopup(token) {
    clearTimeout(hideTimer);
    const nodeId = Number(token.parentElement.dataset.id);
    const index = Number(token.dataset.index);
    const [text, logprob, top] = state.path.find((node) => node.id === nodeId).tokens[index];
    const popup = part("popup");
    const head = el("p", "tok-head");
    head.append(el("code", "", visible(text)), ` ${percent(logprob)}`);
    const list = el("ol", "tok-alts");
    for (const [alternative, alternativeLogprob] of top) {
      const item = el("li");
      if (alternative === text) {
        item.append(el("code", "tok-chosen", visible(alternative)));
      } else {
        const choice = button("", "tok-alt");
        choice.append(el("code", "", visible(alternative)));
        choice.addEventListener("click", () => run(() => branch(nodeId, index, alternative)));
        item.append(choice);
      }
      item.append(el("span", "tok-p", percent(alternativeLogprob)));
      list.append(item);
    }
    popup.replaceChildren(head, list, el("p", "hint", "Click an alternative to branch there."));
    popup.hidden = false;
    // Placed in page coordinates, so that it scrolls with the text it belongs to.
    const box = token.getBoundingClientRect();
    const left = Math.max(8, Math.min(box.left, window.innerWidth - popup.offsetWidth - 8));
    popup.style.left = `${left + window.scrollX}px`;
    popup.style.top = `${box.bottom + 4 + window.scrollY}px`;
  }

  function hidePopup() {
    clearTimeout(hideTimer);
    part("popup").hidden = true;
  }

  const hideSoon = () => {
    clearTimeout(hideTimer);
    hideTimer = setTimeout(hidePopup, 300);
  };

  // -- wiring ------------------------------------------------------------------------------------
  const text = part("text");
  text.addEventListener("mouseover", (event) => {
    const token = event.target.closest(".tok");
    if (token) showPopup(token);
  });
  text.addEventListener("mouseout", (event) => event.target.closest(".tok") && hideSoon());
  text.addEventListener("click", (event) => {
    const seg = event.target.closest(".seg");
    if (!seg || !window.getSelection().isCollapsed) return;
    const id = Number(seg.dataset.id);
    if (id !== current().id) run(() => go(id));
  });
  part("popup").addEventListener("mouseenter", () => clearTimeout(hideTimer));
  part("popup").addEventListener("mouseleave", hideSoon);

  root.addEventListener("click", (event) => {
    const target = event.target.closest("[data-go], [data-toggle], [data-untag], [data-chapter]");
    if (!target) return;
    const { go: id, toggle: toggled, untag, chapter } = target.dataset;
    if (id) run(() => go(Number(id)));
    else if (toggled) run(() => toggle(Number(toggled)));
    else if (untag) run(() => setTag(untag, false));
    else if (chapter) run(async () => {
      await call(`/chapters/${chapter}`, "DELETE");
      await refresh();
    });
  });
  root.addEventListener("change", (event) => {
    const tag = event.target.dataset.tag;
    if (tag) run(() => setTag(tag, event.target.checked));
  });

  const onClick = (name, task) => part(name).addEventListener("click", () => run(task));
  part("generate").addEventListener("click", generate);
  part("cancel").addEventListener("click", () => cancelGeneration().catch((error) => say(error.message, true)));
  onClick("edit", openEditor);
  onClick("walk", walk);
  onClick("undo", undo);
  onClick("hoist", hoist);
  onClick("delete", deleteCurrent);
  onClick("merge-parent", () => merge("parent"));
  onClick("merge-child", () => merge("child"));
  onClick("editor-close", closeEditor);
  onClick("editor-split", splitAtCursor);
  onClick("editor-save", async () => {
    await saveEdit();
    closeEditor();
    await refresh();
  });
  onClick("save-notes", async () => {
    await change(`/nodes/${current().id}/notes`, "POST", { notes: part("notes").value });
    await refresh();
    say("Notes saved.");
  });
  onClick("save-overrides", async () => {
    const raw = part("overrides").value.trim();
    let overrides = null;
    try {
      overrides = raw ? JSON.parse(raw) : null;
    } catch {
      throw new Error("The overrides must be a JSON object, e.g. {\"temperature\": 0.7}.");
    }
    await change(`/nodes/${current().id}/overrides`, "POST", { overrides });
    await refresh();
    say("Overrides saved.");
  });

  function onSubmit(name, task) {
    const form = part(name);
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      run(() => task(form));
    });
  }

  onSubmit("tag-form", async (form) => {
    await setTag(form.elements.tag.value.trim(), true);
    form.reset();
  });
  onSubmit("chapter-form", async (form) => {
    await call("/chapters", "POST", { node_id: current().id, title: form.elements.title.value });
    form.reset();
    await refresh();
  });
  onSubmit("add-child", async (form) => {
    const child = await change(`/nodes/${current().id}/children`, "POST", { text: form.elements.text.value });
    form.reset();
    await go(child.id);
  });
  onSubmit("search-form", async (form) => {
    const { nodes } = await call(`/search?q=${encodeURIComponent(form.elements.q.value)}`);
    const results = nodes.map((node) => goItem(node.id, preview(node.text, 90)));
    part("results").replaceChildren(...(results.length ? results : [el("li", "muted", "Nothing found.")]));
  });
  onSubmit("rename-form", async (form) => {
    await call("", "PATCH", { title: form.elements.title.value });
    await refresh();
  });

  // Stop sequences are edited one a line, with \n, \t and \\ for what a line cannot hold.
  const ESCAPES = { n: "\n", t: "\t", "\\": "\\" };
  const unescapeStop = (line) => line.replace(/\\([nt\\])/g, (_, c) => ESCAPES[c]);
  const escapeStop = (stop) => stop.replace(/\\/g, "\\\\").replace(/\n/g, "\\n").replace(/\t/g, "\\t");

  function fillSettings() {
    const fields = part("settings-form").elements;
    const settings = state.tree.settings;
    for (const name of ["model", "n", "max_tokens", "temperature", "top_p", "seed", "logprobs", "prompt_length", "memory"]) {
      fields[name].value = settings[name] ?? "";
    }
    fields.stop.value = settings.stop.map(escapeStop).join("\n");
  }

  onSubmit("settings-form", async (form) => {
    const fields = form.elements;
    const number = (name) => (fields[name].value === "" ? null : Number(fields[name].value));
    const changes = { model: fields.model.value.trim() || null, memory: fields.memory.value };
    for (const name of ["n", "max_tokens", "temperature", "top_p", "seed", "logprobs", "prompt_length"]) {
      changes[name] = number(name);
    }
    changes.stop = fields.stop.value.split("\n").filter(Boolean).map(unescapeStop);
    await call("/settings", "PATCH", changes);
    await refresh();
    fillSettings();
    say("Settings saved.");
  });

  // -- keys, in the manner of socketteer/loom ----------------------------------------------------
  const KEYS = {
    ArrowLeft: toParent,
    a: toParent,
    ArrowRight: toChild,
    d: toChild,
    ArrowUp: () => toSibling(-1),
    w: () => toSibling(-1),
    ArrowDown: () => toSibling(1),
    s: () => toSibling(1),
    b: () => setTag("bookmark"),
    e: openEditor,
    Delete: deleteCurrent,
    Backspace: deleteCurrent,
    r: walk,
  };

  document.addEventListener("keydown", (event) => {
    if (event.key === "Escape") {
      hidePopup();
      closeEditor();
      return;
    }
    if (event.altKey || event.metaKey || event.target.closest("input, textarea, select, [contenteditable]")) return;
    if (event.ctrlKey && event.key === "Enter") generate();
    else if (event.ctrlKey && event.key === "z") run(undo);
    else if (event.ctrlKey) return;
    else if (event.key === "g") generate();
    else if (event.key === "/") part("search-form").elements.q.focus();
    else if (KEYS[event.key]) run(KEYS[event.key]);
    else return;
    event.preventDefault();
  });

  run(async () => {
    await refresh();
    fillSettings();
  });
})();
