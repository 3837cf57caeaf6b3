/* HTML built on the server from escaped text only (components/matrix.py's icon matrix: thousands of
   cells are milliseconds as text, seconds through dcc.Markdown's parsers): an element carrying
   `data-cpip-html` gets that HTML as its content, when it appears and whenever the attribute changes.
   Dash renders the element with no children, so React never touches what is set here. */
(function () {
    function fill() {
        document.querySelectorAll("[data-cpip-html]").forEach(function (el) {
            var html = el.getAttribute("data-cpip-html");
            if (el.cpipHtml !== html) {
                el.cpipHtml = html;
                el.innerHTML = html;
            }
        });
    }
    new MutationObserver(fill).observe(document.documentElement, {
        childList: true,
        subtree: true,
        attributes: true,
        attributeFilter: ["data-cpip-html"],
    });
})();
