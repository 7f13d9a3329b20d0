// Brings the cited passage to the middle of the screen once the reader page has loaded
// (the #cite fragment alone would leave it at the very top edge).
"use strict";
document.getElementById("cite")?.scrollIntoView({ block: "center", behavior: "instant" });
