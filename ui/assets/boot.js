// A classic script that runs before the application's modules. If one of
// the page's files fails to load before the application starts (a network
// blip: browsers abort requests in flight when network interfaces change,
// as Docker's do whenever a container starts or stops), reload a few times
// rather than leave a blank page, then say what failed.
(function () {
  var KEY = 'minconsul-ui-reloads';
  addEventListener('error', function (e) {
    var t = e.target;
    if (!t || (t.tagName !== 'SCRIPT' && t.tagName !== 'LINK') || document.documentElement.hasAttribute('data-booted')) return;
    var n = Number(sessionStorage.getItem(KEY) || 0);
    if (n < 3) {
      sessionStorage.setItem(KEY, String(n + 1));
      setTimeout(function () { location.reload(); }, 200 * (n + 1));
      return;
    }
    sessionStorage.removeItem(KEY);
    var show = function () {
      var m = document.getElementById('main');
      if (m) m.textContent = 'The UI could not load its files from the agent (' + (t.src || t.href) + '). Reload the page to try again.';
    };
    if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', show); else show();
  }, true);
})();
