// The reader page: brings the cited passage to the middle of the screen (the #cite fragment alone
// leaves it at the top edge), then fills in related documents, which are fetched separately so
// the text never waits for them.
"use strict";
document.getElementById("cite")?.scrollIntoView({ block: "center", behavior: "instant" });

(async () => {
  const box = document.querySelector("[data-related-url]");
  if (!box) return;
  const list = box.querySelector("ol");
  const note = (text) => {
    const item = document.createElement("li");
    item.className = "muted";
    item.textContent = text;
    list.replaceChildren(item);
  };
  try {
    const response = await fetch(box.dataset.relatedUrl, { headers: { Accept: "application/json" } });
    if (!response.ok) return note("Related documents are unavailable.");
    const { related } = await response.json();
    if (!related.length) return note("No related documents yet.");
    list.replaceChildren(...related.map(({ document: doc, reader_url: url }) => {
      const item = document.createElement("li");
      const link = document.createElement("a");
      link.href = url;
      link.textContent = doc.title;
      const byline = document.createElement("p");
      byline.className = "byline";
      const authors = doc.authors.slice(0, 4).join(", ") + (doc.authors.length > 4 ? " et al." : "");
      byline.textContent = [authors, doc.date || "undated", doc.source].filter(Boolean).join(" · ");
      item.append(link, byline);
      return item;
    }));
  } catch {
    note("Related documents are unavailable.");
  }
})();
