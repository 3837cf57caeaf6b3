/* Clientside helpers for the CPIP dashboard (served from the app's own assets). */
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
            return search;
        }
    }
});

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
        if (!lastId || Date.now() - lastAt > 10000) { return; }
        var active = document.activeElement;
        if (active && active !== document.body) { return; }
        var el = document.getElementById(lastId);
        if (el && typeof el.focus === "function") { el.focus({preventScroll: true}); }
    });
    function start() {
        var root = document.getElementById("_pages_content");
        if (root) { observer.observe(root, {childList: true, subtree: true}); } else { setTimeout(start, 100); }
    }
    start();
})();
