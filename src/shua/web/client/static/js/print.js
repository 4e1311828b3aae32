// A statement prints itself (the page's print styles drop the app's chrome).
document.querySelectorAll("[data-print]").forEach((button) => button.addEventListener("click", () => window.print()));
