/* Clientside helpers for the CPIP dashboard (served from the app's own assets). */

/* The view's tab title, a move to another page waiting for its heading (see afterRender). */
var cpipPage = {title: null, path: window.location.pathname, moved: null, timer: null};
window.dash_clientside = Object.assign({}, window.dash_clientside, {
    cpip: {
        /* Write a page's controls into its URL's query string. The last argument
           is the page's spec: {params: [names in control order], resets: {name: [control ids]}};
           a parameter is dropped when one of its reset controls triggered the change. */
        syncSearch: function () {
            const args = Array.prototype.slice.call(arguments);
            const spec = args.pop() || {params: [], resets: {}};
            const ctx = window.dash_clientside.callback_context;
            const triggered = (ctx.triggered || []).map(function (t) { return t.prop_id.split(".")[0]; });
            const query = new URLSearchParams();
            spec.params.forEach(function (name, i) {
                const resetBy = (spec.resets || {})[name] || [];
                if (resetBy.some(function (id) { return triggered.indexOf(id) >= 0; })) { return; }
                const value = args[i];
                if (value !== null && value !== undefined && value !== "" && value !== "_all") { query.set(name, value); }
            });
            const text = query.toString().replace(/\+/g, "%20");
            const search = text ? "?" + text : "";
            if (search === window.location.search) { return window.dash_clientside.no_update; }
            // Arrowing through a closed <select> changes its value at every key:
            // wait until the keys stop before loading the view (WCAG 3.2.2), so
            // passing ten months loads one page, not ten. A click or a choice from
            // the open list goes at once.
            if (Date.now() - cpipKeys.arrowAt < 150) {
                const ticket = ++cpipKeys.ticket;
                return new Promise(function (resolve) {
                    setTimeout(function () {
                        resolve(ticket === cpipKeys.ticket ? search : window.dash_clientside.no_update);
                    }, cpipKeys.settle);
                });
            }
            cpipKeys.ticket++;
            return search;
        }
    }
});

/* When an arrow key last changed a select (see syncSearch). */
var cpipKeys = {arrowAt: 0, ticket: 0, settle: 700};
document.addEventListener("keydown", function (event) {
    var keys = ["ArrowUp", "ArrowDown", "ArrowLeft", "ArrowRight", "PageUp", "PageDown", "Home", "End"];
    if (event.target && event.target.tagName === "SELECT" && keys.indexOf(event.key) >= 0) {
        cpipKeys.arrowAt = Date.now();
    }
}, true);

/* Keep keyboard focus on the control that was used. A control's change
   rebuilds the page from its new URL; the rebuilt control has the same id, so
   focus goes back to it (only right after a change, never later). */
(function () {
    var lastId = null;
    var lastAt = 0;
    function remember(event) {
        var el = event.target;
        if (el && el.id && el.closest && el.closest("#_pages_content")) {
            lastId = el.id;
            lastAt = Date.now();
        }
    }
    document.addEventListener("focusin", remember, true);
    document.addEventListener("change", remember, true);
    var observer = new MutationObserver(function () {
        scheduleAfterRender();
        if (!lastId || Date.now() - lastAt > 10000) { return; }
        var active = document.activeElement;
        if (active && active !== document.body) { return; }
        var el = document.getElementById(lastId);
        if (el && typeof el.focus === "function") { el.focus({preventScroll: true}); }
    });
    function start() {
        var root = document.getElementById("_pages_content");
        if (root) {
            observer.observe(root, {childList: true, subtree: true});
            scheduleAfterRender();  // the page may have rendered before the observer started
        } else { setTimeout(start, 100); }
    }
    start();
})();

/* After each render of a page:
   - the tab title names the view (the page's `data-page-title`, e.g. the month
     and unit), not one title for every view (WCAG 2.4.2);
   - a move to another page is announced: focus goes to its heading, which a
     screen reader reads, and a status region says the new title (WCAG 4.1.3);
   - each chart toolbar is one Tab stop, arrow keys move along it (WCAG 2.4.3);
   - the charts' SVG is hidden from screen readers: its text is a heap of
     labels in drawing order; each chart's data is in a table beside it. */

function cpipAnnounce(text) {
    var live = document.getElementById("cpip-announce");
    if (live) { live.textContent = text; }
}

function scheduleAfterRender() {
    if (cpipPage.timer) { clearTimeout(cpipPage.timer); }
    cpipPage.timer = setTimeout(afterRender, 60);
}

function afterRender() {
    cpipPage.timer = null;
    var content = document.getElementById("_pages_content");
    if (!content) { return; }
    var titled = content.querySelector("[data-page-title]");
    if (titled) {
        var title = titled.getAttribute("data-page-title");
        if (title !== cpipPage.title) {
            cpipPage.title = title;
            if (document.title !== title) { document.title = title; }
        }
    }
    var heading = content.querySelector("h1");
    if (cpipPage.moved && heading && heading !== cpipPage.moved.heading) {
        cpipPage.moved = null;
        heading.setAttribute("tabindex", "-1");
        heading.focus();
        cpipAnnounce(cpipPage.title || heading.textContent);
    }
    tameCharts(content);
    tameGrids(content);
    markInvalid(content);
    // plotly measures text in a hidden SVG of its own: no picture for a screen reader.
    var tester = document.getElementById("js-plotly-tester");
    if (tester && tester.getAttribute("aria-hidden") !== "true") { tester.setAttribute("aria-hidden", "true"); }
}

function noticeMove() {
    var path = window.location.pathname;
    if (path !== cpipPage.path) {
        var content = document.getElementById("_pages_content");
        cpipPage.moved = {heading: content ? content.querySelector("h1") : null};
    }
    cpipPage.path = path;
}
window.addEventListener("_dashprivate_pushstate", noticeMove);
window.addEventListener("resize", scheduleAfterRender);
window.addEventListener("popstate", noticeMove);

// Dash's page router sets document.title to the page's fixed title after each
// render; keep the view's own.
(function watchTitle() {
    var node = document.querySelector("title");
    if (!node) { setTimeout(watchTitle, 100); return; }
    new MutationObserver(function () {
        if (cpipPage.title && document.title !== cpipPage.title) { document.title = cpipPage.title; }
    }).observe(node, {childList: true, characterData: true, subtree: true});
})();

function tameCharts(root) {
    // A chart wider than the screen scrolls in its box: then (only then) the box
    // is a named region that takes focus, so the arrow keys can scroll it.
    root.querySelectorAll(".cpip-chart-scroll").forEach(function (box) {
        var scrolls = box.scrollWidth > box.clientWidth + 1;
        if (scrolls && box.getAttribute("tabindex") !== "0") {
            box.setAttribute("tabindex", "0");
            box.setAttribute("role", "region");
            box.setAttribute("aria-label", box.getAttribute("data-label") || "Chart");
        } else if (!scrolls && box.hasAttribute("tabindex")) {
            box.removeAttribute("tabindex");
            box.removeAttribute("role");
            box.removeAttribute("aria-label");
        }
    });
    root.querySelectorAll(".js-plotly-plot .main-svg").forEach(function (svg) {
        if (svg.getAttribute("aria-hidden") !== "true") { svg.setAttribute("aria-hidden", "true"); }
    });
    root.querySelectorAll(".modebar").forEach(function (bar) {
        var buttons = Array.prototype.slice.call(bar.querySelectorAll(".modebar-btn"));
        if (!buttons.length) { return; }
        var current = buttons.filter(function (b) { return b.getAttribute("tabindex") === "0"; })[0] || buttons[0];
        buttons.forEach(function (b) {
            var want = b === current ? "0" : "-1";
            if (b.getAttribute("tabindex") !== want) { b.setAttribute("tabindex", want); }
        });
        if (!bar.getAttribute("aria-label")) { bar.setAttribute("aria-label", "Chart tools"); }
        // Each button is named by its title; its icon is decoration, not an unnamed image.
        bar.querySelectorAll(".modebar-btn svg").forEach(function (icon) {
            if (icon.getAttribute("aria-hidden") !== "true") { icon.setAttribute("aria-hidden", "true"); }
        });
        if (!bar.getAttribute("data-cpip-roving")) {
            bar.setAttribute("data-cpip-roving", "1");
            bar.addEventListener("keydown", toolbarKey);
        }
    });
}

function toolbarKey(event) {
    var step = {ArrowRight: 1, ArrowDown: 1, ArrowLeft: -1, ArrowUp: -1}[event.key];
    var buttons = Array.prototype.slice.call(event.currentTarget.querySelectorAll(".modebar-btn"));
    var at = buttons.indexOf(document.activeElement);
    if (at < 0) { return; }
    var next = null;
    if (step) { next = buttons[(at + step + buttons.length) % buttons.length]; }
    if (event.key === "Home") { next = buttons[0]; }
    if (event.key === "End") { next = buttons[buttons.length - 1]; }
    if (!next) { return; }
    event.preventDefault();
    buttons.forEach(function (b) { b.setAttribute("tabindex", b === next ? "0" : "-1"); });
    next.focus();
}

/* The child list and the due list (components/child_tables.py): AG Grid keeps
   its own keyboard model (one Tab stop, arrow keys inside, Enter on a heading
   sorts); here the grid is named after its region, and the one filter box
   filters every column and says how many rows match. */
function tameGrids(root) {
    // A table with no caption takes the name of the scrolling region round it (components/tables.py
    // `scroll_region`), so a screen reader's list of tables says which is which.
    root.querySelectorAll("[role=region][aria-label] table").forEach(function (table) {
        if (table.querySelector("caption") || table.getAttribute("aria-label") || table.getAttribute("aria-labelledby")) {
            return;
        }
        table.setAttribute("aria-label", table.closest("[role=region][aria-label]").getAttribute("aria-label"));
    });
    root.querySelectorAll(".cpip-child-grid").forEach(function (box) {
        var name = box.getAttribute("data-grid-label");
        box.querySelectorAll("[role=grid], [role=treegrid]").forEach(function (g) {
            if (name && g.getAttribute("aria-label") !== name) { g.setAttribute("aria-label", name); }
        });
        var centre = box.querySelector(".ag-center-cols-viewport");
        var note = box.querySelector(".cpip-grid-wide");
        if (centre && note) {
            var wide = centre.scrollWidth > centre.clientWidth + 1;
            if (note.hidden === wide) { note.hidden = !wide; }
        }
    });
}

document.addEventListener("input", function (event) {
    var box = event.target;
    // Dash 4's dcc.Input puts its className on a wrapper round the <input>.
    if (!box || !box.closest || !box.closest(".cpip-grid-filter") || !box.id) { return; }
    var gridId = box.id.replace(/-filter$/, "");
    if (!window.dash_ag_grid || !window.dash_ag_grid.getApi) { return; }
    var api;
    try { api = window.dash_ag_grid.getApi(gridId); } catch (e) { return; }
    api.setGridOption("quickFilterText", box.value);
    var count = document.getElementById(gridId + "-filter-count");
    if (count) {
        var shown = api.getDisplayedRowCount();
        count.textContent = box.value ? shown.toLocaleString("en-GB") + (shown === 1 ? " row matches." : " rows match.") : "";
    }
});

/* An editor's refusal names its field (pages/plans.py `not_saved`: a
   `.cpip-error[data-field]` in the status line): that field is marked invalid,
   described by the sentence, and takes focus, once per refusal (WCAG 3.3.1). */
function markInvalid(root) {
    var flagged = {};
    root.querySelectorAll(".cpip-error[data-field]").forEach(function (message) {
        var field = document.getElementById(message.getAttribute("data-field"));
        if (!field) { return; }
        flagged[field.id] = true;
        if (!message.id) { message.id = field.id + "-error"; }
        if (field.getAttribute("aria-invalid") !== "true" || field.getAttribute("aria-describedby") !== message.id) {
            field.setAttribute("aria-invalid", "true");
            field.setAttribute("aria-describedby", message.id);
            field.setAttribute("data-cpip-invalid", "1");
            (field.closest(".dash-input-container") || field).classList.add("is-invalid");
            field.focus();
        }
    });
    root.querySelectorAll("[data-cpip-invalid]").forEach(function (field) {
        if (flagged[field.id]) { return; }
        field.removeAttribute("aria-invalid");
        field.removeAttribute("aria-describedby");
        field.removeAttribute("data-cpip-invalid");
        (field.closest(".dash-input-container") || field).classList.remove("is-invalid");
    });
}

/* Where focus goes when the control a person used vanishes or is disabled by
   what it started (WCAG 2.4.3), instead of falling to the page body: on the
   data page the file box is disabled while files are sent, Load is hidden
   while it runs, and Undo's row is redrawn after the dialog. Focus moves to the
   sentence that says what happened. */
var cpipLanding = {from: null, at: 0};
function landingFor(el) {
    if (!el || !el.closest) { return null; }
    if (el.closest("#data-upload")) { return "data-status"; }
    var id = el.id || "";
    if (id === "data-load") { return "data-load-result"; }
    if (id === "data-cancel") { return "data-status"; }
    if (id === "data-undo-confirm" || id.indexOf("data-undo") >= 0) { return "data-undo-result"; }
    return null;
}
document.addEventListener("focusin", function (event) {
    var target = landingFor(event.target);
    if (target) { cpipLanding = {from: target, at: Date.now()}; }
    else if (event.target !== document.body) { cpipLanding = {from: null, at: 0}; }
}, true);
function keepFocusLanded() {
    if (!cpipLanding.from || Date.now() - cpipLanding.at > 60000) { return; }
    var active = document.activeElement;
    var gone = !active || active === document.body || active.disabled || !active.isConnected
        || (active.offsetParent === null && getComputedStyle(active).position !== "fixed");
    if (!gone) { return; }
    var landing = document.getElementById(cpipLanding.from);
    if (!landing) { return; }
    if (!landing.hasAttribute("tabindex")) { landing.setAttribute("tabindex", "-1"); }
    landing.focus({preventScroll: false});
}
document.addEventListener("focusout", function () { setTimeout(keepFocusLanded, 50); }, true);
new MutationObserver(function () { if (cpipLanding.from) { setTimeout(keepFocusLanded, 50); } })
    .observe(document.documentElement, {childList: true, subtree: true, attributes: true, attributeFilter: ["disabled", "class", "style"]});
