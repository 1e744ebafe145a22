// The staff app's only script (no framework; the pages work without it).
// 1. Idle sign-out: after the idle time with no page load, reload; the server has ended the
//    session by then, so the reload shows the sign-in page instead of patient data.
// 2. Messages: every 20 seconds ask how many messages are open (no names, no numbers) and offer
//    a reload when that changed. The check is not activity: it never keeps a session alive.
(function () {
  "use strict";
  var idle = parseInt(document.body.dataset.idleSeconds || "0", 10);
  if (idle > 0) {
    window.setTimeout(function () { window.location.reload(); }, (idle + 5) * 1000);
  }
  var live = document.getElementById("live");
  if (!live) { return; }
  var url = live.dataset.countUrl;
  function check() {
    fetch(url, { credentials: "same-origin", cache: "no-store" })
      .then(function (response) {
        if (response.status === 401) { window.location.assign("/login?expired=1"); return null; }
        return response.ok ? response.json() : null;
      })
      .then(function (data) {
        if (!data) { return; }
        if (data.newest !== live.dataset.newest || data.open > parseInt(live.dataset.open, 10)) {
          live.hidden = false;
        }
      })
      .catch(function () { /* offline for a moment: try again at the next tick */ });
  }
  window.setInterval(check, 20000);
})();
